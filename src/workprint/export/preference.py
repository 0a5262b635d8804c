"""``preference``: one pair per intervention, in TRL's DPO shape, loadable with `datasets`.

Each row is the state where the person took over: ``prompt`` (the system prompt and the
user turn an agent was shown: the task, its previous actions and the screenshot),
``chosen`` (the person's correction, as pyautogui code in a ```python block, the agent's own
reply convention), ``rejected`` (the agent's proposed action: the one that was pending, or
its last executed one) and ``images`` (the redacted frame at the takeover). Conversational
format, as TRL's ``DPOTrainer`` takes for vision-language models. An intervention in which
the person did nothing (handed straight back) has no correction and gives no pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from datasets import Features, Image, Sequence, Value

from workprint.process.pyautogui_code import to_code
from workprint.export.parquet import write_shard
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.steps import RedactedFrames, SessionData, Step, session_frames, session_interventions
from workprint.model.prompt import SYSTEM_PYAUTOGUI

# A collector's session uploaded before interventions were carried: its agent steps give nothing.
UNKNOWN = ("agent steps of a session uploaded without its interventions (by an older workprint): "
           "export it on the device that ran the agent")
_PART = {"type": Value("string"), "text": Value("string")}
_TURN = {"role": Value("string"), "content": [_PART]}
FEATURES = Features({
    "id": Value("string"), "session": Value("string"), "intervention": Value("int32"),
    "trigger": Value("string"), "task": Value("string"), "model": Value("string"),
    "prompt": [_TURN], "chosen": [_TURN], "rejected": [_TURN],
    "images": Sequence(Image()), "proposed_executed": Value("bool"), "t": Value("float64"),
})


def _code_block(lines: list[str]) -> str:
    return "```python\n" + "\n".join(lines) + "\n```"


def _text(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def pairs(session: SessionData, frames: RedactedFrames | None) -> list[dict[str, Any]]:
    interventions = session_interventions(session) or []
    by_id = {a["id"]: a for a in session.actions if a.get("id") is not None}
    starts = sorted(e["t"] for e in session.events if e["kind"] == "agent_start")
    rows = []
    for record in interventions:
        human = [by_id[i] for i in record["human_actions"] if i in by_id]
        proposed = record.get("proposed")
        if not human or not proposed:
            continue
        run_t = max((t for t in starts if t <= record["t"]), default=0.0)
        previous = [to_code(a) for a in session.actions if a.get("source") == "agent"
                    and run_t <= a["t"] < record["t"]]
        text = (f"Task: {record.get('task') or ''}\n\nPrevious actions:\n" + ("\n".join(previous[-20:]) or "(none)")
                + "\n\nThe screenshot shows the screen now.")
        image = None
        if frames is not None and record.get("frame"):
            image, _ = frames(record["frame"])
        prompt = [{"role": "system", "content": _text(SYSTEM_PYAUTOGUI)},
                  {"role": "user", "content": [{"type": "image", "text": None}, *_text(text)]}]
        rows.append({
            "id": f"{session.id}-{record['id']}", "session": session.id, "intervention": record["id"],
            "trigger": record["trigger"], "task": record.get("task"), "model": record.get("model"),
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": _text(_code_block([to_code(a) for a in human]))}],
            "rejected": [{"role": "assistant", "content": _text(_code_block([proposed["code"]]))}],
            "images": [{"bytes": image, "path": None}] if image else [],
            "proposed_executed": bool(proposed.get("executed")), "t": record["t"],
        })
    return rows


def write_session(session: SessionData, steps: Iterable[Step], out: Path) -> list[str]:
    rows = pairs(session, session_frames(session))
    if not rows:
        return []
    return [write_shard(out, "train", session.id, rows, FEATURES)]


def agent_run_written(session: SessionData, files: list[str]) -> Written:
    """What a format made from interventions wrote of a session, with its agent steps said left out
    when its interventions are not known (so the trainer is told, not handed a silent gap)."""
    written = Written(files=files)
    unknown = sum(1 for a in session.actions if a.get("source") == "agent")
    if unknown and session_interventions(session) is None:
        written.leave_out(UNKNOWN, unknown)
    return written


def _write(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    return agent_run_written(session, write_session(session, steps, out))


FORMAT = Format(name="preference", summary="TRL DPO pairs (Parquet): the person's correction chosen over the agent's proposed action",
        loading="```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_files={\"train\": \"data/train/*.parquet\"})[\"train\"]\n```\nTRL DPO shape, conversational: `prompt`, `chosen` (the person's correction), `rejected` (the agent's proposed action), `images` (the redacted frame at the takeover). One pair per intervention with a correction.",
        write_session=_write)

"""``rlif``: every agent step with ``intervened`` and a reward, for intervention prediction and
RLIF-style training (reinforcement learning from intervention feedback).

One row per agent action, executed or only proposed (the action that was pending when the
person took over, or that the policy refused, is a step the agent chose too). A step is
``intervened`` when it is among the agent's last ``WINDOW`` steps before a takeover by the
person (triggers ``human_input`` and ``refused_app``; a ``call_user`` is the agent asking, not
being corrected) that came within ``WINDOW_S`` seconds of it. ``reward`` is −1 for an
intervened step and 0 otherwise. The image is the redacted frame the agent acted on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, cast

from datasets import Features, Image, Value

from workprint.process.pyautogui_code import to_code
from workprint.vocabulary import Action, Event
from workprint.export.parquet import write_shard
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.preference import agent_run_written
from workprint.export.steps import (RedactedFrames, SessionData, Step, action_record, session_frames,
                                    session_interventions)

WINDOW = 1  # steps before a takeover that it blames
WINDOW_S = 30.0
PENALISED = ("human_input", "refused_app")
FEATURES = Features({
    "id": Value("string"), "session": Value("string"), "task": Value("string"), "model": Value("string"),
    "step": Value("int32"), "action": Value("string"), "code": Value("string"), "executed": Value("bool"),
    "intervened": Value("bool"), "reward": Value("float32"), "intervention": Value("int32"),
    "trigger": Value("string"), "t": Value("float64"), "image": Image(),
})


class _AgentStep(Action, total=False):
    """An agent's action, executed or (``intervention_of``) proposed when a person took over."""

    executed: bool
    intervention_of: int


def rows(session: SessionData, frames: RedactedFrames | None) -> list[dict[str, Any]]:
    interventions = session_interventions(session)
    if interventions is None:  # not known: rows would say no one stepped in
        return []
    starts = sorted((e for e in session.events if e["kind"] == "agent_start"), key=lambda e: e["t"])
    steps = [cast(_AgentStep, {**a, "executed": True}) for a in session.actions if a.get("source") == "agent"]
    for record in interventions:
        proposed = record.get("proposed")
        if proposed and not proposed.get("executed"):
            steps.append(cast(_AgentStep, {**{k: v for k, v in proposed.items() if k not in ("code", "executed")},
                                           "t": record["t"], "frame": record.get("frame"), "executed": False,
                                           "intervention_of": record["id"]}))
    steps.sort(key=lambda a: (a["t"], not a["executed"]))
    blamed: dict[int, dict[str, Any]] = {}
    for record in interventions:
        if record["trigger"] not in PENALISED:
            continue
        before = [i for i, a in enumerate(steps) if a["t"] <= record["t"] and record["t"] - a["t"] <= WINDOW_S
                  and (a["executed"] or a.get("intervention_of") == record["id"])]
        for i in before[-WINDOW:]:
            blamed[i] = record
    out = []
    for i, a in enumerate(steps):
        run = next((s for s in reversed(starts) if s["t"] <= a["t"]), None) or Event(kind="agent_start", t=0.0)
        blame = blamed.get(i)
        image = None
        frame = a.get("frame")
        if frames is not None and frame:
            image, _ = frames(frame)
        clean = {k: v for k, v in action_record(a).items() if k not in ("executed", "intervention_of")}
        out.append({
            "id": f"{session.id}-{i}", "session": session.id, "task": run.get("task"), "model": run.get("model"),
            "step": i, "action": json.dumps(clean, sort_keys=True, ensure_ascii=False), "code": to_code(a),
            "executed": a["executed"], "intervened": blame is not None, "reward": -1.0 if blame else 0.0,
            "intervention": blame["id"] if blame else None, "trigger": blame["trigger"] if blame else None,
            "t": a["t"], "image": {"bytes": image, "path": None} if image else None,
        })
    return out


def write_session(session: SessionData, steps: Iterable[Step], out: Path) -> list[str]:
    table = rows(session, session_frames(session))
    if not table:
        return []
    return [write_shard(out, "train", session.id, table, FEATURES)]


def _write(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    return agent_run_written(session, write_session(session, steps, out))


FORMAT = Format(name="rlif", summary="every agent step with `intervened` and a reward (Parquet), for intervention prediction and RLIF",
        loading="```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_files={\"train\": \"data/train/*.parquet\"})[\"train\"]\n```\nOne row per agent step (executed, or proposed and not executed), with `intervened` and `reward` (-1 for the step before a takeover, 0 otherwise).",
        write_session=_write)

"""``opencua``: AgentNet JSONL exactly as OpenCUA's tools read it (``data/cot-generate/gen_cot.py``).

One trajectory per line: ``task_id``, ``instruction`` and ``traj``, each step ``index``,
``image`` (a file name under ``images/``, gen_cot's ``--image_folder``) and ``value.code``:
OpenCUA's pyautogui code with 0..1 coordinates to four decimals, which its CoT generator needs
to mark the pointer on the screenshot and treat the step as a mouse step.

Where a model wrote the task (``workprint annotate``), the trajectory says so: ``instruction_source``
``model``, with ``model_instruction`` and ``instruction_model`` (beside a person's instruction too).
Reasoning fields are written only when ``workprint annotate`` (or a person) filled them:
``observation``, ``thought``, ``action`` (the step's ``description``), ``reflection``, and the
previous step's correctness (``last_step_correct``/``last_step_redundant``) from its ``quality``.
Empty placeholders would teach a model empty reasoning. A step without a screenshot is left out
(gen_cot stops a trajectory at a missing image); episodes without an instruction are left out
unless ``--allow-empty-instruction``. ``train.jsonl`` (and ``validation.jsonl``, ``test.jsonl``)
hold every session; ``parts/`` keeps one file per session so re-exports rewrite only what changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from workprint.export.formats import ExportOptions, Format, Written
from workprint.process.pyautogui_code import to_code
from workprint.export.steps import SessionData, Step, model_instruction_fields

SPLITS = ("train", "validation", "test")


def reasoning_fields(notes: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The reasoning fields a step carries (``Step.notes``; none for a plain recording)."""
    action = notes
    out = {}
    for ours, theirs in (("observation", "observation"), ("thought", "thought"), ("description", "action"),
                         ("reflection", "reflection")):
        if isinstance(action.get(ours), str) and action[ours].strip():
            out[theirs] = action[ours]
    quality = (previous or {}).get("quality")
    if quality in ("good", "redundant", "mistake"):
        out["last_step_correct"] = quality != "mistake"
        out["last_step_redundant"] = quality == "redundant"
    return out


def image_name(step: Step, out: Path, written: Written) -> str | None:
    """The step's screenshot under ``images/`` (written once per frame), or None when it has none."""
    if not step.image or not step.frame_id:
        return None
    name = f"{step.frame_id}.png"
    if f"images/{name}" not in written.files:
        (out / "images").mkdir(exist_ok=True)
        (out / "images" / name).write_bytes(step.image)
        written.files.append(f"images/{name}")
    return name


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    trajectories: dict[str, dict[str, Any]] = {}
    previous: dict[str, dict[str, Any]] = {}
    for step in steps:
        traj = trajectories.setdefault(step.episode.id, {
            "task_id": step.episode.id, "instruction": step.episode.instruction,
            "instruction_source": step.episode.instruction_source, **model_instruction_fields(step.episode),
            "session": session.id, "split": step.split, "traj": []})
        image = image_name(step, out, written)
        if image is None:
            written.leave_out("no screenshot")
            continue
        value = {"code": to_code(step.action, relative=True),
                 **reasoning_fields(step.notes, previous.get(step.episode.id))}
        traj["traj"].append({"index": len(traj["traj"]), "image": image,
                             "source": step.action.get("source", "human"), "value": value})
        previous[step.episode.id] = step.notes
    by_split: dict[str, list[dict[str, Any]]] = {}
    for traj in trajectories.values():
        if traj["traj"]:
            by_split.setdefault(traj["split"], []).append(traj)
    for split, trajs in sorted(by_split.items()):
        path = out / "parts" / split / f"{session.id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in trajs), encoding="utf-8")
        written.files.append(str(path.relative_to(out)))
    return written


def finish(out: Path) -> list[str]:
    """``<split>.jsonl``: every session's trajectories in one file, the one gen_cot's --traj_path reads."""
    files = []
    for split in SPLITS:
        parts = sorted((out / "parts" / split).glob("*.jsonl"))
        target = out / f"{split}.jsonl"
        if not parts:
            target.unlink(missing_ok=True)
            continue
        with open(target, "w", encoding="utf-8") as fh:
            for part in parts:
                fh.write(part.read_text(encoding="utf-8"))
        files.append(target.name)
    return files


FORMAT = Format(
    name="opencua",
    summary="OpenCUA AgentNet JSONL (its CoT generator `gen_cot.py` reads it): 0..1 pyautogui code per step",
    loading="OpenCUA's CoT generator reads it as written: `python gen_cot.py --traj_path train.jsonl "
            "--image_folder images --output_dir cot`. One trajectory per line (`task_id`, `instruction`, "
            "`traj[].index/image/value.code`); `observation`, `thought`, `action` and `reflection` appear only "
            "where `workprint annotate` filled them. Episodes without an instruction are left out unless "
            "exported with `--allow-empty-instruction`.",
    write_session=write_session,
    needs_instruction=True,
    finish=finish,
)

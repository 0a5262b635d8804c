"""``agentnetbench``: trajectories OpenCUA's offline benchmark (AgentNetBench ``run.py``) scores.

One JSON file per episode in ``<split>/`` (``run.py --data``), screenshots in ``images/``
(``--image_dir``). Each file: ``task_id``, ``high_level_task_description`` (the instruction) and
``steps``, each with ``image``, ``action`` (the gold code, which its OpenCUA agent shows as
history) and ``ground_truth_actions``: the same calls as the code (``pyautogui_code.calls``), as
``{"type", "params", "metadata"}``. A pointer action whose recorded target box holds the point
carries ``metadata.bboxes[].rel_bbox`` ([x, y, w, h] as fractions of the screen), so any
prediction inside the element scores, not only one near the recorded point.

Types AgentNetBench scores: click, doubleClick, rightClick, moveTo, dragTo, scroll, write, press,
hotkey, terminate. ``middleClick``, ``hscroll``, ``select_option`` and ``wait`` are written
in the same shape but its evaluator has no rule for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.opencua import image_name
from workprint.process.pyautogui_code import calls, to_code
from workprint.export.steps import SessionData, Step, model_instruction_fields
from workprint.vocabulary import ACTION_TYPES, Action

SCORED = ("click", "doubleClick", "rightClick", "moveTo", "dragTo", "scroll", "write", "press", "hotkey",
          "terminate")
_BENCH_TYPES = ACTION_TYPES - {"call_user"}  # AgentNetBench has no asking the person
_POINTER = ("click", "doubleClick", "rightClick", "middleClick", "moveTo")


def rel_bbox(action: Action) -> list[float] | None:
    """The target's box as fractions of the screen, when it holds the recorded point."""
    bbox = (action.get("target") or {}).get("bbox")
    screen = action.get("screen") or {}
    w, h = screen.get("w"), screen.get("h")
    if not bbox or not w or not h or "x" not in action:
        return None
    x, y, bw, bh = bbox
    if not (x <= action["x"] <= x + bw and y <= action["y"] <= y + bh):
        return None
    return [round(x / w, 4), round(y / h, 4), round(bw / w, 4), round(bh / h, 4)]


def ground_truth(action: Action) -> list[dict[str, Any]]:
    """The action as AgentNetBench ground-truth actions, one per call of its code."""
    out = []
    box = rel_bbox(action)
    for i, call in enumerate(calls(action, relative=True)):
        kind = call.name.split(".")[-1]
        kw = call.kwargs
        if kind in _POINTER or kind == "dragTo":
            params: dict[str, Any] = {"position": {"x": kw["x"], "y": kw["y"]}}
            if "button" in kw:
                params["button"] = kw["button"]
        elif kind == "write":
            params = {"content": kw["message"]}
        elif kind in ("press", "hotkey"):
            params = {"keys": kw["keys"]}
        elif kind in ("scroll", "hscroll"):
            params = {"clicks": call.args[0]}
        else:
            params = dict(kw)
        # The target box belongs to where the pointer acts first (a drag's start, a scroll's place).
        bboxes = [{"rel_bbox": box}] if box and i == 0 and kind in _POINTER else []
        out.append({"type": kind, "params": params, "metadata": {"bboxes": bboxes}})
    return out


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    episodes: dict[str, dict] = {}
    for step in steps:
        traj = episodes.setdefault(step.episode.id, {
            "task_id": step.episode.id, "high_level_task_description": step.episode.instruction,
            "instruction_source": step.episode.instruction_source, **model_instruction_fields(step.episode),
            "session": session.id, "split": step.split, "steps": []})
        if step.action["type"] not in _BENCH_TYPES:
            written.leave_out(f"{step.action['type']}: no AgentNetBench action")
            continue
        image = image_name(step, out, written)
        if image is None:
            written.leave_out("no screenshot")
            continue
        entry: dict[str, Any] = {"image": image, "action": to_code(step.action, relative=True),
                 "action_type": step.action["type"], "source": step.action.get("source", "human"),
                 "ground_truth_actions": ground_truth(step.action)}
        notes = step.notes
        monologue = {k: notes[src] for src, k in (("observation", "observation"), ("thought", "thought"),
                                                  ("description", "low_level_instruction"))
                     if isinstance(notes.get(src), str) and notes[src].strip()}
        if monologue:
            entry["inner_monologue"] = monologue
        traj["steps"].append(entry)
    for traj in episodes.values():
        if not traj["steps"]:
            continue
        path = out / traj["split"] / f"{traj['task_id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(traj, ensure_ascii=False, indent=1))
        written.files.append(str(path.relative_to(out)))
    return written


FORMAT = Format(
    name="agentnetbench",
    summary="OpenCUA's offline benchmark AgentNetBench: task, steps, ground-truth actions with `rel_bbox`",
    loading="AgentNetBench (xlang-ai/OpenCUA `evaluation/agentnetbench`): `python run.py --data train "
            "--image_dir images --model opencua-... --base_url ...`. One JSON per episode in `<split>/`: "
            "`high_level_task_description`, `steps[].image`, `steps[].ground_truth_actions` "
            "(`type`, `params`, `metadata.bboxes[].rel_bbox`). Its evaluator scores click, doubleClick, "
            "rightClick, moveTo, dragTo, scroll, write, press, hotkey and terminate; middleClick, hscroll, "
            "select_option and wait are written but it has no rule for them.",
    write_session=write_session,
    needs_instruction=True,
)

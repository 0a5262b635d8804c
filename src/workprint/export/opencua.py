"""``opencua``: one JSON object per trajectory, in the shape of OpenCUA's AgentNet data.

Filled: ``task_id``, ``instruction`` (empty when none was recorded; see
``instruction_source``), and per step ``index``, ``image`` (a path beside the JSON),
``value.code`` (pyautogui) and ``value.action`` (a plain-language description from the
action and its accessibility target). Not filled, because a recording cannot know them:
``value.observation``, ``value.thought``, ``value.reflection`` (left empty), and the
correctness labels ``last_step_correct`` / ``last_step_redundant`` (null).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from workprint.export.steps import SessionData, Step


def describe(action: dict) -> str:
    kind = action["type"]
    target = action.get("target") or {}
    on = f" the {target.get('role')} '{target['name']}'" if target.get("name") else ""
    if kind in ("click", "double_click", "right_click", "middle_click"):
        verb = {"click": "Click", "double_click": "Double-click", "right_click": "Right-click",
                "middle_click": "Middle-click"}[kind]
        return f"{verb}{on or ' at (%d, %d)' % (action['x'], action['y'])}."
    if kind == "drag":
        return f"Drag from ({action['x']}, {action['y']}) to ({action['x2']}, {action['y2']})."
    if kind == "scroll":
        return f"Scroll {'up' if action['dy'] > 0 else 'down'} {abs(action['dy'])} clicks."
    if kind == "type":
        return f"Type \"{action['text']}\"."
    if kind in ("hotkey", "key"):
        return f"Press {'+'.join(action['keys'])}."
    if kind == "select":
        return f"Choose '{action.get('label')}'."
    return kind


def write_session(session: SessionData, steps: Iterable[Step], out: Path, images: str = "path") -> list[str]:
    trajectories: dict[str, dict] = {}
    files: list[str] = []
    (out / "images").mkdir(exist_ok=True)
    for step in steps:
        traj = trajectories.setdefault(step.episode.id, {
            "task_id": step.episode.id, "session": session.id, "split": step.split,
            "instruction": step.episode.instruction, "instruction_source": step.episode.instruction_source,
            "traj": []})
        image = None
        if step.image:
            image = f"images/{step.frame_id}.png"
            if image not in files:
                (out / image).write_bytes(step.image)
                files.append(image)
        traj["traj"].append({"index": step.index, "image": image, "value": {
            "code": step.code, "action": describe(step.action), "observation": "", "thought": "",
            "reflection": "", "last_step_correct": None, "last_step_redundant": None}})
    (out / "trajectories").mkdir(exist_ok=True)
    for episode_id, traj in trajectories.items():
        name = f"trajectories/{episode_id}.json"
        (out / name).write_text(json.dumps(traj, ensure_ascii=False, indent=1, sort_keys=True))
        files.append(name)
    return files

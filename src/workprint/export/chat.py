"""``chat``: OpenAI-style chat JSONL for supervised fine-tuning of a vision-language model.

One line per step: a system message, a user message with the instruction, the previous
actions and the screenshot (a file path, or a data URL with ``--images inline``), and the
assistant message holding the action as pyautogui code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterable

from workprint.export.steps import SessionData, Step

SYSTEM = ("You are a computer-use agent. Given the task, the previous actions and a screenshot, "
          "answer with the next action as one line of pyautogui code. Coordinates are screen pixels.")
HISTORY = 8


def write_session(session: SessionData, steps: Iterable[Step], out: Path, images: str = "path") -> list[str]:
    path = out / f"{session.id}.jsonl"
    image_dir = out / "images"
    files = [path.name]
    history: dict[str, list[str]] = {}
    with open(path, "w", encoding="utf-8") as fh:
        for step in steps:
            previous = history.setdefault(step.episode.id, [])
            screen = step.action.get("screen") or {}
            text = (f"Task: {step.episode.instruction or '(no instruction recorded)'}\n"
                    f"Screen: {screen.get('w')}x{screen.get('h')}\n"
                    "Previous actions:\n" + ("\n".join(previous[-HISTORY:]) or "(none)"))
            content: list[dict] = [{"type": "text", "text": text}]
            if step.image:
                if images == "inline":
                    url = "data:image/png;base64," + base64.b64encode(step.image).decode()
                else:
                    image_dir.mkdir(exist_ok=True)
                    name = f"{step.frame_id}.png"
                    (image_dir / name).write_bytes(step.image)
                    url = f"images/{name}"
                    if f"images/{name}" not in files:
                        files.append(f"images/{name}")
                content.append({"type": "image_url", "image_url": {"url": url}})
            record = {"id": f"{step.episode.id}-{step.index}", "split": step.split, "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": content},
                {"role": "assistant", "content": step.code},
            ]}
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            previous.append(step.code)
    return files

"""Actions as the pyautogui calls most agent models emit."""

from __future__ import annotations

import json
from typing import Any

_CLICKS = {"click": "click", "double_click": "doubleClick", "right_click": "rightClick",
           "middle_click": "middleClick"}


def to_code(action: dict[str, Any]) -> str:
    kind = action["type"]
    if kind in _CLICKS:
        return f"pyautogui.{_CLICKS[kind]}(x={action['x']}, y={action['y']})"
    if kind == "drag":
        return (f"pyautogui.moveTo({action['x']}, {action['y']}); "
                f"pyautogui.dragTo({action['x2']}, {action['y2']}, button={json.dumps(action.get('button', 'left'))})")
    if kind == "scroll":
        code = f"pyautogui.scroll({action['dy']}, x={action['x']}, y={action['y']})"
        if action.get("dx"):
            code += f"; pyautogui.hscroll({action['dx']}, x={action['x']}, y={action['y']})"
        return code
    if kind == "type":
        return f"pyautogui.write({json.dumps(action['text'], ensure_ascii=False)}, interval=0.05)"
    if kind == "hotkey":
        return "pyautogui.hotkey(" + ", ".join(json.dumps(k) for k in action["keys"]) + ")"
    if kind == "key":
        return f"pyautogui.press({json.dumps(action['keys'][0])})"
    if kind == "select":
        return f"# select {json.dumps(action.get('label'))}"
    if kind == "navigate":
        return f"# navigate {json.dumps(action.get('url'))}"
    if kind == "done":
        return "DONE"
    if kind == "fail":
        return "FAIL"
    if kind == "wait":
        return "WAIT"
    return f"# {kind}"

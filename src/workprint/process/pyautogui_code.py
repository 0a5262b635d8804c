"""Actions as the pyautogui code computer-use models emit: one dispatch over the action types.

The conventions are OpenCUA's (its AgentNet data and AgentNetBench parser read them), because
that is what open computer-use models are trained on:

- one call per line; coordinates always as ``x=``/``y=`` keywords;
- drag is ``pyautogui.moveTo(x=, y=)`` then ``pyautogui.dragTo(x=, y=, button='left')``;
- scroll is ``pyautogui.moveTo(x=, y=)`` then ``pyautogui.scroll(n)`` (``hscroll`` sideways);
- typing is ``pyautogui.write(message=...)``, keys ``pyautogui.press(keys=[...])`` and
  ``pyautogui.hotkey(keys=[...])``;
- ``done``/``fail`` are ``computer.terminate(status='success'|'failure')``, ``wait`` is
  ``computer.wait()``;
- ``select`` is ``browser.select_option(...)`` (OpenCUA's browser action); ``navigate`` is what a
  person does to open a URL: focus the address bar, type it, press Enter.

``relative=True`` gives coordinates as 0..1 fractions of the screen, rounded to four decimals
(``pyautogui.click(x=0.3271, y=0.2694)``), which OpenCUA's tools require; otherwise screen pixels.
``calls`` is the structured form the code is rendered from, so exports that need the action as
data (AgentNetBench's ground truth) read the same dispatch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

_CLICKS = {"click": "click", "double_click": "doubleClick", "right_click": "rightClick",
           "middle_click": "middleClick"}
KNOWN_TYPES = frozenset([*_CLICKS, "drag", "scroll", "type", "hotkey", "key", "select", "navigate", "done", "fail",
                         "wait", "call_user"])


class Call(NamedTuple):
    """One line of code: ``name(*args, **kwargs)``."""

    name: str  # e.g. "pyautogui.click", "computer.terminate"
    args: tuple = ()
    kwargs: dict[str, Any] = {}


def _point(action: dict[str, Any], xk: str, yk: str, relative: bool) -> dict[str, float | int]:
    x, y = action[xk], action[yk]
    if not relative:
        return {"x": x, "y": y}
    screen = action.get("screen") or {}
    w, h = screen.get("w") or 0, screen.get("h") or 0
    if not w or not h:
        raise ValueError(f"action {action.get('id')} has no screen size; relative coordinates need one")
    return {"x": round(min(max(x / w, 0.0), 1.0), 4), "y": round(min(max(y / h, 0.0), 1.0), 4)}


def calls(action: dict[str, Any], relative: bool = False) -> list[Call]:
    """The action as the calls a model would emit, in order."""
    kind = action["type"]
    if kind in _CLICKS:
        return [Call(f"pyautogui.{_CLICKS[kind]}", (), _point(action, "x", "y", relative))]
    if kind == "drag":
        return [Call("pyautogui.moveTo", (), _point(action, "x", "y", relative)),
                Call("pyautogui.dragTo", (), {**_point(action, "x2", "y2", relative),
                                              "button": action.get("button") or "left"})]
    if kind == "scroll":
        out = [Call("pyautogui.moveTo", (), _point(action, "x", "y", relative))]
        if action.get("dy"):
            out.append(Call("pyautogui.scroll", (action["dy"],)))
        if action.get("dx"):
            out.append(Call("pyautogui.hscroll", (action["dx"],)))
        return out
    if kind == "type":
        return [Call("pyautogui.write", (), {"message": action["text"]})]
    if kind == "hotkey":
        return [Call("pyautogui.hotkey", (), {"keys": list(action["keys"])})]
    if kind == "key":
        return [Call("pyautogui.press", (), {"keys": list(action["keys"][:1])})]
    if kind == "select":
        fields = {k: action[k] for k in ("label", "value") if action.get(k) is not None}
        return [Call("browser.select_option", (), fields)]
    if kind == "navigate":
        return [Call("pyautogui.hotkey", (), {"keys": ["ctrl", "l"]}),
                Call("pyautogui.write", (), {"message": action.get("url") or ""}),
                Call("pyautogui.press", (), {"keys": ["enter"]})]
    if kind in ("done", "fail"):
        return [Call("computer.terminate", (), {"status": "success" if kind == "done" else "failure"})]
    if kind == "wait":
        return [Call("computer.wait")]
    if kind == "call_user":
        return [Call("call_user", (), {"message": action.get("message") or ""})]
    raise ValueError(f"no pyautogui code for action type {kind!r}")


def render(call: Call) -> str:
    """One line of Python; strings as Python literals (newlines escaped, so a call never spans lines)."""
    parts = [repr(a) for a in call.args] + [f"{k}={v!r}" for k, v in call.kwargs.items()]
    return f"{call.name}({', '.join(parts)})"


def to_code(action: dict[str, Any], relative: bool = False) -> str:
    """The action as pyautogui code, one call per line (a comment for a type with no code)."""
    if action["type"] not in KNOWN_TYPES:
        return f"# {action['type']}"
    return "\n".join(render(c) for c in calls(action, relative))

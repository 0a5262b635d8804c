"""Actions as the pyautogui code computer-use models emit: a handler per shape of action
(``vocabulary.ACTION_SPECS``, the one dispatch over action types).

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

from typing import Any, Callable, NamedTuple

from workprint.vocabulary import ACTION_TYPES, Action, Shape, action_spec

_CLICKS = {"click": "click", "double_click": "doubleClick", "right_click": "rightClick",
           "middle_click": "middleClick"}
KNOWN_TYPES = ACTION_TYPES


class Call(NamedTuple):
    """One line of code: ``name(*args, **kwargs)``."""

    name: str  # e.g. "pyautogui.click", "computer.terminate"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}


def _point(action: Action, x: int, y: int, relative: bool) -> dict[str, float | int]:
    """``x=``, ``y=`` of a point of the action: screen pixels, or 0..1 of its screen."""
    if not relative:
        return {"x": x, "y": y}
    screen = action.get("screen") or {}
    w, h = screen.get("w") or 0, screen.get("h") or 0
    if not w or not h:
        raise ValueError(f"action {action.get('id')} has no screen size; relative coordinates need one")
    return {"x": round(min(max(x / w, 0.0), 1.0), 4), "y": round(min(max(y / h, 0.0), 1.0), 4)}


def _click(action: Action, relative: bool) -> list[Call]:
    return [Call(f"pyautogui.{_CLICKS[action['type']]}", (), _point(action, action["x"], action["y"], relative))]


def _drag(action: Action, relative: bool) -> list[Call]:
    return [Call("pyautogui.moveTo", (), _point(action, action["x"], action["y"], relative)),
            Call("pyautogui.dragTo", (), {**_point(action, action["x2"], action["y2"], relative),
                                          "button": action.get("button") or "left"})]


def _scroll(action: Action, relative: bool) -> list[Call]:
    out = [Call("pyautogui.moveTo", (), _point(action, action["x"], action["y"], relative))]
    if action.get("dy"):
        out.append(Call("pyautogui.scroll", (action["dy"],)))
    if action.get("dx"):
        out.append(Call("pyautogui.hscroll", (action["dx"],)))
    return out


def _text(action: Action, relative: bool) -> list[Call]:
    return [Call("pyautogui.write", (), {"message": action["text"]})]


def _keys(action: Action, relative: bool) -> list[Call]:
    if action["type"] == "hotkey":
        return [Call("pyautogui.hotkey", (), {"keys": list(action["keys"])})]
    return [Call("pyautogui.press", (), {"keys": list(action["keys"][:1])})]


def _choice(action: Action, relative: bool) -> list[Call]:
    fields = {k: v for k, v in (("label", action.get("label")), ("value", action.get("value"))) if v is not None}
    return [Call("browser.select_option", (), fields)]


def _url(action: Action, relative: bool) -> list[Call]:
    return [Call("pyautogui.hotkey", (), {"keys": ["ctrl", "l"]}),
            Call("pyautogui.write", (), {"message": action.get("url") or ""}),
            Call("pyautogui.press", (), {"keys": ["enter"]})]


def _control(action: Action, relative: bool) -> list[Call]:
    kind = action["type"]
    if kind in ("done", "fail"):
        return [Call("computer.terminate", (), {"status": "success" if kind == "done" else "failure"})]
    if kind == "call_user":
        return [Call("call_user", (), {"message": action.get("message") or ""})]
    return [Call("computer.wait")]


_CALLS: dict[Shape, Callable[[Action, bool], list[Call]]] = {
    "point": _click, "drag": _drag, "scroll": _scroll, "text": _text, "keys": _keys, "choice": _choice,
    "url": _url, "control": _control}


def calls(action: Action, relative: bool = False) -> list[Call]:
    """The action as the calls a model would emit, in order."""
    try:
        shape = action_spec(action["type"]).shape
    except ValueError:
        raise ValueError(f"no pyautogui code for action type {action['type']!r}") from None
    return _CALLS[shape](action, relative)


def render(call: Call) -> str:
    """One line of Python; strings as Python literals (newlines escaped, so a call never spans lines)."""
    parts = [repr(a) for a in call.args] + [f"{k}={v!r}" for k, v in call.kwargs.items()]
    return f"{call.name}({', '.join(parts)})"


def to_code(action: Action, relative: bool = False) -> str:
    """The action as pyautogui code, one call per line (a comment for a type with no code)."""
    if action["type"] not in KNOWN_TYPES:
        return f"# {action['type']}"
    return "\n".join(render(c) for c in calls(action, relative))

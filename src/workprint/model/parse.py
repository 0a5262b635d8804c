"""A model's answer -> actions in DESIGN.md's vocabulary.

Replies are parsed with ``ast``, never executed: a model's code is data. Each call must be
one we know with literal arguments; anything else is a ``ReplyError`` whose message is told
back to the model on its one retry, so it should say exactly what was wrong.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Callable

from workprint.model.prompt import ImageFit
from workprint.errors import WorkprintError
from workprint.vocabulary import ACTION_SPECS, CLICK_OF_BUTTON, Action, ActionType, Shape, button_of


class ReplyError(WorkprintError, ValueError):
    """The reply cannot be turned into an action; the message says why (it is shown to the model)."""


# Key names other tools use -> the lowercase pyautogui names of the vocabulary.
_KEY_ALIASES = {"return": "enter", "escape": "esc", "control": "ctrl", "cmd": "win", "command": "win",
                "super": "win", "meta": "win", "option": "alt", "del": "delete", "pgup": "pageup",
                "pgdn": "pagedown", "page_up": "pageup", "page_down": "pagedown", "arrowup": "up",
                "arrowdown": "down", "arrowleft": "left", "arrowright": "right", "spacebar": "space"}
_CLICK_CALLS: dict[str, ActionType] = {"click": "click", "leftclick": "click", "doubleclick": "double_click",
                "rightclick": "right_click", "middleclick": "middle_click", "tripleclick": "click"}
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)
_BARE: dict[str, Action] = {"DONE": {"type": "done", "status": "success"}, "FAIL": {"type": "fail"},
                             "WAIT": {"type": "wait"}}


def key_name(name: str) -> str:
    key = str(name).strip().lower()
    return _KEY_ALIASES.get(key, key)


def parse_reply(text: str, fit: ImageFit) -> list[Action]:
    """Actions from a free-text reply holding pyautogui code (a ```python block, or bare lines)."""
    blocks = _FENCE.findall(text)
    if blocks:
        code = "\n".join(blocks)
    else:  # no fence: take the lines that look like calls, the way OpenCUA's own parser does
        code = "\n".join(line.strip() for line in text.splitlines()
                         if re.match(r"\s*(pyautogui\.|computer\.|done\(|fail\(|call_user\(|wait\(|DONE|FAIL|WAIT)",
                                     line))
    if not code.strip():
        raise ReplyError("no action found: answer with pyautogui code in a ```python block, e.g. "
                         "pyautogui.click(x=0.5, y=0.5)")
    return parse_code(code, fit)


def parse_code(code: str, fit: ImageFit) -> list[Action]:
    """Actions from pyautogui code (also the ``code`` of an eval prediction)."""
    lines = [line for line in code.splitlines() if line.strip() not in _BARE]
    bare = [_BARE[line.strip()].copy() for line in code.splitlines() if line.strip() in _BARE]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as exc:
        raise ReplyError(f"the code is not valid Python ({exc.msg}, line {exc.lineno})") from None
    state = _State(fit)
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            raise ReplyError(f"only calls are allowed, got: {ast.unparse(node)[:80]}")
        state.call(node.value)
    actions = state.actions + bare
    if not actions:
        raise ReplyError("the code does nothing (a moveTo alone is not an action)")
    return actions


def parse_tool_calls(tool_calls: list[dict[str, Any]], fit: ImageFit) -> list[Action]:
    """Actions from OpenAI tool calls (``--format tools``), one tool per action type."""
    if not tool_calls:
        raise ReplyError("no tool was called: call exactly one tool for the next action")
    actions = []
    for call in tool_calls:
        function = call.get("function") or {}
        name = function.get("name")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except (TypeError, ValueError):
            raise ReplyError(f"the arguments of {name} are not JSON: {function.get('arguments')!r:.80}") from None
        if not isinstance(arguments, dict):
            raise ReplyError(f"the arguments of {name} must be a JSON object")
        actions.append(_tool_action(str(name), arguments, fit))
    return actions


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReplyError(f"{what} must be a number, got {value!r}")
    return float(value)


def _point(x: Any, y: Any, fit: ImageFit) -> tuple[int, int]:
    fx, fy = _number(x, "x"), _number(y, "y")
    # Both in 0..1 and at least one a fraction: normalised; otherwise pixels of the image.
    normalised = 0 <= fx <= 1 and 0 <= fy <= 1 and (isinstance(x, float) or isinstance(y, float))
    sx, sy = fit.to_screen(fx, fy, normalised)
    if not (0 <= sx < fit.screen_w and 0 <= sy < fit.screen_h):
        raise ReplyError(f"the point ({x}, {y}) is outside the screenshot ({fit.image_w}x{fit.image_h} pixels, "
                         "or 0..1)")
    return sx, sy


def _tool_point(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    x, y = _point(a.get("x"), a.get("y"), fit)
    return {"type": kind, "x": x, "y": y, "button": button_of(kind)}


def _tool_drag(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    x, y = _point(a.get("x"), a.get("y"), fit)
    x2, y2 = _point(a.get("x2"), a.get("y2"), fit)
    return {"type": "drag", "x": x, "y": y, "x2": x2, "y2": y2, "button": "left"}


def _tool_scroll(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    x, y = _point(a.get("x"), a.get("y"), fit)
    return {"type": "scroll", "x": x, "y": y, "dx": int(_number(a.get("dx", 0), "dx")),
            "dy": int(_number(a.get("dy", 0), "dy"))}


def _tool_text(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    if not isinstance(a.get("text"), str):
        raise ReplyError("type needs text, a string")
    return {"type": "type", "text": a["text"]}


def _tool_keys(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    if kind == "key":  # the key tool takes one name
        if not isinstance(a.get("key"), str):
            raise ReplyError("key needs key, a key name such as 'enter'")
        return {"type": "key", "keys": [key_name(a["key"])]}
    keys = a.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ReplyError("hotkey needs keys, a list of key names such as ['ctrl', 'c']")
    return {"type": "hotkey", "keys": [key_name(k) for k in keys]}


def _tool_choice(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    return {"type": "select", "label": str(a.get("label", "")), "value": a.get("value")}


def _tool_url(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    return {"type": "navigate", "url": str(a.get("url", ""))}


def _tool_control(kind: ActionType, a: dict[str, Any], fit: ImageFit) -> Action:
    if kind == "wait":
        return {"type": "wait", "seconds": float(a.get("seconds", 1.0))}
    if kind == "done":
        return {"type": "done", "status": "success"}
    if kind == "fail":
        return {"type": "fail", "message": str(a.get("reason", ""))}
    return {"type": "call_user", "message": str(a.get("message", ""))}


# One reader of tool arguments per shape of action (vocabulary.ACTION_SPECS); the tools are model.prompt.TOOLS.
_TOOL_READERS: dict[Shape, Callable[[ActionType, dict[str, Any], ImageFit], Action]] = {
    "point": _tool_point, "drag": _tool_drag, "scroll": _tool_scroll, "text": _tool_text, "keys": _tool_keys,
    "choice": _tool_choice, "url": _tool_url, "control": _tool_control}


def _tool_action(name: str, a: dict[str, Any], fit: ImageFit) -> Action:
    spec = ACTION_SPECS.get(name)
    if spec is None:
        raise ReplyError(f"unknown tool {name!r}; the tools are the action types offered")
    return _TOOL_READERS[spec.shape](spec.type, a, fit)


def _dotted(node: ast.expr) -> str:
    """``pyautogui.click`` of a call's function; ast.unparse is the slow general case."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return ast.unparse(node)


def _literal(node: ast.expr) -> Any:
    """A literal argument; plain constants skip literal_eval (scoring reads 100,000s of these)."""
    if isinstance(node, ast.Constant):
        return node.value
    return ast.literal_eval(node)


class _State:
    """Walks the calls of one reply; ``moveTo`` sets where a following drag or scroll happens."""

    def __init__(self, fit: ImageFit) -> None:
        self.fit = fit
        self.actions: list[Action] = []
        self.at: tuple[int, int] | None = None

    def call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        short = name.split(".")[-1]
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        try:
            args = [_literal(a) for a in node.args]
            kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        except ValueError:
            raise ReplyError(f"{name}(...) must have literal arguments (numbers, strings)") from None
        handler: Callable[[list[Any], dict[str, Any]], None] | None = None
        if owner in ("pyautogui", ""):
            handler = getattr(self, f"_pg_{short.lower()}", None)
        if owner in ("computer", ""):
            handler = handler or getattr(self, f"_computer_{short.lower()}", None)
        if handler is None:
            raise ReplyError(f"unknown call {name}(); use pyautogui calls, computer.terminate(status=...), "
                             "computer.wait() or call_user(message=...)")
        handler(args, kwargs)

    def _xy(self, args: list[Any], kwargs: dict[str, Any], required: bool = True) -> tuple[int, int] | None:
        x = kwargs.get("x", args[0] if len(args) > 0 else None)
        y = kwargs.get("y", args[1] if len(args) > 1 else None)
        if isinstance(x, (tuple, list)) and len(x) == 2:  # click((x, y))
            x, y = x
        if x is None or y is None:
            if self.at is not None or not required:
                return self.at
            raise ReplyError("a point is needed: give x= and y=")
        return _point(x, y, self.fit)

    def _click(self, kind: ActionType, args: list[Any], kwargs: dict[str, Any]) -> None:
        x, y = self._xy(args, kwargs)  # type: ignore[misc]
        button = str(kwargs.get("button", button_of(kind)))
        if kind == "click":
            kind = CLICK_OF_BUTTON.get(button, "click")
            if int(kwargs.get("clicks", 1)) == 2 and kind == "click":
                kind = "double_click"
        self.actions.append({"type": kind, "x": x, "y": y, "button": button})
        self.at = (x, y)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_pg_") and name[4:] in _CLICK_CALLS:
            kind = _CLICK_CALLS[name[4:]]
            return lambda args, kwargs: self._click(kind, args, kwargs)
        raise AttributeError(name)

    def _pg_moveto(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.at = self._xy(args, kwargs)

    def _pg_dragto(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        if self.at is None:
            raise ReplyError("dragTo needs a pyautogui.moveTo(x=, y=) before it, where the drag starts")
        x2, y2 = self._xy(args, kwargs)  # type: ignore[misc]
        x, y = self.at
        self.actions.append({"type": "drag", "x": x, "y": y, "x2": x2, "y2": y2,
                             "button": str(kwargs.get("button", "left"))})
        self.at = (x2, y2)

    def _scroll(self, args: list[Any], kwargs: dict[str, Any], axis: str) -> None:
        clicks = kwargs.get("clicks", args[0] if args else None)
        amount = int(_number(clicks, "scroll clicks"))
        at = self._xy(args[1:], kwargs, required=False) or (self.fit.screen_w // 2, self.fit.screen_h // 2)
        self.actions.append({"type": "scroll", "x": at[0], "y": at[1], "dx": amount if axis == "x" else 0,
                             "dy": amount if axis == "y" else 0})

    def _pg_scroll(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self._scroll(args, kwargs, "y")

    def _pg_vscroll(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self._scroll(args, kwargs, "y")

    def _pg_hscroll(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self._scroll(args, kwargs, "x")

    def _pg_write(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        text = kwargs.get("message", args[0] if args else None)
        if isinstance(text, list):  # pyautogui.write(['a', 'enter']) presses keys
            for key in text:
                self._pg_press([key], {})
            return
        if not isinstance(text, str):
            raise ReplyError("write needs message='text'")
        self.actions.append({"type": "type", "text": text})

    _pg_typewrite = _pg_write

    def _pg_press(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        keys = kwargs.get("keys", args[0] if args else None)
        presses = int(kwargs.get("presses", 1))
        names = [keys] if isinstance(keys, str) else keys
        if not isinstance(names, list) or not names or not all(isinstance(k, str) for k in names):
            raise ReplyError("press needs a key name such as 'enter'")
        for _ in range(max(1, presses)):
            for name in names:
                if len(name) == 1 and name.isprintable():
                    self.actions.append({"type": "type", "text": name})
                else:
                    self.actions.append({"type": "key", "keys": [key_name(name)]})

    def _pg_hotkey(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        keys = kwargs.get("keys", args)
        if isinstance(keys, (tuple, list)) and len(keys) == 1 and isinstance(keys[0], (list, tuple)):
            keys = keys[0]
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ReplyError("hotkey needs key names, e.g. pyautogui.hotkey('ctrl', 'c')")
        self.actions.append({"type": "hotkey", "keys": [key_name(k) for k in keys]})

    def _computer_terminate(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        status = str(kwargs.get("status", args[0] if args else "success")).lower()
        if status in ("success", "done", "succeeded"):
            self.actions.append({"type": "done", "status": "success"})
        elif status in ("failure", "fail", "failed", "infeasible"):
            self.actions.append({"type": "fail"})
        else:
            raise ReplyError(f"terminate status must be 'success' or 'failure', got {status!r}")

    def _computer_done(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.actions.append({"type": "done", "status": "success"})

    def _computer_fail(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.actions.append({"type": "fail", "message": str(kwargs.get("message", args[0] if args else ""))})

    def _computer_wait(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.actions.append({"type": "wait", "seconds": float(kwargs.get("seconds", args[0] if args else 1.0))})

    def _computer_call_user(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        message = kwargs.get("message", args[0] if args else "")
        self.actions.append({"type": "call_user", "message": str(message)})

    _pg_sleep = _computer_wait

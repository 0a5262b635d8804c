"""Validators written from each consumer's documentation, so tests check our exports against
what the consumer accepts rather than against our own writer.

- ``openai_chat_line`` / ``openai_preference_line``: OpenAI's fine-tuning file formats (chat
  SFT with images; preference/DPO): allowed top-level keys, roles, content parts, image URLs
  (http(s) or base64 data URLs of PNG/JPEG/WEBP/GIF), images only in user messages.
- ``parse_code``: OpenCUA/AgentNet code lines (one call per line, ``x=``/``y=`` keywords in
  0..1 with at most four decimals, drag = moveTo + dragTo, scroll = moveTo + scroll(n),
  ``write(message=)``, ``computer.terminate(status=)``), parsed with Python's ``ast``.
"""

from __future__ import annotations

import ast
import base64
import io
import re
from typing import Any

from PIL import Image

CHAT_TOP_LEVEL = {"messages", "tools", "parallel_tool_calls", "functions"}
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "function_call", "tool_call_id"}
ROLES = {"system", "developer", "user", "assistant", "tool"}
DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/=]+)$")
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class Invalid(AssertionError):
    pass


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise Invalid(what)


def _image_url(part: dict) -> None:
    _check(set(part) == {"type", "image_url"}, f"image part keys {sorted(part)}")
    spec = part["image_url"]
    _check(isinstance(spec, dict) and "url" in spec and set(spec) <= {"url", "detail"}, f"image_url {spec!r:.80}")
    _check(spec.get("detail", "auto") in ("auto", "low", "high"), "detail must be auto, low or high")
    url = spec["url"]
    if url.startswith(("http://", "https://")):
        return
    m = DATA_URL.match(url)
    _check(m is not None, f"image URL is neither http(s) nor a base64 data URL: {url[:60]!r}")
    raw = base64.b64decode(m.group(2), validate=True)
    _check(len(raw) <= MAX_IMAGE_BYTES, "image larger than 10 MB")
    image = Image.open(io.BytesIO(raw))
    _check(image.format.lower() == m.group(1).replace("jpeg", "jpeg"), f"data URL says {m.group(1)}, bytes are "
                                                                       f"{image.format}")
    _check(image.mode in ("RGB", "RGBA"), f"image mode {image.mode}: OpenAI takes RGB or RGBA")


def _message(msg: dict) -> None:
    _check(isinstance(msg, dict) and set(msg) <= MESSAGE_KEYS, f"message keys {sorted(msg)}")
    _check(msg.get("role") in ROLES, f"role {msg.get('role')!r}")
    content = msg.get("content")
    if isinstance(content, str):
        return
    _check(isinstance(content, list) and content, "content must be a string or a non-empty list of parts")
    for part in content:
        kind = part.get("type")
        if kind == "text":
            _check(set(part) == {"type", "text"} and isinstance(part["text"], str), f"text part {part!r:.80}")
        elif kind == "image_url":
            _check(msg["role"] == "user", "images only in user messages")
            _image_url(part)
        else:
            raise Invalid(f"content part type {kind!r}")


def openai_chat_line(record: dict) -> None:
    """One line of an OpenAI chat fine-tuning file (vision included)."""
    _check(set(record) <= CHAT_TOP_LEVEL, f"unknown top-level keys {sorted(set(record) - CHAT_TOP_LEVEL)}")
    messages = record.get("messages")
    _check(isinstance(messages, list) and messages, "messages must be a non-empty list")
    for msg in messages:
        _message(msg)
    _check(any(m["role"] == "assistant" for m in messages), "no assistant message to learn from")
    for msg in messages:
        if msg["role"] == "assistant":
            _check(isinstance(msg["content"], str) and msg["content"], "assistant content must be text")


def openai_preference_line(record: dict) -> None:
    """One line of an OpenAI preference (DPO) fine-tuning file."""
    _check(set(record) == {"input", "preferred_output", "non_preferred_output"}, f"keys {sorted(record)}")
    _check(set(record["input"]) <= CHAT_TOP_LEVEL and record["input"].get("messages"), "input.messages")
    for msg in record["input"]["messages"]:
        _message(msg)
    for key in ("preferred_output", "non_preferred_output"):
        out = record[key]
        _check(isinstance(out, list) and len(out) == 1 and out[0]["role"] == "assistant"
               and isinstance(out[0]["content"], str) and out[0]["content"], f"{key} must be one assistant message")
        _message(out[0])
    _check(record["preferred_output"] != record["non_preferred_output"], "preferred equals non-preferred")


POINTER = {"click", "doubleClick", "rightClick", "middleClick", "moveTo", "dragTo"}


def _value(node: ast.AST) -> Any:
    return ast.literal_eval(node)


def parse_code(code: str) -> list[tuple[str, list, dict]]:
    """AgentNet code -> [(name, args, kwargs)], checking OpenCUA's conventions line by line."""
    out = []
    for line in code.split("\n"):
        tree = ast.parse(line)
        _check(len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
               and isinstance(tree.body[0].value, ast.Call), f"not one call: {line!r}")
        call = tree.body[0].value
        name = ast.unparse(call.func)
        _check(name.split(".")[0] in ("pyautogui", "computer", "browser"), f"unknown module in {line!r}")
        args = [_value(a) for a in call.args]
        kwargs = {k.arg: _value(k.value) for k in call.keywords}
        method = name.split(".")[-1]
        if method in POINTER:
            _check(not args and {"x", "y"} <= set(kwargs), f"coordinates must be x=/y= keywords: {line!r}")
            for axis in ("x", "y"):
                v = kwargs[axis]
                _check(isinstance(v, (int, float)) and 0 <= v <= 1, f"{axis}={v} is not in 0..1: {line!r}")
                _check(re.fullmatch(r"[01](\.\d{1,4})?", repr(v)) is not None, f"{axis}={v}: more than 4 decimals")
        if method == "write":
            _check(set(kwargs) == {"message"} and not args, f"write needs message=: {line!r}")
        if method == "terminate":
            _check(kwargs.get("status") in ("success", "failure"), f"terminate status: {line!r}")
        if method in ("press", "hotkey"):
            _check(isinstance(kwargs.get("keys"), list) and kwargs["keys"], f"keys=[...] in {line!r}")
        out.append((name, args, kwargs))
    names = [n for n, _, _ in out]
    if "pyautogui.dragTo" in names:
        _check(names == ["pyautogui.moveTo", "pyautogui.dragTo"] and out[1][2].get("button") == "left",
               f"drag must be moveTo then dragTo(button='left'): {code!r}")
    if "pyautogui.scroll" in names or "pyautogui.hscroll" in names:
        _check(names[0] == "pyautogui.moveTo" and all(isinstance(a[0], int) for _, a, _ in out[1:]),
               f"scroll must be moveTo then scroll(n): {code!r}")
    return out


def is_mouse_step(code: str) -> bool:
    """A step whose first line puts the pointer somewhere on screen (what CoT generators mark)."""
    name = parse_code(code)[0][0]
    return name.split(".")[-1] in POINTER

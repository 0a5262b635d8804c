"""What a model is shown for one step, and how its image relates to the screen.

The format follows the OpenCUA/AgentNet convention most open computer-use models are trained
on: the task, the previous actions as pyautogui code, and the screenshot; the model answers
with pyautogui code in a ``python`` block. ``--format tools`` offers the same vocabulary as
OpenAI tool calls instead.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

SYSTEM_PYAUTOGUI = """\
You are a computer-use agent operating a desktop through pyautogui. You are given a task, the \
actions taken so far, and a screenshot of the screen now. Answer with a short thought, then the \
next action as pyautogui code in a ```python block. Coordinates are x= and y= keywords, either \
relative to the screenshot (0..1, e.g. pyautogui.click(x=0.4123, y=0.2210)) or in pixels of the \
screenshot.
Calls you may use: pyautogui.click, doubleClick, rightClick, middleClick, moveTo followed by \
dragTo(x=, y=, button='left'), moveTo followed by scroll(n) (n > 0 scrolls up), \
write(message='text'), press('enter'), hotkey('ctrl', 'c'); computer.wait(); \
call_user(message='...') when you need the person; and \
computer.terminate(status='success') or computer.terminate(status='failure') when the task is \
done or cannot be done."""

SYSTEM_TOOLS = """\
You are a computer-use agent operating a desktop. You are given a task, the actions taken so \
far, and a screenshot of the screen now. Call exactly one tool for the next action. \
Coordinates are pixels of the screenshot, or fractions 0..1 of its width and height. Call done \
when the task is complete, fail when it cannot be done, call_user when you need the person."""


def _point(description: str) -> dict[str, Any]:
    return {"type": "number", "description": description}


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


_XY = {"x": _point("x in screenshot pixels or 0..1"), "y": _point("y in screenshot pixels or 0..1")}
# One tool per action type of DESIGN.md's vocabulary; the names are the vocabulary's.
TOOLS: list[dict[str, Any]] = [
    _tool("click", "Left-click a point.", _XY, ["x", "y"]),
    _tool("double_click", "Double-click a point.", _XY, ["x", "y"]),
    _tool("right_click", "Right-click a point.", _XY, ["x", "y"]),
    _tool("middle_click", "Middle-click a point.", _XY, ["x", "y"]),
    _tool("drag", "Press at (x, y), move to (x2, y2), release.",
          {**_XY, "x2": _point("end x"), "y2": _point("end y")}, ["x", "y", "x2", "y2"]),
    _tool("scroll", "Scroll the wheel at a point; dy > 0 scrolls up, dx > 0 right.",
          {**_XY, "dx": {"type": "integer"}, "dy": {"type": "integer"}}, ["x", "y", "dy"]),
    _tool("type", "Type text.", {"text": {"type": "string"}}, ["text"]),
    _tool("hotkey", "Press keys together, lowercase pyautogui names.",
          {"keys": {"type": "array", "items": {"type": "string"}}}, ["keys"]),
    _tool("key", "Press one non-text key such as enter, tab, esc.", {"key": {"type": "string"}}, ["key"]),
    _tool("select", "Choose an option in an open dropdown, list or menu by its label.",
          {"label": {"type": "string"}, "value": {"type": "string"}}, ["label"]),
    _tool("navigate", "Open a URL in the browser.", {"url": {"type": "string"}}, ["url"]),
    _tool("wait", "Wait for the screen to change.", {"seconds": {"type": "number"}}, []),
    _tool("done", "The task is complete.", {}, []),
    _tool("fail", "The task cannot be done.", {"reason": {"type": "string"}}, []),
    _tool("call_user", "Ask the person for help.", {"message": {"type": "string"}}, ["message"]),
]


@dataclass(frozen=True)
class ImageFit:
    """The screen and the (possibly smaller) image the model sees of it.

    Models answer in the coordinates of the image they saw, or in 0..1; ``to_screen`` maps
    either back to screen pixels.
    """

    screen_w: int
    screen_h: int
    image_w: int
    image_h: int

    @classmethod
    def for_screen(cls, screen_w: int, screen_h: int, image_size: str | None = None) -> "ImageFit":
        """``image_size``: ``WxH`` (exact), ``N`` (longest side at most N, aspect kept) or None (as is)."""
        if not image_size:
            return cls(screen_w, screen_h, screen_w, screen_h)
        try:
            if "x" in image_size.lower():
                w, h = (int(v) for v in image_size.lower().split("x"))
            else:
                side = int(image_size)
                ratio = min(1.0, side / max(screen_w, screen_h))
                w, h = round(screen_w * ratio), round(screen_h * ratio)
        except ValueError:
            raise ValueError(f"--image-size {image_size!r}: give WIDTHxHEIGHT (1280x720) or a longest side (1280)"
                             ) from None
        if w <= 0 or h <= 0:
            raise ValueError(f"--image-size {image_size!r} must be positive")
        return cls(screen_w, screen_h, w, h)

    def to_screen(self, x: float, y: float, normalised: bool) -> tuple[int, int]:
        if normalised:
            return round(x * (self.screen_w - 1)), round(y * (self.screen_h - 1))
        return round(x * self.screen_w / self.image_w), round(y * self.screen_h / self.image_h)

    def resize(self, image: Image.Image) -> Image.Image:
        if image.size == (self.image_w, self.image_h):
            return image
        return image.resize((self.image_w, self.image_h), Image.Resampling.LANCZOS)


def encode_png(image: Image.Image | bytes, fit: ImageFit | None = None, compress_level: int = 1) -> bytes:
    """PNG bytes of the image, resized to ``fit``. Level 1: most of a step's cost is this encoding."""
    if isinstance(image, bytes):
        if fit is None or (fit.image_w, fit.image_h) == (fit.screen_w, fit.screen_h):
            return image
        image = Image.open(io.BytesIO(image))
    if fit is not None:
        image = fit.resize(image)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def build_messages(task: str, history: list[str], png: bytes, *, format: str = "pyautogui",
                   fit: ImageFit | None = None, retry: tuple[str, str] | None = None,
                   max_history: int = 20) -> list[dict[str, Any]]:
    """The chat messages for one step.

    ``history``: the previous actions as pyautogui code, oldest first. ``retry``: (the
    reply that could not be used, why), told back to the model once so it can correct itself.
    """
    size = f" ({fit.image_w}x{fit.image_h} pixels)" if fit else ""
    previous = "\n".join(history[-max_history:]) or "(none)"
    text = f"Task: {task}\n\nPrevious actions:\n{previous}\n\nThe screenshot{size} shows the screen now."
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_TOOLS if format == "tools" else SYSTEM_PYAUTOGUI},
        {"role": "user", "content": [{"type": "text", "text": text},
                                     {"type": "image_url", "image_url": {"url": data_url(png)}}]},
    ]
    if retry is not None:
        bad, why = retry
        messages.append({"role": "assistant", "content": bad})
        messages.append({"role": "user", "content": f"That reply could not be used: {why}. "
                                                     "Answer again with one valid action."})
    return messages

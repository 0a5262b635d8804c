"""A scripted demonstration in mousepad, played with xdotool at a human-like pace.

Each step returns what a correct recording must show, so the integration tests and
``make demo`` share one script.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from workprint.demo.accessible import find
from workprint.demo.desktop import VirtualDesktop


@dataclass
class Expected:
    type: str
    x: int | None = None
    y: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    t: float = 0.0  # monotonic time the step started


class MousepadScript:
    """Drives one mousepad window. Coordinates come from the window and the accessibility bus."""

    def __init__(self, desk: VirtualDesktop, wid: int, pace: float = 1.0):
        self.desk = desk
        self.wid = wid
        self.pace = pace
        self.expected: list[Expected] = []
        from workprint.capture.atspi.bus import AtspiBus

        self._a11y = AtspiBus(timeout=2.0, env=desk.env)

    def pause(self, seconds: float) -> None:
        time.sleep(seconds * self.pace)

    def _center(self, bbox: list[int]) -> tuple[int, int]:
        return bbox[0] + bbox[2] // 2, bbox[1] + bbox[3] // 2

    def text_area(self) -> tuple[int, int]:
        bbox = find(self._a11y, "mousepad", "text", "") or None
        if bbox is None:
            x, y, w, h = self.desk.geometry(self.wid)
            return x + w // 2, y + h // 2
        return self._center(bbox)

    def _expect(self, kind: str, x: int | None = None, y: int | None = None, **extra) -> None:
        self.expected.append(Expected(kind, x, y, extra, time.monotonic()))

    def click(self, x: int, y: int, button: int = 1) -> None:
        self._expect({1: "click", 2: "middle_click", 3: "right_click"}[button], x, y)
        self.desk.xdotool("mousemove", x, y)
        self.pause(0.25)
        self.desk.xdotool("click", button)
        self.pause(0.6)

    def double_click(self, x: int, y: int) -> None:
        self._expect("double_click", x, y)
        self.desk.xdotool("mousemove", x, y)
        self.pause(0.25)
        self.desk.xdotool("click", "--repeat", 2, "--delay", 90, 1)
        self.pause(0.8)

    def type(self, text: str, expect: str | None = None) -> None:
        """Type ``text``; ``expect`` is the text after backspaces, if the caller adds some."""
        self._expect("type", extra={"text": expect if expect is not None else text})
        self.desk.xdotool("type", "--delay", 70, text)
        self.pause(0.2)

    def backspace(self, n: int) -> None:
        self.desk.xdotool("key", "--delay", 70, *(["BackSpace"] * n))
        self.pause(0.2)

    def finish_typing(self) -> None:
        self.pause(1.4)  # longer than type_merge_gap_s: the typing run ends

    def key(self, keysym: str, expect_keys: list[str], kind: str = "key") -> None:
        self._expect(kind, extra={"keys": expect_keys})
        self.desk.xdotool("key", keysym)
        self.pause(0.7)

    def scroll(self, x: int, y: int, clicks: int) -> None:
        """Scroll down ``clicks`` wheel clicks (pyautogui: dy < 0 scrolls down)."""
        self.desk.xdotool("mousemove", x, y)
        self.pause(0.3)
        self._expect("scroll", x, y, dy=-clicks)
        self.desk.xdotool("click", "--repeat", clicks, "--delay", 60, 5)
        self.pause(1.0)

    def drag(self, x: int, y: int, x2: int, y2: int) -> None:
        self.desk.xdotool("mousemove", x, y)
        self.pause(0.3)
        self._expect("drag", x, y, x2=x2, y2=y2)
        self.desk.xdotool("mousedown", 1)
        for i in range(1, 6):
            self.desk.xdotool("mousemove", x + (x2 - x) * i // 5, y + (y2 - y) * i // 5)
            time.sleep(0.04)
        self.desk.xdotool("mouseup", 1)
        self.pause(0.8)

    def menu(self, menu: str, item: str) -> None:
        """Open ``menu`` in the menu bar and choose ``item`` with the pointer."""
        bbox = find(self._a11y, "mousepad", "menu", menu)
        if bbox is None:
            raise RuntimeError(f"mousepad has no menu {menu!r} on the accessibility bus")
        self.click(*self._center(bbox))
        self.expected[-1].extra["target"] = {"role": "menu", "name": menu, "bbox": bbox}
        self.pause(0.5)
        bbox = None
        for _ in range(20):
            bbox = find(self._a11y, "mousepad", "menu item", item)
            if bbox:
                break
            time.sleep(0.1)
        if bbox is None:
            raise RuntimeError(f"menu {menu!r} has no item {item!r}")
        self.click(*self._center(bbox))
        self.expected[-1].extra["target"] = {"role": "menu item", "name": item, "bbox": bbox}

    def play(self) -> list[Expected]:
        """The whole demonstration: every action type the recorder derives on the desktop."""
        self.desk.activate(self.wid)
        cx, cy = self.text_area()
        self.click(cx, cy)
        self.type("Helo", expect="Hello from workprint, ticket ABC-123.")
        self.backspace(1)
        self.desk.xdotool("type", "--delay", 70, "lo from workprint, ticket ABC-123.")
        self.finish_typing()
        self.key("Return", ["enter"])
        self.type("Reach me at jane.doe@example.com", expect="Reach me at [EMAIL]")
        self.finish_typing()
        self.key("Return", ["enter"])
        for i in range(30):
            self.desk.xdotool("type", "--delay", 5, f"line {i} of a long document")
            self.desk.xdotool("key", "Return")
        self.expected.append(Expected("type", extra={"text": "line 0 of a long document"}, t=time.monotonic()))
        self.finish_typing()
        self.key("ctrl+Home", ["ctrl", "home"], kind="hotkey")
        self.scroll(cx, cy, 3)
        self.menu("Edit", "Select All")
        self.click(cx, cy)
        self.double_click(cx - 60, cy - 40)
        self.drag(cx - 120, cy, cx + 80, cy + 60)
        return self.expected

"""Vocabulary actions -> synthetic input, each event registered with the channel first.

An action is cut into *gestures* that are never left half done (a click's press and
release, a key's down and up, a hotkey's modifiers). Before each gesture the executor asks
the channel whether the agent still has control: the person's first input stops the agent
between two gestures, so a long ``write`` stops at the next character, and no button or
modifier is left held down.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from workprint.agent.channel import AgentChannel, Expected
from workprint.capture.base import Injector
from workprint.vocabulary import ACTION_SPECS, Action, button_of

_TEXT_KEYS = {"\n": "enter", "\t": "tab", " ": "space"}
GESTURE_GAP_S = 0.008  # between the characters of `write`: editors drop keys typed faster


class Interrupted(Exception):
    """The person took control (or stopped the run) before the action was complete."""


class Executor:
    """Performs actions through an injector for one agent step at a time."""

    def __init__(self, injector: Injector, channel: AgentChannel, clock: Callable[[], float] = time.monotonic):
        self.injector = injector
        self.channel = channel
        self.clock = clock
        self.step = 0
        self._pointer: tuple[int, int] | None = None
        self.injected: list[float] | None = None  # bench: when each gesture began (monotonic)

    # ------------------------------------------------------------ gestures
    def _gesture(self, expected: list[Expected], perform: Callable[[], None]) -> None:
        def inject() -> None:
            if self.injected is not None:
                self.injected.append(self.clock())
            perform()
        # The person's input is classified before or after the gesture, never during it.
        if not self.channel.gesture(expected, inject):
            raise Interrupted()

    def _exp(self, kind: str, **fields: Any) -> Expected:
        return Expected(kind, self.step, self.clock(), **fields)

    def move(self, x: int, y: int) -> None:
        if self._pointer == (x, y):
            return
        self._gesture([self._exp("move", x=x, y=y)], lambda: self.injector.move(x, y))
        self._pointer = (x, y)

    def click(self, x: int, y: int, button: str, count: int = 1) -> None:
        self.move(x, y)
        for _ in range(count):
            def perform() -> None:
                self.injector.button(button, True)
                self.injector.button(button, False)
            self._gesture([self._exp("press", x=x, y=y, button=button),
                           self._exp("release", x=x, y=y, button=button)], perform)

    def drag(self, x: int, y: int, x2: int, y2: int, button: str) -> None:
        self.move(x, y)

        def perform() -> None:
            self.injector.button(button, True)
            time.sleep(0.03)
            # Through a midpoint, so apps see motion with the button held.
            self.injector.move((x + x2) // 2, (y + y2) // 2)
            time.sleep(0.03)
            self.injector.move(x2, y2)
            time.sleep(0.03)
            self.injector.button(button, False)
        self._gesture([self._exp("press", x=x, y=y, button=button),
                       self._exp("move", x=(x + x2) // 2, y=(y + y2) // 2), self._exp("move", x=x2, y=y2),
                       self._exp("release", x=x2, y=y2, button=button)], perform)
        self._pointer = (x2, y2)

    def scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        self.move(x, y)
        for axis_dx, axis_dy, n in ((0, 1 if dy > 0 else -1, abs(dy)), (1 if dx > 0 else -1, 0, abs(dx))):
            for _ in range(n):
                self._gesture([self._exp("wheel", x=x, y=y)], lambda: self.injector.wheel(axis_dx, axis_dy))

    def keys(self, names: list[str]) -> None:
        """Press ``names`` in order and release them in reverse: a key or a hotkey."""
        hooks = [self.injector.stroke(n).key for n in names]  # raises ValueError for an unknown key
        expected = [self._exp("key_down", key=h) for h in hooks]
        expected += [self._exp("key_up", key=h) for h in reversed(hooks)]

        def perform() -> None:
            for n in names:
                self.injector.key(n, True)
            for n in reversed(names):
                self.injector.key(n, False)
        self._gesture(expected, perform)

    def write(self, text: str) -> None:
        for char in text:
            if char in _TEXT_KEYS:
                self.keys([_TEXT_KEYS[char]])
            else:
                self._char(char)
            time.sleep(GESTURE_GAP_S)

    def _char(self, char: str) -> None:
        stroke = self.injector.stroke(char)
        remapped = char if stroke.rebound else None
        shift = self.injector.stroke("shift").key if stroke.shift else None
        expected = ([self._exp("key_down", key=shift)] if shift else [])
        expected += [self._exp("key_down", key=stroke.key, remapped_char=remapped),
                     self._exp("key_up", key=stroke.key, remapped_char=remapped)]
        if shift:
            expected.append(self._exp("key_up", key=shift))

        def perform() -> None:
            if shift:
                self.injector.key("shift", True)
            self.injector.key(char, True)
            self.injector.key(char, False)
            if shift:
                self.injector.key("shift", False)
        self._gesture(expected, perform)

    # ------------------------------------------------------------ actions
    def perform(self, action: Action, step: int) -> None:
        """Execute one vocabulary action (pointer, keys or text); raises Interrupted if stopped."""
        self.step = step
        kind = action["type"]
        shape = ACTION_SPECS[kind].shape if kind in ACTION_SPECS else None
        if shape == "point":
            button = button_of(kind) if kind in ("right_click", "middle_click") else action.get("button") or "left"
            self.click(action["x"], action["y"], button, 2 if kind == "double_click" else 1)
        elif shape == "drag":
            self.drag(action["x"], action["y"], action["x2"], action["y2"], action.get("button") or "left")
        elif shape == "scroll":
            self.scroll(action["x"], action["y"], int(action.get("dx") or 0), int(action.get("dy") or 0))
        elif shape == "keys":
            self.keys(list(action["keys"]))
        elif shape == "text":
            self.write(action["text"])
        else:
            raise ValueError(f"{kind} cannot be performed on the desktop")

"""The interface every platform backend implements, and the plain data it hands over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from workprint.errors import WorkprintError
from workprint.vocabulary import Rect, ScreenInfo

# What input hooks put on the recorder's queue: (kind, monotonic_t, *payload).
#   ("move", t, x, y) ("press"/"release", t, x, y, button) ("wheel", t, x, y, dx, dy)
#   ("key_down"/"key_up", t, key)  where key is the backend's key object (see capture.keys)
InputItem = tuple[Any, ...]
Enqueue = Callable[[InputItem], None]


class BackendUnavailable(WorkprintError):
    """Capture cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Screen:
    w: int
    h: int
    scale: float = 1.0

    def to_dict(self) -> ScreenInfo:
        return {"w": self.w, "h": self.h, "scale": self.scale}


@dataclass(frozen=True)
class Window:
    wid: int
    app_ids: tuple[str, ...]  # e.g. WM_CLASS (instance, class), lowercase
    title: str
    rect: tuple[int, int, int, int]  # x, y, w, h in screen pixels (frame included), as focus events store it

    @property
    def box(self) -> Rect:
        """``rect`` as the in-memory rectangle (corners, end exclusive)."""
        return Rect.from_xywh(*self.rect)

    @property
    def app(self) -> str | None:
        """The app id shown in actions: the WM_CLASS class where there is one."""
        return self.app_ids[-1] if self.app_ids else None

    def contains(self, x: int, y: int) -> bool:
        wx, wy, ww, wh = self.rect
        return wx <= x < wx + ww and wy <= y < wy + wh


@dataclass
class CapturedFrame:
    """A raw screen grab held in memory; encoded only if an action needs it."""

    t: float  # monotonic time the grab started
    w: int
    h: int
    # BGRA, row-major, cut into bands of rows: a grab shares the bands that did not change with
    # the grab before it, so grabbing after a keystroke copies kilobytes, not the whole screen,
    # and comparing two grabs is mostly identity checks.
    pixels: tuple[bytes, ...]
    stable: bool  # the screen had not changed for `settle_s` before the grab
    windows: list[Window] = field(default_factory=list)  # visible windows, bottom to top
    active: Window | None = None
    kept: bool = False

    def bgra(self) -> bytes:
        """The whole frame as one BGRA buffer."""
        return b"".join(self.pixels)


class InputHooks(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class WindowInspector(Protocol):
    """Window lookups; one per thread (X connections are not thread-safe)."""

    def active_window(self) -> Window | None: ...
    def windows(self) -> list[Window]: ...
    def close(self) -> None: ...


class ScreenGrabber(Protocol):
    """Screen grabs; one per thread."""

    windows_changed: bool  # set when windows were mapped, moved or restacked, or focus changed

    def wait_change(self, timeout: float) -> bool:
        """Block up to ``timeout`` s; True if the screen changed meanwhile."""
        ...

    def grab(self) -> tuple[int, int, tuple[bytes, ...]]:
        """(width, height, BGRA bands of rows); unchanged bands are the previous grab's objects."""
        ...
    def close(self) -> None: ...


class Backend(Protocol):
    name: str

    def screen(self) -> Screen: ...
    def input_hooks(self, enqueue: Enqueue) -> InputHooks: ...
    def window_inspector(self) -> WindowInspector: ...
    def screen_grabber(self) -> ScreenGrabber: ...
    def injector(self) -> "Injector": ...


class Injector(Protocol):
    """Synthetic input for an agent (XTEST on X11); one per thread.

    Primitive events only: ``workprint.agent.actuate`` composes them into gestures and
    registers each event with the recorder before it is injected, which is how the agent's
    own input is told apart from the person's.
    """

    def move(self, x: int, y: int) -> None: ...
    def button(self, button: str, down: bool) -> None: ...
    def wheel(self, dx: int, dy: int) -> None: ...
    def keycode(self, keysym: int) -> tuple[int, bool]:
        """(key code, whether shift is needed) for a keysym."""
        ...
    def key(self, keysym: int, down: bool) -> None: ...
    def close(self) -> None: ...

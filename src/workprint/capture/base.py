"""The interface every platform backend implements, and the plain data it hands over.

A platform backend is one module under ``workprint.capture`` (named in
``capture.PLATFORM_MODULES``) that defines, importable without a display:

* ``APPS``: the platform's ``PlatformApps`` (built-in deny-list, browser app ids);
* ``open_backend() -> Backend``: the backend for this session, or ``BackendUnavailable``
  saying why not and what to do.

Everything the recorder and the agent use of a platform is in the protocols below; nothing
platform-neutral imports a backend module or a platform library (``tests/test_backend_seam.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from workprint.capture.keys import Key
from workprint.errors import WorkprintError
from workprint.vocabulary import Rect, ScreenInfo

# What input hooks put on the recorder's queue: (kind, monotonic_t, *payload).
#   ("move", t, x, y) ("press"/"release", t, x, y, button) ("wheel", t, x, y, dx, dy)
#   ("key_down"/"key_up", t, key)  where key is a ``capture.keys.Key`` (pyautogui name, char)
# button is "left", "middle" or "right"; dx, dy are wheel clicks (dy > 0 up).
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


@dataclass(frozen=True)
class PlatformApps:
    """App ids the platform-neutral code needs to know, in the platform's own terms
    (WM_CLASS on X11, bundle ids on macOS, exe names on Windows), matched case-insensitively
    as globs."""

    # Password managers and credential prompts: never recorded, whatever a policy says.
    deny: tuple[str, ...] = ()
    # Browsers the extension reports pages for: their windows follow the URL policy too.
    browsers: frozenset[str] = frozenset()


# Where the accessibility source sends what a click or key chose: (event id, monotonic t,
# {role, name, bbox: [x, y, w, h], app?}).
OnTarget = Callable[[int, float, dict], None]


class Accessibility(Protocol):
    """Names what a click or a key chose and watches for password fields (AT-SPI on Linux).

    Runs its own thread: ``pointer`` and ``key`` only enqueue; answers go to ``on_target``.
    """

    available: bool  # it reached the accessibility service (known once it ran)
    why_not: str  # why it did not, for the session's note
    secure_focus: bool  # a password field has keyboard focus: keystrokes must be dropped
    secure_box: Rect | None  # that field, masked in frames
    listening: threading.Event  # set once choices can be named (or it gave up)

    def start(self) -> None: ...
    def pointer(self, event_id: int, t: float, x: int, y: int) -> None: ...
    def key(self, event_id: int, t: float) -> None:
        """Enter or space was pressed: a keyboard choice in a menu or list, if one is selected."""
        ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True)
class Stroke:
    """How an injector types one key or character, and what the input hooks will report."""

    key: Key  # as the hooks will report it (matched by name, or by code)
    shift: bool = False  # shift must be held to type it
    # No key typed it, so the injector bound one for the moment: the hooks may report that key
    # without a name, and it is recorded as the character the agent typed.
    rebound: bool = False


class Injector(Protocol):
    """Synthetic input for an agent (XTEST on X11); one per thread.

    Primitive events only: ``workprint.agent.actuate`` composes them into gestures and
    registers each event with the recorder before it is injected, which is how the agent's
    own input is told apart from the person's. Keys are pyautogui names or single characters.
    """

    def move(self, x: int, y: int) -> None: ...
    def button(self, button: str, down: bool) -> None: ...
    def wheel(self, dx: int, dy: int) -> None: ...
    def stroke(self, key: str) -> Stroke:
        """How ``key`` (a pyautogui name or one character) is typed; ValueError if it cannot be."""
        ...
    def key(self, key: str, down: bool) -> None:
        """Press or release the key for ``key`` (shift, if its stroke needs it, is the caller's)."""
        ...
    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    apps: PlatformApps

    def screen(self) -> Screen: ...
    def input_hooks(self, enqueue: Enqueue) -> InputHooks: ...
    def window_inspector(self) -> WindowInspector: ...
    def screen_grabber(self) -> ScreenGrabber: ...
    def injector(self) -> Injector: ...
    def accessibility(self, on_target: OnTarget) -> Accessibility | None:
        """A new (not started) accessibility source, or None where the platform has none."""
        ...
    def ask_text(self, title: str, prompt: str) -> str | None:
        """Ask the person for a line of text in a small dialog; None if cancelled. Blocks:
        call it off the gate thread. Titles start "workprint:" (never recorded, see policy)."""
        ...
    def notify(self, summary: str, body: str = "") -> None:
        """A desktop notification where the desktop has a service for them; never blocks."""
        ...

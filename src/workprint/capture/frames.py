"""Frames: a small ring of recent raw grabs, and the encoder that stores the ones actions need.

The sampler grabs the screen only after it changed (X DAMAGE) and once it has been still for
``settle_s`` — such a grab is *stable*, the state a person sees and acts on. If the screen
keeps changing for ``max_unstable_s`` it grabs anyway and marks the frame unstable. Raw grabs
sit in a bounded ring; nothing is encoded unless the recorder keeps the frame (the frame
before an action, the first stable frame after it, a window change, a periodic snapshot).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import numpy as np
from PIL import Image

from workprint.capture.base import Backend, CapturedFrame, Window
from workprint.vocabulary import Rect
from workprint.settings import Settings


# Window geometry attached to grabs (for masking denied apps) is re-read whenever the backend
# reports a window change, and at least this often.
WINDOWS_RECHECK_S = 2.0


class FrameRing:
    """The last ``size`` grabs; thread-safe."""

    def __init__(self, size: int):
        self._frames: deque[CapturedFrame] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._grabbing_since: float | None = None

    def begin_grab(self, t: float) -> None:
        with self._lock:
            self._grabbing_since = t

    def end_grab(self) -> None:
        with self._lock:
            self._grabbing_since = None

    def add(self, frame: CapturedFrame) -> None:
        with self._lock:
            self._frames.append(frame)
            self._grabbing_since = None

    def latest(self) -> CapturedFrame | None:
        with self._lock:
            return self._frames[-1] if self._frames else None

    def first_stable_after(self, t: float) -> CapturedFrame | None:
        with self._lock:
            return next((f for f in self._frames if f.t > t and f.stable), None)

    def before(self, t: float) -> CapturedFrame | None:
        """The last stable frame grabbed at or before ``t`` (else the last one at all)."""
        # A grab that started before t but is still being read belongs to the answer: wait for it.
        deadline = time.monotonic() + 0.05
        while True:
            with self._lock:
                grabbing = self._grabbing_since is not None and self._grabbing_since <= t
                if not grabbing or time.monotonic() > deadline:
                    earlier = [f for f in self._frames if f.t <= t]
                    stable = [f for f in earlier if f.stable]
                    found = stable or earlier
                    return found[-1] if found else None
            time.sleep(0.002)


class FrameSampler(threading.Thread):
    """Grabs the screen after it changes and settles; hands each grab to ``on_frame``."""

    def __init__(self, backend: Backend, settings: Settings, ring: FrameRing,
                 on_frame: Callable[[CapturedFrame], None]):
        super().__init__(name="workprint-frames", daemon=True)
        self._backend = backend
        self._settings = settings
        self._ring = ring
        self._on_frame = on_frame
        self._stopping = threading.Event()
        self.grabs = 0
        self.error: Exception | None = None
        self._windows: tuple[list[Window], Window | None] = ([], None)
        self._windows_at = -1e9

    def stop(self) -> None:
        self._stopping.set()

    def _grab(self, grabber, inspector, stable: bool) -> None:
        t = time.monotonic()
        self._ring.begin_grab(t)
        w, h, pixels = grabber.grab()
        previous = self._ring.latest()
        if grabber.windows_changed or t - self._windows_at > WINDOWS_RECHECK_S:
            grabber.windows_changed = False
            self._windows = (inspector.windows(), inspector.active_window())
            self._windows_at = t
        frame = CapturedFrame(t, w, h, pixels, stable, *self._windows)
        if previous is not None and previous.pixels == pixels and previous.stable == stable:
            # Drawn again, but nothing visible changed: keep the older frame (and its time).
            self._ring.end_grab()
            return
        self._ring.add(frame)
        self.grabs += 1
        self._on_frame(frame)

    def run(self) -> None:
        s = self._settings
        try:
            grabber = self._backend.screen_grabber()
            inspector = self._backend.window_inspector()
        except Exception as exc:  # reported by the recorder
            self.error = exc
            return
        try:
            self._grab(grabber, inspector, stable=True)
            dirty_since: float | None = None
            last_change = 0.0
            while not self._stopping.is_set():
                if dirty_since is None:
                    if grabber.wait_change(0.5):
                        last_change = dirty_since = time.monotonic()
                    continue
                # The screen is changing: sleep until it could have settled, then look at what
                # was drawn meanwhile. One wake-up per settle period, not one per damage event
                # (typing a character is several); a change seen now counts as happening now.
                now = time.monotonic()
                time.sleep(max(0.0, min(last_change + s.settle_s, dirty_since + s.max_unstable_s) - now))
                if grabber.wait_change(0):
                    last_change = time.monotonic()
                now = time.monotonic()
                stable = now - last_change >= s.settle_s
                if stable or now - dirty_since >= s.max_unstable_s:
                    self._grab(grabber, inspector, stable)
                    # After a forced (unstable) grab, stay dirty: once the screen settles, the
                    # stable frame follows even if nothing is drawn after that.
                    dirty_since = None if stable else time.monotonic()
        except Exception as exc:
            self.error = exc
        finally:
            grabber.close()
            inspector.close()


def masked_rgb(frame: CapturedFrame, masks: list[Rect]) -> np.ndarray:
    """The frame as H×W×3 RGB with the masked rectangles black."""
    # Pillow's BGRX unpacker is ~3× faster than a strided numpy copy of the channels.
    rgb = np.asarray(Image.frombuffer("RGB", (frame.w, frame.h), frame.bgra(), "raw", "BGRX", 0, 1))
    if masks:
        rgb = rgb.copy()  # writable
    for mask in masks:
        if not isinstance(mask, Rect):  # an [x, y, w, h] read as corners would leave part of a secret showing
            raise TypeError(f"mask {mask!r} is not a Rect: convert [x, y, w, h] with Rect.from_xywh")
        x0, y0, x1, y1 = mask
        rgb[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 0
    return rgb


def mask_rects(frame: CapturedFrame, allowed: Callable[[Window], bool]) -> list[Rect]:
    """Rectangles of visible windows the policy does not allow."""
    return [w.box for w in frame.windows if w.app_ids and not allowed(w)]

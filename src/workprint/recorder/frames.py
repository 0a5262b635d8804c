"""Which screen grabs are kept: the frame before an action, the first stable one after it, a
window change, a periodic snapshot (DESIGN.md: `frame` and `frame_after` of an action).

The sampler fills the ring with raw grabs; nothing is encoded unless kept here. A kept frame
goes to the encoder with the rectangles to black out (windows the policy denies, the focused
password field); a screen shown while a denied app has focus is never kept.
"""

from __future__ import annotations

from typing import Any, Callable

from workprint.capture import CapturedFrame, Window
from workprint.capture.frames import FrameRing, mask_rects
from workprint.vocabulary import Rect

# How long the frame after an action may wait for the screen to show the action's effect. On a
# busy machine an app can repaint later than the sampler's settle time: the first stable grab
# after a menu choice may still show the open menu, the very screen the action began on. A grab
# that shows no change is kept only when no changed one comes within this time (or the next
# action begins).
AFTER_CHANGE_WAIT_S = 1.0
Submit = Callable[[CapturedFrame, str, list[Rect]], Any]


class FrameKeeper:
    """Picks frames out of the ring for the encoder (gate thread only).

    ``allowed(window)`` is the policy's answer for a window; ``extra_masks()`` the secure fields
    to black out besides denied windows; ``paused()`` whether recording is paused; ``rel(t)``
    session time of a monotonic time.
    """

    def __init__(self, ring: FrameRing, submit: Submit, allowed: Callable[[Window | None], bool],
                 extra_masks: Callable[[], list[Rect]], paused: Callable[[], bool], rel: Callable[[float], float]):
        self.ring = ring
        self._submit = submit
        self._allowed = allowed
        self._extra_masks = extra_masks
        self._paused = paused
        self._rel = rel
        self.last_kept_t = 0.0  # session time of the last frame kept
        self._after_t: float | None = None  # an action ended then; no frame showing its effect yet
        self._after_unchanged: CapturedFrame | None = None  # a stable grab after it, showing no change
        self._before: CapturedFrame | None = None  # the screen the last action began on
        self._window_t: float | None = None  # the focused window changed then; no frame since

    def keep(self, frame: CapturedFrame, reason: str) -> None:
        if frame.kept or self._paused():
            return
        if frame.active is not None and not self._allowed(frame.active):
            return  # a denied app had focus: never store this screen
        masks = mask_rects(frame, self._allowed)
        masks.extend(self._extra_masks())
        frame.kept = True
        self.last_kept_t = self._rel(frame.t)
        self._submit(frame, reason, masks)

    def keep_before(self, t: float) -> None:
        """The last stable frame before ``t``: the screen an action starting at ``t`` acted on."""
        frame = self.ring.before(t)
        if self._after_t is not None:  # the action before this one showed no change: so be it
            self._settle_after(frame if frame is not None and frame.t > self._after_t else None)
        if frame is not None:
            self._before = frame
            self.keep(frame, "before")

    def request_after(self, t: float) -> None:
        """Keep the first stable frame grabbed after ``t`` (the end of an action) that shows a
        change from the screen the action began on; one that shows none only after
        ``AFTER_CHANGE_WAIT_S`` (see ``expire``)."""
        self._after_t, self._after_unchanged = t, None
        frame = self.ring.first_stable_after(t)
        while frame is not None:
            if self._changed(frame):
                self._settle_after(frame)
                return
            self._after_unchanged = self._after_unchanged or frame
            frame = self.ring.first_stable_after(frame.t)

    def expire(self, now: float) -> None:
        """Clock tick (monotonic ``now``): an action whose effect never showed keeps the unchanged
        stable frame grabbed after it."""
        if self._after_t is not None and now - self._after_t > AFTER_CHANGE_WAIT_S:
            self._settle_after(None)

    def _changed(self, frame: CapturedFrame) -> bool:
        before = self._before
        # Unchanged bands of rows are the very objects of the grab before (see CapturedFrame), so
        # this is mostly identity checks.
        return before is None or frame.pixels != before.pixels

    def _settle_after(self, frame: CapturedFrame | None) -> None:
        frame = frame or self._after_unchanged
        self._after_t = self._after_unchanged = None
        if frame is not None:
            self.keep(frame, "after")

    def request_window(self, t: float) -> None:
        """The focused window changed at ``t``: keep the next stable frame."""
        self._window_t = t

    def periodic(self, now: float, every_s: float) -> None:
        """Keep the latest stable frame when none was kept for ``every_s`` (session time ``now``)."""
        if now - self.last_kept_t > every_s:
            latest = self.ring.latest()
            if latest is not None and not latest.kept and latest.stable:
                self.keep(latest, "periodic")

    def on_frame(self, frame: CapturedFrame) -> None:
        """A new grab reached the gate: it may be the frame after an action or a window change."""
        if self._paused() or not frame.stable:
            return
        if self._after_t is not None and frame.t > self._after_t:
            if self._changed(frame) or frame.t - self._after_t > AFTER_CHANGE_WAIT_S:
                self._settle_after(frame)
            elif self._after_unchanged is None:
                self._after_unchanged = frame
        if self._window_t is not None and frame.t > self._window_t:
            self._window_t = None
            self.keep(frame, "window")


def frame_event(frame: CapturedFrame, reason: str, frame_id: str, stored: str, masked: list[list[int]],
                t: float) -> dict[str, Any]:
    """The ``frame`` event written once the encoder stored a kept frame (``t``: session time;
    ``masked``: the rectangles blacked out, as stored: ``[x, y, w, h]``)."""
    event: dict[str, Any] = {"kind": "frame", "t": t, "frame": frame_id, "stable": frame.stable,
                             "reason": reason, "w": frame.w, "h": frame.h, "stored": stored}
    if masked:
        event["masks"] = masked
    return event

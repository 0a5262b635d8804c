"""The platform-neutral half of a screen grabber: a full-screen buffer patched where it changed.

As mss keeps ``grab`` in its base class and only ``_grab_impl`` per platform, a backend's
grabber subclasses ``BandedGrabber``, reads pixels in ``_grab_impl`` and reports what was
drawn with ``add_dirty``; this class keeps the screen, re-reads only the dirty box, and cuts
the screen into bands of rows that are shared with the previous grab where they did not
change (so a grab after a keystroke copies kilobytes, and comparing grabs is identity checks).
"""

from __future__ import annotations

import time

import numpy as np


class BandedGrabber:
    """``grab()`` for subclasses that implement ``_screen_size`` and ``_grab_impl``.

    Only the dirty box is read while something reports damage; at least every
    ``FULL_GRAB_S`` seconds (or after ``invalidate``) the whole screen is read again, in case
    something drew without a report.
    """

    FULL_GRAB_S = 10.0
    BAND_ROWS = 16

    def __init__(self) -> None:
        self.windows_changed = True
        self._buffer: bytearray | None = None
        self._bands: list[bytes] = []  # the buffer cut into bands of BAND_ROWS rows, as handed out
        self._dirty: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1
        self._full_grab_at = -1e9

    # ------------------------------------------------------------ per platform
    def _screen_size(self) -> tuple[int, int]:
        """(width, height) of the screen in pixels."""
        raise NotImplementedError

    def _grab_impl(self, x: int, y: int, w: int, h: int) -> bytes | bytearray:
        """BGRA pixels of the screen rectangle, row-major, ``w * h * 4`` bytes."""
        raise NotImplementedError

    # ------------------------------------------------------------ shared
    def add_dirty(self, x: int, y: int, w: int, h: int) -> None:
        """Something was drawn in this rectangle since the last grab."""
        box = (x, y, x + w, y + h)
        d = self._dirty
        self._dirty = box if d is None else (min(d[0], box[0]), min(d[1], box[1]), max(d[2], box[2]), max(d[3], box[3]))

    def invalidate(self) -> None:
        """The next grab reads the whole screen (a platform without damage reports polls this way)."""
        self._buffer = None

    def last_bands(self) -> tuple[bytes, ...]:
        return tuple(self._bands)

    def _cut_bands(self, first_row: int, end_row: int, width: int) -> None:
        """Re-cut the bands holding rows [first_row, end_row) from the buffer, where they changed."""
        assert self._buffer is not None
        size = width * 4 * self.BAND_ROWS
        view = memoryview(self._buffer)  # slicing a bytearray would copy twice
        for i in range(first_row // self.BAND_ROWS, (end_row + self.BAND_ROWS - 1) // self.BAND_ROWS):
            band = bytes(view[i * size:(i + 1) * size])
            if band != self._bands[i]:
                self._bands[i] = band

    def grab(self) -> tuple[int, int, tuple[bytes, ...]]:
        """(width, height, BGRA bands of rows); unchanged bands are the previous grab's objects."""
        width, height = self._screen_size()
        dirty, self._dirty = self._dirty, None
        now = time.monotonic()
        if self._buffer is None or dirty is None or now - self._full_grab_at > self.FULL_GRAB_S:
            self._full_grab_at = now
            raw = self._grab_impl(0, 0, width, height)
            self._buffer = raw if isinstance(raw, bytearray) else bytearray(raw)
            bands = -(-height // self.BAND_ROWS)
            if len(self._bands) != bands:
                self._bands = [b""] * bands
            self._cut_bands(0, height, width)
            return width, height, tuple(self._bands)
        x0, y0 = max(0, dirty[0]), max(0, dirty[1])
        x1, y1 = min(width, dirty[2]), min(height, dirty[3])
        if x1 > x0 and y1 > y0:
            patch = self._grab_impl(x0, y0, x1 - x0, y1 - y0)
            screen = np.frombuffer(self._buffer, dtype=np.uint8).reshape(height, width, 4)
            screen[y0:y1, x0:x1] = np.frombuffer(patch, dtype=np.uint8).reshape(y1 - y0, x1 - x0, 4)
            self._cut_bands(y0, y1, width)
        return width, height, tuple(self._bands)

"""The encoder that stores the frames the recorder keeps, off the capture path.

The capture stage grabs and holds raw frames; what is written goes through the store's codec
here, so capture never depends on how frames are stored.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

import numpy as np

from workprint.capture.base import CapturedFrame
from workprint.capture.frames import masked_rgb
from workprint.store.framecodec import CODECS, Encoded
from workprint.vocabulary import Rect


class FrameEncoder(threading.Thread):
    """Encodes kept frames off the capture path and hands (frame, id, bytes) to ``on_encoded``.

    The queue is bounded; when it is full, periodic and window snapshots are dropped (and
    counted), never the frames before or after an action.
    """

    OPTIONAL = {"periodic", "window"}

    def __init__(self, on_encoded: Callable[[CapturedFrame, str, Encoded, list], None], codec: str = "patch",
                 size: int = 12):
        super().__init__(name="workprint-encoder", daemon=True)
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._on_encoded = on_encoded
        self._codec = CODECS[codec]()
        # Frames no different from the last one encoded (or by a few pixels, as the codec
        # allows) are answered with its id before any conversion: a third of the frames kept
        # around actions are such repeats.
        self._near_px = getattr(self._codec, "near_identical_px", 0)
        self._last: tuple[CapturedFrame, list[Rect], Encoded] | None = None
        self.dropped = 0
        self.error: Exception | None = None

    def _repeat(self, frame: CapturedFrame, masks: list[Rect]) -> Encoded | None:
        """The last encoding again if ``frame`` shows (nearly) the same screen with the same masks."""
        if self._last is None:
            return None
        last, last_masks, encoded = self._last
        if last_masks != masks or (last.w, last.h) != (frame.w, frame.h) or len(last.pixels) != len(frame.pixels):
            return None
        changed = 0
        for a, b in zip(last.pixels, frame.pixels):
            if a is b or a == b:
                continue
            changed += int(np.count_nonzero(np.frombuffer(a, np.uint32) != np.frombuffer(b, np.uint32)))
            if changed > self._near_px:
                return None
        return Encoded(encoded.frame_id, None, "same" if changed == 0 else "near")

    def submit(self, frame: CapturedFrame, reason: str, masks: list[Rect]) -> bool:
        try:
            if reason in self.OPTIONAL:
                self._queue.put_nowait((frame, reason, masks))
            else:
                self._queue.put((frame, reason, masks), timeout=5)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def close(self) -> None:
        self._queue.put(None)
        self.join(timeout=30)

    def run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            frame, reason, masks = item
            try:
                encoded = self._repeat(frame, masks)
                if encoded is None:
                    encoded = self._codec.encode(masked_rgb(frame, masks))
                    self._last = (frame, masks, encoded)
                self._on_encoded(frame, reason, encoded, [list(m.xywh) for m in masks])  # on disk: [x, y, w, h]
            except Exception as exc:
                self.error = exc

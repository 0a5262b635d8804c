"""Named thresholds of capture and action derivation.

They are recorded with every session, so actions can be derived again with the values the
session was recorded with (or deliberately with new ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    # Pointer moves: kept at most every `move_min_interval_s` and only when the pointer went
    # at least `move_min_px` from the last kept move (a raw 60-200 Hz stream costs ~130 MB/h).
    move_min_interval_s: float = 0.05
    move_min_px: int = 3
    # Trace attached to an action: moves simplified with Ramer-Douglas-Peucker at this tolerance.
    trace_tolerance_px: float = 2.0
    # Clicks: a second press within this time and distance is a double click.
    double_click_s: float = 0.4
    double_click_px: int = 5
    # A press that travels further than this before release is a drag.
    drag_px: int = 8
    # Wheel events closer than this in time merge into one scroll.
    scroll_merge_gap_s: float = 0.6
    # Keystrokes closer than this merge into one `type` action.
    type_merge_gap_s: float = 1.0
    # Typing runs are held in memory (for redaction) at most this long before being written.
    type_max_run_s: float = 30.0
    # Frames: the screen counts as stable after this long without change.
    settle_s: float = 0.08
    # ... and is grabbed anyway (marked unstable) after changing continuously this long.
    max_unstable_s: float = 0.5
    # A periodic snapshot when the screen changed and no frame was kept for this long.
    periodic_s: float = 30.0
    # Recent raw frames kept in memory to choose the frame before an action from.
    ring_size: int = 6
    # How kept frames are stored (store.framecodec): "patch" (keyframe + changed rectangles) or "png".
    frame_codec: str = "patch"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

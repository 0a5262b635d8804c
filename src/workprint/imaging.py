"""Where two screen images differ: shared by the frame codec (store) and screenshot redaction
(privacy), which must agree on what changed between two frames.

Frames are H×W×3 numpy arrays; rectangles are ``vocabulary.Rect`` (corners, end exclusive).
"""

from __future__ import annotations

import numpy as np

from workprint.vocabulary import Rect


def changed_pixels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """H×W mask of the pixels where two H×W×3 frames differ.

    Written as an OR of the three channel planes: ``np.any(a != b, axis=2)`` reduces over an
    axis of length 3 and is ~30× slower on a 1920×1080 frame, which made it the recorder's
    largest cost.
    """
    diff = a != b
    return diff[..., 0] | diff[..., 1] | diff[..., 2]


def changed_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices of the rows where two frames differ (each row compared as one flat run of bytes)."""
    return np.flatnonzero((a != b).reshape(a.shape[0], -1).any(axis=1))


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[Rect, int] | None:
    """(where two frames differ, changed pixel count); None if they are equal.

    Rows are found on the flat rows first, so only the changed band is reduced per pixel.
    """
    rows = changed_rows(a, b)
    if not rows.size:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    mask = changed_pixels(a[y0:y1], b[y0:y1])
    cols = np.flatnonzero(mask.any(axis=0))
    return Rect(int(cols[0]), y0, int(cols[-1]) + 1, y1), int(np.count_nonzero(mask))


def runs(indices: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Sorted indices grouped into [start, end) runs; a jump of more than ``gap`` starts a new one."""
    if not indices.size:
        return []
    breaks = np.flatnonzero(np.diff(indices) > gap)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks], [indices[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def changed_boxes(a: np.ndarray, b: np.ndarray, gap: int = 24) -> list[Rect]:
    """Rectangles covering where two frames differ, one per band of changed rows.

    Changes far apart (a typed line at the top, a scrollbar at the bottom) get a rectangle each
    instead of one bounding box over everything between them.
    """
    boxes = []
    for y0, y1 in runs(changed_rows(a, b), gap):
        cols = np.flatnonzero(changed_pixels(a[y0:y1], b[y0:y1]).any(axis=0))
        boxes.append(Rect(int(cols[0]), y0, int(cols[-1]) + 1, y1))
    return boxes

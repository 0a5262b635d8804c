"""How kept screens are stored: codecs behind one interface.

* ``png``: every frame a full lossless PNG (what simple recorders do).
* ``patch`` (default, chosen by ``bench/frames.py``): keyframes in lossless WebP, then frames
  stored as the changed rectangle against the closest recent keyframe (after moving its rows
  when the change was a scroll). Reading any frame decodes at most two images (its keyframe
  and its patch). Identical frames are stored once; a frame that differs from the
  previous one in only a handful of pixels (a blinking text cursor) is treated as the same.
  Both are lossless, so text stays exactly as legible as on screen.

A stored blob is either a plain image (PNG or lossless WebP) or ``MAGIC`` + a JSON header line
(``ref``, ``boxes``, and for a scroll ``shift``) + the boxes' pixels stacked in one image.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from workprint.imaging import changed_box, changed_boxes, changed_pixels
from workprint.vocabulary import Rect

MAGIC = b"WPF1\n"
PNG_MAGIC = b"\x89PNG"


@dataclass
class Encoded:
    frame_id: str
    blob: bytes | None  # None: the id names a frame already stored
    kind: str  # key | patch | same | near


def frame_digest(rgb: np.ndarray) -> str:
    # SHA-256 (hardware-accelerated on current CPUs) is ~3x faster than BLAKE2b on a 6 MB frame.
    return hashlib.sha256(np.ascontiguousarray(rgb).data.cast("B")).hexdigest()[:32]


def _png(rgb: np.ndarray, level: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def _webp_lossless(rgb: np.ndarray) -> bytes:
    # Lossless WebP at a low effort (quality 25, method 1): on a 1920×1080 desktop it encodes in
    # half the time of effort 60/method 4 for ~25% more bytes, still several times smaller than
    # PNG (bench/frames.py). Encoding runs while the person works, so time wins over bytes here.
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="WEBP", lossless=True, quality=25, method=1)
    return buf.getvalue()


class FrameCodec(Protocol):
    name: str

    def encode(self, rgb: np.ndarray) -> Encoded:
        """Encode one frame (H×W×3 uint8, already masked); codecs may keep state between frames."""
        ...


class PngCodec:
    name = "png"

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def encode(self, rgb: np.ndarray) -> Encoded:
        frame_id = frame_digest(rgb)
        if frame_id in self._seen:
            return Encoded(frame_id, None, "same")
        self._seen.add(frame_id)
        return Encoded(frame_id, _png(rgb, 1), "key")


def _stack(rgb: np.ndarray, boxes: list[Rect]) -> np.ndarray:
    """The boxes' pixels stacked top to bottom on one canvas (one image to encode and decode)."""
    width = max(b.w for b in boxes)
    canvas = np.zeros((sum(b.h for b in boxes), width, 3), dtype=np.uint8)
    top = 0
    for x0, y0, x1, y1 in boxes:
        canvas[top:top + y1 - y0, :x1 - x0] = rgb[y0:y1, x0:x1]
        top += y1 - y0
    return canvas


def _row_keys(rgb: np.ndarray) -> list[int]:
    """A hash of each row's pixels, to match rows that moved."""
    return [hash(row.tobytes()) for row in rgb]


def find_scroll(rgb: np.ndarray, key: np.ndarray, box: Rect) -> int:
    """The vertical shift (rows, ≠ 0) that best maps ``key`` onto ``rgb`` inside ``box``; 0 if none.

    Rows are matched by hash inside the changed columns; each distinct row that occurs once in
    both frames votes for its offset (blank rows, which match everywhere, do not vote).
    """
    x0, y0, x1, y1 = box
    mine = _row_keys(rgb[y0:y1, x0:x1])
    theirs = _row_keys(key[y0:y1, x0:x1])
    count_mine, count_theirs = Counter(mine), Counter(theirs)
    where = {h: i for i, h in enumerate(theirs) if count_theirs[h] == 1}
    votes = Counter(i - where[h] for i, h in enumerate(mine) if count_mine[h] == 1 and h in where)
    votes.pop(0, None)
    if not votes:
        return 0
    dy, n = votes.most_common(1)[0]
    return dy if n >= 8 else 0


def shifted(key: np.ndarray, box: Rect, dy: int) -> np.ndarray:
    """``key`` with the columns x0..x1 of rows y0..y1 moved down by ``dy`` (up if negative)."""
    x0, y0, x1, y1 = box
    out = key.copy()
    if dy > 0:
        out[y0 + dy:y1, x0:x1] = key[y0:y1 - dy, x0:x1]
    elif dy < 0:
        out[y0:y1 + dy, x0:x1] = key[y0 - dy:y1, x0:x1]
    return out


class PatchCodec:
    """Keyframes + changed-rectangle patches against the closest of the recent keyframes.

    Keeping several keyframes means switching back to a window costs a small patch, not a new
    keyframe: the closest reference is found on a 1/16 sample of the pixels, then the patch
    is cut against it at full resolution. A scroll moves most of a window, which would make
    every scrolled frame a keyframe (the costliest thing the recorder does); when the change
    is large, the codec looks for a vertical shift of the keyframe's rows, and the patch then
    says "move these rows by dy" plus the rectangle that is still different (the newly
    revealed lines). Decoding stays at two images: the keyframe and the patch.
    """

    name = "patch"

    def __init__(self, max_patch_share: float = 0.35, near_identical_px: int = 40, references: int = 8):
        self.max_patch_share = max_patch_share
        self.near_identical_px = near_identical_px
        self.references = references
        self._keys: list[tuple[np.ndarray, np.ndarray, str]] = []  # (rgb, sample, id), most recent last
        self._last: np.ndarray | None = None
        self._last_id = ""
        self._seen: set[str] = set()

    def _small(self, boxes: list[Rect], shape: tuple[int, ...]) -> bool:
        area = sum(b.area for b in boxes)
        return area <= self.max_patch_share * shape[0] * shape[1]

    def encode(self, rgb: np.ndarray) -> Encoded:
        last = self._last
        if last is not None and last.shape == rgb.shape:
            change = changed_box(rgb, last)
            if change is None:
                return Encoded(self._last_id, None, "same")
            if change[1] <= self.near_identical_px:
                return Encoded(self._last_id, None, "near")
        frame_id = frame_digest(rgb)
        self._last, self._last_id = rgb, frame_id
        if frame_id in self._seen:
            return Encoded(frame_id, None, "same")
        self._seen.add(frame_id)
        sample = np.ascontiguousarray(rgb[::4, ::4])
        candidates = [k for k in self._keys if k[0].shape == rgb.shape]
        if candidates:
            key = min(candidates, key=lambda k: int(np.count_nonzero(changed_pixels(k[1], sample))))
            boxes = changed_boxes(rgb, key[0])
            header: dict[str, Any] = {"ref": key[2]}
            if not self._small(boxes, rgb.shape):
                moved = Rect(min(b.x0 for b in boxes), boxes[0].y0, max(b.x1 for b in boxes), boxes[-1].y1)
                dy = find_scroll(rgb, key[0], moved)
                if dy:
                    residual = changed_boxes(rgb, shifted(key[0], moved, dy))
                    if self._small(residual, rgb.shape):
                        header["shift"] = {"box": list(moved.xywh), "dy": dy}
                        boxes = residual
            if self._small(boxes, rgb.shape):
                self._keys = [k for k in self._keys if k is not key] + [key]  # useful references stay longest
                boxes = boxes or [Rect(0, 0, 1, 1)]
                header["boxes"] = [list(b.xywh) for b in boxes]  # on disk: [x, y, w, h]
                blob = MAGIC + json.dumps(header).encode() + b"\n" + _webp_lossless(_stack(rgb, boxes))
                return Encoded(frame_id, blob, "patch")
        self._keys.append((rgb, sample, frame_id))
        del self._keys[:-self.references]
        return Encoded(frame_id, _webp_lossless(rgb), "key")


CODECS: dict[str, Callable[[], FrameCodec]] = {"png": PngCodec, "patch": PatchCodec}


def _is_image(blob: bytes) -> bool:
    return blob.startswith(PNG_MAGIC) or (blob[:4] == b"RIFF" and blob[8:12] == b"WEBP")


def _patch_header(blob: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, stacked boxes image) of a patch blob."""
    header, _, region = blob[len(MAGIC):].partition(b"\n")
    return json.loads(header), region


def patch_reference(blob: bytes) -> str | None:
    """The keyframe a stored patch is applied to; None for a blob that is a whole image."""
    return str(_patch_header(blob)[0]["ref"]) if blob.startswith(MAGIC) else None


def decode(blob: bytes, load: Callable[[str], bytes]) -> bytes:
    """PNG bytes of a stored frame; ``load`` reads another stored blob (a patch's keyframe)."""
    if blob.startswith(PNG_MAGIC):
        return blob
    if _is_image(blob):
        image = Image.open(io.BytesIO(blob)).convert("RGB")
    elif blob.startswith(MAGIC):
        info, region = _patch_header(blob)
        key = load(info["ref"])
        if not _is_image(key):
            raise ValueError("a patch must refer to a keyframe")
        image = Image.open(io.BytesIO(key)).convert("RGB")
        if "shift" in info:  # a scroll: rows of the keyframe moved by dy
            moved = Rect.from_xywh(*info["shift"]["box"])
            dy = info["shift"]["dy"]
            src = moved._replace(y1=moved.y1 - dy) if dy > 0 else moved._replace(y0=moved.y0 - dy)
            image.paste(image.crop(src), (moved.x0, moved.y0 + dy) if dy > 0 else (moved.x0, moved.y0))
        patch = Image.open(io.BytesIO(region)).convert("RGB")
        top = 0
        for box in info.get("boxes") or [info["box"]]:  # "box": one rectangle (older sessions)
            rect = Rect.from_xywh(*box)
            image.paste(patch.crop((0, top, rect.w, top + rect.h)), (rect.x0, rect.y0))
            top += rect.h
    else:
        raise ValueError("not a workprint frame")
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()

"""How kept screens are stored: codecs behind one interface.

* ``png``: every frame a full lossless PNG (what simple recorders do).
* ``patch`` (default, chosen by ``bench/frames.py``): a keyframe PNG, then frames stored as the
  changed rectangle against that keyframe. Reading any frame decodes at most two images (its
  keyframe and its patch). Identical frames are stored once; a frame that differs from the
  previous one in only a handful of pixels (a blinking text cursor) is treated as the same.
  Both are lossless, so text stays exactly as legible as on screen.

A stored blob is either a plain PNG (``png`` keyframes) or ``MAGIC`` + a JSON header line + a
PNG of the patch region.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
from PIL import Image

MAGIC = b"WPF1\n"
PNG_MAGIC = b"\x89PNG"


@dataclass
class Encoded:
    frame_id: str
    blob: bytes | None  # None: the id names a frame already stored
    kind: str  # key | patch | same | near


def frame_digest(rgb: np.ndarray) -> str:
    return hashlib.blake2b(rgb.tobytes(), digest_size=16).hexdigest()


def _png(rgb: np.ndarray, level: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=level)
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


class PatchCodec:
    """Keyframe + changed-rectangle patches."""

    name = "patch"

    def __init__(self, max_patch_share: float = 0.35, near_identical_px: int = 40):
        self.max_patch_share = max_patch_share
        self.near_identical_px = near_identical_px
        self._key: np.ndarray | None = None
        self._key_id = ""
        self._last: np.ndarray | None = None
        self._last_id = ""
        self._seen: set[str] = set()

    def encode(self, rgb: np.ndarray) -> Encoded:
        last = self._last
        if last is not None and last.shape == rgb.shape:
            changed = int(np.count_nonzero(np.any(rgb != last, axis=2)))
            if changed == 0:
                return Encoded(self._last_id, None, "same")
            if changed <= self.near_identical_px:
                return Encoded(self._last_id, None, "near")
        frame_id = frame_digest(rgb)
        self._last, self._last_id = rgb, frame_id
        if frame_id in self._seen:
            return Encoded(frame_id, None, "same")
        self._seen.add(frame_id)
        key = self._key
        if key is not None and key.shape == rgb.shape:
            mask = np.any(rgb != key, axis=2)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if rows.size:
                y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                if (y1 - y0) * (x1 - x0) <= self.max_patch_share * rgb.shape[0] * rgb.shape[1]:
                    header = json.dumps({"ref": self._key_id, "box": [x0, y0, x1 - x0, y1 - y0]}).encode()
                    region = np.ascontiguousarray(rgb[y0:y1, x0:x1])
                    return Encoded(frame_id, MAGIC + header + b"\n" + _png(region, 6), "patch")
        self._key, self._key_id = rgb, frame_id
        return Encoded(frame_id, _png(rgb, 1), "key")


CODECS: dict[str, Callable[[], FrameCodec]] = {"png": PngCodec, "patch": PatchCodec}


def decode(blob: bytes, load: Callable[[str], bytes]) -> bytes:
    """PNG bytes of a stored frame; ``load`` reads another stored blob (a patch's keyframe)."""
    if blob.startswith(PNG_MAGIC):
        return blob
    if not blob.startswith(MAGIC):
        raise ValueError("not a workprint frame")
    header, _, region = blob[len(MAGIC):].partition(b"\n")
    info = json.loads(header)
    key = load(info["ref"])
    if not key.startswith(PNG_MAGIC):
        raise ValueError("a patch must refer to a keyframe")
    image = Image.open(io.BytesIO(key)).convert("RGB")
    x, y, _, _ = info["box"]
    image.paste(Image.open(io.BytesIO(region)).convert("RGB"), (x, y))
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()

"""How kept screens are stored: codecs behind one interface.

* ``png``: every frame a full lossless PNG (what simple recorders do).
* ``patch`` (default, chosen by ``bench/frames.py``): keyframes in lossless WebP, then frames
  stored as the changed rectangle against the closest recent keyframe. Reading any frame decodes at most two images (its
  keyframe and its patch). Identical frames are stored once; a frame that differs from the
  previous one in only a handful of pixels (a blinking text cursor) is treated as the same.
  Both are lossless, so text stays exactly as legible as on screen.

A stored blob is either a plain image (PNG or lossless WebP) or ``MAGIC`` + a JSON header line +
the patch region as an image.
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


def _webp_lossless(rgb: np.ndarray) -> bytes:
    # Lossless WebP at effort 60/method 4: about a tenth of PNG's size on screen content for a
    # comparable encode time (bench/frames.py); method 6 is 30x slower for 7% less.
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="WEBP", lossless=True, quality=60, method=4)
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
    """Keyframes + changed-rectangle patches against the closest of the recent keyframes.

    Keeping several keyframes means switching back to a window costs a small patch, not a new
    keyframe: the closest reference is found on a 1/16 sample of the pixels, then the patch
    is cut against it at full resolution.
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
        sample = rgb[::4, ::4]
        candidates = [k for k in self._keys if k[0].shape == rgb.shape]
        if candidates:
            key = min(candidates, key=lambda k: int(np.count_nonzero(np.any(k[1] != sample, axis=2))))
            mask = np.any(rgb != key[0], axis=2)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if rows.size:
                y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                if (y1 - y0) * (x1 - x0) <= self.max_patch_share * rgb.shape[0] * rgb.shape[1]:
                    self._keys = [k for k in self._keys if k is not key] + [key]  # useful references stay longest
                    header = json.dumps({"ref": key[2], "box": [x0, y0, x1 - x0, y1 - y0]}).encode()
                    region = np.ascontiguousarray(rgb[y0:y1, x0:x1])
                    return Encoded(frame_id, MAGIC + header + b"\n" + _webp_lossless(region), "patch")
        self._keys.append((rgb, sample, frame_id))
        del self._keys[:-self.references]
        return Encoded(frame_id, _webp_lossless(rgb), "key")


CODECS: dict[str, Callable[[], FrameCodec]] = {"png": PngCodec, "patch": PatchCodec}


def _is_image(blob: bytes) -> bool:
    return blob.startswith(PNG_MAGIC) or (blob[:4] == b"RIFF" and blob[8:12] == b"WEBP")


def decode(blob: bytes, load: Callable[[str], bytes]) -> bytes:
    """PNG bytes of a stored frame; ``load`` reads another stored blob (a patch's keyframe)."""
    if blob.startswith(PNG_MAGIC):
        return blob
    if _is_image(blob):
        image = Image.open(io.BytesIO(blob)).convert("RGB")
    elif blob.startswith(MAGIC):
        header, _, region = blob[len(MAGIC):].partition(b"\n")
        info = json.loads(header)
        key = load(info["ref"])
        if not _is_image(key):
            raise ValueError("a patch must refer to a keyframe")
        image = Image.open(io.BytesIO(key)).convert("RGB")
        x, y, _, _ = info["box"]
        image.paste(Image.open(io.BytesIO(region)).convert("RGB"), (x, y))
    else:
        raise ValueError("not a workprint frame")
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()

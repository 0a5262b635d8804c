"""Frame codecs: lossless round trips, dedupe, and reads that decode at most two images."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from workprint.store import SessionReader, SessionWriter
from workprint.store.framecodec import MAGIC, PatchCodec, PngCodec, decode


def _screen(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((270, 480, 3), 240, dtype=np.uint8)
    img[20:60, 30:400] = rng.integers(0, 255, (40, 370, 3), dtype=np.uint8)  # "text"
    return img


def _roundtrip(codec, frames):
    store: dict[str, bytes] = {}
    ids = []
    for rgb in frames:
        enc = codec.encode(rgb)
        if enc.blob is not None:
            store[enc.frame_id] = enc.blob
        ids.append(enc)
    return store, ids


def test_patches_are_lossless_and_small():
    base = _screen()
    typed = base.copy()
    typed[100:116, 30:38] = 0  # one character typed
    scrolled = np.random.default_rng(9).integers(0, 255, base.shape, dtype=np.uint8)  # a new window
    store, encoded = _roundtrip(PatchCodec(), [base, typed, scrolled])
    assert [e.kind for e in encoded] == ["key", "patch", "key"]
    assert store[encoded[1].frame_id].startswith(MAGIC)
    assert len(store[encoded[1].frame_id]) < len(store[encoded[0].frame_id]) / 5
    loads = []

    def load(fid):
        loads.append(fid)
        return store[fid]

    for rgb, enc in zip([base, typed, scrolled], encoded):
        loads.clear()
        png = decode(store[enc.frame_id], load)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), rgb)
        assert len(loads) <= 1, "a frame is read from at most its keyframe and itself"


def test_identical_and_near_identical_frames_are_stored_once():
    base = _screen()
    blink = base.copy()
    blink[100:117, 30] = 0  # a text cursor: 17 pixels
    store, encoded = _roundtrip(PatchCodec(), [base, base.copy(), blink])
    assert [e.kind for e in encoded] == ["key", "same", "near"]
    assert len(store) == 1 and len({e.frame_id for e in encoded}) == 1
    store, encoded = _roundtrip(PngCodec(), [base, base.copy(), blink])
    assert [e.kind for e in encoded] == ["key", "same", "key"]


def test_session_reader_applies_patches(tmp_path):
    writer = SessionWriter(tmp_path, "20261123-101500-a1b2c3", {})
    base = _screen(1)
    changed = base.copy()
    changed[200:230, 100:300] = 7
    codec = PatchCodec()
    ids = []
    for rgb in (base, changed):
        enc = codec.encode(rgb)
        writer.put_frame(enc.frame_id, enc.blob)
        ids.append(enc.frame_id)
    writer.close()
    reader = SessionReader(tmp_path, writer.session_id)
    got = np.asarray(Image.open(io.BytesIO(reader.frame(ids[1]))).convert("RGB"))
    assert np.array_equal(got, changed)

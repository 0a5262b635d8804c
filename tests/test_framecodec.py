"""Frame codecs: lossless round trips, dedupe, and reads that decode at most two images."""

from __future__ import annotations

import io
import json

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


def _page(seed: int, lines: int) -> np.ndarray:
    """A window of distinct text lines (each line a different random pattern)."""
    rng = np.random.default_rng(seed)
    page = np.full((lines * 12, 400, 3), 250, dtype=np.uint8)
    for i in range(lines):
        page[i * 12 + 2:i * 12 + 10, 10:10 + rng.integers(100, 380)] = rng.integers(0, 200, (8, 1, 3), dtype=np.uint8)
        page[i * 12 + 2:i * 12 + 10, 10:390:7] = 0
    return page


def test_a_scroll_is_a_small_patch_not_a_keyframe():
    page = _page(3, 60)
    screen = np.full((270, 480, 3), 200, dtype=np.uint8)
    before, after = screen.copy(), screen.copy()
    before[20:260, 40:440] = page[0:240]
    after[20:260, 40:440] = page[36:276]  # scrolled by three lines
    store, encoded = _roundtrip(PatchCodec(), [before, after])
    assert [e.kind for e in encoded] == ["key", "patch"]
    blob = store[encoded[1].frame_id]
    assert b'"shift"' in blob.split(b"\n")[1]
    assert len(blob) < len(store[encoded[0].frame_id]) / 3, "only the revealed lines are stored"
    png = decode(blob, store.__getitem__)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), after)
    # Scrolling back up decodes exactly too.
    store, encoded = _roundtrip(PatchCodec(), [after, before])
    png = decode(store[encoded[1].frame_id], store.__getitem__)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), before)


def test_changes_far_apart_are_separate_rectangles():
    """A typed line at the top and a scrollbar at the bottom: two small rectangles, not the screen."""
    base = _screen()
    base[240:250, 20:460] = 90  # a scrollbar
    after = base.copy()
    after[24:40, 30:300] = 0  # the line
    after[240:250, 100:200] = 30  # the scrollbar's thumb moved
    store, encoded = _roundtrip(PatchCodec(max_patch_share=0.2), [base, after])
    assert [e.kind for e in encoded] == ["key", "patch"]
    blob = store[encoded[1].frame_id]
    assert len(json.loads(blob[len(MAGIC):].split(b"\n")[0])["boxes"]) == 2
    png = decode(blob, store.__getitem__)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), after)

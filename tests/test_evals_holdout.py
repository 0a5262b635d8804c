"""Hold-out by seed and the cap per interaction, on a session of many marked episodes.

The held-out episodes are exactly those `workprint export --split 1-F,F --seed N` leaves out of
train (the card says so; a team trains on the rest); the cap keeps a seeded choice per type,
with the steps where a person corrected an agent kept first.
"""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow.parquet as pq
from PIL import Image

from tests.conftest import workprint
from workprint.store import SessionWriter
from workprint.store.catalog import Catalog

SCREEN = {"w": 800, "h": 600, "scale": 1.0}
EPISODES = 16
CORRECTED_EPISODE = 3  # the person took over for the second click of this episode


def _png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, format="PNG")
    return out.getvalue()


def _session(home) -> str:
    """16 episodes of click, click, scroll, key enter, done (5 steps each)."""
    writer = SessionWriter(home, "20261203-120000-feed01", {"screen": SCREEN})
    for e in range(EPISODES):
        t0 = e * 10.0
        fid = f"{e:032x}"
        writer.put_frame(fid, _png((10 * e, 60, 90)))
        writer.append({"kind": "frame", "t": t0 + 0.5, "frame": fid, "stable": True})
        writer.append({"kind": "task_start", "t": t0 + 0.1, "instruction": f"Task number {e}"})
        for dt, x, y in ((1.0, 100, 100), (2.0, 400, 300)):
            p = writer.append({"kind": "press", "t": t0 + dt, "x": x, "y": y, "button": "left", "app": "mousepad"})
            writer.append({"kind": "release", "t": t0 + dt + 0.05, "x": x, "y": y, "button": "left",
                           "app": "mousepad"})
            writer.append({"kind": "target", "t": t0 + dt, "of": p, "role": "push button", "name": "Open",
                           "bbox": [x - 20, y - 10, 40, 20]})
        if e == CORRECTED_EPISODE:
            writer.append({"kind": "intervention", "t": t0 + 1.8, "t_end": t0 + 2.5, "trigger": "human_input",
                           "handback": "resume", "task": f"Task number {e}"})
        writer.append({"kind": "wheel", "t": t0 + 3.0, "x": 400, "y": 300, "dx": 0, "dy": -3, "app": "mousepad"})
        writer.append({"kind": "key_down", "t": t0 + 4.0, "key": "enter", "app": "mousepad"})
        writer.append({"kind": "key_up", "t": t0 + 4.05, "key": "enter", "app": "mousepad"})
        writer.append({"kind": "task_end", "t": t0 + 5.0, "status": "done"})
    writer.flush()
    writer.close()
    catalog = Catalog(home)
    catalog.add(writer.session_id, "2026-12-03T12:00:00Z")
    catalog.update(writer.session_id, events=writer.event_count, frames=EPISODES, bytes=0,
                   active_s=EPISODES * 10.0, ended_at="2026-12-03T12:03:00Z")
    return writer.session_id


def _build(env, out, *args) -> list[dict]:
    workprint("eval", "build", "--out", str(out), "--quiet", *args, env=env)
    return [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]


def test_holdout_by_seed_is_the_complement_of_the_training_export(home, env, tmp_path):
    session = _session(home)
    every = _build(env, tmp_path / "all")
    assert Counter(s["interaction"] for s in every) == {"click": 32, "scroll": 16, "key": 16, "done": 16}
    episodes = {s["episode"] for s in every}
    assert len(episodes) == EPISODES

    held = _build(env, tmp_path / "h7", "--holdout", "0.25", "--seed", "7")
    chosen = {s["episode"] for s in held}
    assert 0 < len(chosen) < EPISODES
    assert Counter(s["episode"] for s in held) == {e: 5 for e in chosen}, "an episode is held out whole"
    record = json.loads((tmp_path / "h7" / "holdout.json").read_text())
    assert (record["seed"], record["fraction"], set(record["episodes"])) == (7, 0.25, chosen)
    assert "Held out 0.25 of the episodes with seed 7" in (tmp_path / "h7" / "README.md").read_text()

    assert {s["episode"] for s in _build(env, tmp_path / "h7again", "--holdout", "0.25", "--seed", "7")} == chosen
    assert {s["episode"] for s in _build(env, tmp_path / "h8", "--holdout", "0.25", "--seed", "8")} != chosen

    # What the card tells a team to train on leaves out exactly the held-out episodes.
    workprint("export", session, "--format", "hf", "--split", "0.75,0.25", "--seed", "7", "--out",
              str(tmp_path / "train"), "--quiet", env=env)
    by_split = {split.name: {row for path in split.glob("*.parquet")
                             for row in pq.read_table(path, columns=["episode_id"]).column("episode_id").to_pylist()}
                for split in (tmp_path / "train" / "data").iterdir()}
    assert by_split["validation"] == chosen
    assert by_split["train"] == episodes - chosen


def test_cap_per_interaction_keeps_corrections_first(home, env, tmp_path):
    _session(home)
    capped = _build(env, tmp_path / "cap", "--max-per-interaction", "3", "--seed", "1")
    assert Counter(s["interaction"] for s in capped) == {"click": 3, "scroll": 3, "key": 3, "done": 3}
    corrected = [s for s in capped if s["intervention"]]
    assert [(s["interaction"], s["instruction"]) for s in corrected] == [("click", f"Task number {CORRECTED_EPISODE}")]
    assert _build(env, tmp_path / "again", "--max-per-interaction", "3", "--seed", "1") == capped
    other = _build(env, tmp_path / "seed2", "--max-per-interaction", "3", "--seed", "2")
    assert {s["id"] for s in other} != {s["id"] for s in capped}, "the seed decides which steps stay"
    assert any(s["intervention"] for s in other), "a correction is kept whatever the seed"
    card = (tmp_path / "cap" / "README.md").read_text()
    assert "At most 3 steps per interaction" in card and "over --max-per-interaction: 68" in card


def test_a_second_build_reuses_the_kept_masks_without_loading_ocr(home, tmp_path, monkeypatch):
    """The first build OCR-reads each frame once and keeps the masks with the session; building
    again (another hold-out, another cap) paints them and never loads the OCR models."""
    from workprint.evals import build_eval_set
    from workprint.privacy import frames as frames_module

    _session(home)
    first = build_eval_set(home, [], tmp_path / "first", progress=False)
    assert first["steps"] == 5 * EPISODES

    def no_ocr():
        raise AssertionError("the OCR models were loaded although every frame's masks are kept")

    monkeypatch.setattr(frames_module, "_engine", no_ocr)
    again = build_eval_set(home, [], tmp_path / "again", progress=False)
    assert again["steps"] == first["steps"]
    assert (tmp_path / "again" / "steps.jsonl").read_bytes() == (tmp_path / "first" / "steps.jsonl").read_bytes()

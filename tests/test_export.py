"""Exports load with the libraries their users use, match the recording, are deterministic,
incremental and redacted; the replay report shows each action where it happened."""

from __future__ import annotations

import filecmp
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import page_in_chromium, actions_json, workprint

SECRET_FRAGMENTS = ("jane.doe", "example.com", "XTERMSECRET")


def _export(recorded, fmt, out, *extra):
    return workprint("export", recorded["session"], "--format", fmt, "--out", str(out), "--quiet", *extra,
                     env=recorded["env"])


@pytest.fixture(scope="module")
def actions(recorded):
    return actions_json(recorded["env"])


@pytest.fixture(scope="module")
def hf_dir(recorded, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf")
    _export(recorded, "hf", out)
    return out


def test_hf_loads_with_datasets_and_matches_the_recording(hf_dir, actions):
    from datasets import Dataset, load_dataset

    ds = load_dataset("parquet", data_files={"train": str(hf_dir / "data" / "train" / "*.parquet")})["train"]
    assert len(ds) == len(actions)
    assert [json.loads(a)["type"] for a in ds["action"]] == [a["type"] for a in actions]
    assert ds["action_type"] == [a["type"] for a in actions]
    click = next(i for i, a in enumerate(actions) if a["type"] == "click")
    row = ds[click]
    assert row["code"] == f"pyautogui.click(x={actions[click]['x']}, y={actions[click]['y']})"
    assert abs(row["x"] - actions[click]["x"] / 1920) < 1e-4 and abs(row["y"] - actions[click]["y"] / 1080) < 1e-4
    assert isinstance(row["image"], Image.Image) and row["image"].size == (1920, 1080)
    assert row["instruction"] == "" and row["instruction_source"] == "none"
    roundtrip = Dataset.from_parquet(str(next((hf_dir / "data" / "train").glob("*.parquet"))))
    assert roundtrip.num_rows == len(actions)
    card = (hf_dir / "README.md").read_text()
    assert "| click |" in card and "mousepad" in card and "email" in card


def _ocr_text(image: Image.Image) -> str:
    from workprint.privacy.frames import FrameRedactor

    return " ".join(b.text for b in FrameRedactor().text_boxes(np.asarray(image.convert("RGB"))))


def test_exported_frames_have_the_typed_email_masked(recorded, hf_dir, actions):
    """Adversarial: the e-mail typed on screen is legible in the stored frame, not in the export."""
    from datasets import load_dataset

    from workprint.store import SessionReader

    ds = load_dataset("parquet", data_files={"train": str(hf_dir / "data" / "train" / "*.parquet")})["train"]
    typed = next(i for i, a in enumerate(actions) if a["type"] == "type" and a["text"].startswith("Reach me"))
    after = typed + 1  # the step after typing acts on a screen showing the e-mail
    raw = Image.open(io.BytesIO(SessionReader(recorded["home"], recorded["session"]).frame(actions[after]["frame"])))
    assert "jane.doe" in _ocr_text(raw).replace(" ", ""), "the test needs a frame that shows the e-mail"
    exported = ds[after]["image"]
    assert "jane.doe" not in _ocr_text(exported).replace(" ", "")
    assert "email" in json.loads(ds[after]["image_redactions"])
    for column in ("action", "window", "target", "code"):
        blob = json.dumps(list(ds[column]))
        assert not any(s in blob for s in SECRET_FRAGMENTS)


def test_exports_are_deterministic_and_incremental(recorded, hf_dir, tmp_path):
    again = tmp_path / "again"
    _export(recorded, "hf", again)
    cmp = filecmp.dircmp(hf_dir, again)
    files = [p.relative_to(hf_dir) for p in hf_dir.rglob("*") if p.is_file()]
    for rel in files:
        assert (hf_dir / rel).read_bytes() == (again / rel).read_bytes(), f"{rel} differs between two exports"
    assert not cmp.left_only and not cmp.right_only
    shard = next((again / "data" / "train").glob("*.parquet"))
    mtime = shard.stat().st_mtime_ns
    out = workprint("export", recorded["session"], "--format", "hf", "--out", str(again), "--quiet",
                    env=recorded["env"])
    assert "0 written, 1 unchanged" in out.stderr
    assert shard.stat().st_mtime_ns == mtime


def test_split_by_episode_with_a_seed(recorded, tmp_path):
    from workprint.export.steps import assign_split, parse_split

    splits = parse_split("0.5,0.25,0.25")
    chosen = {assign_split(f"episode-{i}", splits, seed=3) for i in range(200)}
    assert chosen == {"train", "validation", "test"}
    assert [assign_split(f"episode-{i}", splits, 3) for i in range(50)] == \
        [assign_split(f"episode-{i}", splits, 3) for i in range(50)]
    _export(recorded, "hf", tmp_path / "split", "--split", "0.5,0.25,0.25", "--seed", "3")
    shards = list((tmp_path / "split" / "data").glob("*/*.parquet"))
    assert len(shards) == 1, "one episode lands in exactly one split"
    bad = workprint("export", "--format", "hf", "--out", str(tmp_path / "x"), "--split", "0.9,0.9",
                    env=recorded["env"], check=False)
    assert bad.returncode == 2 and "add up to 1" in bad.stderr


def test_replay_report_draws_the_action_where_it_happened(recorded, actions, tmp_path):
    out = tmp_path / "replay.html"
    workprint("report", recorded["session"], "--out", str(out), "--quiet", env=recorded["env"])
    k = next(i for i, a in enumerate(actions) if a.get("target", {}).get("name") == "Select All")
    with page_in_chromium(out) as page:
        for _ in range(k):
            page.keyboard.press("ArrowRight")
        assert page.inner_text("#step").startswith(f"Step {k + 1} / {len(actions)}: click")
        stage = page.locator("#stage")
        box = stage.bounding_box()
        shot = Image.open(io.BytesIO(stage.screenshot())).convert("RGB")
    sx, sy = shot.size[0] / 1920, shot.size[1] / 1080
    ax, ay = actions[k]["x"] * sx, actions[k]["y"] * sy
    assert abs(shot.size[1] / shot.size[0] - 1080 / 1920) < 0.01 and box["width"] > 0

    def marker_pixels(cx, cy, r=4):
        px = shot.load()
        return sum(1 for x in range(int(cx) - r, int(cx) + r + 1) for y in range(int(cy) - r, int(cy) + r + 1)
                   if px[x, y][0] > 180 and px[x, y][1] < 90 and px[x, y][2] < 130)

    assert marker_pixels(ax, ay) > 0, "no click marker at the action's place"
    assert marker_pixels(ax + 300 * sx, ay + 300 * sy) == 0, "the marker color is everywhere"

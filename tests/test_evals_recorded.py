"""An eval set built from a real recording under Xvfb: a marked task in mousepad with typing, a key,
a hotkey, a scroll, a menu choice, clicks and a drag; target boxes checked against real extents."""

from __future__ import annotations

import io
import json
import time
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from tests.conftest import page_in_chromium, Recording, has_event, wait_logged, workprint
from workprint.demo.desktop import VirtualDesktop
from workprint.demo.scenario import MousepadScript
from workprint.process.pyautogui_code import to_code

TASK = "Write a note and select all of it"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from workprint.capture.atspi.bus import AtspiBus
    from workprint.demo.accessible import find

    with VirtualDesktop() as desk:
        home = tmp_path_factory.mktemp("home")
        policy = home / "policy.toml"
        policy.write_text('[apps]\nallow = ["mousepad"]\n')
        desk.spawn(["mousepad"])
        pad = desk.wait_window("mousepad")
        time.sleep(1.0)
        rec = Recording(desk, home, policy)
        workprint("task", "start", TASK, env=rec.env)
        wait_logged(home, rec.session, has_event("task_start"), "the task start")
        script = MousepadScript(desk, pad)
        expected = script.play()
        workprint("task", "end", env=rec.env)
        wait_logged(home, rec.session, has_event("task_end"), "the task end")
        # The real extents of the elements clicked, from the bus and from X.
        a11y = AtspiBus(timeout=2.0, env=desk.env)
        text_view = find(a11y, "mousepad", "text", "")
        window = desk.geometry(pad)
        code, out, err = rec.stop()
        assert code == 0, err
    session = out.strip().splitlines()[-1]
    root = tmp_path_factory.mktemp("evals")
    workprint("eval", "build", session, "--out", str(root / "set"), "--quiet", env=rec.env)
    steps = [json.loads(line) for line in (root / "set" / "steps.jsonl").read_text().splitlines()]
    return {"env": rec.env, "session": session, "root": root, "steps": steps, "expected": expected,
            "text_view": text_view, "window": window}


def test_every_interaction_of_the_task_is_a_step(built):
    steps = built["steps"]
    kinds = Counter(s["interaction"] for s in steps)
    for kind in ("click", "double_click", "type", "key", "hotkey", "scroll", "menu", "drag", "done"):
        assert kinds[kind] >= 1, (kind, kinds)
    assert all(s["instruction"] == TASK for s in steps)
    assert all(s["intervention"] is False for s in steps), "no agent ran: nobody corrected one"
    menu = [s for s in steps if s["interaction"] == "menu"]
    assert {s["target"]["name"] for s in menu} == {"Edit", "Select All"}
    assert steps[-1]["interaction"] == "done" and steps[-1]["gold"]["type"] == "done"
    # History: the previous steps of the episode as pyautogui code.
    for i, step in enumerate(steps):
        assert step["history"] == [to_code(s["gold"]) for s in steps[:i]]
    card = (built["root"] / "set" / "README.md").read_text()
    for kind, n in kinds.items():
        assert f"| {kind} | {n} |" in card


def test_images_are_the_redacted_frames(built):
    root = built["root"] / "set"
    text = (root / "steps.jsonl").read_text()
    assert "jane.doe" not in text and "[EMAIL]" in text
    for step in built["steps"]:
        image = Image.open(io.BytesIO((root / step["image"]).read_bytes()))
        assert image.format == "PNG" and image.size == (step["screen"]["w"], step["screen"]["h"])


def test_target_boxes_are_the_elements_clicked(built):
    steps = built["steps"]
    clicks = [s for s in steps if s["interaction"] == "click"]
    text_view = built["text_view"]
    wx, wy, ww, wh = built["window"]
    in_text = [s for s in clicks if s["target"] and s["target"]["role"] == "text"]
    assert in_text, [s["target"] for s in clicks]
    for step in in_text:
        assert step["target"]["bbox"] == text_view, "the text view's own AT-SPI extents"
        x, y, w, h = step["target"]["bbox"]
        assert wx <= x and wy <= y and x + w <= wx + ww and y + h <= wy + wh, "inside the X window"
        assert w * h < ww * wh * 0.95
    assert not any(s["target"] and s["target"]["role"] == "page tab list" for s in steps)
    menu_expected = {e.extra["target"]["name"]: e.extra["target"]["bbox"] for e in built["expected"]
                     if "target" in e.extra}
    for step in (s for s in steps if s["interaction"] == "menu"):
        assert step["target"]["bbox"] == menu_expected[step["target"]["name"]]


def _spread(grow: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """Grow along ``axis`` (1: rows, 0: columns) over whole runs of ``mask`` that touch ``grow``."""
    m, g = (mask, grow) if axis == 1 else (mask.T, grow.T)
    run = np.cumsum(~m, axis=1) + np.arange(m.shape[0])[:, None] * (m.shape[1] + 1)  # one id per run
    hit = np.zeros(run.max() + 1, dtype=bool)
    hit[run[g]] = True
    out = m & hit[run]
    return out if axis == 1 else out.T


def drawn_extents(image: Image.Image, bbox: list[int], margin: int = 40) -> list[int]:
    """The extents of the element as the screen shows it: the connected area of the box's main
    colour (a text view's background, a highlighted menu item) around the box's centre, looked
    for up to ``margin`` pixels beyond the box. Independent of the accessibility bus."""
    rgb = np.asarray(image.convert("RGB")).astype(np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    x, y, w, h = bbox
    x0, y0 = max(0, x - margin), max(0, y - margin)
    region = packed[y0:y + h + margin, x0:x + w + margin]
    colours, counts = np.unique(packed[y:y + h, x:x + w], return_counts=True)
    mask = region == colours[counts.argmax()]
    ys, xs = np.nonzero(mask)
    seed = np.argmin((ys - (y + h // 2 - y0)) ** 2 + (xs - (x + w // 2 - x0)) ** 2)
    grow = np.zeros_like(mask)
    grow[ys[seed], xs[seed]] = True
    while True:
        grown = _spread(_spread(grow, mask, 1), mask, 0)
        if (grown == grow).all():
            break
        grow = grown
    ys, xs = np.nonzero(grow)
    return [int(xs.min()) + x0, int(ys.min()) + y0, int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def test_target_boxes_are_what_the_frame_shows(built):
    """The box of the text view (the empty document it was clicked in) and of the menu item chosen
    are the areas the recorded frame shows, to the pixel: the bus's extents are in the frame's
    coordinates, and a box one pixel larger (the notebook around the view) does not pass."""
    root, steps = built["root"] / "set", built["steps"]
    first_text = next(s for s in steps if s["target"] and s["target"]["role"] == "text")
    frame = Image.open(root / first_text["image"])
    box = first_text["target"]["bbox"]
    assert drawn_extents(frame, box) == box, first_text["target"]
    x, y, w, h = box
    assert drawn_extents(frame, [x - 1, y - 1, w + 2, h + 2]) == box, "the check tells a box 1 px too big"

    items = [s for s in steps if s["target"] and s["target"]["role"] == "menu item"]
    assert items, [s["target"] for s in steps]
    for step in items:
        x, y, w, h = box = step["target"]["bbox"]
        dx, dy, dw, dh = drawn_extents(Image.open(root / step["image"]), box)
        # Its row exactly (not the menu, not a neighbour). Across, GTK counts the popup's 1 px
        # border in the item's extents; a highlighted item covers it, a plain one does not.
        assert (dy, dh) == (y, h) and (dx, dw) in ((x, w), (x + 1, w - 2)), (step["target"], (dx, dy, dw, dh))


def test_build_is_deterministic(built):
    root = built["root"]
    workprint("eval", "build", built["session"], "--out", str(root / "again"), "--quiet", env=built["env"])
    assert (root / "again" / "steps.jsonl").read_bytes() == (root / "set" / "steps.jsonl").read_bytes()
    for step in built["steps"]:
        assert (root / "again" / step["image"]).read_bytes() == (root / "set" / step["image"]).read_bytes()
    assert (root / "again" / "README.md").read_text() == (root / "set" / "README.md").read_text()


def test_holdout_and_cap(built):
    root = built["root"]
    workprint("eval", "build", built["session"], "--out", str(root / "cap"), "--max-per-interaction", "1",
              "--quiet", env=built["env"])
    capped = [json.loads(line) for line in (root / "cap" / "steps.jsonl").read_text().splitlines()]
    assert Counter(s["interaction"] for s in capped) == {k: 1 for k in {s["interaction"] for s in built["steps"]}}
    workprint("eval", "build", built["session"], "--out", str(root / "held"), "--holdout", "0.5", "--seed", "3",
              "--quiet", env=built["env"])
    held = json.loads((root / "held" / "holdout.json").read_text())
    lines = (root / "held" / "steps.jsonl").read_text().splitlines()
    # One episode: it is either held out whole or not at all.
    assert len(lines) in (0, len(built["steps"])) and len(held["episodes"]) == (1 if lines else 0)


def test_gold_scores_one_and_report_renders_in_chromium(built, tmp_path):
    root, env = built["root"], built["env"]
    preds = tmp_path / "gold.jsonl"
    preds.write_text("".join(json.dumps({"id": s["id"], "action": s["gold"]}) + "\n" for s in built["steps"]))
    workprint("eval", "score", str(root / "set"), str(preds), "--out", str(tmp_path / "gold"), env=env)
    results = json.loads((tmp_path / "gold" / "results.json").read_text())
    assert all(r["step_success"] == 1.0 for r in results["by_interaction"].values()), results

    workprint("eval", "run", str(root / "set"), "--baseline", "center", "--out", str(tmp_path / "center"), "--quiet",
              env=env)
    report = tmp_path / "center" / "report.html"
    page_html = report.read_text()
    assert "http://" not in page_html.replace("http://www.w3.org/2000/svg", ""), "self-contained"
    with page_in_chromium(report) as page:
        assert page.locator("svg rect.bar").count() == len(results["by_interaction"])
        cards = page.locator(".card")
        failed = [json.loads(line) for line in (tmp_path / "center" / "verdicts.jsonl").read_text().splitlines()
                  if not json.loads(line)["success"]]
        assert cards.count() == len(failed) > 0
        widths = page.eval_on_selector_all(".card img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and all(w == 640 for w in widths), "every frame loads"
        page.click("#filters button[data-kind='menu']")
        visible = page.eval_on_selector_all(".card", "cs => cs.filter(c => c.offsetParent !== null)"
                                                     ".map(c => c.dataset.kind)")
        assert visible and set(visible) == {"menu"}
        page.click("#filters button[data-kind='']")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
    assert Image.open(tmp_path / "report.png").size == (1400, 900)

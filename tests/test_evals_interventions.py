"""An eval set from a session holding a takeover and browser choices: the person's correction is
marked `intervention`, a dropdown choice is `select`, a page menu choice is `menu`."""

from __future__ import annotations

import io
import json

from PIL import Image

from tests.conftest import workprint
from workprint.store import SessionWriter
from workprint.store.catalog import Catalog

SCREEN = {"w": 800, "h": 600, "scale": 1.0}


def _png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, format="PNG")
    return out.getvalue()


def _session(home) -> str:
    writer = SessionWriter(home, "20261123-120000-abcdef", {"screen": SCREEN})
    for i, t in enumerate((0.5, 2.5, 4.5, 6.5, 8.5)):
        fid = f"{i:032x}"
        writer.put_frame(fid, _png((40 * i, 20, 20)))
        writer.append({"kind": "frame", "t": t, "frame": fid, "stable": True})
    writer.append({"kind": "task_start", "t": 0.2, "instruction": "Archive the report"})
    for t, x, y in ((1.0, 100, 100), (3.0, 300, 200)):
        p = writer.append({"kind": "press", "t": t, "x": x, "y": y, "button": "left", "app": "chromium"})
        writer.append({"kind": "release", "t": t + 0.05, "x": x, "y": y, "button": "left", "app": "chromium"})
        writer.append({"kind": "target", "t": t, "of": p, "role": "push button", "name": "Open", "bbox": [x - 20, y - 10, 40, 20]})
    # The person took over between 2.8 s and 3.5 s: the second click is their correction.
    writer.append({"kind": "intervention", "t": 2.8, "t_end": 3.5, "trigger": "human_input", "handback": "resume",
                   "task": "Archive the report"})
    writer.append({"kind": "dom_select", "t": 5.0, "url": "https://intra.example/reports", "label": "Large",
                   "value": "l", "target": {"role": "option", "name": "Large", "bbox": [400, 300, 80, 20]}})
    writer.append({"kind": "dom_choose", "t": 7.0, "url": "https://intra.example/reports", "label": "Archive",
                   "value": None, "target": {"role": "menuitem", "name": "Archive", "bbox": [500, 100, 90, 24]}})
    writer.append({"kind": "task_end", "t": 9.0, "status": "done"})
    writer.flush()
    writer.close()
    catalog = Catalog(home)
    catalog.add(writer.session_id, "2026-11-23T12:00:00Z")
    catalog.update(writer.session_id, events=writer.event_count, frames=5, bytes=0, active_s=9.0,
                   ended_at="2026-11-23T12:00:09Z")
    return writer.session_id


def test_corrections_and_choices_in_the_eval_set(home, env, tmp_path):
    session = _session(home)
    workprint("eval", "build", session, "--out", str(tmp_path / "set"), "--quiet", env=env)
    steps = [json.loads(line) for line in (tmp_path / "set" / "steps.jsonl").read_text().splitlines()]
    kinds = [s["interaction"] for s in steps]
    assert kinds == ["click", "click", "select", "menu", "done"], kinds
    assert [s["intervention"] for s in steps] == [False, True, False, False, False]
    assert steps[2]["gold"]["label"] == "Large" and steps[3]["target"]["bbox"] == [500, 100, 90, 24]
    card = (tmp_path / "set" / "README.md").read_text()
    assert "| click | 2 | 1 |" in card and "| select | 1 | 0 |" in card and "| menu | 1 | 0 |" in card

    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": s["id"], "action": s["gold"]}) + "\n" for s in steps[:1])
                     + json.dumps({"id": steps[1]["id"], "action": {"type": "click", "x": 5, "y": 5}}) + "\n"
                     + json.dumps({"id": steps[3]["id"], "code": "pyautogui.click(x=545, y=112)"}) + "\n")
    workprint("eval", "score", str(tmp_path / "set"), str(preds), "--out", str(tmp_path / "r"), env=env)
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["interventions"]["steps"] == 1 and results["interventions"]["step_success"] == 0.0
    report = (tmp_path / "r" / "report.html").read_text()
    assert "Where a person corrected an agent (the regression set): 1 steps, step success <b>0.000</b>" in report
    assert results["by_interaction"]["menu"]["step_success"] == 1.0
    assert results["by_interaction"]["click"]["step_success"] == 0.5

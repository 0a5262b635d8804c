"""Scoring on known answers: perfect predictions, planted errors at each rule's edge, malformed lines."""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import workprint
from tests.evalset import DIAGONAL, STEPS, make_set
from workprint.evals.score import Thresholds, format_table, read_predictions, score
from workprint.process.pyautogui_code import to_code


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _results(tmp_path, predictions: dict[int, dict], thresholds=Thresholds()):
    steps = make_set(tmp_path / "set")
    rows = [{"id": steps[i]["id"], **p} for i, p in predictions.items()]
    path = _write(tmp_path / "pred.jsonl", rows)
    got = read_predictions(path, {s["id"]: s for s in steps})
    return score(steps, got, thresholds)


def test_perfect_predictions_score_one_for_every_type(tmp_path):
    results, _ = _results(tmp_path, {i: {"action": gold} for i, (_, _, gold) in enumerate(STEPS)})
    assert set(results["by_interaction"]) == {i for _, i, _ in STEPS}
    for kind, row in results["by_interaction"].items():
        assert (row["step_success"], row["type_match"]) == (1.0, 1.0), kind
    assert results["overall"]["step_success"] == 1.0 and results["overall"]["episode_success"] == 1.0
    assert results["overall"]["grounding_distance"] == 0.0
    assert results["thresholds"] == {"click_radius": 0.04, "text_threshold": 0.8}


def test_perfect_predictions_as_pyautogui_code(tmp_path):
    # Every type pyautogui can say, given as `code` (pixels); the others as actions.
    preds = {}
    for i, (_, kind, gold) in enumerate(STEPS):
        if kind in ("select", "navigate"):
            preds[i] = {"action": gold}
        elif kind == "done":
            preds[i] = {"code": "computer.terminate(status='success')"}
        else:
            preds[i] = {"code": to_code(gold)}
    results, _ = _results(tmp_path, preds)
    assert all(row["step_success"] == 1.0 for row in results["by_interaction"].values()), results


def test_normalised_code_coordinates_map_to_the_screen(tmp_path):
    # 0.12, 0.1375 of 1000x800 is (120, 110) inside the button box.
    results, verdicts = _results(tmp_path, {0: {"code": "pyautogui.click(x=0.12, y=0.1375)"}})
    assert verdicts[0].success


def test_planted_errors_give_exact_fractions_at_each_threshold_edge(tmp_path):
    r = 0.04 * DIAGONAL
    preds = {
        0: {"action": {"type": "click", "x": 149, "y": 119}},          # last pixel inside the box: right
        1: {"action": {"type": "click", "x": 500 + r, "y": 400}},      # exactly click_radius away: right
        2: {"action": {"type": "double_click", "x": 300 + r + 0.5, "y": 300}},  # just beyond: wrong
        3: {"action": {"type": "right_click", "x": 850, "y": 200}},    # box is [650, 850): wrong
        4: {"action": {"type": "click", "x": 400, "y": 600}},          # type mismatch: wrong
        5: {"action": {"type": "drag", "x": 100, "y": 100, "x2": 400 + r + 1, "y2": 300}},  # end beyond: wrong
        6: {"action": {"type": "scroll", "x": 0, "y": 0, "dx": 0, "dy": -1}},  # same direction anywhere: right
        7: {"action": {"type": "type", "text": "abcdefghXY"}},          # similarity 0.8 exactly: right
        8: {"action": {"type": "hotkey", "keys": ["S", "Control"]}},    # same set, aliases: right
        9: {"action": {"type": "key", "keys": ["tab"]}},                # other key: wrong
        10: {"action": {"type": "select", "label": "  large "}},        # case-insensitive label: right
        11: {"action": {"type": "click", "x": 320, "y": 62}},           # just right of the item: wrong
        12: {"action": {"type": "navigate", "url": "https://example.com/a?q=1"}},  # normalised: right
        13: {"action": {"type": "fail"}},                               # wrong type: wrong
    }
    results, verdicts = _results(tmp_path, preds)
    right = {0, 1, 6, 7, 8, 10, 12}
    assert {i for i, v in enumerate(verdicts) if v.success} == right
    by = results["by_interaction"]
    assert by["click"]["step_success"] == 1.0
    assert by["middle_click"] == {"steps": 1, "step_success": 0.0, "type_match": 0.0, "grounding_distance": 0.0}
    assert by["right_click"]["type_match"] == 1.0 and by["right_click"]["step_success"] == 0.0
    assert results["overall"]["step_success"] == pytest.approx(len(right) / len(STEPS))
    assert results["overall"]["type_match"] == pytest.approx(12 / 14)  # middle_click and done
    assert results["overall"]["episode_success"] == 0.0
    d = sorted(v.distance for v in verdicts if v.distance is not None)
    assert results["overall"]["grounding_distance"] == pytest.approx((d[len(d) // 2 - 1] + d[len(d) // 2]) / 2
                                                                      if len(d) % 2 == 0 else d[len(d) // 2], abs=1e-6)

    # The thresholds decide exactly at their edges.
    loose, verdicts = _results(tmp_path, preds, Thresholds(click_radius=(r + 1) / DIAGONAL, text_threshold=0.8))
    assert verdicts[2].success and verdicts[5].success
    strict, verdicts = _results(tmp_path, preds, Thresholds(click_radius=0.04, text_threshold=0.81))
    assert not verdicts[7].success
    assert strict["thresholds"]["text_threshold"] == 0.81


def test_text_threshold_edge(tmp_path):
    # 3 edits in 10 characters: 0.7.
    _, verdicts = _results(tmp_path, {7: {"action": {"type": "type", "text": "abcdefgXYZ"}}})
    assert not verdicts[7].success
    _, verdicts = _results(tmp_path, {7: {"action": {"type": "type", "text": "abcdefgXYZ"}}},
                           Thresholds(text_threshold=0.7))
    assert verdicts[7].success


def test_a_choice_by_label_or_by_clicking_its_item(tmp_path):
    _, v = _results(tmp_path, {10: {"action": {"type": "click", "x": 640, "y": 310}},
                               11: {"action": {"type": "select", "label": "SELECT ALL"}}})
    assert v[10].success and v[11].success
    _, v = _results(tmp_path, {10: {"action": {"type": "select", "label": "Small"}},
                               11: {"action": {"type": "hotkey", "keys": ["ctrl", "a"]}}})
    assert not v[10].success and not v[11].success and not v[11].type_match


def test_missing_and_unusable_predictions_count_as_wrong(tmp_path):
    steps = make_set(tmp_path / "set")
    path = _write(tmp_path / "p.jsonl", [{"id": steps[0]["id"], "error": "no action found", "reply": "hmm"}])
    got = read_predictions(path, {s["id"]: s for s in steps})
    results, _ = score(steps, got)
    assert results["overall"]["step_success"] == 0.0
    assert results["overall"]["predicted"] == 1 and results["overall"]["unusable"] == 1
    assert f"counted wrong: {len(steps) - 1} step(s) without a prediction, 1 with an unusable answer" \
        in format_table(results)


def test_interventions_are_scored_on_their_own(tmp_path):
    steps = make_set(tmp_path / "set", intervention_ids={"e1-0:0", "e2-0:1"})
    path = _write(tmp_path / "p.jsonl", [{"id": "e1-0:0", "action": STEPS[0][2]}])
    results, _ = score(steps, read_predictions(path, {s["id"]: s for s in steps}))
    assert results["interventions"]["steps"] == 2 and results["interventions"]["step_success"] == 0.5
    assert set(results["interventions"]["by_interaction"]) == {"click", "hotkey"}


def test_malformed_predictions_get_clear_errors(tmp_path, env):
    steps = make_set(tmp_path / "set")
    lines = [
        "not json",
        json.dumps({"action": {"type": "click", "x": 1, "y": 2}}),
        json.dumps({"id": "nope:0", "action": {"type": "click", "x": 1, "y": 2}}),
        json.dumps({"id": steps[0]["id"], "action": {"type": "click", "x": "left", "y": 2}}),
        json.dumps({"id": steps[1]["id"], "code": "pyautogui.click(x=1, y=2"}),
        json.dumps({"id": steps[2]["id"], "action": {"type": "teleport"}}),
        json.dumps({"id": steps[3]["id"]}),
        json.dumps({"id": steps[4]["id"], "code": "import os; os.system('rm -rf /')"}),
        json.dumps({"id": steps[0]["id"], "action": {"type": "click", "x": 1, "y": 2}}),
    ]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    out = workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "bad.jsonl"), "--out",
                    str(tmp_path / "r"), env=env, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    err = out.stderr
    for expected in ("line 1: not JSON", "line 2: no `id`", "line 3: id 'nope:0' is not a step",
                     "line 4 (e1-0:0): click needs a number x", "line 5 (e1-0:1): `code` cannot be read",
                     "line 6 (e1-0:2): unknown action type 'teleport'", "line 7 (e1-0:3): needs `action`",
                     "line 8 (e1-0:4): `code` cannot be read", "line 9: a second prediction"):
        assert expected in err, (expected, err)
    assert not (tmp_path / "r" / "results.json").exists()


def test_score_command_prints_thresholds_beside_every_score(tmp_path, env):
    steps = make_set(tmp_path / "set")
    _write(tmp_path / "p.jsonl", [{"id": s["id"], "action": s["gold"]} for s in steps])
    out = workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "p.jsonl"), "--out", str(tmp_path / "r"),
                    "--click-radius", "0.02", "--text-threshold", "0.9", env=env)
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.split()}
    for kind in ("click", "double_click", "drag", "middle_click"):
        assert "click_radius=0.02" in rows[kind] and "1.000" in rows[kind]
    assert "text_threshold=0.9" in rows["type"] and "label" in rows["menu"]
    assert "click_radius=0.02 text_threshold=0.9" in rows["overall"]
    assert "counted wrong" not in out.stdout, "every step has a prediction"
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["thresholds"] == {"click_radius": 0.02, "text_threshold": 0.9}
    assert set(saved) >= {"thresholds", "overall", "by_interaction", "interventions"}
    assert set(saved["by_interaction"]["click"]) >= {"steps", "step_success", "type_match"}
    assert (tmp_path / "r" / "predictions.jsonl").read_text() == (tmp_path / "p.jsonl").read_text()
    assert math.isclose(saved["overall"]["step_success"], 1.0)


def test_compare_prints_per_type_differences(tmp_path, env):
    steps = make_set(tmp_path / "set")
    _write(tmp_path / "good.jsonl", [{"id": s["id"], "action": s["gold"]} for s in steps])
    _write(tmp_path / "half.jsonl", [{"id": s["id"], "action": s["gold"]} for s in steps if s["interaction"] != "type"])
    workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "good.jsonl"), "--out", str(tmp_path / "A"), env=env)
    workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "half.jsonl"), "--out", str(tmp_path / "B"), env=env)
    out = workprint("eval", "compare", str(tmp_path / "A"), str(tmp_path / "B"), env=env).stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert rows["type"][4] == "-1.000" and rows["click"][4] == "+0.000"
    assert "click_radius=0.04" in out
    bad = workprint("eval", "compare", str(tmp_path / "A"), str(tmp_path / "nothing"), env=env, check=False)
    assert bad.returncode == 2 and "no results here" in bad.stderr


def test_eval_commands_explain_bad_input(tmp_path, env):
    out = workprint("eval", "build", "--out", str(tmp_path / "set"), env=env, check=False)
    assert out.returncode == 2 and "no sessions" in out.stderr and "Traceback" not in out.stderr
    out = workprint("eval", "run", str(tmp_path), "--baseline", "center", "--out", str(tmp_path / "r"), env=env,
                    check=False)
    assert out.returncode == 2 and "is not an eval set" in out.stderr and "eval build" in out.stderr
    make_set(tmp_path / "set")
    out = workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "r"),
                    env=env, check=False)
    assert out.returncode == 2 and "no such file" in out.stderr
    out = workprint("eval", "score", str(tmp_path / "set"), str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "r"),
                    "--click-radius", "4", env=env, check=False)
    assert out.returncode == 2 and "--click-radius 4.0" in out.stderr
    assert "eval build" in workprint("--help", env=env).stdout

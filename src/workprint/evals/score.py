"""Scoring predictions against an eval set, with the rules of DESIGN.md ("Evals (contract)").

One rule per interaction, each threshold a named value printed with every score:

* the action type must match (a ``menu``/``select`` step also accepts a click, see below);
* a point is right inside the gold target's bbox, or without one within ``click_radius``
  (a fraction of the screen diagonal) of the gold point; a drag needs both ends;
* ``type``: normalised edit similarity >= ``text_threshold``;
* ``hotkey``/``key``: the same key set; ``scroll``: the same direction;
* ``select``/``menu``: the same label, case-insensitive. pyautogui has no "choose", so a
  click inside the box of the gold item (whose name is that label) chooses it too;
* ``navigate``: the same URL after normalisation.

Also: type match, grounding distance (median distance of predicted points from gold points,
as a fraction of the screen diagonal) and per-episode success (every step right).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from rapidfuzz.distance import Levenshtein

from workprint.evals.interaction import choice_label
from workprint.errors import WorkprintError
from workprint.model.parse import ReplyError, key_name, parse_code
from workprint.model.prompt import ImageFit
from workprint.vocabulary import ACTION_SPECS, ACTION_TYPES, CLICK_TYPES, Action, Rect, Shape, rect_of_bbox

CLICK_RADIUS = 0.04
TEXT_THRESHOLD = 0.8
CHOICE_TYPES = {"menu", "select"}


class PredictionError(WorkprintError):
    """Predictions that cannot be scored; the message lists each line and what is wrong with it."""


@dataclass(frozen=True)
class Thresholds:
    click_radius: float = CLICK_RADIUS
    text_threshold: float = TEXT_THRESHOLD


@dataclass
class Verdict:
    id: str
    interaction: str
    episode: str
    intervention: bool
    success: bool
    type_match: bool
    distance: float | None  # predicted point to gold point (point actions), fraction of the screen diagonal
    predicted: Action | None
    why: str  # what decided it, for the report


# ---------------------------------------------------------------------------- predictions

def _check_action(action: Any) -> str | None:
    """What is wrong with a predicted action in the vocabulary, or None."""
    if not isinstance(action, dict):
        return "`action` must be an object such as {\"type\": \"click\", \"x\": 10, \"y\": 20}"
    kind = action.get("type")
    spec = ACTION_SPECS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return f"unknown action type {kind!r}; one of {', '.join(sorted(ACTION_TYPES))}"
    for key in spec.needs:
        value = action.get(key)
        if key in _POINT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"{kind} needs a number {key} (screen pixels), got {value!r}"
        elif key == "keys":
            if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
                return f"{kind} needs keys, a list of key names such as [\"ctrl\", \"c\"]"
        elif not isinstance(value, str):
            return f"{kind} needs {key}, a string"
    if spec.shape == "scroll" and not any(isinstance(action.get(k), (int, float)) for k in ("dx", "dy")):
        return "scroll needs dx or dy (wheel clicks; dy > 0 scrolls up)"
    return None


_POINT_FIELDS = ("x", "y", "x2", "y2")


def prediction_action(prediction: dict[str, Any], step: dict[str, Any]) -> Action:
    """The predicted action of one prediction line; ValueError says what is wrong."""
    has_action, has_code = "action" in prediction, "code" in prediction
    if has_action and has_code:
        raise ValueError("give either `action` or `code`, not both")
    if has_action:
        problem = _check_action(prediction["action"])
        if problem:
            raise ValueError(problem)
        return prediction["action"]
    if has_code:
        if not isinstance(prediction["code"], str):
            raise ValueError("`code` must be a string of pyautogui code")
        screen = step.get("screen") or {}
        fit = ImageFit.for_screen(int(screen.get("w") or 1), int(screen.get("h") or 1))
        try:
            actions = parse_code(prediction["code"], fit)
        except ReplyError as exc:
            raise ValueError(f"`code` cannot be read: {exc}") from None
        return actions[0]  # one step, one action: the first the code does
    raise ValueError("needs `action` (an action in the vocabulary) or `code` (pyautogui code)")


def read_predictions(path: Path, steps_by_id: dict[str, dict[str, Any]]) -> dict[str, Action | None]:
    """id -> predicted action (None: the model gave no usable answer, recorded as `error`).

    Every malformed line is reported at once (up to 20), with its number and what is wrong.
    """
    if not path.is_file():
        raise PredictionError(f"{path}: no such file")
    out: dict[str, Action | None] = {}
    problems: list[str] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                prediction = json.loads(line)
            except ValueError as exc:
                problems.append(f"line {number}: not JSON ({exc.args[0] if exc.args else exc})")
                continue
            if not isinstance(prediction, dict):
                problems.append(f"line {number}: must be an object {{\"id\": ..., \"action\": {{...}}}}")
                continue
            sid = prediction.get("id")
            if sid is None:
                problems.append(f"line {number}: no `id` (the step id from steps.jsonl)")
                continue
            sid = str(sid)
            if sid not in steps_by_id:
                problems.append(f"line {number}: id {sid!r} is not a step of this eval set")
                continue
            if sid in seen:
                problems.append(f"line {number}: a second prediction for {sid!r}")
                continue
            seen.add(sid)
            if "error" in prediction and "action" not in prediction and "code" not in prediction:
                out[sid] = None  # a run recorded that the model's answer was unusable: a wrong step
                continue
            try:
                out[sid] = prediction_action(prediction, steps_by_id[sid])
            except ValueError as exc:
                problems.append(f"line {number} ({sid}): {exc}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise PredictionError(f"{path}: {len(problems)} malformed prediction(s):\n  {shown}{more}\n"
                              'Each line must be {"id": STEP_ID, "action": {...}} in the action vocabulary, '
                              'or {"id": STEP_ID, "code": "pyautogui.click(x=0.41, y=0.22)"}.')
    return out


# ---------------------------------------------------------------------------- rules

def _diagonal(step: dict[str, Any]) -> float:
    screen = step.get("screen") or {}
    return math.hypot(float(screen.get("w") or 1), float(screen.get("h") or 1))


def _near(x: float, y: float, gx: float, gy: float, step: dict[str, Any], t: Thresholds) -> bool:
    return math.hypot(x - gx, y - gy) <= t.click_radius * _diagonal(step)


def _box(step: dict[str, Any]) -> Rect | None:
    """The gold target's box, when it has one with an area."""
    target = step.get("target") or (step["gold"].get("target") or {})
    bbox = target.get("bbox") if isinstance(target, dict) else None
    box = rect_of_bbox(bbox) if isinstance(bbox, list) else None
    return box if box is not None and box.w > 0 and box.h > 0 else None


def _point_right(x: float, y: float, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    gold = step["gold"]
    box = _box(step)
    if box is not None:
        ok = box.contains(x, y)
        return ok, "inside the target box" if ok else "outside the target box"
    ok = _near(x, y, gold["x"], gold["y"], step, t)
    return ok, f"within click_radius={t.click_radius:g}" if ok else f"beyond click_radius={t.click_radius:g}"


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0 for two empty strings)."""
    return Levenshtein.normalized_similarity(a, b)


def normalise_url(url: str) -> str:
    """Lowercase scheme and host, no default port, no fragment, no trailing slash on the path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)) else None
    netloc = host + (f":{port}" if port else "")
    if parts.username:
        netloc = parts.username + "@" + netloc
    path = parts.path.rstrip("/") or ""
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _sign(v: Any) -> int:
    v = v or 0
    return (v > 0) - (v < 0)


def judge(step: dict[str, Any], predicted: Action | None, t: Thresholds) -> Verdict:
    """One step: right or wrong, and why."""
    interaction, gold = step["interaction"], step["gold"]
    verdict = Verdict(step["id"], interaction, step["episode"], bool(step.get("intervention")), False, False,
                      None, predicted, "")
    if predicted is None:
        verdict.why = "no usable prediction"
        return verdict
    kind = predicted.get("type")
    has_point = isinstance(predicted.get("x"), (int, float)) and isinstance(predicted.get("y"), (int, float))
    pointing = interaction in CLICK_TYPES or interaction in ("drag", "menu", "select")
    if pointing and has_point and isinstance(gold.get("x"), (int, float)) and isinstance(gold.get("y"), (int, float)):
        verdict.distance = math.hypot(predicted["x"] - gold["x"], predicted["y"] - gold["y"]) / _diagonal(step)

    if interaction in CHOICE_TYPES:
        verdict.type_match = kind in ("select", "click")
        if kind == "select":
            want = (choice_label(gold) or "").strip().casefold()
            got = str(predicted.get("label") or "").strip().casefold()
            verdict.success = bool(want) and got == want
            verdict.why = "same label" if verdict.success else f"label {predicted.get('label')!r}, not {choice_label(gold)!r}"
        elif kind == "click":
            box = _box(step)
            if box is not None:
                verdict.success = box.contains(predicted["x"], predicted["y"])
                verdict.why = "clicked the item" if verdict.success else "clicked outside the item"
            elif isinstance(gold.get("x"), (int, float)):
                verdict.success, verdict.why = _point_right(predicted["x"], predicted["y"], step, t)
            else:
                verdict.why = "a click cannot be placed: the gold choice has no box"
        else:
            verdict.why = f"type {kind}, not a choice"
        return verdict

    verdict.type_match = kind == gold["type"]
    if not verdict.type_match:
        verdict.why = f"type {kind}, not {gold['type']}"
        return verdict
    shape: Shape = ACTION_SPECS[kind].shape if kind in ACTION_SPECS else "control"
    verdict.success, verdict.why = _JUDGES[shape](predicted, gold, step, t)
    return verdict


# One rule per shape of action (vocabulary.ACTION_SPECS): (right?, why).
Judge = Callable[[Action, Action, dict[str, Any], Thresholds], tuple[bool, str]]


def _judge_point(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    return _point_right(predicted["x"], predicted["y"], step, t)


def _judge_drag(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    start, why = _point_right(predicted["x"], predicted["y"], step, t)
    end = _near(predicted["x2"], predicted["y2"], gold["x2"], gold["y2"], step, t)
    return start and end, f"start {why}; end {'within' if end else 'beyond'} click_radius={t.click_radius:g}"


def _judge_text(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    similarity = edit_similarity(str(predicted.get("text", "")), str(gold.get("text", "")))
    return similarity >= t.text_threshold, f"edit similarity {similarity:.3f} vs text_threshold={t.text_threshold:g}"


def _judge_keys(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    got = {key_name(k) for k in predicted.get("keys") or []}
    ok = got == {key_name(k) for k in gold.get("keys") or []}
    return ok, "same keys" if ok else f"keys {sorted(got)}, not {sorted(gold.get('keys') or [])}"


def _judge_scroll(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    ok = (_sign(predicted.get("dx")), _sign(predicted.get("dy"))) == (_sign(gold.get("dx")), _sign(gold.get("dy")))
    return ok, "same direction" if ok else "other direction"


def _judge_url(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    ok = normalise_url(str(predicted.get("url", ""))) == normalise_url(str(gold.get("url", "")))
    return ok, "same URL" if ok else "other URL"


def _judge_type_only(predicted: Action, gold: Action, step: dict[str, Any], t: Thresholds) -> tuple[bool, str]:
    return True, "same type"  # done, fail (and a select outside a choice step): the type is the answer


_JUDGES: dict[Shape, Judge] = {
    "point": _judge_point, "drag": _judge_drag, "scroll": _judge_scroll, "text": _judge_text, "keys": _judge_keys,
    "url": _judge_url, "choice": _judge_type_only, "control": _judge_type_only}


# ---------------------------------------------------------------------------- aggregates

def _summary(verdicts: list[Verdict]) -> dict[str, Any]:
    n = len(verdicts)
    distances = [v.distance for v in verdicts if v.distance is not None]
    return {"steps": n,
            "step_success": round(sum(v.success for v in verdicts) / n, 6) if n else None,
            "type_match": round(sum(v.type_match for v in verdicts) / n, 6) if n else None,
            "grounding_distance": round(statistics.median(distances), 6) if distances else None}


def score(steps: list[dict[str, Any]], predictions: dict[str, Action | None],
          thresholds: Thresholds | None = None) -> tuple[dict[str, Any], list[Verdict]]:
    """(results.json as in the contract, one verdict per step). A step with no prediction is wrong."""
    t = thresholds or Thresholds()
    verdicts = [judge(s, predictions.get(s["id"]), t) for s in steps]
    by_type: dict[str, list[Verdict]] = defaultdict(list)
    episodes: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        by_type[v.interaction].append(v)
        episodes[v.episode].append(v)
    from workprint.evals.build import iter_interactions

    overall = _summary(verdicts)
    overall["episodes"] = len(episodes)
    overall["episode_success"] = (round(sum(all(v.success for v in vs) for vs in episodes.values()) / len(episodes), 6)
                                  if episodes else None)
    overall["predicted"] = sum(1 for s in steps if s["id"] in predictions)
    overall["unusable"] = sum(1 for s in steps if s["id"] in predictions and predictions[s["id"]] is None)
    corrected = [v for v in verdicts if v.intervention]
    interventions = _summary(corrected)
    interventions["by_interaction"] = {k: _summary([v for v in corrected if v.interaction == k])
                                       for k in iter_interactions({"interaction": v.interaction} for v in corrected)}
    results = {
        "thresholds": asdict(t),
        "overall": overall,
        "by_interaction": {k: _summary(by_type[k]) for k in iter_interactions(steps)},
        "interventions": interventions,
    }
    return results, verdicts


RULES = {"click": "bbox, else click_radius", "double_click": "bbox, else click_radius",
         "right_click": "bbox, else click_radius", "middle_click": "bbox, else click_radius",
         "drag": "both ends: bbox/click_radius", "type": "text_threshold", "scroll": "direction",
         "hotkey": "key set", "key": "key set", "select": "label, or click in item box",
         "menu": "label, or click in item box", "navigate": "normalised URL", "done": "type"}


def format_table(results: dict[str, Any]) -> str:
    """The scores as a text table, each row with the threshold its rule used."""
    t = results["thresholds"]
    values = {"click_radius": f"click_radius={t['click_radius']:g}", "text_threshold": f"text_threshold={t['text_threshold']:g}"}

    def rule(kind: str) -> str:
        text = RULES.get(kind, "type")
        for name, shown in values.items():
            text = text.replace(name, shown)
        return text

    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines = [f"{'interaction':<13} {'steps':>6} {'success':>8} {'type':>6} {'ground':>7}  rule (thresholds)"]
    for kind, row in results["by_interaction"].items():
        lines.append(f"{kind:<13} {row['steps']:>6} {cell(row['step_success']):>8} {cell(row['type_match']):>6} "
                     f"{cell(row['grounding_distance']):>7}  {rule(kind)}")
    o = results["overall"]
    both = f"{values['click_radius']} {values['text_threshold']}"
    lines.append(f"{'overall':<13} {o['steps']:>6} {cell(o['step_success']):>8} {cell(o['type_match']):>6} "
                 f"{cell(o['grounding_distance']):>7}  {both}")
    lines.append(f"episodes: {o['episodes']}, all steps right: {cell(o['episode_success'])}  ({both})")
    missing, unusable = o["steps"] - o.get("predicted", o["steps"]), o.get("unusable", 0)
    if missing or unusable:
        # A predictions file from elsewhere may cover part of the set: say so, not only a lower score.
        lines.append(f"counted wrong: {missing} step(s) without a prediction, {unusable} with an unusable answer")
    i = results["interventions"]
    if i["steps"]:
        lines.append(f"steps where a person corrected an agent: {i['steps']}, success {cell(i['step_success'])}  ({both})")
    lines.append("success: step right; type: action type right; ground: median distance of predicted points from "
                 "gold points, fraction of the screen diagonal")
    return "\n".join(lines)


def verdict_rows(verdicts: Iterable[Verdict]) -> list[dict[str, Any]]:
    return [asdict(v) for v in verdicts]

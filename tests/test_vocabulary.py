"""The typed vocabulary (``workprint.vocabulary``) and the one dispatch over action types.

Every action type of DESIGN.md has pyautogui code, a line in ``workprint actions`` and an eval
check built from its spec; code we write for an action reads back as that action; the fields
derivation writes are the fields the types declare; rectangles convert between the on-disk
``[x, y, w, h]`` and corners without drift.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from workprint.evals.score import prediction_action
from workprint.model.parse import parse_code, parse_tool_calls
from workprint.model.prompt import TOOLS, ImageFit
from workprint.process.actions import action_line, derive_actions
from workprint.process.pyautogui_code import to_code
from workprint.vocabulary import (ACTION_SPECS, ACTION_TYPES, EVENT_FIELDS, EVENT_KINDS, Action, Event, Rect,
                                  rect_of_bbox)

SAMPLE_FIELDS: dict[str, Any] = {"x": 120, "y": 80, "x2": 300, "y2": 200, "text": "hello", "keys": ["ctrl", "s"],
                                 "label": "Large", "url": "https://example.com/"}
SCREEN = {"w": 1000, "h": 800, "scale": 1.0}


def sample(action_type: str) -> dict[str, Any]:
    """An action of this type with every field its spec needs."""
    action: dict[str, Any] = {"type": action_type, "screen": SCREEN}
    for field in ACTION_SPECS[action_type].needs:
        action[field] = SAMPLE_FIELDS[field]
    if action_type == "key":
        action["keys"] = ["enter"]
    if action_type == "scroll":
        action["dy"] = -3
    return action


def test_the_specs_cover_the_vocabulary_of_design_md():
    assert ACTION_TYPES == {"click", "double_click", "right_click", "middle_click", "drag", "scroll", "type",
                            "hotkey", "key", "select", "navigate", "wait", "done", "fail", "call_user"}
    assert set(ACTION_SPECS) == ACTION_TYPES
    # --format tools offers one tool per action type, named as the vocabulary names them.
    assert {tool["function"]["name"] for tool in TOOLS} == ACTION_TYPES


def test_the_documented_fields_of_each_event_kind_are_declared():
    assert set(EVENT_FIELDS) <= EVENT_KINDS
    assert {f for fields in EVENT_FIELDS.values() for f in fields} <= _declared(Event)


@pytest.mark.parametrize("action_type", sorted(ACTION_TYPES))
def test_every_action_type_has_code_and_a_line(action_type):
    action = sample(action_type)
    code = to_code(action)  # a sample built from the spec
    assert code and not code.startswith("#"), f"{action_type} has no pyautogui code"
    line = action_line({**action, "t": 1.5, "app": "mousepad"})
    assert line.strip().split("  ")[1].startswith(action_type), line
    assert "[mousepad]" in line


# select is OpenCUA's browser.select_option, navigate the three keystrokes a person makes;
# neither reads back as one action of its own type.
ROUND_TRIP = sorted(ACTION_TYPES - {"select", "navigate"})


@pytest.mark.parametrize("action_type", ROUND_TRIP)
def test_code_we_write_reads_back_as_the_same_action(action_type):
    action = sample(action_type)
    read = parse_code(to_code(action), ImageFit.for_screen(1000, 800))
    assert [a["type"] for a in read] == [action_type]
    for field in ACTION_SPECS[action_type].needs:
        assert read[0].get(field) == action[field], field


TOOL_ARGS: dict[str, Any] = {"x": 0.5, "y": 0.25, "x2": 0.75, "y2": 0.5, "dy": -3, "text": "hi", "keys": ["ctrl", "c"],
                             "key": "enter", "label": "Large", "url": "https://example.com/", "message": "help"}


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool["function"]["name"])
def test_each_tool_call_reads_as_an_action_of_its_type_that_evals_accept(tool):
    name, required = tool["function"]["name"], tool["function"]["parameters"]["required"]
    call = {"function": {"name": name, "arguments": json.dumps({k: TOOL_ARGS[k] for k in required})}}
    [action] = parse_tool_calls([call], ImageFit.for_screen(1000, 800))
    assert action["type"] == name
    assert prediction_action({"action": action}, {"screen": SCREEN}) == action


@pytest.mark.parametrize("action_type", sorted(t for t in ACTION_TYPES if ACTION_SPECS[t].needs))
def test_an_eval_prediction_missing_a_needed_field_is_refused_by_name(action_type):
    action = sample(action_type)
    assert prediction_action({"action": action}, {"screen": SCREEN})["type"] == action_type
    field = ACTION_SPECS[action_type].needs[-1]
    del action[field]
    with pytest.raises(ValueError, match=field):
        prediction_action({"action": action}, {"screen": SCREEN})


def test_unknown_action_types_are_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown action type 'tap'.*click"):
        prediction_action({"action": {"type": "tap", "x": 1, "y": 2}}, {})
    assert to_code({"type": "tap"}) == "# tap"  # a newer log's type


def _declared(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def test_derived_actions_carry_only_declared_fields():
    log: list[dict[str, Any]] = [{"kind": "session", "t": 0.0, "screen": SCREEN, "settings": {}}]
    log += [
        {"kind": "focus", "t": 0.1, "app": "chromium", "window": "Shop", "rect": [0, 0, 1000, 800]},
        {"kind": "frame", "t": 0.2, "frame": "f1", "stable": True, "masks": [[0, 0, 10, 10]]},
        {"kind": "press", "t": 1.0, "x": 10, "y": 10, "button": "left", "app": "chromium"},
        {"kind": "target", "t": 1.0, "of": 3, "role": "push button", "name": "OK", "bbox": [0, 0, 50, 20]},
        {"kind": "release", "t": 1.05, "x": 10, "y": 10, "button": "left"},
        {"kind": "press", "t": 2.0, "x": 10, "y": 10, "button": "left", "app": "chromium"},
        {"kind": "release", "t": 2.2, "x": 200, "y": 150, "button": "left"},
        {"kind": "wheel", "t": 3.0, "x": 5, "y": 5, "dx": 0, "dy": -1, "app": "chromium"},
        {"kind": "key_down", "t": 4.0, "key": "ctrl", "app": "chromium"},
        {"kind": "key_down", "t": 4.1, "key": "s", "app": "chromium"},
        {"kind": "key_up", "t": 4.2, "key": "ctrl"},
        {"kind": "typed", "t": 5.0, "t_end": 5.5, "text": "[EMAIL]", "app": "chromium", "raw": None,
         "redacted": ["email"]},
        {"kind": "dom_navigate", "t": 6.0, "url": "https://shop.example/", "how": "link"},
        {"kind": "dom_select", "t": 7.0, "url": "https://shop.example/", "label": "Large", "value": "l",
         "target": {"role": "option", "name": "Large", "bbox": [1, 2, 3, 4]}},
        {"kind": "task_start", "t": 0.05, "instruction": "buy a shirt"},
    ]
    events = [{"id": i, **e} for i, e in enumerate(log)]
    assert {k for e in events for k in e} <= _declared(Event)
    actions = derive_actions(events)
    assert {a["type"] for a in actions} == {"click", "drag", "scroll", "hotkey", "type", "navigate", "select"}
    undeclared = {k for a in actions for k in a} - _declared(Action)
    assert not undeclared, f"derive_actions writes fields the Action type does not declare: {undeclared}"
    click = next(a for a in actions if a["type"] == "click")
    assert click["target"] == {"role": "push button", "name": "OK", "bbox": [0, 0, 50, 20]}


def test_rectangles_convert_between_disk_and_memory():
    box = Rect.from_xywh(10, 20, 30, 40)
    assert box == Rect.from_corners(10, 20, 40, 60)
    assert (box.w, box.h, box.area, box.centre) == (30, 40, 1200, (25, 40))
    assert box.xywh == (10, 20, 30, 40)
    assert box.contains(10, 20) and box.contains(39, 59)
    assert not box.contains(40, 20) and not box.contains(10, 60), "end exclusive"
    assert rect_of_bbox([10, 20, 30, 40]) == box
    assert rect_of_bbox(None) is None and rect_of_bbox([]) is None
    assert box.union(Rect(0, 0, 5, 5)) == Rect(0, 0, 40, 60)


def test_masks_black_out_exactly_their_rectangles_and_plain_tuples_are_refused():
    from workprint.capture.base import CapturedFrame, Window
    from workprint.capture.frames import mask_rects, masked_rgb

    w, h = 6, 5
    windows = [Window(1, ("keepassxc",), "vault", (1, 1, 2, 3)), Window(2, ("mousepad",), "notes", (0, 0, 6, 5))]
    frame = CapturedFrame(t=0.0, w=w, h=h, pixels=(b"\xff" * (w * h * 4),), stable=True, windows=windows)
    masks = mask_rects(frame, lambda window: window.app != "keepassxc")
    assert masks == [Rect(1, 1, 3, 4)], "a denied window's [x, y, w, h] as corners"
    rgb = masked_rgb(frame, masks)
    black = {(x, y) for y in range(h) for x in range(w) if not rgb[y, x].any()}
    assert black == {(x, y) for x in (1, 2) for y in (1, 2, 3)}
    with pytest.raises(TypeError, match="Rect.from_xywh"):
        masked_rgb(frame, [(1, 1, 2, 3)])  # an on-disk [x, y, w, h] would be read as corners


def test_the_masks_sidecar_keeps_its_stored_corners_and_reads_back_the_same_rects():
    """Mask boxes are Rects in memory; the sidecar stores [x0, y0, x1, y1, kind] with the last
    masked pixel inclusive, as it was first written, so sidecars already kept stay valid."""
    from workprint.privacy.frames import MASKS_SIDECAR, FrameMask, _MaskCache

    class Reader:
        def __init__(self) -> None:
            self.sidecars: dict[str, Any] = {}

        def read_sidecar(self, name: str) -> Any:
            return json.loads(json.dumps(self.sidecars[name])) if name in self.sidecars else None

        def write_sidecar(self, name: str, document: dict[str, Any]) -> None:
            self.sidecars[name] = document

    reader = Reader()
    cache = _MaskCache(reader)
    masks = [FrameMask(Rect(10, 20, 40, 32), "email"), FrameMask(Rect(0, 0, 1, 1), "card")]
    cache.add("f1", masks)
    cache.save()
    assert reader.sidecars[MASKS_SIDECAR]["frames"]["f1"] == [[10, 20, 39, 31, "email"], [0, 0, 0, 0, "card"]]
    assert _MaskCache(reader).masks["f1"] == masks

"""Action derivation rules on hand-made event logs (the integration tests cover real input)."""

from __future__ import annotations

from workprint.process.actions import derive_actions, simplify


def _log(*events):
    out = [{"id": 0, "kind": "session", "t": 0.0, "screen": {"w": 100, "h": 100, "scale": 1.0}, "settings": {}}]
    for i, e in enumerate(events, start=1):
        out.append({"id": i, **e})
    return out


def test_two_quick_clicks_make_a_double_click_but_slow_ones_do_not():
    fast = derive_actions(_log(
        {"kind": "press", "t": 1.0, "x": 10, "y": 10, "button": "left"},
        {"kind": "release", "t": 1.05, "x": 10, "y": 10, "button": "left"},
        {"kind": "press", "t": 1.2, "x": 11, "y": 10, "button": "left"},
        {"kind": "release", "t": 1.25, "x": 11, "y": 10, "button": "left"},
    ))
    assert [a["type"] for a in fast] == ["double_click"]
    assert fast[0]["raw"] == [1, 4]
    slow = derive_actions(_log(
        {"kind": "press", "t": 1.0, "x": 10, "y": 10, "button": "left"},
        {"kind": "release", "t": 1.05, "x": 10, "y": 10, "button": "left"},
        {"kind": "press", "t": 2.0, "x": 10, "y": 10, "button": "left"},
        {"kind": "release", "t": 2.05, "x": 10, "y": 10, "button": "left"},
    ))
    assert [a["type"] for a in slow] == ["click", "click"]


def test_frame_is_the_last_stable_one_before_and_after_is_the_first_stable_after():
    actions = derive_actions(_log(
        {"kind": "frame", "t": 0.5, "frame": "a", "stable": True},
        {"kind": "frame", "t": 0.9, "frame": "b", "stable": False},
        {"kind": "press", "t": 1.0, "x": 10, "y": 10, "button": "right"},
        {"kind": "release", "t": 1.1, "x": 10, "y": 10, "button": "right"},
        {"kind": "frame", "t": 1.2, "frame": "c", "stable": False},
        {"kind": "frame", "t": 1.4, "frame": "d", "stable": True},
    ))
    assert actions[0]["type"] == "right_click"
    assert (actions[0]["frame"], actions[0]["frame_after"]) == ("a", "d")


def test_wheel_bursts_merge_and_modifiers_make_hotkeys():
    actions = derive_actions(_log(
        {"kind": "wheel", "t": 1.0, "x": 5, "y": 5, "dx": 0, "dy": -1},
        {"kind": "wheel", "t": 1.1, "x": 5, "y": 5, "dx": 0, "dy": -1},
        {"kind": "key_down", "t": 2.0, "key": "ctrl"},
        {"kind": "key_down", "t": 2.1, "key": "shift"},
        {"kind": "key_down", "t": 2.2, "key": "t"},
        {"kind": "key_up", "t": 2.3, "key": "shift"},
        {"kind": "key_up", "t": 2.3, "key": "ctrl"},
        {"kind": "key_down", "t": 3.0, "key": "shift"},
        {"kind": "key_down", "t": 3.1, "key": "tab"},
        {"kind": "key_up", "t": 3.2, "key": "shift"},
        {"kind": "key_down", "t": 4.0, "key": "f5"},
    ))
    assert [(a["type"], a.get("dy"), a.get("keys")) for a in actions] == [
        ("scroll", -2, None), ("hotkey", None, ["ctrl", "shift", "t"]), ("hotkey", None, ["shift", "tab"]),
        ("key", None, ["f5"])]


def test_moves_become_the_trace_of_the_next_action():
    moves = [{"kind": "move", "t": 0.1 * i, "x": 10 * i, "y": 10 * i} for i in range(1, 8)]
    actions = derive_actions(_log(*moves, {"kind": "press", "t": 1.0, "x": 80, "y": 80, "button": "left"},
                                  {"kind": "release", "t": 1.1, "x": 80, "y": 80, "button": "left"}))
    assert len(actions) == 1, "pointer moves are not steps of their own"
    assert actions[0]["trace"][0][1:] == [10, 10] and actions[0]["trace"][-1][1:] == [80, 80]
    assert len(actions[0]["trace"]) == 2, "a straight path is thinned to its ends"


def test_simplify_keeps_corners():
    path = [(0, 0, 0), (1, 50, 0), (2, 100, 0), (3, 100, 50), (4, 100, 100)]
    assert [p[1:] for p in simplify(path, 2.0)] == [(0, 0), (100, 0), (100, 100)]

"""The target of a click is the deepest accessible element at the point, with its own extents."""

from __future__ import annotations

import time

from workprint.capture.atspi.bus import AtspiBus
from workprint.capture.atspi.targets import target_at
from workprint.demo.accessible import find


def _center(bbox):
    return bbox[0] + bbox[2] // 2, bbox[1] + bbox[3] // 2


def _wait_find(a11y, app, role, name):
    for _ in range(50):
        bbox = find(a11y, app, role, name)
        if bbox:
            return bbox
        time.sleep(0.2)
    raise AssertionError(f"no {role} {name!r} in {app}")


def test_text_view_and_button_targets_have_their_own_extents(desk):
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    time.sleep(1.0)
    a11y = AtspiBus(timeout=2.0, env=desk.env)

    text = _wait_find(a11y, "mousepad", "text", "")
    desk.activate(pad)
    got = target_at(a11y, *_center(text))
    assert got["role"] == "text" and got["bbox"] == text, got
    wx, wy, ww, wh = desk.geometry(pad)  # X's own geometry of the window around it
    x, y, w, h = got["bbox"]
    assert wx <= x and wy <= y and x + w <= wx + ww and y + h <= wy + wh
    assert w * h < 0.95 * ww * wh, "the text view, not the whole window or notebook"

    desk.spawn(["zenity", "--question", "--text", "Keep the draft?"])
    desk.wait_window("zenity")
    yes = _wait_find(a11y, "zenity", "push button", "Yes")
    got = target_at(a11y, *_center(yes))
    assert (got["role"], got["name"], got["bbox"]) == ("push button", "Yes", yes), got

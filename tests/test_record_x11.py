"""End to end on a real X desktop: `workprint record` while xdotool drives mousepad (allowed)
and xterm (not allowed), then `workprint actions latest --json`.
"""

from __future__ import annotations

import io
import json
import pytest
from PIL import Image

from tests.conftest import XTERM_SECRET, actions_json, workprint
from workprint.store import SessionReader

DESIGN_FIELDS = {"id", "type", "t", "t_end", "raw", "source", "app", "window", "screen", "frame",
                 "frame_after", "trace"}


@pytest.fixture(scope="module")
def actions(recorded):
    return actions_json(recorded["env"])


def _near(action, x, y, tolerance=3):
    return abs(action["x"] - x) <= tolerance and abs(action["y"] - y) <= tolerance


def test_pointer_actions_at_the_right_place(recorded, actions):
    assert sum(step.x is not None for step in recorded["expected"]) >= 5, "the script played its pointer steps"
    for step in recorded["expected"]:
        if step.x is None:
            continue
        matches = [a for a in actions if a["type"] == step.type and _near(a, step.x, step.y)]
        assert matches, f"no {step.type} near ({step.x}, {step.y}); got {[(a['type'], a.get('x'), a.get('y')) for a in actions]}"
        if step.type == "drag":
            assert any(abs(a["x2"] - step.extra["x2"]) <= 3 and abs(a["y2"] - step.extra["y2"]) <= 3 for a in matches)
        if step.type == "scroll":
            assert any(a["dy"] == step.extra["dy"] and a["dx"] == 0 for a in matches)


def test_typing_is_merged_with_backspace_applied(actions):
    texts = [a["text"] for a in actions if a["type"] == "type"]
    assert "Hello from workprint, ticket ABC-123." in texts
    assert "line 0 of a long document" in texts


def test_typed_email_is_redacted_everywhere(recorded, actions):
    typed = [a for a in actions if a["type"] == "type" and a["text"].startswith("Reach me at")]
    assert typed and typed[0]["text"] == "Reach me at [EMAIL]"
    assert typed[0]["redacted"] == ["email"]
    reader = SessionReader(recorded["home"], recorded["session"])
    dump = json.dumps(reader.events())
    assert "jane.doe" not in dump and "example.com" not in dump
    assert "jane.doe" not in json.dumps(actions)


def test_menu_choice_is_named(actions):
    chosen = [a for a in actions if a.get("target", {}).get("name") == "Select All"]
    assert chosen, "choosing Edit > Select All was not named from the accessibility bus"
    assert chosen[0]["type"] == "click"
    assert chosen[0]["target"]["role"] == "menu item"
    x, y, w, h = chosen[0]["target"]["bbox"]
    assert x <= chosen[0]["x"] < x + w and y <= chosen[0]["y"] < y + h
    opened = [a for a in actions if a.get("target", {}).get("name") == "Edit"]
    assert opened and opened[0]["target"]["role"] == "menu"


def test_hotkey_and_keys(actions):
    assert any(a["type"] == "hotkey" and a["keys"] == ["ctrl", "home"] for a in actions)
    assert any(a["type"] == "key" and a["keys"] == ["enter"] for a in actions)


def test_every_action_has_the_design_fields(recorded, actions):
    assert actions
    for action in actions:
        missing = DESIGN_FIELDS - set(action)
        assert not missing, f"{action['type']} lacks {missing}"
        assert action["source"] == "human"
        assert action["app"] == "mousepad"
        assert action["screen"] == {"w": 1920, "h": 1080, "scale": 1.0}
        assert action["t"] <= action["t_end"]
        assert action["raw"][0] <= action["raw"][1]
        assert action["window"] and "Mousepad" in action["window"]
    drag = next(a for a in actions if a["type"] == "drag")
    assert len(drag["trace"]) >= 2, "the pointer path of a drag is kept as its trace"


def test_each_action_has_the_frame_from_before_it(recorded, actions):
    reader = SessionReader(recorded["home"], recorded["session"])
    frame_t = {}
    for e in reader.events():
        if e["kind"] == "frame":
            frame_t.setdefault(e["frame"], e["t"])
    assert actions and frame_t, "the session has actions and frames to check"
    for action in actions:
        assert action["frame"], f"{action['type']} at {action['t']} has no frame"
        assert frame_t[action["frame"]] <= action["t"], "the frame was captured after the action began"
        assert action["frame_after"]
        image = Image.open(io.BytesIO(reader.frame(action["frame"])))
        assert image.size == (1920, 1080)
    # The screen before choosing "Select All" differs from the one after it (text highlighted).
    chosen = next(a for a in actions if a.get("target", {}).get("name") == "Select All")
    assert chosen["frame"] != chosen["frame_after"]


def test_denied_app_leaves_nothing(recorded, actions):
    reader = SessionReader(recorded["home"], recorded["session"])
    events = reader.events()
    dump = json.dumps(events)
    assert XTERM_SECRET not in dump and "XTERMSECRET" not in dump
    assert "xterm" not in dump.lower() and "scratch terminal" not in dump
    assert all(a["app"] == "mousepad" for a in actions)
    masked = [e for e in events if e["kind"] == "frame" and e.get("masks")]
    assert masked, "the masks are recorded with the frame"
    tx, ty, tw, th = recorded["xterm_rect"]
    assert reader.frame_ids(), "frames were kept, so the check below looks at something"
    for frame_id in reader.frame_ids():
        image = Image.open(io.BytesIO(reader.frame(frame_id))).convert("RGB")
        region = image.crop((tx, ty, tx + tw, ty + th))
        assert region.getextrema() == ((0, 0), (0, 0), (0, 0)), f"frame {frame_id} shows the denied xterm"


def test_sessions_lists_the_recording(recorded):
    rows = [json.loads(line) for line in workprint("sessions", "--json", env=recorded["env"]).stdout.splitlines()]
    assert [r["id"] for r in rows] == [recorded["session"]]
    assert rows[0]["status"] == "finished"
    assert rows[0]["frames"] > 0 and rows[0]["events"] > 0
    assert "warning" not in recorded["stderr"], recorded["stderr"]


def test_no_login_or_host_name_in_metadata(recorded):
    import getpass
    import socket

    reader = SessionReader(recorded["home"], recorded["session"])
    meta = json.dumps(reader.meta)
    for word in {getpass.getuser(), socket.gethostname()} - {"", "root"}:
        assert word not in meta
    assert reader.meta["contributor"].startswith("c-")

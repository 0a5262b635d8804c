"""A killed recorder keeps what it had flushed, and the typing run in progress sealed; pause
records nothing until resume. How much a kill loses at most is measured in bench/crash.py."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.conftest import Recording, actions_json, has_frame_after, wait_logged, wait_until, workprint
from workprint.store import SessionReader


def typed(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["kind"] == "typed"]


def count(events: list[dict], kind: str) -> int:
    return sum(e["kind"] == kind for e in events)


def active_title(desk) -> str:
    return desk.xdotool("getactivewindow", "getwindowname", check=False).strip()


@pytest.fixture(scope="module")
def pad(desk):
    desk.spawn(["mousepad"])
    wid = desk.wait_window("mousepad")
    time.sleep(1.0)
    desk.activate(wid)
    x, y, w, h = desk.geometry(wid)
    desk.xdotool("mousemove", x + w // 2, y + h // 2)
    return wid


def test_kill_9_keeps_all_but_the_last_second(desk, pad, home):
    rec = Recording(desk, home)
    desk.xdotool("click", 1)
    desk.xdotool("type", "--delay", 50, "typed before the crash")
    wait_logged(home, rec.session, lambda events: "typed before the crash" in typed(events), "the typing run written")
    desk.xdotool("key", "ctrl+s")
    wait_until(lambda: active_title(desk) == "Save As", 20, "the save dialog opening")
    desk.xdotool("key", "Escape")  # close the save dialog
    wait_until(lambda: active_title(desk) != "Save As", 20, "the save dialog closing")
    wait_logged(home, rec.session, has_frame_after("key_down", key="esc"), "esc and the frame after it flushed")
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait(timeout=10)
    env = rec.env
    rows = [json.loads(line) for line in workprint("sessions", "--json", env=env).stdout.splitlines()]
    assert rows[-1]["status"] == "interrupted"
    actions = actions_json(env)
    kinds = [(a["type"], a.get("text") or a.get("keys")) for a in actions]
    assert ("type", "typed before the crash") in kinds
    assert ("hotkey", ["ctrl", "s"]) in kinds
    assert ("key", ["esc"]) in kinds, f"an action flushed before the kill was lost: {kinds}"
    assert all(a["frame"] for a in actions), [(a["type"], a["t"], a.get("keys")) for a in actions if not a["frame"]]
    reader = SessionReader(home, rows[-1]["id"])
    for action in actions:  # the frame store of a killed recorder reads back
        assert reader.frame(action["frame"]).startswith(b"\x89PNG")


def test_kill_9_in_the_middle_of_a_typing_run_keeps_it_redacted_at_the_next_start(desk, pad, home):
    rec = Recording(desk, home)
    desk.xdotool("click", 1)
    desk.xdotool("type", "--delay", 40, "write to jane.doe@example.com today")
    time.sleep(0.7)  # the run is still open: it ends only after 1 s without a key
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait(timeout=10)
    session = json.loads(workprint("sessions", "--json", env=rec.env).stdout.splitlines()[-1])["id"]
    held = list((home / "sessions" / session / "pending").glob("*.seg"))
    assert held, "the run in progress was on disk when the recorder died"
    for path in held:
        assert b"jane" not in path.read_bytes() and b"today" not in path.read_bytes(), "sealed, never in clear"
    assert not [e for e in SessionReader(home, session).events() if e["kind"] == "typed"], "not in the log unredacted"
    code, _, err = Recording(desk, home).stop()  # the next start redacts it into its session
    assert code == 0, err
    typed = [a["text"] for a in actions_json(rec.env, session) if a["type"] == "type"]
    assert typed == ["write to [EMAIL] today"], typed
    assert "cut" not in workprint("actions", session, env=rec.env).stderr, "the recovered session reads clean"
    dump = json.dumps(SessionReader(home, session).events())
    assert "jane" not in dump and "example.com" not in dump
    assert not list((home / "sessions" / session / "pending").glob("*.seg"))


def test_torn_tail_after_a_crash_is_reported_not_fatal(desk, pad, home):
    rec = Recording(desk, home)
    desk.xdotool("click", 1)
    desk.xdotool("type", "--delay", 50, "hello")
    wait_logged(home, rec.session, lambda events: typed(events) == ["hello"], "the typing run written")
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait(timeout=10)
    session = json.loads(workprint("sessions", "--json", env=rec.env).stdout.splitlines()[-1])["id"]
    segment = sorted((home / "sessions" / session / "events").glob("*.seg"))[-1]
    segment.write_bytes(segment.read_bytes() + b"\x10\x00\x00\x00partial")
    out = workprint("actions", session, env=rec.env)
    assert "torn tail" in out.stderr
    assert "hello" in out.stdout


def test_pause_records_nothing_until_resume(desk, pad, home):
    rec = Recording(desk, home)
    desk.xdotool("click", 1)
    workprint("pause", env=rec.env)
    wait_logged(home, rec.session, lambda events: count(events, "pause") == 1, "the pause")
    desk.xdotool("type", "--delay", 40, "PAUSEDSECRET77")
    desk.xdotool("click", 1)
    time.sleep(0.5)  # while paused nothing shows: give the input hook time to deliver it, paused
    workprint("resume", env=rec.env)
    wait_logged(home, rec.session, lambda events: count(events, "resume") == 1, "the resume")
    desk.xdotool("type", "--delay", 40, "after resume")
    wait_logged(home, rec.session, lambda events: "after resume" in typed(events), "the typing after resume")
    # The pause hotkey works too, and is not itself recorded.
    desk.xdotool("key", "ctrl+alt+p")
    wait_logged(home, rec.session, lambda events: count(events, "pause") == 2, "the pause by hotkey")
    desk.xdotool("type", "--delay", 40, "HOTKEYPAUSED")
    time.sleep(0.5)  # as above
    desk.xdotool("key", "ctrl+alt+p")
    wait_logged(home, rec.session, lambda events: count(events, "resume") == 2, "the resume by hotkey")
    code, out, err = rec.stop(signal.SIGTERM)
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    dump = json.dumps(SessionReader(home, session).events())
    assert "PAUSEDSECRET" not in dump and "HOTKEYPAUSED" not in dump
    actions = actions_json(rec.env, session)
    texts = [a.get("text") for a in actions if a["type"] == "type"]
    assert "after resume" in texts
    assert not any(a["type"] == "hotkey" and a["keys"][-1] == "p" for a in actions)
    kinds = [e["kind"] for e in SessionReader(home, session).events()]
    assert kinds.count("pause") == 2 and kinds.count("resume") == 2

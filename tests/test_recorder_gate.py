"""The gate's rules fed in orders a real desktop produces but cannot schedule on demand.

The backend here is a stand-in for the platform (one allowed window, no screen changes, no
display at all): it implements only the interface in ``capture.base``; the recorder, its gate
thread and the encrypted store are the real ones.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from workprint.capture.base import PlatformApps, Screen, Window
from workprint.capture.keys import Key
from workprint.privacy.policy import Policy
from tests.conftest import wait_until
from workprint.store import SessionReader

BROWSER = Window(wid=7, app_ids=("chromium", "chromium"), title="Sign in - Chromium", rect=(0, 0, 800, 600))
PASSWORD = "Hunter2GateSecret"


class _Hooks:
    def start(self) -> None: ...
    def stop(self) -> None: ...


class _Inspector:
    def active_window(self) -> Window:
        return BROWSER

    def windows(self) -> list[Window]:
        return [BROWSER]

    def close(self) -> None: ...


class _Grabber:
    windows_changed = False

    def wait_change(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.1))
        return False

    def grab(self):
        return 800, 600, (bytes(800 * 600 * 4),)

    def close(self) -> None: ...


class StillDesktop:
    name = "still"
    apps = PlatformApps(browsers=frozenset({"chromium"}))

    def screen(self) -> Screen:
        return Screen(800, 600)

    def input_hooks(self, enqueue) -> _Hooks:
        self.enqueue = enqueue  # what the hooks call with each input event
        return _Hooks()

    def window_inspector(self) -> _Inspector:
        return _Inspector()

    def screen_grabber(self) -> _Grabber:
        return _Grabber()

    def injector(self):
        raise NotImplementedError("no agent runs here")

    def accessibility(self, on_target) -> None:
        return None

    def ask_text(self, title: str, prompt: str) -> None:
        return None

    def notify(self, summary: str, body: str = "") -> None: ...


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    """Nothing here needs a display: keys are plain names, not a platform's key objects."""
    monkeypatch.delenv("DISPLAY", raising=False)


def start(home: Path, desktop: StillDesktop | None = None):
    from workprint.recorder import Recorder

    recorder = Recorder(home, desktop or StillDesktop(), Policy(), accessibility=False)
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    assert recorder.ready.wait(timeout=30), "the recorder did not get ready"
    return recorder, thread


def pending(home: Path, recorder) -> list[Path]:
    """The sealed copies of typing runs in progress."""
    return list((home / "sessions" / recorder.session_id / "pending").glob("*.seg"))


def type_keys(recorder, text: str, t0: float, gap: float = 0.03) -> float:
    t = t0
    for ch in text:
        key = Key.typing(ch)
        recorder._queue.put(("key_down", t, key))
        recorder._queue.put(("key_up", t + 0.01, key))
        t += gap
    return t


def test_secure_field_event_arriving_after_the_keystrokes_drops_the_held_run(home):
    recorder, thread = start(home)
    focus_t = time.monotonic()
    # The page's "secure field focused" event is stamped before the keystrokes but reaches the
    # gate after them (the browser's channel is slower than the desktop's input hook).
    type_keys(recorder, PASSWORD, focus_t + 0.05)
    wait_until(lambda: pending(home, recorder), 10, "the run in progress sealed")
    recorder._queue.put(("dom", focus_t, {"type": "secure", "state": "focus", "url": "http://127.0.0.1/login",
                                          "ts": time.time() * 1000}))
    recorder._queue.put(("dom", time.monotonic(), {"type": "secure", "state": "blur", "url": "http://127.0.0.1/login",
                                                   "ts": time.time() * 1000}))
    recorder._queue.put(("key_down", time.monotonic() + 1.5, Key("enter")))
    recorder.stop()  # the gate handles what is queued before it stops
    thread.join(timeout=20)
    events = SessionReader(home, recorder.session_id).events()
    dump = repr(events)
    assert "hunter" not in dump.lower() and "Secret" not in dump, "keystrokes typed into a secure field were kept"
    assert not [e for e in events if e["kind"] == "key_down" and e.get("char")], "no key of the run is kept"
    assert any(e["kind"] == "secure_input" for e in events)
    assert not pending(home, recorder)


def test_keystrokes_well_before_a_secure_field_are_kept(home):
    recorder, thread = start(home)
    t0 = time.monotonic()
    end = type_keys(recorder, "hello there", t0)
    recorder._queue.put(("dom", end + 0.8, {"type": "secure", "state": "focus", "ts": time.time() * 1000}))
    recorder.stop()
    thread.join(timeout=20)
    typed = [e["text"] for e in SessionReader(home, recorder.session_id).events() if e["kind"] == "typed"]
    assert typed == ["hello there"]


def test_the_run_in_progress_is_sealed_on_disk_never_in_clear(home):
    recorder, thread = start(home)
    type_keys(recorder, "mail jane.doe@example.com now", time.monotonic())
    # Sealed at the next flush (every 0.5 s), well before the gap that ends the run (1 s).
    def sealed() -> tuple[list[Path], bytes] | None:
        files = pending(home, recorder)  # created with its header first, then the keystrokes
        try:
            raw = b"".join(p.read_bytes() for p in files)
        except FileNotFoundError:  # released meanwhile
            return None
        return (files, raw) if len(raw) > 200 else None

    held, raw = wait_until(sealed, 10, "the run in progress sealed")
    recorder.stop()
    thread.join(timeout=20)
    assert held and len(raw) > 200, "the run in progress is on disk"
    assert b"jane" not in raw and b"example" not in raw, "and sealed"
    typed = [e for e in SessionReader(home, recorder.session_id).events() if e["kind"] == "typed"]
    assert typed[0]["text"] == "mail [EMAIL] now"
    assert not pending(home, recorder), "removed once written"


def test_a_broken_agent_channel_does_not_take_the_input_hooks_down(home):
    """The hooks ask the agent channel whose each event is; an exception there would end the
    platform's listener (and all input with it). It is reported, and the event is the person's."""
    desktop = StillDesktop()
    recorder, thread = start(home, desktop)

    class Broken:
        status_text = ""

        def classify(self, item):
            raise AttributeError("'dict' object has no attribute 'name'")

        def hotkey(self, name, mods, t) -> bool:
            return False

    recorder.agent = Broken()
    t = time.monotonic()
    for ch in "ok":
        desktop.enqueue(("key_down", t, Key.typing(ch)))
        desktop.enqueue(("key_up", t + 0.01, Key.typing(ch)))
        t += 0.05
    recorder.stop()
    thread.join(timeout=20)
    typed = [e for e in SessionReader(home, recorder.session_id).events() if e["kind"] == "typed"]
    assert [(e["text"], e.get("agent")) for e in typed] == [("ok", None)]
    assert any(p.startswith("agent channel: AttributeError") for p in recorder.problems), recorder.problems


def test_page_events_from_before_the_recording_started_are_not_kept(home):
    """While no recorder runs, the extension holds what happens in pages (up to 500 events) and
    sends it once a recorder answers: none of that was recorded with the person's knowledge."""
    import json
    import socket

    from workprint.capture.browser import socket_path

    recorder, thread = start(home)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(str(socket_path(home)))  # as the native host does
    reader = conn.makefile("rb")
    reader.readline()  # the recorder's hello
    now = time.time() * 1000
    before = [{"type": "navigate", "url": "http://127.0.0.1/inbox-before", "frame": "top", "ts": now - 60000},
              {"type": "input", "text": "TYPEDBEFORESTART", "url": "http://127.0.0.1/inbox-before",
               "ts_start": now - 59000, "ts": now - 58000}]
    during = [{"type": "navigate", "url": "http://127.0.0.1/inbox-during", "frame": "top", "ts": now},
              {"type": "input", "text": "typed while recording", "url": "http://127.0.0.1/inbox-during",
               "ts_start": now, "ts": now + 10}]
    conn.sendall(json.dumps({"events": before + during}).encode() + b"\n")
    reader.readline()
    conn.close()
    time.sleep(0.5)
    recorder.stop()
    thread.join(timeout=20)
    dump = json.dumps(SessionReader(home, recorder.session_id).events())
    assert "typed while recording" in dump and "inbox-during" in dump
    assert "TYPEDBEFORESTART" not in dump and "inbox-before" not in dump, "events from before the start were kept"


def test_a_secure_field_event_arriving_after_enter_still_drops_the_password(home):
    """Auto-type fills a login in a few milliseconds: password, then Enter. The page's "secure field"
    event, stamped before the keystrokes, can reach the recorder after the Enter that ended the run."""
    recorder, thread = start(home)
    focus_t = time.monotonic()
    end = type_keys(recorder, PASSWORD, focus_t + 0.01, gap=0.005)
    recorder._queue.put(("key_down", end, Key("enter")))
    recorder._queue.put(("key_up", end + 0.01, Key("enter")))
    time.sleep(0.1)  # the gate has handled the Enter
    recorder._queue.put(("dom", focus_t, {"type": "secure", "state": "focus", "url": "http://127.0.0.1/login",
                                          "ts": time.time() * 1000}))
    recorder._queue.put(("dom", time.monotonic(), {"type": "secure", "state": "blur", "ts": time.time() * 1000}))
    later = type_keys(recorder, "next page", time.monotonic() + 1.0)
    recorder._queue.put(("key_down", later + 1.5, Key("enter")))
    time.sleep(0.3)
    recorder.stop()
    thread.join(timeout=20)
    events = SessionReader(home, recorder.session_id).events()
    assert "hunter" not in repr(events).lower(), "the password typed before Enter was kept"
    assert [e["text"] for e in events if e["kind"] == "typed"] == ["next page"], "typing after it is kept"
    assert any(e["kind"] == "secure_input" for e in events) and not pending(home, recorder)

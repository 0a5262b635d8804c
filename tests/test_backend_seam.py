"""A platform backend is one module: the interface in ``capture.base`` is all the rest uses.

Three checks: no platform-neutral module imports a platform library or a backend module; a
backend that implements only the protocols (no display, no X, no D-Bus) records input, names
targets, asks for a task, notifies and carries an agent's injected input through to the log;
and a new platform module is found without editing anything else.
"""

from __future__ import annotations

import sys
import threading
import time
import types

import pytest

from workprint.capture import base
from workprint.capture.base import OnTarget, PlatformApps, Screen, Stroke, Window
from workprint.capture.keys import Key
from workprint.privacy.policy import Policy
from workprint.store import SessionReader
from tests.conftest import has_event, wait_logged, wait_until
from tests.test_layers import ROOT, all_imports

PLATFORM_LIBRARIES = {"pynput", "Xlib", "jeepney", "mss"}
# The X11 backend and the helpers only backends use. demo/ drives a real X desktop (xdotool,
# the accessibility bus) to play a person in tests, so it may name them too.
PLATFORM_SPECIFIC = ("capture/x11.py", "capture/pynput_keys.py", "capture/atspi/", "demo/")
PLATFORM_MODULES = {"workprint.capture.x11", "workprint.capture.pynput_keys", "workprint.capture.atspi"}


def test_platform_neutral_modules_import_no_platform_library_or_backend():
    wrong, neutral = [], 0
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(PLATFORM_SPECIFIC):
            continue
        neutral += 1
        for name in all_imports(path):
            if name.split(".")[0] in PLATFORM_LIBRARIES or any(
                    name == m or name.startswith(m + ".") for m in PLATFORM_MODULES):
                wrong.append(f"{rel} imports {name}")
    assert neutral > 100, "the platform-neutral modules were found"
    assert not wrong, "only a backend module may speak to its platform:\n" + "\n".join(wrong)


def _members(protocol: type) -> set[str]:
    return {n for n in vars(protocol).get("__annotations__", {})} | {
        n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}


def _public(obj: object) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


# ---------------------------------------------------------------- a backend made of the protocol only

OK_BUTTON = [390, 290, 20, 20]
EDITOR = Window(wid=1, app_ids=("editor",), title="notes - Editor", rect=(0, 0, 800, 600))


class _Hooks:
    def __init__(self, platform: "LoopbackPlatform", enqueue):
        platform.enqueue = enqueue

    def start(self) -> None: ...
    def stop(self) -> None: ...


class _Inspector:
    def active_window(self) -> Window:
        return EDITOR

    def windows(self) -> list[Window]:
        return [EDITOR]

    def close(self) -> None: ...


class _Grabber:
    windows_changed = False

    def wait_change(self, timeout: float) -> bool:
        time.sleep(min(timeout, 0.05))
        return False

    def grab(self):
        return 800, 600, (bytes(800 * 600 * 4),)

    def close(self) -> None: ...


class _Accessibility:
    """Names every click "OK", from its own thread, as a real accessibility service would."""

    def __init__(self, on_target: OnTarget):
        self._on_target = on_target
        self._requests: list = []
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = True
        self.why_not = ""
        self.secure_focus = False
        self.secure_box = None
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self.listening.set()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._requests)
                request = self._requests.pop(0)
            if request is None:
                return
            event_id, t = request
            self._on_target(event_id, t, {"role": "push button", "name": "OK", "bbox": OK_BUTTON})

    def _put(self, request) -> None:
        with self._wake:
            self._requests.append(request)
            self._wake.notify()

    def pointer(self, event_id: int, t: float, x: int, y: int) -> None:
        self._put((event_id, t))

    def key(self, event_id: int, t: float) -> None: ...

    def stop(self) -> None:
        self._put(None)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


class _Injector:
    """Injected input comes back through the input hooks, as XTEST's does through XRecord.
    Characters outside ASCII have no key: they are typed on a key bound for the moment, which
    the hooks report without a name."""

    def __init__(self, platform: "LoopbackPlatform"):
        self._platform = platform
        self._at = (0, 0)
        self._held = False

    def _hook(self, key: str) -> Key:
        if len(key) == 1 and not key.isascii():
            return Key.unnamed(0x1000000 + ord(key))
        return Key.typing(key) if len(key) == 1 else Key(key)

    def move(self, x: int, y: int) -> None:
        self._at = (x, y)
        self._platform.enqueue(("move", time.monotonic(), x, y))

    def button(self, button: str, down: bool) -> None:
        self._platform.enqueue(("press" if down else "release", time.monotonic(), *self._at, button))

    def wheel(self, dx: int, dy: int) -> None:
        self._platform.enqueue(("wheel", time.monotonic(), *self._at, dx, dy))

    def stroke(self, key: str) -> Stroke:
        return Stroke(self._hook(key), shift=False, rebound=len(key) == 1 and not key.isascii())

    def key(self, key: str, down: bool) -> None:
        self._platform.enqueue(("key_down" if down else "key_up", time.monotonic(), self._hook(key)))

    def close(self) -> None: ...


class LoopbackPlatform:
    """A backend made of ``capture.base``'s protocols and nothing else."""

    name = "loopback"
    apps = PlatformApps(deny=("vault",), browsers=frozenset({"webby"}))

    def __init__(self) -> None:
        self.enqueue = None
        self.asked: list[str] = []
        self.notified: list[str] = []

    def screen(self) -> Screen:
        return Screen(800, 600)

    def input_hooks(self, enqueue) -> _Hooks:
        return _Hooks(self, enqueue)

    def window_inspector(self) -> _Inspector:
        return _Inspector()

    def screen_grabber(self) -> _Grabber:
        return _Grabber()

    def injector(self) -> _Injector:
        return _Injector(self)

    def accessibility(self, on_target: OnTarget) -> _Accessibility:
        return _Accessibility(on_target)

    def ask_text(self, title: str, prompt: str) -> str | None:
        self.asked.append(title)
        return "File the expense report"

    def notify(self, summary: str, body: str = "") -> None:
        self.notified.append(summary)


def test_the_loopback_backend_is_exactly_the_protocols():
    platform = LoopbackPlatform()
    assert _public(platform) - {"enqueue", "asked", "notified"} == _members(base.Backend)
    assert _public(platform.injector()) == _members(base.Injector)
    assert _public(platform.accessibility(lambda *a: None)) == _members(base.Accessibility)
    assert {"accessibility", "ask_text", "notify", "injector", "apps"} <= _members(base.Backend)


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def test_a_backend_of_protocols_only_records_targets_tasks_and_agent_input(home):
    from workprint.agent.actuate import Executor
    from workprint.agent.channel import AgentChannel
    from workprint.capture.indicator import Indicator
    from workprint.recorder import Recorder

    platform = LoopbackPlatform()
    recorder = Recorder(home, platform, Policy(), indicator=Indicator(notify=platform.notify))
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    assert recorder.ready.wait(10)
    hooks = platform.enqueue
    assert hooks is not None, "the recorder installed the input hooks"

    # The person: a click the accessibility source names, then the task hotkey.
    t = time.monotonic()
    hooks(("press", t, 400, 300, "left"))
    hooks(("release", t + 0.05, 400, 300, "left"))
    for i, name in enumerate(("ctrl", "alt", "t")):
        hooks(("key_down", t + 0.1 + i * 0.01, Key(name)))
    for i, name in enumerate(("t", "alt", "ctrl")):
        hooks(("key_up", t + 0.2 + i * 0.01, Key(name)))
    wait_logged(home, recorder.session_id, has_event("task_start"), "the task the prompt asked for")

    # The agent: its keys go through the platform's injector and come back through its hooks.
    channel = AgentChannel(recorder)
    recorder.agent = channel
    channel.send("start", task="type a note", model="scripted", format="pyautogui", max_steps=1)
    wait_until(lambda: channel.running, what="the agent run to start")
    Executor(platform.injector(), channel).perform({"type": "type", "text": "café"}, step=1)
    wait_until(lambda: channel.pending() == 0, what="the gate to see the injected keys")
    channel.send("end", status="done")
    wait_until(lambda: not channel.running, what="the agent run to end")
    recorder.stop()
    thread.join(timeout=20)
    assert not thread.is_alive()

    events = SessionReader(home, recorder.session_id).events()
    press = next(e for e in events if e["kind"] == "press")
    (target,) = [e for e in events if e["kind"] == "target"]
    assert (target["of"], target["name"], target["bbox"]) == (press["id"], "OK", OK_BUTTON)
    starts = [e["instruction"] for e in events if e["kind"] == "task_start"]
    assert starts[0] == "File the expense report" and platform.asked == ["workprint: new task"]
    assert "workprint is recording" in platform.notified
    typed = [e for e in events if e["kind"] == "typed"]
    assert [(e["text"], e.get("agent")) for e in typed] == [("café", 1)], typed
    assert not [e for e in events if e["kind"] == "takeover"], "the agent's own keys were not taken for the person's"
    assert not recorder.problems, recorder.problems


def test_a_new_platform_is_one_module(monkeypatch):
    """`capture` finds a platform's module by name: writing it is all a new platform takes."""
    from workprint import capture

    module = types.ModuleType("workprint.capture.macos")
    module.APPS = PlatformApps(deny=("com.agilebits.onepassword*",), browsers=frozenset({"com.apple.safari"}))
    module.open_backend = LoopbackPlatform
    monkeypatch.setitem(sys.modules, "workprint.capture.macos", module)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert isinstance(capture.open_backend(), LoopbackPlatform)
    assert capture.platform_apps().deny == ("com.agilebits.onepassword*",)
    assert "com.apple.safari" in capture.known_browser_apps() and "chromium" in capture.known_browser_apps()


def test_a_platform_without_a_module_says_which_file_to_write(monkeypatch):
    from workprint import capture
    from workprint.capture.base import BackendUnavailable

    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(BackendUnavailable, match=r"capture/windows\.py"):
        capture.open_backend()
    assert capture.platform_apps() == PlatformApps()

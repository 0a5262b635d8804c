"""The gate's rules, fed input items directly: no display, no threads, no encrypted store.

The gate decides everything that is written (``workprint.recorder.gate``); here it writes into
a list. Its collaborators are the plain ones it is built with: the real policy, settings,
frame ring, control folder (in a temporary home) and, for agent runs, the real agent channel.
The desktop is a fixed set of windows; keys are ``capture.keys.Key`` (name, character), the way
every backend hands them over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workprint.capture.base import CapturedFrame, Window
from workprint.capture.frames import FrameRing
from workprint.capture.keys import Key
from workprint.home import agent_run_going, send_control, set_paused
from workprint.privacy.policy import Policy
from workprint.settings import Settings
from workprint.vocabulary import Rect

PAD = Window(wid=1, app_ids=("mousepad", "mousepad"), title="notes.txt - Mousepad", rect=(0, 0, 800, 600))
TERM = Window(wid=2, app_ids=("xterm", "xterm"), title="scratch terminal", rect=(800, 0, 400, 600))
BROWSER = Window(wid=3, app_ids=("chromium", "chromium"), title="Sign in - Chromium", rect=(0, 600, 800, 400))
SETTINGS = Settings()


class Log:
    """The store's side: events in the order written, typing runs sealed while in progress."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.held: dict[int, list[dict[str, Any]]] = {}
        self.released: list[int] = []

    def append(self, event: dict[str, Any]) -> int:
        self.events.append(event)
        return len(self.events) - 1

    def hold_run(self, run: int, header: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.held.setdefault(run, []).extend(events)

    def release_run(self, run: int) -> None:
        self.held.pop(run, None)
        self.released.append(run)

    def flush(self, sync: bool = True) -> None: ...

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]


class Desktop:
    """Windows bottom to top; the last is focused."""

    def __init__(self, *windows: Window) -> None:
        self.stack = list(windows)

    def active_window(self) -> Window | None:
        return self.stack[-1] if self.stack else None

    def windows(self) -> list[Window]:
        return list(self.stack)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class SecureField:
    """The accessibility worker's answers: whether a password field has focus, and where."""

    def __init__(self) -> None:
        self.secure_focus = False
        self.secure_box: Rect | None = None
        self.pointers: list[int] = []

    def pointer(self, event_id: int, t: float, x: int, y: int) -> None:
        self.pointers.append(event_id)

    def key(self, event_id: int, t: float) -> None: ...


class Rig:
    """A gate wired to the stand-ins above; times are seconds after the session start."""

    def __init__(self, home: Path, policy: Policy | None = None, desktop: Desktop | None = None,
                 a11y: SecureField | None = None) -> None:
        from workprint.recorder.control import Control
        from workprint.recorder.gate import Gate

        self.home = home
        self.log = Log()
        self.clock = Clock()
        self.ring = FrameRing(SETTINGS.ring_size)
        self.kept: list[tuple[CapturedFrame, str, list]] = []
        self.asked: list[Path] = []
        self.desktop = desktop or Desktop(TERM, PAD)
        self.gate = Gate(append=self.log.append, held=self.log, windows=self.desktop, policy=policy or Policy(),
                         settings=SETTINGS, ring=self.ring, submit=lambda f, r, m: self.kept.append((f, r, m)),
                         control=Control(home, ask_task=self.asked.append),
                         browser_apps={"chromium"}, clock=self.clock, a11y=a11y)
        self.t0 = self.gate.t0

    def at(self, t: float) -> float:
        """Monotonic time of session time ``t``; the clock moves there."""
        self.clock.t = max(self.clock.t, self.t0 + t)
        return self.t0 + t

    def click(self, t: float, x: int, y: int, button: str = "left") -> None:
        self.gate.handle(("press", self.at(t), x, y, button))
        self.gate.handle(("release", self.at(t + 0.05), x, y, button))

    def key(self, t: float, name: str, char: str | None = None, up: bool = True) -> None:
        self.gate.handle(("key_down", self.at(t), Key(name, char)))
        if up:
            self.gate.handle(("key_up", self.at(t + 0.01), Key(name, char)))

    def type(self, t: float, text: str, gap: float = 0.1) -> float:
        for ch in text:
            self.key(t, "space" if ch == " " else ch.lower(), ch)
            t += gap
        return t

    def tick(self, t: float) -> None:
        self.at(t)
        self.gate.tick()

    def frame(self, t: float, stable: bool = True, active: Window | None = PAD,
              same_as: CapturedFrame | None = None) -> CapturedFrame:
        """A grab at ``t``; each shows a new screen unless it is ``same_as`` an earlier one."""
        self._grabs = getattr(self, "_grabs", 0) + 1
        pixels = same_as.pixels if same_as is not None else (bytes([self._grabs % 256]) * 64,)
        frame = CapturedFrame(self.at(t), 4, 4, pixels, stable, list(self.desktop.stack), active)
        self.ring.add(frame)
        self.gate.handle(("frame", frame.t, frame))
        return frame

    def typed(self) -> list[str]:
        return [e["text"] for e in self.log.of("typed")]


# ----------------------------------------------------------------- the policy
def test_a_click_on_a_denied_app_is_dropped_with_its_release(home):
    rig = Rig(home, Policy(allow_apps=("mousepad",)))
    rig.click(1.0, 900, 100)  # the terminal, outside the policy
    rig.click(2.0, 100, 100)  # mousepad
    presses, releases = rig.log.of("press"), rig.log.of("release")
    assert [(e["x"], e["app"]) for e in presses] == [(100, "mousepad")]
    assert [e["x"] for e in releases] == [100], "the denied press's release is dropped, the allowed one kept"


def test_pointer_moves_over_a_denied_app_and_keys_into_it_are_dropped(home):
    desktop = Desktop(PAD, TERM)  # the terminal has focus
    rig = Rig(home, Policy(allow_apps=("mousepad",)), desktop)
    rig.gate.handle(("move", rig.at(1.0), 900, 100))
    rig.gate.handle(("move", rig.at(1.2), 100, 100))
    rig.type(2.0, "echo secret")
    rig.tick(5.0)
    assert [(e["x"], e["y"]) for e in rig.log.of("move")] == [(100, 100)]
    assert not rig.log.of("key_down") and not rig.log.of("typed")
    assert {"kind": "focus", "t": 2.0, "denied": True} in rig.log.events, "the denied focus says only that"


def test_a_browser_page_the_policy_denies_drops_the_browsers_input(home):
    rig = Rig(home, Policy(deny_urls=("*://bank.example/*",)), Desktop(PAD, BROWSER))
    rig.gate.handle(("dom", rig.at(0.5), {"type": "navigate", "url": "https://bank.example/login"}))
    rig.click(1.0, 100, 700)
    rig.gate.handle(("dom", rig.at(2.0), {"type": "navigate", "url": "https://docs.example/"}))
    rig.click(3.0, 100, 700)
    assert [e["t"] for e in rig.log.of("press")] == [3.0]
    assert [e["url"] for e in rig.log.of("dom_navigate")] == ["https://docs.example/"]


# ----------------------------------------------------------------- pause and hotkeys
def test_pause_drops_input_until_resume(home):
    rig = Rig(home)
    set_paused(home, True)
    rig.tick(0.5)
    rig.click(1.0, 100, 100)
    rig.type(1.5, "PAUSEDSECRET")
    rig.gate.handle(("move", rig.at(3.0), 300, 300))
    set_paused(home, False)
    rig.tick(4.0)
    rig.type(5.0, "after")
    rig.tick(7.0)
    assert "PAUSEDSECRET".lower() not in repr(rig.log.events).lower()
    assert not rig.log.of("press") and not rig.log.of("move")
    assert rig.typed() == ["after"]
    assert [e["kind"] for e in rig.log.events if e["kind"] in ("pause", "resume")] == ["pause", "resume"]


def test_pause_hotkey_toggles_and_is_not_recorded(home):
    rig = Rig(home)
    for t in (1.0, 3.0):  # pause, then resume
        rig.key(t, "ctrl", up=False)
        rig.key(t + 0.05, "alt", up=False)
        rig.key(t + 0.1, "p")
        rig.key(t + 0.2, "alt")
        rig.key(t + 0.25, "ctrl")
        if t == 1.0:
            assert (home / "paused").exists(), "the hotkey pauses through the same flag as `workprint pause`"
            rig.type(1.5, "HOTKEYPAUSED")
    rig.tick(6.0)
    assert not (home / "paused").exists()
    assert [e["kind"] for e in rig.log.events if e["kind"] in ("pause", "resume")] == ["pause", "resume"]
    assert not [e for e in rig.log.of("key_down") if e["key"] == "p"], "the hotkey's key is not recorded"
    assert "hotkeypaused" not in repr(rig.log.events).lower()


def test_task_hotkey_asks_for_a_task_then_ends_it_and_is_not_recorded(home):
    rig = Rig(home)
    rig.key(1.0, "ctrl", up=False)
    rig.key(1.05, "alt", up=False)
    rig.key(1.1, "t")
    assert rig.asked == [home], "no task was open: the person is asked for one"
    send_control(home, {"command": "task_start", "instruction": "Mail jane@example.com"})
    rig.tick(1.5)
    rig.key(2.0, "t")  # still holding ctrl+alt: ends the task
    rig.key(2.1, "alt")
    rig.key(2.2, "ctrl")
    rig.tick(2.5)
    assert [(e["kind"], e.get("instruction")) for e in rig.log.events if e["kind"].startswith("task")] == [
        ("task_start", "Mail [EMAIL]"), ("task_end", None)]
    assert not [e for e in rig.log.of("key_down") if e["key"] == "t"]
    assert rig.asked == [home]


# ----------------------------------------------------------------- typing runs
def test_keys_closer_than_the_merge_gap_are_one_run_a_longer_gap_starts_another(home):
    rig = Rig(home)
    end = rig.type(1.0, "hello", gap=0.9)  # 0.9 s apart: still one run
    rig.tick(end + 0.5)
    rig.type(end + SETTINGS.type_merge_gap_s + 0.2, "world")
    rig.tick(end + 10)
    assert rig.typed() == ["hello", "world"]
    first = rig.log.of("typed")[0]
    assert (first["t"], first["t_end"]) == (1.0, 4.6)


def test_a_run_longer_than_the_maximum_is_written_in_parts(home):
    rig = Rig(home)
    text = "a" * 70
    rig.type(1.0, text, gap=0.5)  # 35 s of steady typing
    rig.tick(60)
    typed = rig.typed()
    assert len(typed) == 2 and "".join(typed) == text
    assert rig.log.of("typed")[0]["t_end"] - rig.log.of("typed")[0]["t"] > SETTINGS.type_max_run_s


def test_backspace_edits_the_run_and_alone_is_a_key(home):
    rig = Rig(home)
    t = rig.type(1.0, "cat")
    rig.key(t, "backspace")
    rig.type(t + 0.1, "r")
    rig.tick(t + 5)
    rig.key(t + 6, "backspace")
    rig.tick(t + 10)
    assert rig.typed() == ["car"]
    singles = [e for e in rig.log.of("key_down") if "char" not in e and e["key"] == "backspace"]
    assert len(singles) == 2 and singles[-1]["t"] == round(t + 6, 4), "the lone backspace is a key of its own"


def test_the_run_in_progress_is_held_until_it_ends(home):
    rig = Rig(home)
    rig.type(1.0, "mail jane.doe@example.com")
    rig.tick(4.0)  # a flush: the run is sealed, not written
    assert rig.log.held and not rig.log.of("typed")
    rig.tick(5.0)
    assert rig.typed() == ["mail [EMAIL]"]
    assert "jane" not in repr(rig.log.events)
    assert not rig.log.held, "its sealed copy goes once it is written"


def test_a_click_ends_the_run_and_keeps_the_frames_around_it(home):
    rig = Rig(home)
    before = rig.frame(0.5)
    rig.type(1.0, "hi")
    rig.click(2.0, 100, 100)
    after = rig.frame(2.3)
    assert rig.typed() == ["hi"]
    assert rig.log.kinds().index("typed") < rig.log.kinds().index("press")
    assert [(f, r) for f, r, _ in rig.kept] == [(before, "before"), (after, "after")]


def test_the_frame_after_an_action_is_the_first_that_shows_its_effect(home):
    """On a busy machine the app repaints late: the first stable grab after a menu choice can still
    show the screen the choice began on. The frame after is the first that shows a change."""
    rig = Rig(home)
    before = rig.frame(0.5)
    rig.click(1.0, 100, 100)
    rig.frame(1.2, same_as=before)  # settled, but the app has not repainted yet
    rig.tick(1.3)
    repainted = rig.frame(1.6)
    assert [(f, r) for f, r, _ in rig.kept] == [(before, "before"), (repainted, "after")]


def test_an_action_that_changes_nothing_keeps_the_unchanged_screen_after_a_wait(home):
    rig = Rig(home)
    before = rig.frame(0.5)
    rig.click(1.0, 100, 100)
    same = rig.frame(1.2, same_as=before)
    rig.tick(1.5)
    assert [r for _, r, _ in rig.kept] == ["before"], "it waits for the effect to show"
    rig.tick(2.5)  # AFTER_CHANGE_WAIT_S later: nothing changed, and that is the screen after
    assert [(f, r) for f, r, _ in rig.kept] == [(before, "before"), (same, "after")]


def test_the_next_action_settles_the_frame_after_the_one_before(home):
    rig = Rig(home)
    before = rig.frame(0.5)
    rig.click(1.0, 100, 100)
    same = rig.frame(1.2, same_as=before)
    rig.click(1.4, 200, 200)  # no change showed; the next click begins on that screen
    assert [(f, r) for f, r, _ in rig.kept] == [(before, "before"), (same, "after")]


# ----------------------------------------------------------------- frames
def test_a_screen_shown_while_a_denied_app_has_focus_is_never_kept(home):
    rig = Rig(home, Policy(allow_apps=("mousepad",)))
    denied = rig.frame(0.5, active=TERM)
    rig.click(1.0, 100, 100)  # the frame before this click is the terminal's screen
    allowed = rig.frame(1.3)
    assert denied not in [f for f, _, _ in rig.kept]
    assert [(f, r) for f, r, _ in rig.kept] == [(allowed, "after")]
    masks = rig.kept[0][2]
    assert TERM.box in masks, "the denied window is blacked out of the kept frame"


def test_a_still_screen_gets_a_periodic_frame_and_a_changing_one_waits_to_settle(home):
    rig = Rig(home)
    rig.tick(0.5)  # the focused window is seen: its next stable frame is kept
    first = rig.frame(1.0)
    rig.frame(1.5, stable=False)
    rig.tick(SETTINGS.periodic_s + 2)
    assert [(f, r) for f, r, _ in rig.kept] == [(first, "window")], "an unstable grab is never the periodic frame"
    still = rig.frame(SETTINGS.periodic_s + 3)
    rig.tick(SETTINGS.periodic_s + 4)
    assert [(f, r) for f, r, _ in rig.kept][1:] == [(still, "periodic")]
    rig.tick(SETTINGS.periodic_s + 10)
    assert len(rig.kept) == 2, "kept once, not at every tick"


def test_a_window_change_keeps_the_next_stable_frame(home):
    desktop = Desktop(TERM, PAD)
    rig = Rig(home, desktop=desktop)
    rig.tick(1.0)  # focus: mousepad
    rig.frame(1.5)
    desktop.stack = [PAD, TERM]
    rig.tick(2.0)  # focus: the terminal
    rig.frame(2.1, stable=False)
    settled = rig.frame(2.4, active=TERM)
    assert [(f, r) for f, r, _ in rig.kept] == [(rig.kept[0][0], "window"), (settled, "window")]
    assert [e.get("app") for e in rig.log.of("focus")] == ["mousepad", "xterm"]


# ----------------------------------------------------------------- page events
def test_page_events_are_redacted_and_a_denied_pages_events_dropped(home):
    rig = Rig(home, Policy(deny_urls=("*://bank.example/*",)), Desktop(PAD, BROWSER))
    at = rig.at(1.0)
    field = {"role": "textbox", "name": "jane.doe@example.com", "bbox": [1, 2, 3, 4], "secret": "x"}
    rig.gate.handle(("dom", at, {"type": "navigate", "url": "https://mail.example/?to=jane.doe@example.com"}))
    rig.gate.handle(("dom", at, {"type": "input", "url": "https://mail.example/", "text": "write to jane.doe@example.com",
                                 "ts": 5000, "ts_start": 3000, "target": field}))
    rig.gate.handle(("dom", at, {"type": "click", "url": "https://bank.example/login", "x": 5, "y": 6}))
    rig.gate.handle(("dom", at, {"type": "navigate", "denied": True}))
    rig.gate.handle(("dom", at, {"type": "submit", "url": "https://mail.example/"}))
    assert "jane" not in repr(rig.log.events)
    assert rig.log.kinds() == ["dom_navigate", "dom_input", "dom_submit"]
    typed = rig.log.of("dom_input")[0]
    assert typed["text"] == "write to [EMAIL]" and typed["redacted"] == ["email"]
    assert (typed["t"], typed["t_end"]) == (-1.0, 1.0), "the field visit started when its first key was typed"
    assert typed["target"] == {"role": "textbox", "bbox": [1, 2, 3, 4], "name": "[EMAIL]"}


# ----------------------------------------------------------------- secure fields
def test_a_password_field_drops_keystrokes_and_writes_one_secure_input(home):
    field = SecureField()
    rig = Rig(home, a11y=field)
    rig.type(1.0, "user")
    field.secure_focus, field.secure_box = True, Rect.from_xywh(10, 20, 200, 30)
    rig.type(1.5, "Hunter2Secret")
    frame = rig.frame(3.5)
    rig.click(4.0, 100, 100)
    field.secure_focus, field.secure_box = False, None
    rig.type(5.0, "ok")
    rig.tick(9.0)
    assert rig.typed() == ["user", "ok"]
    assert "hunter" not in repr(rig.log.events).lower()
    assert [e["t"] for e in rig.log.of("secure_input")] == [1.5]
    masks = [m for f, _, m in rig.kept if f is frame][0]
    assert Rect.from_xywh(10, 20, 200, 30) in masks, "the focused password field is blacked out in kept frames"


def test_a_page_secure_field_arriving_late_drops_the_overlapping_held_run(home):
    rig = Rig(home, desktop=Desktop(PAD, BROWSER))
    start = rig.at(1.0)
    rig.type(1.05, "Hunter2GateSecret", gap=0.03)
    rig.tick(1.7)  # a flush seals the run in progress
    assert rig.log.held
    rig.gate.handle(("dom", start, {"type": "secure", "state": "focus", "url": "http://127.0.0.1/login",
                                    "target": {"bbox": [5, 605, 300, 30]}}))
    rig.gate.handle(("dom", rig.at(2.0), {"type": "secure", "state": "blur", "url": "http://127.0.0.1/login"}))
    rig.key(3.5, "enter")
    rig.tick(6.0)
    assert "hunter" not in repr(rig.log.events).lower() and not rig.log.of("typed")
    assert [e["t"] for e in rig.log.of("secure_input")] == [1.0]
    assert not rig.log.held and rig.log.released, "the sealed copy is removed, never written"
    assert [e["key"] for e in rig.log.of("key_down")] == ["enter"]


def test_a_page_secure_field_well_after_the_run_keeps_it(home):
    rig = Rig(home, desktop=Desktop(PAD, BROWSER))
    end = rig.type(1.0, "hello there", gap=0.03)
    rig.gate.handle(("dom", rig.at(end + 0.8), {"type": "secure", "state": "focus"}))
    rig.tick(end + 5)
    assert rig.typed() == ["hello there"]
    assert not rig.log.of("secure_input")


# ----------------------------------------------------------------- the agent as a second source
class ChannelHost:
    """What the agent channel reaches in the recorder (its gate, the log, the indicator), no display."""

    def __init__(self, rig: Rig) -> None:
        from workprint.capture.indicator import Indicator

        self.writer, self.indicator, self.gate, self.home = rig.log, Indicator(enabled=False), rig.gate, rig.home


def test_the_agents_input_is_tagged_with_its_step_and_the_persons_takes_over(home):
    from workprint.agent.channel import AgentChannel, Expected

    rig = Rig(home)
    channel = AgentChannel(ChannelHost(rig))  # type: ignore[arg-type]
    rig.gate.agent = channel
    rig.gate.handle(("agent", rig.at(0.5), {"op": "start", "task": "write hi", "model": "m"}))
    # The agent registers what it is about to inject; the hooks then report it.
    assert channel.gesture([Expected("press", 1, rig.at(1.0), 100, 100, "left"),
                            Expected("release", 1, rig.at(1.0), 100, 100, "left")], lambda: None)
    for item in (("press", rig.at(1.0), 100, 100, "left"), ("release", rig.at(1.05), 100, 100, "left")):
        rig.gate.handle(rig.gate.classify(item))
    # The person clicks elsewhere: not the agent's, and it takes control.
    for item in (("press", rig.at(2.0), 300, 300, "left"), ("release", rig.at(2.05), 300, 300, "left")):
        rig.gate.handle(rig.gate.classify(item))
    assert [(e["x"], e.get("agent")) for e in rig.log.of("press")] == [(100, 1), (300, None)]
    assert [(e["x"], e.get("agent")) for e in rig.log.of("release")] == [(100, 1), (300, None)]
    takeovers = rig.log.of("takeover")
    assert len(takeovers) == 1 and takeovers[0]["trigger"] == "human_input"
    assert rig.log.kinds().index("takeover") < [i for i, e in enumerate(rig.log.events)
                                                if e["kind"] == "press" and e.get("agent") is None][0]
    assert channel.taken and not channel.may_act()
    assert agent_run_going(home), "`workprint agent resume|stop` can tell a run is going on"
    rig.gate.handle(("agent", rig.at(3.0), {"op": "end", "status": "done"}))
    assert not agent_run_going(home)


def test_pausing_recording_during_an_agent_run_stops_the_agent_until_recording_resumes(home):
    """The agent never acts unrecorded: a pause takes control from it (written before the pause),
    and handing back is refused while recording is still paused."""
    from workprint.agent.channel import AgentChannel, Expected

    rig = Rig(home)
    channel = AgentChannel(ChannelHost(rig))  # type: ignore[arg-type]
    rig.gate.agent = channel
    rig.gate.handle(("agent", rig.at(0.5), {"op": "start", "task": "write hi", "model": "m"}))
    assert channel.may_act()
    rig.gate.set_paused(True, rig.at(1.0))
    assert not channel.may_act()
    assert not channel.gesture([Expected("press", 1, rig.at(1.1), 100, 100, "left")], lambda: None)
    kinds = rig.log.kinds()
    assert kinds.index("takeover") < kinds.index("pause")
    channel.handback("resume", rig.at(2.0))  # ctrl+alt+g while recording is still paused
    assert not channel.may_act() and "recording is paused" in channel.status_text
    rig.gate.set_paused(False, rig.at(3.0))
    channel.handback("resume", rig.at(3.5))
    assert channel.may_act()
    assert [e["how"] for e in rig.log.of("handback")] == ["resume"]


def test_the_agents_typing_and_the_persons_are_separate_runs(home):
    rig = Rig(home)
    # A channel that attributes keys by character: what the agent's ``classify`` decides.
    class ByChar:
        status_text = ""

        def classify(self, item):
            return (4 if item[0].startswith("key") and item[2].char in "abc" else None), False, item

        def on_message(self, t, message): ...
        def control(self, command, t): ...
        def hotkey(self, name, mods, t): return False
        def record_takeover(self, t): ...

    rig.gate.agent = ByChar()
    t = 1.0
    for ch in "abcxyz":
        for kind, dt in (("key_down", 0.0), ("key_up", 0.01)):
            rig.gate.handle(rig.gate.classify((kind, rig.at(t + dt), Key(ch, ch))))
        t += 0.1
    rig.tick(5.0)
    assert [(e["text"], e.get("agent")) for e in rig.log.of("typed")] == [("abc", 4), ("xyz", None)]
    assert {e.get("agent") for e in rig.log.of("key_down") if e.get("char") in tuple("abc")} == {4}

"""The policy gate: every captured item in, the events that may be written out (DESIGN.md, data flow).

Input reaches the gate from two sources — the person, through the backend's input hooks, and
an agent, through the agent channel — plus the frame sampler, the browser extension and the
agent's own messages. One thread calls ``handle`` (and ``tick`` on a clock), so the rules can
be read top to bottom: the policy (apps, windows, page addresses), pause, hotkeys, secure
fields, typing runs held back for redaction, and which frames to keep. Who made an input
event (``agent``: the agent step, or nobody for the person) is decided here too: ``classify``
asks the agent channel as the event arrives, and ``handle`` writes it with that tag.

The gate is plain code: no display, thread or store of its own. What it needs comes in as
small collaborators (the ``Recorder`` wires the real ones; tests give their own): a window
lookup, the policy and settings, a clock, the frame ring and the encoder's ``submit``, the
``append`` that writes an event and the store that seals typing runs in progress.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Collection, Protocol

from workprint.capture import Window
from workprint.capture.base import InputItem
from workprint.capture.frames import FrameRing
from workprint.capture.keys import MODIFIERS, Key
from workprint.privacy.policy import Policy
from workprint.privacy.redact import redact
from workprint.recorder.control import PAUSE_HOTKEY, TASK_HOTKEY, Control, pressed
from workprint.recorder.dom import DomEvents
from workprint.recorder.frames import FrameKeeper, Submit
from workprint.recorder.runs import HeldRuns, TypingRuns
from workprint.settings import Settings
from workprint.vocabulary import Rect

Event = dict[str, Any]
Append = Callable[[Event], int]

WINDOW_CACHE_S = 0.5
FLUSH_EVERY_S = 0.5
# Input events written with the agent step that made them, when the agent made them.
AGENT_TAGGED = {"move", "press", "release", "wheel", "key_down", "key_up", "typed", "secure_input"}
AGENT_INPUT = {"move", "press", "release", "wheel", "key_down", "key_up"}  # classified during agent runs


class WindowLookup(Protocol):
    """The backend's window inspector (``capture.base.WindowInspector``), as far as the gate uses it."""

    def active_window(self) -> Window | None: ...
    def windows(self) -> list[Window]: ...


class Accessibility(Protocol):
    """What the gate asks of the backend's accessibility source (``capture.base.Accessibility``)."""

    secure_focus: bool
    secure_box: Rect | None

    def pointer(self, event_id: int, t: float, x: int, y: int) -> None: ...
    def key(self, event_id: int, t: float) -> None: ...


class AgentSource(Protocol):
    """The agent channel (``agent.channel.AgentChannel``): the gate's second input source."""

    status_text: str

    def classify(self, item: InputItem) -> tuple[int | None, bool, InputItem]: ...
    def on_message(self, t: float, message: dict[str, Any]) -> None: ...
    def control(self, command: dict[str, Any], t: float) -> None: ...
    def hotkey(self, name: str | None, mods: set[str], t: float) -> bool: ...
    def record_takeover(self, t: float) -> None: ...
    def recording_paused(self, t: float) -> None: ...


def _notify_nobody(summary: str, body: str = "") -> None:
    return None


class Gate:
    """Decides what is written. ``append`` writes one event and returns its id; ``held`` seals the
    typing run in progress (and flushes the log); ``ring`` and ``submit`` are the raw grabs and
    the encoder's queue; ``browser_apps`` are the app ids whose input follows the page's URL policy.

    ``t0`` is the session's start on ``clock``; ``notify`` tells the person (pause, tasks);
    ``on_state`` is called when pause changes (the recorder redraws its status line).
    """

    def __init__(self, *, append: Append, held: HeldRuns, windows: WindowLookup, policy: Policy,
                 settings: Settings, ring: FrameRing, submit: Submit, control: Control,
                 browser_apps: Collection[str] = (), t0: float | None = None,
                 clock: Callable[[], float] = time.monotonic, a11y: Accessibility | None = None,
                 notify: Callable[..., None] = _notify_nobody, on_state: Callable[[], None] = lambda: None):
        self._write = append
        self._held = held
        self._windows = windows
        self.policy = policy
        self.settings = settings
        self.control = control
        self._browser_apps = set(browser_apps)
        self._clock = clock
        self.t0 = clock() if t0 is None else t0
        self.a11y = a11y
        self._notify = notify
        self._on_state = on_state
        # The agent channel (``workprint.agent.channel``), while an agent run is attached: it tells
        # the agent's injected input from the person's and says who has control.
        self.agent: AgentSource | None = None
        self._source: int | None = None  # the agent step of the input item being handled

        self.paused = control.flag_paused()
        self.task_open = False
        self.active_s = 0.0  # seconds of input activity (gaps counted up to 5 s)
        self._last_input_t: float | None = None
        self._window_cache: list[Window] = []
        self._windows_at = -1.0
        self._focus: Window | None = None
        self._focus_key: tuple[int, str] | None = None
        self._mods: set[str] = set()
        self._last_move: tuple[float, int, int] | None = None
        self._dropped_buttons: set[str] = set()
        self._in_secure_field = False
        self._last_wheel_t = -1e9
        self._last_flush = clock()

        self.frames = FrameKeeper(ring, submit, self.allowed, self._secure_boxes, lambda: self.paused, self.now)
        self.runs = TypingRuns(held, self._emit, self.now, self.frames.keep_before, self.frames.request_after,
                               settings.type_merge_gap_s, settings.type_max_run_s)
        self.dom = DomEvents(policy, self.append, self.now, lambda: self.paused, self._secure_focus_in_page)

    # ----------------------------------------------------------------- writing
    def now(self, t: float | None = None) -> float:
        """Session time (seconds since the start, 0.1 ms) of monotonic time ``t`` (default: now)."""
        return round((self._clock() if t is None else t) - self.t0, 4)

    def _emit(self, event: Event, agent: int | None) -> int:
        if agent is not None and event["kind"] in AGENT_TAGGED:
            event["agent"] = agent  # the agent made this input (see agent.channel)
        return self._write(event)

    def append(self, event: Event) -> int:
        """Write an event; input events are tagged with the agent step being handled, if any."""
        return self._emit(event, self._source)

    def end_run(self) -> None:
        """Write the typing runs not written yet, if any (before anything that is not typing)."""
        self.runs.close()

    # ----------------------------------------------------------------- the policy
    def allowed(self, window: Window | None) -> bool:
        if window is None:
            return self.policy.allow_apps is None
        if self.dom.url_allowed is False and set(window.app_ids) & self._browser_apps:
            return False  # the browser shows a page the policy does not allow
        return self.policy.app_allowed(window.app_ids, window.title)

    def _window_at(self, x: int, y: int, fresh: bool = False) -> Window | None:
        now = self._clock()
        if fresh or now - self._windows_at > WINDOW_CACHE_S:
            self._window_cache = self._windows.windows()
            self._windows_at = now
        for window in reversed(self._window_cache):
            if window.contains(x, y) and window.app_ids:
                return window
        return None

    def _secure_boxes(self) -> list[Rect]:
        """Password fields to black out in kept frames: from the accessibility tree and the page."""
        boxes = []
        if self.a11y is not None and self.a11y.secure_box is not None:
            boxes.append(self.a11y.secure_box)
        if self.dom.secure_box is not None:
            boxes.append(self.dom.secure_box)
        return boxes

    # ----------------------------------------------------------------- input
    def classify(self, item: InputItem) -> InputItem:
        """Input hook thread: who made this raw input event. During an agent run the channel tells
        the agent's input from the person's here, as the event arrives, so a takeover pauses the
        agent at once instead of after whatever the gate still has queued; ``handle`` writes it
        with the decision: ``("input", t, item, agent_step, takeover)``."""
        agent = self.agent
        if agent is None or item[0] not in AGENT_INPUT:
            return item
        step, takeover, item = agent.classify(item)
        return ("input", item[1], item, step, takeover)

    def handle(self, item: InputItem) -> None:
        """One item from the queue: input, a frame, a page event or an agent message."""
        kind, t = item[0], item[1]
        self._source = None
        if kind == "agent":
            if self.agent is not None:
                self.agent.on_message(t, item[2])
            return
        if kind == "input":  # classified by the agent channel (see classify)
            _, _, item, self._source, takeover = item
            kind = item[0]
            if takeover and self.agent is not None:
                self.agent.record_takeover(t)
        if kind == "frame":
            self.frames.on_frame(item[2])
            return
        if kind == "dom":
            self.dom.handle(t, item[2])
            return
        if kind in ("key_down", "key_up"):
            self._on_key(kind, t, item[2])
            return
        if self.paused:
            return
        self._on_pointer(kind, t, item)

    def _on_pointer(self, kind: str, t: float, item: InputItem) -> None:
        x, y = int(item[2]), int(item[3])
        if kind == "move":
            last = self._last_move
            s = self.settings
            if last and (t - last[0] < s.move_min_interval_s or
                         max(abs(x - last[1]), abs(y - last[2])) < s.move_min_px):
                return
            self._last_move = (t, x, y)
            window = self._window_at(x, y)
            if self.allowed(window):
                self.append({"kind": "move", "t": self.now(t), "x": x, "y": y})
            return
        self._mark_input(t)
        if kind == "press":
            button = item[4]
            window = self._window_at(x, y, fresh=True)
            if not self.allowed(window):
                self._dropped_buttons.add(button)  # and its release with it
                return
            self.runs.end()
            self.frames.keep_before(t)
            event_id = self.append({"kind": "press", "t": self.now(t), "x": x, "y": y, "button": button,
                                    "app": window.app if window else None})
            if self.a11y is not None:
                self.a11y.pointer(event_id, t, x, y)
        elif kind == "release":
            button = item[4]
            if button in self._dropped_buttons:
                self._dropped_buttons.discard(button)
                return
            self.append({"kind": "release", "t": self.now(t), "x": x, "y": y, "button": button})
            self.frames.request_after(t)
        elif kind == "wheel":
            window = self._window_at(x, y)
            if not self.allowed(window):
                return
            self.runs.end()
            if t - self._last_wheel_t > self.settings.scroll_merge_gap_s:
                self.frames.keep_before(t)
            self._last_wheel_t = t
            self.append({"kind": "wheel", "t": self.now(t), "x": x, "y": y, "dx": int(item[4]), "dy": int(item[5]),
                         "app": window.app if window else None})
            self.frames.request_after(t)

    def _mark_input(self, t: float) -> None:
        if self._last_input_t is not None:
            self.active_s += min(t - self._last_input_t, 5.0)
        self._last_input_t = t

    def _on_key(self, kind: str, t: float, key: Key) -> None:
        name, char = key.name, key.char
        if name in MODIFIERS:
            (self._mods.add if kind == "key_down" else self._mods.discard)(name)
        if kind == "key_down" and pressed(PAUSE_HOTKEY, name, self._mods):
            self.control.set_paused(not self.paused)
            self.set_paused(not self.paused, t)
            return
        if kind == "key_down" and pressed(TASK_HOTKEY, name, self._mods):
            self.control.task_hotkey(self.task_open)
            return
        if kind == "key_down" and self.agent is not None and self.agent.hotkey(name, self._mods, t):
            return
        if self.paused or name is None:
            return
        # Focus is looked up on key down; its key up belongs to the same window.
        window = self.poll_focus(t) if kind == "key_down" else self._focus
        if not self.allowed(window):
            self.runs.end()
            return
        if (self.a11y is not None and self.a11y.secure_focus) or self.dom.secure:
            # A password field has focus: no keystroke is kept, only that one was used.
            self.runs.end()
            if not self._in_secure_field:
                self._in_secure_field = True
                self.append({"kind": "secure_input", "t": self.now(t), "app": window.app if window else None})
            return
        self._in_secure_field = False
        app = window.app if window else None
        wid = window.wid if window else None
        if kind == "key_up":
            if name in MODIFIERS or char is None:
                if name not in MODIFIERS and name != "backspace":
                    self.runs.end()
                if not self.runs.add({"kind": "key_up", "t": self.now(t), "key": name}):
                    self.append({"kind": "key_up", "t": self.now(t), "key": name, "app": app})
            return
        self._mark_input(t)
        commands = self._mods & {"ctrl", "alt", "win"}
        event: Event = {"kind": "key_down", "t": self.now(t), "key": name, "app": app}
        if name in MODIFIERS:
            if not self.runs.add(event):  # shift inside a run is part of typing
                self.append(event)
            return
        is_text = char is not None and not commands
        if is_text or (name == "backspace" and self.runs.current is not None and not commands):
            self.runs.type(t, {**event, "char": char} if char else event, app, wid, self._source)
            return
        in_browser = window is not None and bool(set(window.app_ids) & self._browser_apps)
        self.runs.end(leaving_page_field=in_browser and name in ("enter", "tab"))
        self.frames.keep_before(t)
        event_id = self.append(event)
        self.frames.request_after(t)
        if name in ("enter", "space", "return") and self.a11y is not None:
            self.a11y.key(event_id, t)  # a keyboard choice in a menu or list

    def _secure_focus_in_page(self, t: float) -> None:
        """A page's secure field took focus at ``t``: the held run typed into it is dropped."""
        run = self.runs.drop_secure(t)
        if run is not None:
            self._in_secure_field = True
            self.append({"kind": "secure_input", "t": self.now(min(t, run.t_start)), "app": run.app})

    # ----------------------------------------------------------------- focus
    def poll_focus(self, t: float) -> Window | None:
        """The focused window; a change is written as a ``focus`` event (title redacted)."""
        window = self._windows.active_window()
        key = (window.wid, window.title) if window else None
        if key != self._focus_key:
            same_window = window is not None and self._focus is not None and window.wid == self._focus.wid
            if not same_window:
                self.runs.end()
                self.frames.request_window(t)
            self._focus, self._focus_key = window, key
            if window is None:
                self.append({"kind": "focus", "t": self.now(t), "app": None})
            elif not self.allowed(window):
                self.append({"kind": "focus", "t": self.now(t), "denied": True})
            else:
                title = redact(window.title)
                event = {"kind": "focus", "t": self.now(t), "app": window.app, "app_ids": list(window.app_ids),
                         "wid": window.wid, "window": title.text, "rect": list(window.rect)}
                if title.changed:
                    event["redacted"] = title.kinds
                self.append(event)
        return window

    # ----------------------------------------------------------------- control
    def set_paused(self, paused: bool, t: float) -> None:
        if paused:
            if self.agent is not None:
                self.agent.recording_paused(t)  # an agent never acts unrecorded: it stops first
            self.runs.end()
        self.paused = paused
        self.append({"kind": "pause" if paused else "resume", "t": self.now(t)})
        self._held.flush()
        self._notify("workprint paused" if paused else "workprint resumed recording")
        self._on_state()

    def _apply(self, command: dict[str, Any], t: float) -> None:
        """A command from `workprint task ...` (and the task hotkey), or one for the agent channel."""
        if command.get("command") == "task_start":
            self.runs.end()
            instruction = redact(str(command.get("instruction", "")))
            event = {"kind": "task_start", "t": self.now(t), "instruction": instruction.text}
            if instruction.changed:
                event["redacted"] = instruction.kinds
            self.append(event)
            self.task_open = True
            self._notify("workprint: task started", instruction.text)
        elif command.get("command") == "task_end":
            self.runs.end()
            self.append({"kind": "task_end", "t": self.now(t), "status": command.get("status", "done")})
            self.task_open = False
        elif self.agent is not None:
            self.agent.control(command, t)

    def tick(self) -> None:
        """Housekeeping on a clock: the pause flag, commands, focus, the typing run's end, a periodic
        frame, sealing the run in progress and flushing the log."""
        now = self._clock()
        self._source = None
        paused = self.control.flag_paused()
        if paused != self.paused:
            self.set_paused(paused, now)
        for command in self.control.commands():
            self._apply(command, now)
        if not self.paused:
            self.poll_focus(now)
        self.runs.idle(now)
        if not self.paused:
            self.frames.expire(now)
            self.frames.periodic(now - self.t0, self.settings.periodic_s)
        if now - self._last_flush > FLUSH_EVERY_S:
            self.runs.hold()
            self._held.flush()
            self._last_flush = now

    def finish(self) -> None:
        """At stop, once the queue is drained: write the run in progress and flush."""
        self._source = None
        self.runs.close()
        self.frames.expire(float("inf"))  # an action's frame after it, if it is still awaited
        self._held.flush()

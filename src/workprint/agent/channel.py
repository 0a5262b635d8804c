"""The agent channel: the recorder's second input source, and who has control.

The agent's input and the person's reach the recorder the same way (both through the X
server, and xdotool, which plays the person in tests, uses XTEST like the agent), so the
X event itself cannot say who made it. Instead the agent *registers* every event it is
about to inject (``expect``) before injecting it, and the gate matches each raw event it
sees against those expectations (``classify``): a match is the agent's (tagged with its
step), anything else is the person's. The person's first press, wheel click or key during a
run is a takeover: the agent is paused before its next gesture, and a reply in flight is
not executed.

Threads: ``gesture``, ``may_act``, ``wait_handback`` and ``send`` are called by the agent
thread; ``classify``, ``on_message``, ``control`` and ``hotkey`` by the recorder's gate
thread, which alone writes events. Everything shared sits behind one lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from workprint.capture.base import Window
from workprint.capture.keys import Key
from workprint.home import mark_agent_run
from workprint.privacy.redact import redact
from workprint.vocabulary import Rect

if TYPE_CHECKING:
    from workprint.recorder import Recorder
    from workprint.recorder.gate import Gate

RESUME_HOTKEY = ("ctrl", "alt", "g")
# Raw events the person makes that take control from the agent (a pointer nudge does not).
TAKEOVER_KINDS = {"press", "wheel", "key_down"}
INPUT_KINDS = {"move", "press", "release", "wheel", "key_down", "key_up"}
PAUSED_TEXT = "paused: you have control"


@dataclass
class Expected:
    """One raw event the agent is about to inject."""

    kind: str
    step: int
    at: float  # monotonic time it was registered
    x: int | None = None
    y: int | None = None
    button: str | None = None
    key: Key | None = None  # what the hooks will report: matched by name, or by the platform's code
    # A character typed through a spare key code bound for the moment: the hooks may not know the
    # new binding (pynput keeps the map it read at start) and report an unnamed key code.
    remapped_char: str | None = None

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> "Expected":
        """One read back from ``dataclasses.asdict`` sent over the agent link (its key a dict)."""
        key = fields.get("key")
        return cls(**{**fields, "key": Key(**key) if isinstance(key, dict) else None})

    def matches(self, item: tuple) -> bool:
        kind = item[0]
        if kind != self.kind:
            return False
        if kind in ("move", "press", "release", "wheel"):
            x, y = int(item[2]), int(item[3])
            if self.x is not None and self.y is not None and (abs(x - self.x) > 1 or abs(y - self.y) > 1):
                return False
            return self.button is None or kind not in ("press", "release") or item[4] == self.button
        key: Key = item[2]
        if self.key is not None and (key.name == self.key.name or
                                     (self.key.code is not None and key.code == self.key.code)):
            return True
        return self.remapped_char is not None and not key.named


def text_of(value: str) -> tuple[str, list[str]]:
    result = redact(value)
    return result.text, result.kinds if result.changed else []


def redacted_action(action: dict[str, Any]) -> dict[str, Any]:
    """An agent action as stored: text fields redacted like everything else that is written."""
    out = dict(action)
    kinds: set[str] = set()
    for key in ("text", "message", "label", "value", "url"):
        if isinstance(out.get(key), str):
            out[key], found = text_of(out[key])
            kinds.update(found)
    if kinds:
        out["redacted"] = sorted(kinds | set(out.get("redacted") or []))
    return out


class AgentChannel:
    """Gate-side state of one agent run attached to a recorder."""

    EXPIRE_S = 2.0  # an expectation not seen this long after it was registered is dropped

    def __init__(self, recorder: "Recorder") -> None:
        self._rec = recorder
        # Held by the agent while it checks that it may act and injects one gesture, and by the
        # input hook while it classifies an event: a takeover and a gesture never interleave, so
        # no gesture starts once the person has control.
        self._lock = threading.RLock()
        self._expected: deque[Expected] = deque()
        self._may_act = threading.Event()
        self._handback = threading.Event()
        self.running = False
        self.taken = False  # the person (or a call_user / refusal) has control
        self.takeovers = 0
        self.verdict: str | None = None  # resume | stop, the last handback
        self.status_text = ""
        self.lost: str | None = None  # why the recording went away during the run (a joined run)
        self._open: tuple[float, str] | None = None  # (t, trigger) of the takeover in progress
        self.latencies: list[float] = []  # takeover: first person input (hook time) -> agent paused
        self.takeover_times: list[float] = []  # monotonic time each takeover paused the agent

    @property
    def _gate(self) -> "Gate":
        """The recorder's gate, which alone writes events (this channel is its second input source)."""
        gate = self._rec.gate
        if gate is None:
            raise RuntimeError("the recorder is not running")
        return gate

    # ------------------------------------------------------------ agent thread
    def send(self, op: str, **payload: Any) -> None:
        """A message for the gate, in order with the input events (the gate writes it)."""
        self._rec.submit(("agent", time.monotonic(), {"op": op, **payload}))

    def attach(self) -> None:
        """Become the recorder's agent: from now on the gate classifies input through this channel."""
        self._rec.agent = self

    def recording(self) -> bool:
        return self._rec.recording

    def gesture(self, expected: list[Expected], perform: Callable[[], None]) -> bool:
        """If the agent still has control: register ``expected``, then ``perform`` (inject) them,
        atomically with the person's input (classified before or after, never during). False,
        and nothing done, once the person has control."""
        with self._lock:
            if not self._may_act.is_set():
                return False
            self._expected.extend(expected)
            perform()
        return True

    def look(self, windows: Sequence[Window | None]) -> tuple[list[bool], list[Rect]]:
        """(whether the policy allows each window, boxes to mask as well: a focused password field)."""
        rec = self._rec
        a11y = getattr(rec, "a11y", None)
        boxes = [a11y.secure_box] if a11y is not None and a11y.secure_box is not None else []
        return [self._gate.allowed(w) for w in windows], boxes

    def may_act(self) -> bool:
        return self._may_act.is_set()

    def pause_for(self, trigger: str, **extra: Any) -> None:
        """The agent asks for the person (call_user) or refuses an action (refused_app)."""
        with self._lock:
            if self.taken:  # the person took control already: that is the intervention
                return
            self._handback.clear()
            self._may_act.clear()
            self.taken = True
            self.takeover_times.append(time.monotonic())
        self.send("takeover", trigger=trigger, **extra)

    def wait_handback(self, timeout: float | None = None) -> str | None:
        """Block while the person has control; ``resume`` or ``stop`` (None on timeout)."""
        if not self._handback.wait(timeout):
            return None
        return self.verdict

    def stop_requested(self) -> bool:
        return self.verdict == "stop"

    def show(self, text: str) -> None:
        """The status line: what the agent is about to do, before it does it."""
        self.status_text = text
        self._rec.indicator.line(f"workprint agent: {text}", changed=True)

    # ------------------------------------------------------------- gate thread
    def classify(self, item: tuple) -> tuple[int | None, bool, tuple]:
        """(the agent step that made this raw input event, or None if the person made it; whether
        it takes control from the agent). Called as the event arrives (input hook thread): a
        takeover pauses the agent here, at once; the gate then writes it (``record_takeover``)."""
        kind, t = item[0], item[1]
        with self._lock:
            while self._expected and self._expected[0].at < t - self.EXPIRE_S:
                self._expected.popleft()
            for i, expected in enumerate(self._expected):
                if expected.matches(item):
                    del self._expected[i]
                    if expected.remapped_char is not None:  # the character the agent typed
                        item = (item[0], item[1], Key.typing(expected.remapped_char))
                    return expected.step, False, item
            if not (self.running and not self.taken and kind in TAKEOVER_KINDS):
                return None, False, item
            self._may_act.clear()
            self._handback.clear()
            self.taken = True
            now = time.monotonic()
            self.latencies.append(now - t)
            self.takeover_times.append(now)
        return None, True, item

    def pending(self) -> int:
        """Injected events the gate has not seen yet."""
        with self._lock:
            return len(self._expected)

    def record_takeover(self, t: float) -> None:
        """Gate thread: write the takeover that ``classify`` decided."""
        self._takeover("human_input", t)

    def recording_paused(self, t: float) -> None:
        """Gate thread: the person paused recording during the run. The agent never acts
        unrecorded, so the pause takes control from it as the person's first input would; it
        goes on once recording resumes and the person hands back."""
        with self._lock:  # after a gesture being injected, before the next
            if not self.running or self.taken:
                return
            self._may_act.clear()
            self._handback.clear()
            self.taken = True
            self.takeover_times.append(time.monotonic())
        self._takeover("human_input", t)

    def _takeover(self, trigger: str, t: float, **extra: Any) -> None:
        """Gate thread: write a takeover already decided (the agent is paused by now)."""
        self.takeovers += 1
        self._gate.end_run()
        event: dict[str, Any] = {"kind": "takeover", "t": self._gate.now(t), "trigger": trigger, "n": self.takeovers}
        for key, value in extra.items():
            if isinstance(value, str):
                value, kinds = text_of(value)
                if kinds:
                    event.setdefault("redacted", []).extend(kinds)
            event[key] = value
        self._gate.append(event)
        self._rec.writer.flush()
        self._open = (event["t"], trigger)
        why = {"human_input": "", "call_user": f" — the agent asks: {event.get('message', '')}",
               "refused_app": f" — the agent wanted to act on {event.get('app') or 'an app'}, "
                              "which the policy does not allow"}[trigger]
        self.status_text = PAUSED_TEXT + why
        self._rec.indicator.line(f"workprint agent: {self.status_text}. Hand back: ctrl+alt+g or "
                                 "`workprint agent resume`; end: `workprint agent stop`", changed=True)
        self._rec.indicator.notify(f"workprint agent {PAUSED_TEXT}", why.lstrip(" —") or
                                   "Hand back with ctrl+alt+g or `workprint agent resume`")

    def handback(self, how: str, t: float) -> None:
        """``resume`` or ``stop`` from the command line or the hotkey."""
        if not self.running:
            return
        if how == "resume" and not self.taken:
            return
        if how == "resume" and self._gate.paused:
            self.status_text = PAUSED_TEXT + " — recording is paused; resume it first (ctrl+alt+p or `workprint resume`)"
            self._rec.indicator.notify("workprint: recording is paused",
                                       "The agent acts only while it is recorded: resume recording, then hand back")
            return
        if self.taken:
            self._gate.end_run()
            self._gate.append({"kind": "handback", "t": self._gate.now(t), "how": how, "n": self.takeovers})
            self._summary(t, how)
            self._rec.writer.flush()
        self.verdict = how
        with self._lock:
            self.taken = False
        if how == "resume":
            self.status_text = "the agent has control again"
            self._rec.indicator.notify("workprint agent resumed", "the agent continues from the screen as it is")
            self._may_act.set()
        else:
            self.status_text = "stopped"
            self._may_act.clear()
        self._handback.set()

    def _summary(self, t: float, how: str) -> None:
        """An ``intervention`` event (t, t_end, trigger, handback) for readers that want the span
        without deriving it (evals); the full record is ``process.interventions``."""
        if self._open is None:
            return
        start, trigger = self._open
        self._open = None
        self._gate.append({"kind": "intervention", "t": start, "t_end": self._gate.now(t), "trigger": trigger,
                           "handback": how, "n": self.takeovers})

    def hotkey(self, name: str | None, mods: set[str], t: float) -> bool:
        """ctrl+alt+g hands control back; True if the key was the hotkey (it is not recorded)."""
        if name == RESUME_HOTKEY[-1] and set(RESUME_HOTKEY[:-1]) <= mods and self.running:
            self.handback("resume", t)
            return True
        return False

    def control(self, command: dict[str, Any], t: float) -> None:
        """`workprint agent resume|stop`, through the recorder's control folder."""
        if command.get("command") == "agent_resume":
            self.handback("resume", t)
        elif command.get("command") == "agent_stop":
            self.handback("stop", t)

    def on_message(self, t: float, message: dict[str, Any]) -> None:
        op = message.get("op")
        gate = self._gate
        if op == "start":
            gate.end_run()
            task, kinds = text_of(str(message.get("task", "")))
            event = {"kind": "agent_start", "t": gate.now(t), "task": task, "model": message.get("model"),
                     "format": message.get("format"), "max_steps": message.get("max_steps")}
            gate.append(event)
            start = {"kind": "task_start", "t": gate.now(t), "instruction": task, "by": "agent"}
            if kinds:
                start["redacted"] = event["redacted"] = kinds
            gate.append(start)
            gate.task_open = True
            self.running, self.taken, self.verdict = True, False, None
            mark_agent_run(self._rec.home, True)
            self._may_act.set()
        elif op == "step":
            gate.end_run()
            gate.append({"kind": "agent_step", "t": gate.now(t), "step": message["step"],
                         "action": redacted_action(message["action"]),
                         "reply": text_of(str(message.get("reply", "")))[0]})
        elif op == "proposed":
            gate.append({"kind": "agent_proposed", "t": gate.now(t), "step": message["step"], "n": self.takeovers,
                         "action": redacted_action(message["action"]),
                         "reply": text_of(str(message.get("reply", "")))[0], "why": message.get("why")})
        elif op == "takeover":  # decided by pause_for
            extra = {k: v for k, v in message.items() if k not in ("op", "trigger")}
            self._takeover(message["trigger"], t, **extra)
        elif op == "stop":
            self.handback("stop", t)
        elif op == "log":
            gate.append({"kind": "agent_log", "t": gate.now(t), "message": text_of(str(message.get("message")))[0]})
        elif op == "end":
            gate.end_run()
            if self.taken:
                gate.append({"kind": "handback", "t": gate.now(t), "how": "end", "n": self.takeovers})
                self._summary(t, "end")
                self.taken = False
            status = message.get("status", "fail")
            end = {"kind": "agent_end", "t": gate.now(t), "status": status}
            if message.get("error"):
                end["error"] = text_of(str(message["error"]))[0]
            gate.append(end)
            gate.append({"kind": "task_end", "t": gate.now(t),
                         "status": "done" if status == "done" else "failed" if status != "stopped" else "abandoned"})
            gate.task_open = False
            self._rec.writer.flush()
            self.running = False
            mark_agent_run(self._rec.home, False)
            self._may_act.clear()
            self._handback.set()

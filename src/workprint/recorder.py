"""The recorder: capture sources -> policy gate -> session store (DESIGN.md, data flow).

Threads and what they may do:

* input hooks (pynput): timestamp and enqueue, nothing else;
* the gate (``_run_gate``, one thread): everything that decides what is written — window
  lookups, the policy, pause, typing runs held back for redaction, which frames to keep;
* the frame sampler: grabs the screen after it changes (see ``capture.frames``);
* the frame encoder: masks, encodes and stores the frames the gate kept;
* the accessibility worker: asks AT-SPI what was under a click.

One thread decides, so the rules can be read top to bottom in ``_handle``.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workprint import __version__
from workprint.agent.link import AgentLink
from workprint.capture import Backend, CapturedFrame, Window
from workprint.capture.atspi import AccessibilityWorker
from workprint.capture.browser import BrowserBridge
from workprint.errors import WorkprintError
from workprint.process.browser import BROWSER_APPS
from workprint.capture.frames import FrameRing, FrameSampler, mask_rects
from workprint.capture.indicator import Indicator
from workprint.capture.keys import MODIFIERS, describe
from workprint.home import announce_ready, contributor_id, control_dir, pause_flag, send_control
from workprint.privacy.policy import Policy
from workprint.privacy.redact import redact
from workprint.privacy.typed import recovered_run, write_typing_run
from workprint.store.encoder import FrameEncoder
from workprint.settings import Settings
from workprint.store import Catalog, SessionWriter
from workprint.store.session import recover_held_runs
from workprint.store.framecodec import Encoded

# ctrl+alt+p pauses or resumes recording from the keyboard; ctrl+alt+t asks for the task being
# started (or ends the current one). Neither hotkey is recorded.
PAUSE_HOTKEY = ("ctrl", "alt", "p")
TASK_HOTKEY = ("ctrl", "alt", "t")
WINDOW_CACHE_S = 0.5
# Input events written with the agent step that made them, when the agent made them.
_AGENT_TAGGED = {"move", "press", "release", "wheel", "key_down", "key_up", "typed", "secure_input"}
_AGENT_INPUT = {"move", "press", "release", "wheel", "key_down", "key_up"}  # classified during agent runs
FLUSH_EVERY_S = 0.5
TICK_S = 0.2
# Browser events arrive later than the desktop's keystrokes. When the page says a secure field took
# focus, a typing run still held whose last keystroke came this close before (or after) it is taken
# as typed into that field and dropped.
SECURE_OVERLAP_S = 0.5


def new_session_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class _TypingRun:
    """Keystrokes of one typing run, held in memory until the run ends so they can be redacted."""

    app: str | None
    wid: int | None
    t_start: float
    t_last: float
    no: int = 0  # the run's number in this session (names its sealed file under pending/)
    events: list[dict[str, Any]] = field(default_factory=list)
    held: int = 0  # how many of ``events`` are sealed on disk already
    agent: int | None = None  # the agent step that typed this run (None: the person)

    def add(self, t: float, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.t_last = t


class Recorder:
    def __init__(self, home: Path, backend: Backend, policy: Policy | None = None,
                 settings: Settings | None = None, indicator: Indicator | None = None,
                 accessibility: bool = True):
        self.home = home
        self.backend = backend
        self.policy = policy or Policy()
        self.settings = settings or Settings()
        self.indicator = indicator or Indicator(enabled=False)
        self._want_accessibility = accessibility
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self.session_id = new_session_id()
        self._problems: dict[str, int] = {}
        # The agent channel (``workprint.agent.channel``): set by `workprint agent run`; it tells
        # the agent's injected input from the person's and says who has control.
        self.agent: Any = None
        self._agent_tag: int | None = None  # the agent step of the input event being handled
        self.ready = threading.Event()  # set once the hooks and the gate run

    # ----------------------------------------------------------------- lifecycle
    def stop(self) -> None:
        self._stop.set()

    def run(self, duration: float | None = None) -> str:
        """Record until ``stop()`` (or ``duration`` seconds); returns the session id."""
        s = self.settings
        screen = self.backend.screen()
        self._t0 = time.monotonic()
        started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        try:  # typing runs a killed recorder left sealed: redact them into their sessions now
            recover_held_runs(self.home, recovered_run)
        except Exception as exc:  # never stop a recording for an old session
            self._problem(f"could not recover an interrupted typing run: {exc!r}")
        self.catalog = Catalog(self.home)
        self.writer = SessionWriter(self.home, self.session_id, {
            "session": self.session_id,
            "started_at": started_at,
            "contributor": contributor_id(self.home),
            "platform": self.backend.name,
            "screen": screen.to_dict(),
            "settings": s.to_dict(),
            "policy": self.policy.to_dict(),
            "workprint": __version__,
        })
        self.catalog.add(self.session_id, started_at)
        self.screen = screen

        self._inspector = self.backend.window_inspector()
        self._windows: list[Window] = []
        self._windows_at = -1.0
        self._focus: Window | None = None
        self._focus_key: tuple | None = None
        self._focus_t = 0.0
        self._mods: set[str] = set()
        self._run: _TypingRun | None = None
        self._runs = 0
        self._last_move: tuple[float, int, int] | None = None
        self._dropped_buttons: set[str] = set()
        self._in_secure_field = False
        self._task_open = False
        self._dom_secure = False
        self._dom_secure_box: tuple[int, int, int, int] | None = None
        self._browser_url_allowed: bool | None = None
        self._last_wheel_t = -1e9
        self._last_input_t: float | None = None
        self._after_t: float | None = None
        self._want_window = False
        self._last_kept_t = 0.0
        self._last_flush = time.monotonic()
        self._last_catalog = time.monotonic()
        self._paused = pause_flag(self.home).exists()
        self._active_s = 0.0

        self.ring = FrameRing(s.ring_size)
        self.encoder = FrameEncoder(self._store_frame, codec=s.frame_codec)
        self.encoder.start()
        self.sampler = FrameSampler(self.backend, s, self.ring, lambda f: self._queue.put(("frame", f.t, f)))
        self.sampler.start()
        self.a11y: AccessibilityWorker | None = None
        if self._want_accessibility:
            self.a11y = AccessibilityWorker(self._store_target)
            self.a11y.start()

        self.bridge = None
        try:
            self.bridge = BrowserBridge(self.home, lambda t, event: self._queue.put(("dom", t, event)), self.policy)
            self.bridge.start()
        except (OSError, WorkprintError) as exc:  # another recorder has this home: record the desktop anyway
            self._problem(f"browser bridge not started ({exc}); browser pages are recorded as desktop only")
        self.link: AgentLink | None = None  # `workprint agent run` joins this recording through it
        try:
            self.link = AgentLink(self)
            self.link.start()
        except (OSError, WorkprintError) as exc:
            self._problem(f"agent link not started ({exc}); `workprint agent run` cannot join this recording")
        hooks = self.backend.input_hooks(self._enqueue_input)
        hooks.start()
        gate = threading.Thread(target=self._run_gate, name="workprint-gate", daemon=True)
        gate.start()
        if self.a11y is not None:
            self.a11y.listening.wait(timeout=10)  # menu choices are named only once it listens
        self.ready.set()
        ready_file = announce_ready(self.home, self.session_id)
        self.indicator.notify("workprint is recording", "Pause: ctrl+alt+p or `workprint pause`")
        self._status(changed=True)
        try:
            deadline = None if duration is None else time.monotonic() + duration
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if self.sampler.error is not None or not gate.is_alive():
                    # The display went away (X server stopped, session ended): stop cleanly.
                    self._problem("lost the display; recording stopped early")
                    break
                self._stop.wait(0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic())))
        finally:
            if self.link is not None:  # first, so the gate still writes the end of a joined agent run
                self.link.stop()
            self._stop.set()
            ready_file.unlink(missing_ok=True)
            hooks.stop()
            if self.bridge is not None:
                self.bridge.stop()
            gate.join(timeout=10)
            self.sampler.stop()
            self.sampler.join(timeout=5)
            self.encoder.close()
            if self.a11y is not None:
                self.a11y.stop()
                self.a11y.join(timeout=5)
                if not self.a11y.available:
                    self.writer.append({"kind": "note", "t": self._now(), "accessibility": False,
                                        "why": self.a11y.why_not})
            for worker in (self.sampler, self.encoder):
                if worker.error is not None:
                    self._problem(f"{worker.name} failed: {worker.error!r}")
            self.writer.append({"kind": "stop", "t": self._now(), "dropped_snapshots": self.encoder.dropped})
            self.writer.close()
            self._inspector.close()
            ended = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            self._update_catalog(ended)
            self.indicator.done(
                f"workprint: recording stopped. Session {self.session_id}: {self.writer.event_count} events, "
                f"{self.writer.frame_count} frames. See `workprint actions {self.session_id}`."
            )
            self.indicator.notify("workprint stopped recording")
        return self.session_id

    # ----------------------------------------------------------------- helpers
    def _problem(self, message: str) -> None:
        self._problems[message] = self._problems.get(message, 0) + 1

    @property
    def problems(self) -> list[str]:
        """What went wrong while recording (each distinct problem once, with its count)."""
        return [m if n == 1 else f"{m} ({n} times)" for m, n in self._problems.items()]

    def _now(self, t: float | None = None) -> float:
        return round((time.monotonic() if t is None else t) - self._t0, 4)

    def _append(self, event: dict[str, Any]) -> int:
        if self._agent_tag is not None and event["kind"] in _AGENT_TAGGED:
            event["agent"] = self._agent_tag  # the agent made this input (see agent.channel)
        return self.writer.append(event)

    def _allowed(self, window: Window | None) -> bool:
        if window is None:
            return self.policy.allow_apps is None
        if self._browser_url_allowed is False and set(window.app_ids) & BROWSER_APPS:
            return False  # the browser shows a page the policy does not allow
        return self.policy.app_allowed(window.app_ids, window.title)

    def _window_at(self, x: int, y: int, fresh: bool = False) -> Window | None:
        now = time.monotonic()
        if fresh or now - self._windows_at > WINDOW_CACHE_S:
            self._windows = self._inspector.windows()
            self._windows_at = now
        for window in reversed(self._windows):
            if window.contains(x, y) and window.app_ids:
                return window
        return None

    def _update_catalog(self, ended: str | None = None) -> None:
        self.catalog.update(self.session_id, events=self.writer.event_count, frames=self.writer.frame_count,
                            bytes=self.writer.bytes_on_disk if ended else self.writer.frame_bytes,
                            active_s=round(self._active_s, 1), ended_at=ended,
                            dropped_snapshots=self.encoder.dropped)

    def _status(self, changed: bool = False) -> None:
        state = "PAUSED" if self._paused else "● REC"
        agent = f"  agent: {self.agent.status_text}" if self.agent is not None and self.agent.status_text else ""
        self.indicator.line(changed=changed, text=
            f"workprint {state} {self._now():7.0f}s  {self.writer.event_count} events  "
            f"{self.writer.frame_count} frames  (ctrl+alt+p or `workprint pause` to pause){agent}"
        )

    # ----------------------------------------------------------------- the gate
    def _run_gate(self) -> None:
        last_status = last_tick = 0.0
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=TICK_S)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self._handle(item)
                # Housekeeping (pause flag, task commands, focus, flushes) on a clock, not after
                # every event: a burst of keystrokes or pointer moves would repeat it for nothing.
                if time.monotonic() - last_tick >= TICK_S:
                    last_tick = time.monotonic()
                    self._tick()
                if time.monotonic() - last_status > 1.0:
                    last_status = time.monotonic()
                    self._status()
            except Exception as exc:  # never let one bad event stop the recording
                self._problem(f"gate: {exc!r}")
        # Drain what the hooks delivered before stop, then end any typing run.
        while True:
            try:
                self._handle(self._queue.get_nowait())
            except queue.Empty:
                break
            except Exception as exc:
                self._problem(f"gate: {exc!r}")
        self._end_run()
        self.writer.flush()

    def _tick(self) -> None:
        now = time.monotonic()
        paused = pause_flag(self.home).exists()
        if paused != self._paused:
            self._set_paused(paused, now)
        self._read_control(now)
        if not self._paused:
            self._poll_focus(now)
        if self._run is not None and now - self._run.t_last > self.settings.type_merge_gap_s:
            self._end_run()
        if not self._paused and now - self._t0 - self._last_kept_t > self.settings.periodic_s:
            latest = self.ring.latest()
            if latest is not None and not latest.kept and latest.stable:
                self._keep(latest, "periodic")
        if now - self._last_flush > FLUSH_EVERY_S:
            self._hold_run()
            self.writer.flush()
            self._last_flush = now
        if now - self._last_catalog > 5.0:
            self._update_catalog()
            self._last_catalog = now

    def _set_paused(self, paused: bool, t: float) -> None:
        if paused:
            self._end_run()
        self._paused = paused
        self._append({"kind": "pause" if paused else "resume", "t": self._now(t)})
        self.writer.flush()
        self.indicator.notify("workprint paused" if paused else "workprint resumed recording")
        self._status(changed=True)

    def _read_control(self, t: float) -> None:
        """Commands from `workprint task ...` (and the task hotkey), in the order they were sent."""
        folder = control_dir(self.home)
        for path in sorted(folder.glob("*.json")):
            try:
                command = json.loads(path.read_text())
            except (OSError, ValueError):
                command = {}
            path.unlink(missing_ok=True)
            if command.get("command") == "task_start":
                self._end_run()
                instruction = redact(str(command.get("instruction", "")))
                event = {"kind": "task_start", "t": self._now(t), "instruction": instruction.text}
                if instruction.changed:
                    event["redacted"] = instruction.kinds
                self._append(event)
                self._task_open = True
                self.indicator.notify("workprint: task started", instruction.text)
            elif command.get("command") == "task_end":
                self._end_run()
                self._append({"kind": "task_end", "t": self._now(t), "status": command.get("status", "done")})
                self._task_open = False
            elif self.agent is not None:
                self.agent.control(command, t)

    def _ask_task(self) -> None:
        """The task hotkey: ask for an instruction in a small dialog, off the gate thread."""
        if self._task_open:
            send_control(self.home, {"command": "task_end"})
            return

        def ask() -> None:
            try:
                out = subprocess.run(["zenity", "--entry", "--title", "workprint: new task",
                                      "--text", "What task are you starting? (it becomes the episode's instruction)"],
                                     capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired):
                return
            if out.returncode == 0 and out.stdout.strip():
                send_control(self.home, {"command": "task_start", "instruction": out.stdout.strip()})

        threading.Thread(target=ask, daemon=True).start()

    def _toggle_pause(self, t: float) -> None:
        flag = pause_flag(self.home)
        if self._paused:
            flag.unlink(missing_ok=True)
        else:
            flag.touch()
        self._set_paused(not self._paused, t)

    def _poll_focus(self, t: float) -> Window | None:
        window = self._inspector.active_window()
        key = (window.wid, window.title) if window else None
        if key != self._focus_key:
            same_window = window is not None and self._focus is not None and window.wid == self._focus.wid
            if not same_window:
                self._end_run()
                self._want_window = True
                self._focus_t = t
            self._focus, self._focus_key = window, key
            if window is None:
                self._append({"kind": "focus", "t": self._now(t), "app": None})
            elif not self._allowed(window):
                self._append({"kind": "focus", "t": self._now(t), "denied": True})
            else:
                title = redact(window.title)
                event = {"kind": "focus", "t": self._now(t), "app": window.app, "app_ids": list(window.app_ids),
                         "wid": window.wid, "window": title.text, "rect": list(window.rect)}
                if title.changed:
                    event["redacted"] = title.kinds
                self._append(event)
        return window

    def _enqueue_input(self, item: tuple) -> None:
        """The input hooks' callback. During an agent run the channel tells the agent's input from
        the person's here, as the event arrives, so a takeover pauses the agent at once instead of
        after whatever the gate still has queued; the gate writes what was decided."""
        agent = self.agent
        if agent is None or item[0] not in _AGENT_INPUT:
            self._queue.put(item)
            return
        step, takeover, item = agent.classify(item)
        self._queue.put(("input", item[1], item, step, takeover))

    def _handle(self, item: tuple) -> None:
        kind, t = item[0], item[1]
        self._agent_tag = None
        if kind == "agent":
            self.agent.on_message(t, item[2])
            return
        if kind == "input":  # classified by the agent channel (see _enqueue_input)
            _, _, item, self._agent_tag, takeover = item
            kind = item[0]
            if takeover:
                self.agent.record_takeover(t)
        if kind == "frame":
            self._on_frame(item[2])
            return
        if kind == "dom":
            self._on_dom(t, item[2])
            return
        if kind in ("key_down", "key_up"):
            self._on_key(kind, t, item[2])
            return
        if self._paused:
            return
        x, y = int(item[2]), int(item[3])
        if kind == "move":
            last = self._last_move
            s = self.settings
            if last and (t - last[0] < s.move_min_interval_s or
                         max(abs(x - last[1]), abs(y - last[2])) < s.move_min_px):
                return
            self._last_move = (t, x, y)
            window = self._window_at(x, y)
            if self._allowed(window):
                self._append({"kind": "move", "t": self._now(t), "x": x, "y": y})
            return
        self._mark_input(t)
        if kind == "press":
            button = item[4]
            window = self._window_at(x, y, fresh=True)
            if not self._allowed(window):
                self._dropped_buttons.add(button)
                return
            self._end_run()
            self._keep_before(t)
            event_id = self._append({"kind": "press", "t": self._now(t), "x": x, "y": y, "button": button,
                                     "app": window.app if window else None})
            if self.a11y is not None:
                self.a11y.pointer(event_id, t, x, y)
        elif kind == "release":
            button = item[4]
            if button in self._dropped_buttons:
                self._dropped_buttons.discard(button)
                return
            self._append({"kind": "release", "t": self._now(t), "x": x, "y": y, "button": button})
            self._request_after(t)
        elif kind == "wheel":
            window = self._window_at(x, y)
            if not self._allowed(window):
                return
            self._end_run()
            if t - self._last_wheel_t > self.settings.scroll_merge_gap_s:
                self._keep_before(t)
            self._last_wheel_t = t
            self._append({"kind": "wheel", "t": self._now(t), "x": x, "y": y, "dx": int(item[4]), "dy": int(item[5]),
                          "app": window.app if window else None})
            self._request_after(t)

    def _mark_input(self, t: float) -> None:
        if self._last_input_t is not None:
            self._active_s += min(t - self._last_input_t, 5.0)
        self._last_input_t = t

    def _request_after(self, t: float) -> None:
        """Keep the first stable frame grabbed after ``t``, the end of an action."""
        frame = self.ring.first_stable_after(t)
        if frame is not None:
            self._keep(frame, "after")
            self._after_t = None
        else:
            self._after_t = t

    def _on_key(self, kind: str, t: float, key: Any) -> None:
        name, char = describe(key)
        if name in MODIFIERS:
            (self._mods.add if kind == "key_down" else self._mods.discard)(name)
        if kind == "key_down" and name == PAUSE_HOTKEY[-1] and set(PAUSE_HOTKEY[:-1]) <= self._mods:
            self._toggle_pause(t)
            return
        if kind == "key_down" and name == TASK_HOTKEY[-1] and set(TASK_HOTKEY[:-1]) <= self._mods:
            self._ask_task()
            return
        if kind == "key_down" and self.agent is not None and self.agent.hotkey(name, self._mods, t):
            return
        if self._paused or name is None:
            return
        # Focus is looked up on key down; its key up belongs to the same window.
        window = self._poll_focus(t) if kind == "key_down" else self._focus
        if not self._allowed(window):
            if self._run is not None:
                self._end_run()
            return
        if (self.a11y is not None and self.a11y.secure_focus) or self._dom_secure:
            # A password field has focus: no keystroke is kept, only that one was used.
            self._end_run()
            if not self._in_secure_field:
                self._in_secure_field = True
                self._append({"kind": "secure_input", "t": self._now(t), "app": window.app if window else None})
            return
        self._in_secure_field = False
        app = window.app if window else None
        wid = window.wid if window else None
        if kind == "key_up":
            if name in MODIFIERS or char is None:
                if self._run is not None and name not in MODIFIERS and name != "backspace":
                    self._end_run()
                if self._run is not None:
                    self._run.events.append({"kind": "key_up", "t": self._now(t), "key": name})
                else:
                    self._append({"kind": "key_up", "t": self._now(t), "key": name, "app": app})
            return
        self._mark_input(t)
        commands = self._mods & {"ctrl", "alt", "win"}
        event = {"kind": "key_down", "t": self._now(t), "key": name, "app": app}
        is_text = char is not None and not commands
        if name in MODIFIERS:
            if self._run is not None:
                self._run.events.append(event)  # shift inside a run is part of typing
            else:
                self._append(event)
            return
        if is_text or (name == "backspace" and self._run is not None and not commands):
            run = self._run
            if run is not None and (run.wid != wid or t - run.t_last > self.settings.type_merge_gap_s
                                    or run.agent != self._agent_tag):
                self._end_run()
                run = None
            if run is None:
                self._keep_before(t)
                self._runs += 1
                run = self._run = _TypingRun(app, wid, t, t, no=self._runs, agent=self._agent_tag)
            run.add(t, {**event, "char": char} if char else event)
            if t - run.t_start > self.settings.type_max_run_s:
                self._end_run()
            return
        self._end_run()
        self._keep_before(t)
        event_id = self._append(event)
        self._request_after(t)
        if name in ("enter", "space", "return") and self.a11y is not None:
            self.a11y.key(event_id, t)  # a keyboard choice in a menu or list

    def _hold_run(self) -> None:
        """Seal the keystrokes the run in progress gained since the last flush (a kill loses ≤ 0.5 s)."""
        run = self._run
        if run is None or run.held == len(run.events):
            return
        self.writer.hold_run(run.no, {"t": self._now(run.t_start), "app": run.app}, run.events[run.held:])
        run.held = len(run.events)

    def _end_run(self) -> None:
        """Write the held typing run: its keystrokes and its (redacted) text."""
        run, self._run = self._run, None
        if run is None:
            return
        tag, self._agent_tag = self._agent_tag, run.agent  # the run's keys are its typist's
        try:
            write_typing_run({"t": self._now(run.t_start), "t_end": self._now(run.t_last), "app": run.app,
                              "run": run.no}, run.events, self._append)
        finally:
            self._agent_tag = tag
        if run.held:  # its sealed copy goes once the redacted run is durable in the log
            self.writer.flush()
            self.writer.release_run(run.no)
        self._request_after(run.t_last)

    def _drop_secure_run(self, t: float) -> None:
        """A page's secure field took focus at ``t``; its event may arrive after the keystrokes typed
        into it. The held run that overlaps it is dropped — not written, its sealed copy removed."""
        run = self._run
        if run is None:
            return
        if run.t_last < t - SECURE_OVERLAP_S:
            self._end_run()  # typed before the field had focus
            return
        self._run = None
        self.writer.release_run(run.no)
        self._in_secure_field = True
        self._append({"kind": "secure_input", "t": self._now(min(t, run.t_start)), "app": run.app})

    # ----------------------------------------------------------------- browser
    def _redacted_target(self, target: dict | None) -> dict | None:
        if not isinstance(target, dict):
            return None
        out = {k: target.get(k) for k in ("role", "tag", "bbox") if target.get(k) is not None}
        for key in ("name", "selector"):
            if target.get(key):
                out[key] = redact(str(target[key])).text
        return out

    def _on_dom(self, t: float, event: dict) -> None:
        """An event from the browser extension: URL policy, secure fields, redaction, then the log."""
        kind = event.get("type")
        url = str(event.get("url") or "")
        # The extension drops events on pages the policy denies and reports such a navigation
        # with ``denied`` and no address; the policy is applied here again all the same.
        allowed = not event.get("denied") and (self.policy.url_allowed(url) if url else True)
        if kind in ("navigate", "tab") and event.get("frame", "top") == "top":
            self._browser_url_allowed = allowed
        if kind == "secure":
            self._dom_secure = event.get("state") == "focus"
            bbox = (event.get("target") or {}).get("bbox")
            self._dom_secure_box = tuple(bbox) if self._dom_secure and bbox else None
            if self._dom_secure:
                self._drop_secure_run(t)
            return
        if self._paused or not allowed:
            return
        base = {"t": self._now(t), "url": redact(url).text}
        target = self._redacted_target(event.get("target"))
        if target:
            base["target"] = target
        if kind in ("navigate", "tab"):
            if url.startswith(("http:", "https:", "file:")):  # not the browser's own pages (new tab)
                self._append({"kind": "dom_navigate", **base, "how": event.get("how", "tab")})
        elif kind == "click":
            self._append({"kind": "dom_click", **base, "x": event.get("x"), "y": event.get("y")})
        elif kind in ("choose", "select"):
            label, value = redact(str(event.get("label") or "")), redact(str(event.get("value") or ""))
            record = {"kind": f"dom_{kind}", **base, "label": label.text, "value": value.text}
            if label.changed or value.changed:
                record["redacted"] = sorted(set(label.kinds) | set(value.kinds))
            self._append(record)
        elif kind == "input":
            text = redact(str(event.get("text") or ""))
            start = t - max(0.0, (event.get("ts", 0) - event.get("ts_start", event.get("ts", 0))) / 1000.0)
            record = {"kind": "dom_input", **base, "t": self._now(start), "t_end": self._now(t), "text": text.text}
            if text.changed:
                record["redacted"] = text.kinds
            self._append(record)
        elif kind == "scroll":
            self._append({"kind": "dom_scroll", **base, "dy_px": int(event.get("dy_px") or 0)})
        elif kind == "submit":
            self._append({"kind": "dom_submit", **base})

    # ----------------------------------------------------------------- frames
    def _keep_before(self, t: float) -> None:
        frame = self.ring.before(t)
        if frame is not None:
            self._keep(frame, "before")

    def _keep(self, frame: CapturedFrame, reason: str) -> None:
        if frame.kept or self._paused:
            return
        if frame.active is not None and not self._allowed(frame.active):
            return  # a denied app had focus: never store this screen
        masks = mask_rects(frame, self._allowed)
        if self.a11y is not None and self.a11y.secure_box is not None:
            masks.append(self.a11y.secure_box)  # the focused password field, from the accessibility tree
        if self._dom_secure_box is not None:
            masks.append(self._dom_secure_box)  # the focused password or card field, from the page
        frame.kept = True
        self._last_kept_t = self._now(frame.t)
        self.encoder.submit(frame, reason, masks)

    def _on_frame(self, frame: CapturedFrame) -> None:
        if self._paused or not frame.stable:
            return
        if self._after_t is not None and frame.t > self._after_t:
            self._after_t = None
            self._keep(frame, "after")
        if self._want_window and frame.t > self._focus_t:
            self._want_window = False
            self._keep(frame, "window")

    def _store_frame(self, frame: CapturedFrame, reason: str, encoded: Encoded,
                     masked: list[tuple[int, int, int, int]]) -> None:
        if encoded.blob is not None:
            self.writer.put_frame(encoded.frame_id, encoded.blob)
        event = {"kind": "frame", "t": self._now(frame.t), "frame": encoded.frame_id, "stable": frame.stable,
                 "reason": reason, "w": frame.w, "h": frame.h, "stored": encoded.kind}
        if masked:
            event["masks"] = masked
        self._append(event)

    # ----------------------------------------------------------------- accessibility
    def _store_target(self, event_id: int, t: float, target: dict) -> None:
        name = redact(target["name"])
        event = {"kind": "target", "t": self._now(t), "of": event_id, "role": target["role"],
                 "name": name.text, "bbox": target["bbox"]}
        if name.changed:
            event["redacted"] = name.kinds
        self._append(event)

"""The recorder's threads: it builds the parts of a recording, runs them, and stops them cleanly.

Threads and what they may do:

* input hooks (the backend's): timestamp, ask the gate who made the event (``Gate.classify``)
  and enqueue, nothing else;
* the gate thread (``_run_gate``): the only one that decides what is written — everything in
  ``recorder.gate``;
* the frame sampler: grabs the screen after it changes (see ``capture.frames``);
* the frame encoder: masks, encodes and stores the frames the gate kept;
* the backend's accessibility source (AT-SPI on Linux): what a click or key chose;
* the browser bridge: page events from the extension, enqueued for the gate.
"""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from workprint import __version__
from workprint.agent.link import AgentLink
from workprint.capture import Backend, CapturedFrame
from workprint.capture.base import Accessibility, InputItem
from workprint.capture.browser import BrowserBridge
from workprint.capture.frames import FrameRing, FrameSampler
from workprint.capture.indicator import Indicator
from workprint.errors import WorkprintError
from workprint.home import announce_ready, contributor_id
from workprint.privacy.policy import Policy
from workprint.privacy.redact import redact
from workprint.privacy.typed import recovered_run
from workprint.recorder.control import Control, task_dialog
from workprint.recorder.frames import frame_event
from workprint.recorder.gate import AgentSource, Gate
from workprint.settings import Settings
from workprint.store import Catalog, SessionWriter
from workprint.store.encoder import FrameEncoder
from workprint.store.framecodec import Encoded
from workprint.store.session import recover_held_runs

TICK_S = 0.2  # the gate's housekeeping clock (pause flag, commands, focus, flushes)
STATUS_EVERY_S = 1.0
CATALOG_EVERY_S = 5.0
FIRST_FRAME_S = 5.0  # how long starting waits for the sampler's first grab


def new_session_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class Recorder:
    """One recording: ``run()`` records until ``stop()`` (or a duration) and returns the session id.

    ``agent`` may be set before or while it runs (``workprint agent run``): the agent channel,
    the gate's second input source. ``ready`` is set once the hooks and the gate run and the
    screen has been grabbed once (the first action has a frame before it).
    """

    def __init__(self, home: Path, backend: Backend, policy: Policy | None = None,
                 settings: Settings | None = None, indicator: Indicator | None = None,
                 accessibility: bool = True):
        self.home = home
        self.backend = backend
        self.policy = policy or Policy()
        self.settings = settings or Settings()
        self.indicator = indicator or Indicator(enabled=False)
        self.session_id = new_session_id()
        self.ready = threading.Event()
        self._want_accessibility = accessibility
        self._queue: queue.SimpleQueue[InputItem] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._problems: dict[str, int] = {}
        self._agent: AgentSource | None = None
        # The parts of a recording, built by ``run`` (``_open``) and closed when it ends.
        self.gate: Gate | None = None
        self.writer: SessionWriter
        self.catalog: Catalog
        self.ring: FrameRing
        self.encoder: FrameEncoder
        self.sampler: FrameSampler
        self.a11y: Accessibility | None = None
        self.bridge: BrowserBridge | None = None
        self.link: AgentLink | None = None

    # ----------------------------------------------------------------- the agent channel
    @property
    def agent(self) -> Any:
        return self._agent

    @agent.setter
    def agent(self, channel: Any) -> None:
        self._agent = channel
        if self.gate is not None:
            self.gate.agent = channel

    # ----------------------------------------------------------------- lifecycle
    def stop(self) -> None:
        self._stop.set()

    def _open(self) -> None:
        """Build the parts of this recording: the session on disk, the gate and its sources."""
        s = self.settings
        self.screen = self.backend.screen()
        t0 = time.monotonic()
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
            "screen": self.screen.to_dict(),
            "settings": s.to_dict(),
            "policy": self.policy.to_dict(),
            "workprint": __version__,
        })
        self.catalog.add(self.session_id, started_at)
        self._inspector = self.backend.window_inspector()
        self.ring = FrameRing(s.ring_size)
        self.encoder = FrameEncoder(self._store_frame, codec=s.frame_codec)
        if self._want_accessibility:
            self.a11y = self.backend.accessibility(self._store_target)
        control = Control(self.home, task_dialog(self.backend.ask_text))
        self.gate = Gate(append=self.writer.append, held=self.writer, windows=self._inspector, policy=self.policy,
                         settings=s, ring=self.ring, submit=self.encoder.submit, control=control,
                         browser_apps=self.backend.apps.browsers, t0=t0, a11y=self.a11y,
                         notify=self.indicator.notify, on_state=lambda: self._status(changed=True))
        self.gate.agent = self._agent
        self.sampler = FrameSampler(self.backend, s, self.ring, lambda f: self._queue.put(("frame", f.t, f)))

    def run(self, duration: float | None = None) -> str:
        """Record until ``stop()`` (or ``duration`` seconds); returns the session id."""
        self._open()
        gate = self.gate
        assert gate is not None
        self.encoder.start()
        self.sampler.start()
        if self.a11y is not None:
            self.a11y.start()
        try:
            self.bridge = BrowserBridge(self.home, lambda t, event: self._queue.put(("dom", t, event)), self.policy)
            self.bridge.start()
        except (OSError, WorkprintError) as exc:  # another recorder has this home: record the desktop anyway
            self.bridge = None
            self._problem(f"browser bridge not started ({exc}); browser pages are recorded as desktop only")
        try:  # `workprint agent run` in another process joins this recording through it
            self.link = AgentLink(self)
            self.link.start()
        except (OSError, WorkprintError) as exc:
            self._problem(f"agent link not started ({exc}); `workprint agent run` cannot join this recording")
        def enqueue(item: InputItem) -> None:
            try:
                item = gate.classify(item)
            except Exception as exc:  # never lose the person's input to a fault in the agent channel
                self._problem(f"agent channel: {exc!r}")
            self._queue.put(item)

        hooks = self.backend.input_hooks(enqueue)
        hooks.start()
        gate_thread = threading.Thread(target=self._run_gate, args=(gate,), name="workprint-gate", daemon=True)
        gate_thread.start()
        if self.a11y is not None:
            self.a11y.listening.wait(timeout=10)  # menu choices are named only once it listens
        # The first action needs a frame before it: ready once the sampler has grabbed the screen.
        first_by = time.monotonic() + FIRST_FRAME_S
        while self.ring.latest() is None and self.sampler.error is None and time.monotonic() < first_by:
            time.sleep(0.01)
        self.ready.set()
        ready_file = announce_ready(self.home, self.session_id)
        self.indicator.notify("workprint is recording", "Pause: ctrl+alt+p or `workprint pause`")
        self._status(changed=True)
        try:
            deadline = None if duration is None else time.monotonic() + duration
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if self.sampler.error is not None or not gate_thread.is_alive():
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
            gate_thread.join(timeout=10)
            self._close()
        return self.session_id

    def _close(self) -> None:
        """Stop the workers (the gate thread has ended), write the stop event and close the session."""
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

    # ----------------------------------------------------------------- the gate thread
    def _run_gate(self, gate: Gate) -> None:
        last_status = last_tick = 0.0
        last_catalog = time.monotonic()
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=TICK_S)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    gate.handle(item)
                # Housekeeping on a clock, not after every event: a burst of keystrokes or pointer
                # moves would repeat it for nothing.
                now = time.monotonic()
                if now - last_tick >= TICK_S:
                    last_tick = now
                    gate.tick()
                if now - last_catalog > CATALOG_EVERY_S:
                    last_catalog = now
                    self._update_catalog()
                if now - last_status > STATUS_EVERY_S:
                    last_status = now
                    self._status()
            except Exception as exc:  # never let one bad event stop the recording
                self._problem(f"gate: {exc!r}")
        # Drain what the hooks delivered before stop, then end any typing run.
        while True:
            try:
                gate.handle(self._queue.get_nowait())
            except queue.Empty:
                break
            except Exception as exc:
                self._problem(f"gate: {exc!r}")
        gate.finish()

    # ----------------------------------------------------------------- helpers
    def _now(self, t: float | None = None) -> float:
        """Session time (of monotonic ``t``, or of now)."""
        assert self.gate is not None
        return self.gate.now(t)

    def _problem(self, message: str) -> None:
        self._problems[message] = self._problems.get(message, 0) + 1

    @property
    def problems(self) -> list[str]:
        """What went wrong while recording (each distinct problem once, with its count)."""
        return [m if n == 1 else f"{m} ({n} times)" for m, n in self._problems.items()]

    def _update_catalog(self, ended: str | None = None) -> None:
        assert self.gate is not None
        self.catalog.update(self.session_id, events=self.writer.event_count, frames=self.writer.frame_count,
                            bytes=self.writer.bytes_on_disk if ended else self.writer.frame_bytes,
                            active_s=round(self.gate.active_s, 1), ended_at=ended,
                            dropped_snapshots=self.encoder.dropped)

    def _status(self, changed: bool = False) -> None:
        assert self.gate is not None
        state = "PAUSED" if self.gate.paused else "● REC"
        agent = f"  agent: {self.agent.status_text}" if self.agent is not None and self.agent.status_text else ""
        self.indicator.line(changed=changed, text=
            f"workprint {state} {self._now():7.0f}s  {self.writer.event_count} events  "
            f"{self.writer.frame_count} frames  (ctrl+alt+p or `workprint pause` to pause){agent}"
        )

    # Encoder and accessibility threads: what they write is never input, so never tagged.
    def _store_frame(self, frame: CapturedFrame, reason: str, encoded: Encoded, masked: list[list[int]]) -> None:
        if encoded.blob is not None:
            self.writer.put_frame(encoded.frame_id, encoded.blob)
        self.writer.append(frame_event(frame, reason, encoded.frame_id, encoded.kind, masked, self._now(frame.t)))

    def _store_target(self, event_id: int, t: float, target: dict[str, Any]) -> None:
        name = redact(target["name"])
        event = {"kind": "target", "t": self._now(t), "of": event_id, "role": target["role"],
                 "name": name.text, "bbox": target["bbox"]}
        if name.changed:
            event["redacted"] = name.kinds
        self.writer.append(event)

    # ----------------------------------------------------------------- for the agent channel
    def submit(self, item: InputItem) -> None:
        """Queue an item for the gate, in order with the input events (the agent channel's messages)."""
        self._queue.put(item)

    @property
    def recording(self) -> bool:
        """Started and not stopping."""
        return self.ready.is_set() and not self._stop.is_set()

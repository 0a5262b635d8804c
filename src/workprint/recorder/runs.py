"""Typing runs: keystrokes held back until the run ends, so they are written redacted.

A run is the keys typed into one window without a pause longer than ``type_merge_gap_s``.
While it lasts its keystrokes sit in memory (and, sealed, on disk at each flush, so a killed
recorder loses at most a flush interval); when it ends they are written as the run's
keystrokes plus its redacted text (``privacy.typed.write_typing_run``). A run whose keys turn
out to have gone into a password field is dropped instead, never written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from workprint.privacy.typed import write_typing_run

Event = dict[str, Any]
# Browser events arrive later than the desktop's keystrokes. When the page says a secure field took
# focus, a typing run still held whose last keystroke came this close before (or after) it is taken
# as typed into that field and dropped.
SECURE_OVERLAP_S = 0.5


class HeldRuns(Protocol):
    """Where the run in progress is sealed until it ends (``store.SessionWriter``)."""

    def hold_run(self, run: int, header: dict[str, Any], events: list[dict[str, Any]]) -> None: ...
    def release_run(self, run: int) -> None: ...
    def flush(self, sync: bool = True) -> None: ...


@dataclass
class TypingRun:
    """Keystrokes of one typing run, held in memory until the run ends so they can be redacted."""

    app: str | None
    wid: int | None
    t_start: float
    t_last: float
    no: int = 0  # the run's number in this session (names its sealed file under pending/)
    events: list[Event] = field(default_factory=list)
    held: int = 0  # how many of ``events`` are sealed on disk already
    agent: int | None = None  # the agent step that typed this run (None: the person)

    def add(self, t: float, event: Event) -> None:
        self.events.append(event)
        self.t_last = t


class TypingRuns:
    """The typing run in progress, and how it ends: written, or dropped as secure input.

    ``emit(event, agent)`` writes one event as made by ``agent`` (an agent step, None for the
    person); ``rel(t)`` turns a monotonic time into session time; ``on_start(t)`` and
    ``on_end(t)`` let the frame keeper keep the screen before the run and after it.
    """

    def __init__(self, held: HeldRuns, emit: Callable[[Event, int | None], int], rel: Callable[[float], float],
                 on_start: Callable[[float], None], on_end: Callable[[float], None],
                 merge_gap_s: float, max_run_s: float):
        self._held = held
        self._emit = emit
        self._rel = rel
        self._on_start = on_start
        self._on_end = on_end
        self.merge_gap_s = merge_gap_s
        self.max_run_s = max_run_s
        self.current: TypingRun | None = None
        # A person's run that Enter or Tab ended in a browser: written SECURE_OVERLAP_S later, since
        # the page's "secure field" event for it (a login filled by auto-type) may still be on its way.
        self.closing: TypingRun | None = None
        self._count = 0

    def type(self, t: float, event: Event, app: str | None, wid: int | None, agent: int | None) -> None:
        """A key that types (or a backspace inside a run): join the run in progress or start one."""
        run = self.current
        if run is not None and (run.wid != wid or t - run.t_last > self.merge_gap_s or run.agent != agent):
            self.end()
            run = None
        if run is None:
            self._on_start(t)
            self._count += 1
            run = self.current = TypingRun(app, wid, t, t, no=self._count, agent=agent)
        run.add(t, event)
        if t - run.t_start > self.max_run_s:
            self.end()

    def add(self, event: Event) -> bool:
        """A key that belongs to the run in progress without extending it (shift, a key up);
        False when there is none."""
        if self.current is None:
            return False
        self.current.events.append(event)
        return True

    def idle(self, now: float) -> None:
        """End the run once no key came for the merge gap; write a closing run once its page had
        time to say it was a secure field."""
        if self.current is not None and now - self.current.t_last > self.merge_gap_s:
            self.end()
        if self.closing is not None and now - self.closing.t_last > SECURE_OVERLAP_S:
            self._write(self.closing)
            self.closing = None

    def hold(self) -> None:
        """Seal the keystrokes the runs not yet written gained since the last flush (a kill loses ≤ 0.5 s)."""
        for run in (self.closing, self.current):
            if run is None or run.held == len(run.events):
                continue
            self._held.hold_run(run.no, {"t": self._rel(run.t_start), "app": run.app}, run.events[run.held:])
            run.held = len(run.events)

    def end(self, leaving_page_field: bool = False) -> None:
        """Write the held typing run: its keystrokes and its (redacted) text.

        ``leaving_page_field``: Enter or Tab in a browser ended it; a person's run is then written a
        moment later (see ``closing``), so a late secure-field event can still drop it."""
        run, self.current = self.current, None
        if run is None:
            return
        if leaving_page_field and run.agent is None:
            if self.closing is not None:
                self._write(self.closing)
            self.closing = run
            return
        self._write(run)

    def close(self) -> None:
        """At stop: write every run not written yet."""
        if self.closing is not None:
            self._write(self.closing)
            self.closing = None
        self.end()

    def _write(self, run: TypingRun) -> None:
        write_typing_run({"t": self._rel(run.t_start), "t_end": self._rel(run.t_last), "app": run.app,
                          "run": run.no}, run.events, lambda event: self._emit(event, run.agent))
        if run.held:  # its sealed copy goes once the redacted run is durable in the log
            self._held.flush()
            self._held.release_run(run.no)
        self._on_end(run.t_last)

    def drop_secure(self, t: float) -> TypingRun | None:
        """A page's secure field took focus at ``t``; its event may arrive after the keystrokes typed
        into it, even after the Enter or Tab that left it. The runs not yet written that overlap it
        are dropped — not written, their sealed copies removed — and the first is returned; a run
        that ended well before ``t`` is written as usual."""
        dropped = None
        for run in (self.closing, self.current):
            if run is None:
                continue
            if run is self.closing:
                self.closing = None
            else:
                self.current = None
            if run.t_last < t - SECURE_OVERLAP_S:
                self._write(run)  # typed before the field had focus
                continue
            self._held.release_run(run.no)
            dropped = dropped or run
        return dropped

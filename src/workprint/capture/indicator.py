"""The visible "recording" indicator: a terminal status line and desktop notifications."""

from __future__ import annotations

import sys
import threading
from typing import Callable


class Indicator:
    def __init__(self, enabled: bool = True, notify: Callable[[str, str], None] | None = None):
        """``notify``: the backend's desktop notification (``Backend.notify``); None: none."""
        self._enabled = enabled
        self._tty = enabled and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._notify = notify if enabled else None

    def notify(self, summary: str, body: str = "") -> None:
        """A desktop notification, where the backend has one; never blocks recording."""
        if self._notify is not None:
            self._notify(summary, body)

    def line(self, text: str, changed: bool = False) -> None:
        """The status line: rewritten in place on a terminal; elsewhere printed only when the
        state ``changed`` (started, paused, resumed), so logs are not flooded."""
        if not self._enabled or not (self._tty or changed):
            return
        with self._lock:
            sys.stderr.write("\r\x1b[2K" + text if self._tty else text + "\n")
            sys.stderr.flush()

    def done(self, text: str) -> None:
        if not self._enabled:
            return
        with self._lock:
            if self._tty:
                sys.stderr.write("\r\x1b[2K")
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

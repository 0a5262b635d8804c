"""The visible "recording" indicator: a terminal status line and desktop notifications."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading


class Indicator:
    def __init__(self, enabled: bool = True):
        self._enabled = enabled
        self._tty = enabled and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._notify = shutil.which("notify-send") if enabled else None

    def notify(self, summary: str, body: str = "") -> None:
        """A desktop notification, where a notification service runs; never blocks recording."""
        notify = self._notify
        if not notify:
            return

        def send() -> None:
            try:
                subprocess.run([notify, "-a", "workprint", "-t", "4000", summary, body],
                               timeout=3, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass

        threading.Thread(target=send, daemon=True).start()

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

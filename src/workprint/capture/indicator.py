"""The visible "recording" indicator: a terminal status line and desktop notifications."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading


class Indicator:
    def __init__(self, enabled: bool = True):
        self._tty = enabled and sys.stderr.isatty()
        self._lock = threading.Lock()
        self._notify = shutil.which("notify-send") if enabled else None

    def notify(self, summary: str, body: str = "") -> None:
        """A desktop notification, where a notification service runs; never blocks recording."""
        if not self._notify:
            return

        def send() -> None:
            try:
                subprocess.run([self._notify, "-a", "workprint", "-t", "4000", summary, body],
                               timeout=3, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass

        threading.Thread(target=send, daemon=True).start()

    def line(self, text: str) -> None:
        """Print a status line; on a terminal it is rewritten in place."""
        with self._lock:
            if self._tty:
                sys.stderr.write("\r\x1b[2K" + text)
            else:
                sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def done(self, text: str) -> None:
        with self._lock:
            if self._tty:
                sys.stderr.write("\r\x1b[2K")
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

"""`workprint record` as its own process on a (virtual) desktop: for the demo, tests and bench."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from workprint.demo.desktop import VirtualDesktop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recording:
    """Starts the real recorder and waits until its hooks are up; ``stop`` ends it with a signal."""

    def __init__(self, desk: VirtualDesktop, home: Path, policy: Path | None = None, quiet: bool = True,
                 capture: bool = True):
        self.env = {**desk.env, "WORKPRINT_HOME": str(home)}
        argv = [sys.executable, "-m", "workprint", "record"] + (["--quiet"] if quiet else [])
        if policy is not None:
            argv += ["--policy", str(policy)]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if capture else {}
        self.proc = subprocess.Popen(argv, env=self.env, text=True, **pipes)
        time.sleep(2.0)  # hooks, sampler and accessibility listener are up
        if self.proc.poll() is not None:
            raise RuntimeError(f"the recorder exited early: {self.proc.stderr.read() if capture else ''}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGINT, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); the session id is the last line of stdout."""
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out or "", err or ""

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


def accept_consent(env: dict[str, str], policy: Path | None = None) -> str:
    """`workprint consent accept --yes` for this home and policy (recording refuses without it);
    returns the command's one-line confirmation."""
    argv = [sys.executable, "-m", "workprint", "consent", "accept", "--yes"]
    if policy is not None:
        argv += ["--policy", str(policy)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"workprint consent accept failed ({out.returncode}): {out.stderr}")
    return out.stdout.strip().splitlines()[0]


class Recording:
    """Starts the real recorder and waits until its hooks are up; ``stop`` ends it with a signal.

    With ``consent`` (the default) it first agrees to the notice for this policy with ``--yes``,
    as the person being recorded would; ``consent_line`` keeps what that printed.
    """

    def __init__(self, desk: VirtualDesktop, home: Path, policy: Path | None = None, quiet: bool = True,
                 capture: bool = True, consent: bool = True):
        self.env = {**desk.env, "WORKPRINT_HOME": str(home)}
        self.consent_line = accept_consent(self.env, policy) if consent else ""
        argv = [sys.executable, "-m", "workprint", "record"] + (["--quiet"] if quiet else [])
        if policy is not None:
            argv += ["--policy", str(policy)]
        pipe = subprocess.PIPE if capture else None
        self.proc = subprocess.Popen(argv, env=self.env, text=True, stdout=pipe, stderr=pipe)
        self.session = ""  # the session being recorded, once ready
        self._wait_ready(home, timeout=60)
        if self.proc.poll() is not None:
            raise RuntimeError(f"the recorder exited early: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def _wait_ready(self, home: Path, timeout: float) -> None:
        """Until the recorder says its hooks, sampler and accessibility listener are up."""
        from workprint.home import ready_file

        path = ready_file(home, self.proc.pid)
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                break  # reported just below
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"the recorder did not get ready within {timeout:.0f} s")
            time.sleep(0.05)
        if path.exists():
            self.session = path.read_text()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGINT, timeout: float = 120) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); the session id is the last line of stdout."""
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out or "", err or ""

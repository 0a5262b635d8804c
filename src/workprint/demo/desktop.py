"""A real X desktop without a screen: Xvfb, a D-Bus session with the accessibility bus,
a window manager, and real apps driven by xdotool.

Used by ``make demo``, the integration tests and the benchmarks, so all three exercise the
same real parts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from workprint.errors import WorkprintError

REQUIRED = ("Xvfb", "xdotool", "dbus-daemon")


class DesktopUnavailable(WorkprintError):
    pass


def missing_tools(extra: tuple[str, ...] = ()) -> list[str]:
    return [tool for tool in REQUIRED + extra if shutil.which(tool) is None]


class VirtualDesktop:
    """``with VirtualDesktop() as desk:`` gives ``desk.env`` with DISPLAY and a session bus."""

    def __init__(self, width: int = 1920, height: int = 1080, window_manager: bool = True):
        missing = missing_tools(("openbox",) if window_manager else ())
        if missing:
            raise DesktopUnavailable(
                f"missing {', '.join(missing)}: install them with "
                "`sudo apt-get install xvfb xdotool dbus-x11 at-spi2-core openbox` (or run `make sysdeps`)"
            )
        self.size = (width, height)
        self._window_manager = window_manager
        self._procs: list[subprocess.Popen] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="workprint-desktop-"))
        self.env: dict[str, str] = {}

    def __enter__(self) -> "VirtualDesktop":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{self.size[0]}x{self.size[1]}x24",
             "-nolisten", "tcp", "+extension", "RECORD", "+extension", "DAMAGE"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        self._procs.append(xvfb)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.stop()
            raise DesktopUnavailable("Xvfb did not start")
        runtime = self._tmp / "runtime"
        runtime.mkdir(mode=0o700)
        env = dict(os.environ)
        for var in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "AT_SPI_BUS_ADDRESS", "SESSION_MANAGER"):
            env.pop(var, None)
        env.update({
            "DISPLAY": f":{number}",
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(self._tmp / "config"),
            "XDG_CACHE_HOME": str(self._tmp / "cache"),
            "XDG_DATA_HOME": str(self._tmp / "data"),
            "GTK_USE_PORTAL": "0",
            "NO_AT_BRIDGE": "0",
            "GTK_A11Y": "atspi",
            "LANG": env.get("LANG", "C.UTF-8"),
        })
        dbus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        self._procs.append(dbus)
        address = dbus.stdout.readline().strip() if dbus.stdout else ""
        if not address:
            self.stop()
            raise DesktopUnavailable("dbus-daemon did not start")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.env = env
        if self._window_manager:
            self.spawn(["openbox", "--sm-disable"])
            self._wait(lambda: self._net_supported(), 10, "the window manager did not start")

    def _net_supported(self) -> bool:
        out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=self.env,
                             capture_output=True, text=True) if shutil.which("xprop") else None
        return out is None or "window id" in out.stdout

    @staticmethod
    def _wait(check, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise DesktopUnavailable(message)

    def spawn(self, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start a program on this desktop; it is stopped with the desktop."""
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, env={**self.env, **kwargs.pop("env", {})}, **kwargs)
        self._procs.append(proc)
        return proc

    def xdotool(self, *args: str | int, check: bool = True) -> str:
        out = subprocess.run(["xdotool", *map(str, args)], env=self.env, capture_output=True, text=True,
                             timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(map(str, args))} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def wait_window(self, wm_class: str, timeout: float = 20.0) -> int:
        """The id of the first visible window of class ``wm_class``, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.xdotool("search", "--onlyvisible", "--class", wm_class, check=False)
            if out:
                return int(out.splitlines()[-1])
            time.sleep(0.2)
        raise DesktopUnavailable(f"no window of class {wm_class} appeared within {timeout:.0f}s")

    def geometry(self, wid: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) of a window's client area in screen pixels."""
        out = self.xdotool("getwindowgeometry", "--shell", wid)
        vals = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return int(vals["X"]), int(vals["Y"]), int(vals["WIDTH"]), int(vals["HEIGHT"])

    def activate(self, wid: int) -> None:
        self.xdotool("windowactivate", "--sync", wid, check=False)
        time.sleep(0.3)

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._procs.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)

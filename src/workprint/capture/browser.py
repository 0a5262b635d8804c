"""The browser source: the extension's events reach the recorder through Chrome native messaging.

No TCP port is opened. ``workprint extension install`` writes, for this person only:

* the unpacked extension (``extension_dir``), whose fixed ID comes from the ``key`` in its manifest;
* a launcher for ``native_host.py`` that knows this ``WORKPRINT_HOME``;
* the native messaging host manifest ``NativeMessagingHosts/org.workprint.bridge.json`` in the
  browser's config folder, allowing only that extension ID.

Chromium starts the host when the extension connects; the host relays to ``BrowserBridge``,
the recorder's end, a Unix socket in ``WORKPRINT_HOME/run`` (mode 0700). Each person (each
``WORKPRINT_HOME``) has their own socket, so two people's recorders on one machine never meet,
and no other user can connect. The bridge first sends the URL policy, which the extension applies
before it sends anything; the bridge hands each event to the recorder's queue and writes nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from workprint.capture import native_host
from workprint.errors import WorkprintError
from workprint.files import atomic_write, serve_private_socket

HOST_NAME = "org.workprint.bridge"
# The extension's ID follows from the public key in its manifest.json ("key"), so it is the same
# wherever the folder is and the host manifest can name it.
EXTENSION_ID = "ogppokacnkagjgjlellcobgnionfooae"
MAX_LINE = 2 * 1024 * 1024
PACKAGED = Path(__file__).with_name("browser_extension")
socket_path = native_host.socket_path


class BridgeError(WorkprintError):
    """The browser channel cannot start; the message says why."""


def extension_dir(home: Path) -> Path:
    """The unpacked extension for this install (refreshed from the package each time)."""
    target = home / "extension"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACKAGED, target)
    return target


def default_browser_dirs() -> list[Path]:
    """The per-user config folders of Chromium and Google Chrome on Linux."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [config / "chromium", config / "google-chrome"]


def install(home: Path, browser_dirs: list[Path] | None = None) -> tuple[Path, list[Path]]:
    """Write the extension, the host launcher and the host manifests; returns (extension, manifests)."""
    extension = extension_dir(home)
    launcher = home / "native-host"
    script = Path(native_host.__file__).resolve()
    atomic_write(launcher, "#!/bin/sh\n"
                 f"WORKPRINT_HOME={shlex.quote(str(home.resolve()))} exec {shlex.quote(sys.executable)} "
                 f"-I {shlex.quote(str(script))} \"$@\"\n", mode=0o700)
    manifest = json.dumps({"name": HOST_NAME, "description": "workprint: relays the extension's events to the recorder",
                           "path": str(launcher.resolve()), "type": "stdio",
                           "allowed_origins": [f"chrome-extension://{EXTENSION_ID}/"]}, indent=1)
    written = []
    for folder in browser_dirs if browser_dirs is not None else default_browser_dirs():
        path = folder / "NativeMessagingHosts" / f"{HOST_NAME}.json"
        atomic_write(path, manifest, mode=0o644)
        written.append(path)
    return extension, written


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_text(value: Any) -> Any:
    """``value`` with every lone UTF-16 surrogate (a page can put them in any label; JSON carries
    them as escapes) replaced by U+FFFD, so whatever later writes the text as UTF-8 can."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_text(v) for v in value]
    if isinstance(value, dict):
        return {_whole_text(k): _whole_text(v) for k, v in value.items()}
    return value


class UrlRules(Protocol):
    """What the bridge tells the extension of the policy (``privacy.policy.Policy`` is one)."""

    @property
    def allow_urls(self) -> tuple[str, ...] | None: ...
    @property
    def deny_urls(self) -> tuple[str, ...]: ...


class BrowserBridge:
    """The recorder's end of the browser channel: a Unix socket only this person can open."""

    def __init__(self, home: Path, deliver: Callable[[float, dict], None], policy: UrlRules | None = None):
        self._deliver = deliver
        allow = policy.allow_urls if policy is not None else None
        hello = json.dumps({"hello": "workprint", "policy": {
            "allow": list(allow) if allow is not None else None,
            "deny": list(policy.deny_urls) if policy is not None else []}}).encode() + b"\n"
        self.path = socket_path(home)
        bridge = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(hello)
                while True:
                    line = self.rfile.readline(MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > MAX_LINE or not line.endswith(b"\n"):
                        self.wfile.write(b'{"error": "message too large"}\n')
                        return
                    self.wfile.write(json.dumps(bridge.accept(line)).encode() + b"\n")

        self._server = serve_private_socket(
            self.path, Handler, "another workprint recorder already receives this person's browser events", BridgeError)
        self._thread = threading.Thread(target=self._server.serve_forever, name="workprint-browser", daemon=True)

    def accept(self, line: bytes) -> dict:
        """One batch from the extension: ``{"events": [...]}``; answers what was accepted."""
        try:
            events = _whole_text(json.loads(line)["events"])
            if not isinstance(events, list):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            return {"error": 'expected {"events": [...]}'}
        now_wall, now_mono = time.time(), time.monotonic()
        accepted = 0
        for event in events:
            if isinstance(event, dict) and isinstance(event.get("ts"), (int, float)):
                self._deliver(now_mono - (now_wall - event["ts"] / 1000.0), event)
                accepted += 1
        return {"accepted": accepted}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)

"""The browser source: the extension's events arrive over loopback with a per-install token.

``extension_dir(home)`` gives the unpacked extension to load (``workprint extension path``): a
copy of the packaged extension with this install's ``config.json`` (port and token) beside
it. ``BrowserBridge`` is the recorder's end: a small HTTP server on 127.0.0.1 that accepts
``POST /events`` only with the token, and hands each event to the recorder's queue — it never
writes anything itself.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

DEFAULT_PORT = 47631
MAX_BODY = 2 * 1024 * 1024
PACKAGED = Path(__file__).with_name("browser_extension")


def bridge_config(home: Path) -> dict:
    """This install's bridge port and token (created once, file mode 0600)."""
    path = home / "bridge.json"
    if path.exists():
        config = json.loads(path.read_text())
    else:
        config = {"port": DEFAULT_PORT, "token": secrets.token_urlsafe(24)}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh)
        os.replace(tmp, path)
    port = os.environ.get("WORKPRINT_BRIDGE_PORT")
    if port:
        config["port"] = int(port)
    return config


def extension_dir(home: Path) -> Path:
    """The unpacked extension for this install (refreshed from the package each time)."""
    target = home / "extension"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACKAGED, target)
    (target / "config.json").write_text(json.dumps(bridge_config(home)))
    return target


class BrowserBridge:
    def __init__(self, home: Path, deliver: Callable[[float, dict], None]):
        config = bridge_config(home)
        self._token = config["token"]
        self._deliver = deliver
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the recorder's terminal quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/events":
                    return self._reply(404, {"error": "not found"})
                if not hmac.compare_digest(self.headers.get("X-Workprint-Token", ""), bridge._token):
                    return self._reply(401, {"error": "wrong or missing token"})
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    return self._reply(413, {"error": "empty or too large"})
                try:
                    events = json.loads(self.rfile.read(length))["events"]
                    assert isinstance(events, list)
                except (ValueError, KeyError, AssertionError, TypeError):
                    return self._reply(400, {"error": "expected {\"events\": [...]}"})
                now_wall, now_mono = time.time(), time.monotonic()
                for event in events:
                    if isinstance(event, dict) and isinstance(event.get("ts"), (int, float)):
                        bridge._deliver(now_mono - (now_wall - event["ts"] / 1000.0), event)
                self._reply(200, {"accepted": len(events)})

        self._server = ThreadingHTTPServer(("127.0.0.1", config["port"]), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="workprint-browser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

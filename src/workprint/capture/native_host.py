"""The native messaging host Chromium starts for the workprint extension (stdlib only, no package imports).

Chromium runs this file (through the small launcher ``workprint extension install`` writes)
and speaks to it over stdin/stdout: each message is a 32-bit native-endian length and UTF-8
JSON. The host relays to the running recorder over the Unix socket
``$WORKPRINT_HOME/run/browser.sock`` (folder mode 0700, so only this person reaches it):

* ``{"op": "hello"}`` connects (again) and answers the recorder's hello, which carries the URL
  policy the extension applies before it sends anything;
* ``{"op": "events", "events": [...]}`` is forwarded as one line; the recorder's answer comes back.

No TCP port is opened: nothing another local user or process can listen on receives the events,
and the host sends nothing to a socket whose process runs as another user.
When the recorder is not running, every answer is ``{"error": ...}`` and the extension keeps its buffer.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from pathlib import Path
from typing import BinaryIO

MAX_FROM_BROWSER = 8 * 1024 * 1024
_LEN = struct.Struct("=I")


def socket_path(home: Path) -> Path:
    return home / "run" / "browser.sock"


def read_message(stream) -> dict | None:
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None  # the browser closed the port
    (length,) = _LEN.unpack(head)
    if length > MAX_FROM_BROWSER:
        return None
    body = stream.read(length)
    try:
        message = json.loads(body)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def write_message(stream, message: dict) -> None:
    data = json.dumps(message).encode()
    stream.write(_LEN.pack(len(data)) + data)
    stream.flush()


def _check_peer_is_this_user(conn: socket.socket) -> None:
    """The process at the other end runs as this user (a folder another user made first in a shared
    WORKPRINT_HOME could hold their socket); raises OSError otherwise."""
    if not hasattr(socket, "SO_PEERCRED"):  # Linux only; elsewhere the folder's mode 0700 is the guard
        return
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    if uid != os.getuid():
        raise PermissionError(f"the socket {conn.getpeername()} belongs to another user")


class Relay:
    """One connection to the recorder, opened on ``hello`` and dropped on any error."""

    def __init__(self, home: Path):
        self.path = socket_path(home)
        self.conn: socket.socket | None = None
        self.reader: BinaryIO | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = self.reader = None

    def _line(self) -> dict:
        if self.reader is None:
            raise OSError("not connected to the recorder (no hello yet)")
        line = self.reader.readline()
        if not line:
            raise OSError("the recorder closed the connection")
        return json.loads(line)

    def handle(self, message: dict) -> dict:
        try:
            if message.get("op") == "hello":
                self.close()
                self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.conn.settimeout(10)
                self.conn.connect(str(self.path))
                _check_peer_is_this_user(self.conn)
                self.reader = self.conn.makefile("rb")
                return self._line()
            if message.get("op") == "events":
                if self.conn is None:
                    return {"error": "not connected: say hello first"}
                self.conn.sendall(json.dumps({"events": message.get("events")}).encode() + b"\n")
                return self._line()
            return {"error": "unknown op"}
        except PermissionError as exc:
            self.close()
            return {"error": f"refused: {exc}; nothing was sent"}
        except (OSError, ValueError) as exc:
            self.close()
            return {"error": f"the workprint recorder is not running ({exc.__class__.__name__})"}


def main() -> int:
    home = Path(os.environ.get("WORKPRINT_HOME", ""))
    relay = Relay(home)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        message = read_message(stdin)
        if message is None:
            relay.close()
            return 0
        write_message(stdout, relay.handle(message))


if __name__ == "__main__":
    sys.exit(main())

"""The agent link: `workprint agent run` joins a `workprint record` running in another process.

The recorder serves a Unix socket, ``WORKPRINT_HOME/run/agent.sock`` (0600 in a 0700 folder,
like the browser bridge), and takes one agent at a time. The two ends split ``AgentChannel``:

* the recorder's end, ``LinkedChannel``, is the recorder's ``agent`` while a run is joined: the
  gate classifies input, writes the agent's messages and decides takeovers through it exactly as
  for a run in its own process, and it pushes every change of control to the agent at once;
* the agent's end, ``JoinedChannel``, gives ``AgentRun`` and the executor the same calls.

Injected input is still told from the person's: each gesture is one request, ``begin`` with the
events the agent is about to inject, answered only once they are registered. The recorder's end
holds the channel's lock from then until ``end``, so the person's input is classified before the
gesture (which is then refused) or after it, never during it, as in one process. A takeover is
pushed to the agent from the input hook as it is decided, and refuses every later ``begin``.

Messages are JSON lines. Agent -> recorder: ``begin`` (answered), ``end``, ``send`` (a message
for the gate, kept in order with the gestures), ``look``, ``pause_for`` and ``pending``
(answered), ``show``. Recorder -> agent: ``{"hello"}`` or ``{"error"}`` first; then every line
carries ``state`` (who has control), and ``reply`` (an answer) or ``takeover_t`` (a takeover: the
person's input event's time).

When the agent's process goes away the recorder ends the run in the log (``fail``) and stops
tagging input; when the recording goes away the agent stops acting (``lost``).
"""

from __future__ import annotations

import json
import queue
import select
import socket
import socketserver
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from workprint.agent.channel import AgentChannel, Expected
from workprint.capture.base import Window
from workprint.errors import WorkprintError
from workprint.files import serve_private_socket
from workprint.vocabulary import Rect

if TYPE_CHECKING:
    from workprint.recorder import Recorder

MAX_LINE = 1024 * 1024
# The longest one gesture may hold the person's input back (a drag takes ~0.1 s): an agent that
# stops answering mid-gesture lets the person's input through after this.
GESTURE_HOLD_S = 2.0
HELLO_TIMEOUT_S = 10.0


class LinkError(WorkprintError):
    """The agent cannot join the running recording; the message says why and what to do."""


def link_path(home: Path) -> Path:
    return home / "run" / "agent.sock"


class _Lines:
    """JSON objects, one a line, from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None once the peer hung up; TimeoutError after ``timeout`` s."""
        while b"\n" not in self._buf:
            if timeout is not None and not select.select([self._sock], [], [], timeout)[0]:
                raise TimeoutError
            chunk = self._sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
            if len(self._buf) > MAX_LINE:
                raise ValueError("message too large")
        line, self._buf = self._buf.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("not a message")
        return message


def _state(channel: AgentChannel) -> dict[str, Any]:
    return {"running": channel.running, "taken": channel.taken, "may_act": channel._may_act.is_set(),
            "handback": channel._handback.is_set(), "verdict": channel.verdict, "takeovers": channel.takeovers}


# ---------------------------------------------------------------- the recorder's end
class LinkedChannel(AgentChannel):
    """The recorder's ``agent`` while a run in another process is joined (gate side + link thread)."""

    def __init__(self, recorder: "Recorder", conn: socket.socket) -> None:
        super().__init__(recorder)
        self._conn = conn
        self._write = threading.Lock()
        self.closed = False
        self._closing_sent = False

    def push(self, **extra: Any) -> None:
        """Tell the agent who has control now (with ``extra``); lines go out in the order states were read."""
        with self._write:
            if self.closed:
                return
            try:
                self._conn.sendall(json.dumps({"state": _state(self), **extra}).encode() + b"\n")
            except OSError:
                self.closed = True  # the link thread sees the hang-up and ends the run

    # ---- gate side: as AgentChannel, and the agent hears of every change of control
    def classify(self, item: tuple) -> tuple[int | None, bool, tuple]:
        step, takeover, item = super().classify(item)
        if takeover:
            self.push(takeover_t=item[1])
        return step, takeover, item

    def handback(self, how: str, t: float) -> None:
        super().handback(how, t)
        self.push()

    def recording_paused(self, t: float) -> None:
        super().recording_paused(t)
        self.push()

    def on_message(self, t: float, message: dict[str, Any]) -> None:
        if message.get("op") == "closed":  # the last message of this link
            if self.running:
                super().on_message(t, {"op": "end", "status": message["status"], "error": message["why"]})
            if self._rec.agent is self:
                self._rec.agent = None  # the person's input is theirs alone again
            return
        super().on_message(t, message)
        if message.get("op") in ("start", "end"):
            self.push()

    # ---- link thread
    def serve(self) -> None:
        """The agent's requests, until it hangs up (then its run is ended in the log)."""
        lines = _Lines(self._conn)
        try:
            while True:
                message = lines.next()
                if message is None:
                    return
                if message.get("op") == "begin":
                    self._gesture(message, lines)
                else:
                    self._do(message)
        except (OSError, ValueError, TypeError, KeyError):
            return  # a broken link: hang up
        finally:
            self.closing("fail", "the agent's process ended without ending its run")

    def _gesture(self, message: dict[str, Any], lines: _Lines) -> None:
        with self._lock:  # the person's input waits in classify until the gesture is injected
            ok = self._may_act.is_set()
            if ok:
                self._expected.extend(Expected.from_json(e) for e in message["expected"])
            self.push(reply={"ok": ok})
            deadline = time.monotonic() + GESTURE_HOLD_S
            while ok:
                try:
                    during = lines.next(timeout=max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    return
                if during is None or during.get("op") == "end":
                    return
                self._do(during)

    def _do(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "send":
            t = message.get("t")
            self._rec.submit(("agent", t if isinstance(t, float) else time.monotonic(), message["message"]))
        elif op == "look":
            windows = [None if w is None else Window(int(w[0]), tuple(w[1]), str(w[2]), tuple(w[3]))
                       for w in message["windows"]]
            allowed, boxes = self.look(windows)
            self.push(reply={"allowed": allowed, "boxes": [list(b.xywh) for b in boxes]})  # [x, y, w, h]
        elif op == "pause_for":
            self.pause_for(str(message["trigger"]), **dict(message.get("extra") or {}))
            self.push(reply={})
        elif op == "pending":
            self.push(reply={"pending": self.pending()})
        elif op == "show":
            self.show(str(message.get("text", "")))

    def closing(self, status: str, why: str) -> None:
        """End the run in the log (if it is still going) and let go of the recorder, once."""
        with self._write:
            if self._closing_sent:
                return
            self._closing_sent = True
        self._rec.submit(("agent", time.monotonic(), {"op": "closed", "status": status, "why": why}))

    def close(self) -> None:
        with self._write:
            self.closed = True
        try:
            self._conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class AgentLink:
    """The recorder's end of the link: lets one `workprint agent run` at a time join the recording."""

    def __init__(self, recorder: "Recorder") -> None:
        self._rec = recorder
        self.path = link_path(recorder.home)
        self._attach = threading.Lock()
        self.channel: LinkedChannel | None = None
        link = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                link._serve(self.request)

        self._server = serve_private_socket(self.path, Handler, "another workprint recorder already takes agent "
                                            "runs for this WORKPRINT_HOME", LinkError)
        self._thread = threading.Thread(target=self._server.serve_forever, name="workprint-agent-link", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self, conn: socket.socket) -> None:
        rec = self._rec
        with self._attach:
            busy = rec.agent is not None
            if not busy:
                channel = self.channel = LinkedChannel(rec, conn)
                rec.agent = channel
        if busy:
            conn.sendall(json.dumps({"error": f"an agent run is already going on in recording session "
                                              f"{rec.session_id}; one agent at a time: wait for it to end, or end "
                                              "it with `workprint agent stop`"}).encode() + b"\n")
            return
        channel.push(hello={"session": rec.session_id, "policy": rec.policy.to_dict()})
        channel.serve()

    def stop(self) -> None:
        """The recording ends: a joined run is ended in the log, and its agent stops acting."""
        if self.channel is not None:
            self.channel.closing("stopped", "the recording was stopped during the run")
            self.channel.close()
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------- the agent's end
class JoinedChannel(AgentChannel):
    """The agent's end: the calls ``AgentRun`` and the executor make of a channel, over the link."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # the recorder is in the other process
        self._sock = sock
        self._lines = _Lines(sock)
        self._write = threading.RLock()  # reentrant: a signal handler may `send` while the run sends
        self._ask_lock = threading.Lock()
        self._replies: queue.SimpleQueue = queue.SimpleQueue()
        self._closing = False
        try:
            first = self._lines.next(timeout=HELLO_TIMEOUT_S)
        except (OSError, ValueError, TimeoutError):
            first = None
        if first is None or "error" in first:
            sock.close()
            raise LinkError(str(first["error"]) if first else "the running recording did not answer on its agent "
                            "link; stop it (Ctrl-C in its terminal) and start `workprint agent run` again")
        try:
            hello = first["hello"]
            self.session: str = str(hello["session"])
            self.policy: dict[str, Any] = dict(hello["policy"])
            self._apply(first["state"])
        except (KeyError, TypeError, ValueError):
            sock.close()
            raise LinkError("the running recording is another version of workprint and its agent link does not "
                            "match this one; stop it (Ctrl-C in its terminal) and start it again") from None
        self._reader = threading.Thread(target=self._read, name="workprint-agent-link", daemon=True)
        self._reader.start()

    # ---- from the recorder
    def _apply(self, state: dict[str, Any]) -> None:
        self.running, self.taken = state["running"], state["taken"]
        self.verdict, self.takeovers = state["verdict"], state["takeovers"]
        (self._may_act.set if state["may_act"] else self._may_act.clear)()
        (self._handback.set if state["handback"] else self._handback.clear)()

    def _read(self) -> None:
        try:
            while True:
                message = self._lines.next()
                if message is None:
                    break
                self._apply(message["state"])
                if "takeover_t" in message:  # paused: the person's input (hook time) -> known here
                    now = time.monotonic()
                    self.latencies.append(now - float(message["takeover_t"]))
                    self.takeover_times.append(now)
                if "reply" in message:
                    self._replies.put(message["reply"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if not self._closing and self.lost is None:
            self.lost = (f"the recording (session {self.session}) ended during the run; the agent stopped, so "
                         "nothing it does goes unrecorded")
        self.running = False
        self._may_act.clear()
        self._handback.set()
        self._replies.put(None)

    # ---- to the recorder
    def _post(self, message: dict[str, Any]) -> bool:
        data = json.dumps(message).encode() + b"\n"
        with self._write:
            if self.lost is not None or self._closing:
                return False
            try:
                self._sock.sendall(data)
            except OSError:
                return False  # the reader sees the hang-up
        return True

    def _ask(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """A request and its answer (None: the link is gone)."""
        with self._ask_lock:
            if not self._post(message):
                return None
            return self._replies.get()

    # ---- what AgentRun and the executor call
    def attach(self) -> None:
        pass  # joined when it connected

    def recording(self) -> bool:
        return self.lost is None

    def send(self, op: str, **payload: Any) -> None:
        self._post({"op": "send", "t": time.monotonic(), "message": {"op": op, **payload}})

    def gesture(self, expected: list[Expected], perform: Callable[[], None]) -> bool:
        if not self._may_act.is_set():
            return False
        reply = self._ask({"op": "begin", "expected": [asdict(e) for e in expected]})
        if not reply or not reply.get("ok"):
            return False
        try:
            perform()
        finally:
            self._post({"op": "end"})
        return True

    def look(self, windows: Sequence[Window | None]) -> tuple[list[bool], list[Rect]]:
        reply = self._ask({"op": "look", "windows": [
            None if w is None else [w.wid, list(w.app_ids), w.title, list(w.rect)] for w in windows]})
        if reply is None:  # nothing is shown to the model of a screen the recorder cannot vouch for
            return [False] * len(windows), []
        return [bool(a) for a in reply["allowed"]], [Rect.from_xywh(*b) for b in reply["boxes"]]

    def pause_for(self, trigger: str, **extra: Any) -> None:
        self._ask({"op": "pause_for", "trigger": trigger, "extra": extra})

    def pending(self) -> int:
        reply = self._ask({"op": "pending"})
        return int(reply["pending"]) if reply else 0

    def show(self, text: str) -> None:
        self.status_text = text
        self._post({"op": "show", "text": text})

    def close(self) -> None:
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._reader.join(timeout=5)
        self._sock.close()


def join(home: Path) -> JoinedChannel | None:
    """Join the recording running for ``home``: its channel, or None when no recording takes agents
    here. Raises ``LinkError`` when the recording refuses (another agent run is joined)."""
    path = link_path(home)
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):  # left by a recorder that was killed
        sock.close()
        return None
    return JoinedChannel(sock)

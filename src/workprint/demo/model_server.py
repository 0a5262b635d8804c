"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1.

No model weights can be downloaded where workprint is built and tested, so the demo, the
tests and ``bench/`` talk to this real HTTP server instead: everything on workprint's side of
the socket (the client, the prompt, the parsing, execution and recording) is the real code.

A *script* decides each answer: a list of replies used in order (the last one repeats), or
a function of the request. A reply is a string (the message content), a dict with
``content``/``tool_calls``, or a :class:`Scripted` with a status code or a delay. Every
request received is kept in ``requests`` so a test can look at what was sent (the images
among it).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


@dataclass
class Scripted:
    """A reply with HTTP-level behaviour: ``status`` other than 200, or a ``delay`` in seconds."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    delay: float = 0.0


Reply = Union[str, dict, Scripted]
Script = Union[list[Reply], Callable[[dict[str, Any]], Reply]]


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: with more clients connecting at once (annotate and eval
    # run 8 and more), the kernel drops the extra connection attempts and each retries a second later.
    request_queue_size = 128


class ScriptedModelServer:
    """``with ScriptedModelServer(["```python\\npyautogui.click(x=0.5, y=0.5)\\n```"]) as server:``
    then ``--model server.url``."""

    def __init__(self, script: Script, model_name: str = "scripted-model", port: int = 0) -> None:
        self.script = script
        self.model_name = model_name
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._turn = 0
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedModelServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            turn = self._turn
            self._turn += 1
        if callable(self.script):
            return self.script(request)
        return self.script[min(turn, len(self.script) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model_name, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    self._send(400, {"error": {"message": "body is not JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                reply = server._next(request)
                if isinstance(reply, str):
                    reply = Scripted(content=reply)
                elif isinstance(reply, dict):
                    reply = Scripted(content=reply.get("content"), tool_calls=reply.get("tool_calls"))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    self._send(reply.status, {"error": {"message": f"scripted status {reply.status}"}})
                    return
                message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                if reply.tool_calls:
                    message["tool_calls"] = [
                        {"id": f"call_{i}", "type": "function", **call} for i, call in enumerate(reply.tool_calls)]
                self._send(200, {"id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
                                 "model": request.get("model", server.model_name),
                                 "choices": [{"index": 0, "message": message,
                                              "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
                                 "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})

        return Handler


def request_images(request: dict[str, Any]) -> list[bytes]:
    """The PNG images (decoded from data URLs) a chat request carried, in order."""
    import base64

    images = []
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                url = (part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else ""
                if url.startswith("data:image/"):
                    images.append(base64.b64decode(url.split(",", 1)[1]))
    return images

"""An OpenAI-compatible chat-completions client with bounded retries and errors a person can act on.

httpx rather than the ``openai`` package: the request is one POST, and servers that call
themselves OpenAI-compatible differ in what else they implement (``/models`` among them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from workprint.errors import WorkprintError

KEY_VARIABLE = "WORKPRINT_MODEL_KEY"


class ModelError(WorkprintError):
    """The model server could not be used; the message says what happened and what to do."""


@dataclass
class Reply:
    """One answer: its text, any tool calls, and the raw JSON (kept with the actions it led to)."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class ChatClient:
    """POSTs to ``{base_url}/chat/completions``.

    ``base_url`` is the server's ``/v1`` base (``http://127.0.0.1:8000/v1``). Connection
    failures, timeouts, 429 and 5xx are retried ``retries`` times with exponential backoff;
    anything else (a 4xx, a reply that is not chat-completions JSON) fails at once, because
    asking again would get the same answer.
    """

    def __init__(self, base_url: str, model_name: str | None = None, *, timeout: float = 120.0,
                 retries: int = 3, backoff: float = 0.5, api_key: str | None = None,
                 temperature: float | None = 0.0, max_tokens: int | None = 1024) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ModelError(f"--model {base_url!r} is not a URL; give the server's OpenAI-compatible base, "
                             "e.g. http://127.0.0.1:8000/v1")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.temperature = temperature
        self.max_tokens = max_tokens
        key = api_key if api_key is not None else os.environ.get(KEY_VARIABLE)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self._model_name = model_name

    @property
    def model_name(self) -> str:
        """The name sent with each request: as given, else the first the server lists, else ``default``."""
        if self._model_name is None:
            try:
                listed = self._http.get(f"{self.base_url}/models", timeout=10).json().get("data") or []
                self._model_name = str(listed[0]["id"]) if listed else "default"
            except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, IndexError):
                self._model_name = "default"
        return self._model_name

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Reply:
        body: dict[str, Any] = {"model": self.model_name, "messages": messages}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if tools:
            body["tools"] = tools
        url = f"{self.base_url}/chat/completions"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.post(url, json=body)
            except httpx.TimeoutException:
                problem = f"no answer from {url} within {self._http.timeout.read} s"
                continue
            except httpx.HTTPError as exc:
                problem = f"cannot reach {url}: {exc}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"{url} answered HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                hint = (f" (is {KEY_VARIABLE} set to the server's key?)" if response.status_code in (401, 403)
                        else "")
                raise ModelError(f"{url} refused the request with HTTP {response.status_code}{hint}: "
                                 f"{response.text[:300]}")
            return _reply(url, response)
        raise ModelError(f"{problem} (tried {self.retries + 1} times). Check that the model server is running "
                         "and that --model is its OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ChatClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reply(url: str, response: httpx.Response) -> Reply:
    try:
        data = response.json()
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelError(f"{url} did not answer in the chat-completions shape "
                         f"(no choices[0].message): {response.text[:300]}") from None
    usage = data.get("usage") or {}
    return Reply(text=message.get("content") or "", tool_calls=list(message.get("tool_calls") or []),
                 raw=data, prompt_tokens=usage.get("prompt_tokens"),
                 completion_tokens=usage.get("completion_tokens"))

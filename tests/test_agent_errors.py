"""`workprint agent run` when things go wrong: the endpoint, --max-steps, a wrong command; and
`--format tools`. Each ends with a clear message and the run recorded, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import actions_json, workprint
from workprint.demo.model_server import Scripted, ScriptedModelServer
from workprint.store import SessionReader


@pytest.fixture(scope="module")
def pad(desk):
    desk.spawn(["mousepad"])
    wid = desk.wait_window("mousepad")
    desk.xdotool("windowsize", wid, 900, 700)
    desk.xdotool("windowmove", wid, 100, 100)
    desk.activate(wid)
    x, y, w, h = desk.geometry(wid)
    return x + w // 2, y + h // 2


def _run(desk, env, url, *extra):
    return workprint("agent", "run", "--task", "type a word", "--model", url, "--no-screen-redaction", *extra,
                     env={**desk.env, "WORKPRINT_HOME": env["WORKPRINT_HOME"]}, check=False)


def test_unreachable_endpoint_ends_the_run_with_a_clear_error(desk, env, pad):
    out = _run(desk, env, "http://127.0.0.1:9/v1")
    assert out.returncode == 2
    assert "cannot reach http://127.0.0.1:9/v1/chat/completions" in out.stderr and "tried 4 times" in out.stderr
    assert "Traceback" not in out.stderr
    sessions = [json.loads(line) for line in workprint("sessions", "--json", env=env).stdout.splitlines()]
    assert sessions and sessions[0]["status"] == "finished"  # the run is recorded, and closed


def test_failing_endpoint_is_retried_then_ends(desk, env, pad):
    with ScriptedModelServer([Scripted(status=503)]) as server:
        out = _run(desk, env, server.url)
        assert len(server.requests) == 4  # one try and three retries
    assert out.returncode == 2 and "HTTP 503" in out.stderr and "Traceback" not in out.stderr


def test_max_steps_ends_with_fail(desk, env, pad):
    x, y = pad
    with ScriptedModelServer([f"```python\npyautogui.click(x={x}, y={y})\n```"]) as server:
        out = _run(desk, env, server.url, "--max-steps", "2")
        assert len(server.requests) == 2
    assert out.returncode == 0, out.stderr
    assert "--max-steps 2" in out.stderr
    agent = [a["type"] for a in actions_json(env) if a["source"] == "agent"]
    assert agent == ["click", "click"]  # two steps, two clicks (not merged into a double click)
    session = workprint("sessions", "--json", env=env).stdout.splitlines()[0]
    events = SessionReader(Path(env["WORKPRINT_HOME"]), json.loads(session)["id"]).events()
    assert [e["status"] for e in events if e["kind"] == "agent_end"] == ["fail"]


def test_tool_calls_format(desk, env, pad):
    x, y = pad
    replies = [{"tool_calls": [{"function": {"name": "click", "arguments": json.dumps({"x": x, "y": y})}}]},
               {"tool_calls": [{"function": {"name": "type", "arguments": json.dumps({"text": "tools"})}}]},
               {"tool_calls": [{"function": {"name": "done", "arguments": "{}"}}]}]
    with ScriptedModelServer(replies) as server:
        out = _run(desk, env, server.url, "--format", "tools")
        assert all(r.get("tools") for r in server.requests)
    assert out.returncode == 0, out.stderr
    agent = [(a["type"], a.get("text")) for a in actions_json(env) if a["source"] == "agent"]
    assert agent[:2] == [("click", None), ("type", "tools")]


def test_resume_and_stop_without_a_run(env):
    for action in ("resume", "stop"):
        out = workprint("agent", action, env=env, check=False)
        assert out.returncode == 2 and "no agent run is going on" in out.stderr


def test_model_must_be_a_url(desk, env):
    out = _run(desk, env, "localhost:8000")
    assert out.returncode == 2 and "is not a URL" in out.stderr

"""`workprint agent run` when things go wrong: the endpoint, --max-steps, a wrong command; and
`--format tools`. Each ends with a clear message and the run recorded, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import actions_json, workprint
from workprint.demo.model_server import Scripted, ScriptedModelServer
from workprint.demo.recording import accept_consent
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
    accept_consent(env)  # the run records its own session: as `workprint record`, it needs an agreement
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


def test_deny_list_holds_during_a_takeover(desk, env, pad):
    """The person takes over and types a secret into an xterm (not allowed): nothing of it is kept."""
    import subprocess
    import sys
    import threading
    import time

    from tests.conftest import XTERM_SECRET

    desk.spawn(["xterm", "-geometry", "50x8+1300+700", "-title", "scratch"])
    term = desk.wait_window("xterm")
    asked, acted = threading.Event(), threading.Event()

    def reply(request):
        if not asked.is_set():
            asked.set()
            acted.wait(30)  # in flight during the takeover: never executed
            return "```python\npyautogui.write(message='never typed')\n```"
        return "```python\ncomputer.terminate(status='success')\n```"

    run_env = {**desk.env, "WORKPRINT_HOME": env["WORKPRINT_HOME"]}
    policy = _policy(env)
    accept_consent(run_env, Path(policy))
    with ScriptedModelServer(reply) as server:
        proc = subprocess.Popen([sys.executable, "-m", "workprint", "agent", "run", "--task", "t", "--model", server.url,
                                 "--policy", policy], env=run_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert asked.wait(60)
        desk.activate(term)
        x, y, w, h = desk.geometry(term)
        desk.xdotool("mousemove", x + w // 2, y + h // 2)
        desk.xdotool("click", 1)
        desk.xdotool("type", "--delay", 40, f"echo {XTERM_SECRET}\n")
        acted.set()
        time.sleep(1.0)
        workprint("agent", "resume", env=run_env)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    session = out.strip().splitlines()[-1]
    events = SessionReader(Path(env["WORKPRINT_HOME"]), session).events()
    assert XTERM_SECRET not in json.dumps(events) and "never typed" not in json.dumps([e for e in events
                                                                                     if e["kind"] == "typed"])
    assert [e["trigger"] for e in events if e["kind"] == "takeover"] == ["human_input"]
    (record,) = [json.loads(line) for line in workprint("interventions", session, "--json", env=env).stdout.splitlines()]
    assert record["human_actions"] == [] and record["proposed"]["executed"] is False
    assert not [a for a in actions_json(env, session) if a.get("app") == "xterm"]


def _policy(env) -> str:
    path = Path(env["WORKPRINT_HOME"]) / "policy.toml"
    path.write_text('[apps]\nallow = ["mousepad"]\n')
    return str(path)


def test_agent_typing_is_never_taken_for_the_person(desk, env, pad):
    """Shifted characters, symbols and a character with no key in the keymap (typed through a
    spare key code) are all recognised as the agent's own input: no false takeover."""
    x, y = pad
    text = "Café @ 10:30 {ok}? ~"
    replies = [f"```python\npyautogui.click(x={x}, y={y})\npyautogui.write(message={text!r})\n"
               "pyautogui.hotkey('ctrl', 'z')\n```", "```python\ncomputer.terminate(status='success')\n```"]
    with ScriptedModelServer(replies) as server:
        out = _run(desk, env, server.url)
    assert out.returncode == 0, out.stderr
    assert "0 intervention(s)" in out.stderr, out.stderr
    actions = actions_json(env)
    assert [(a["source"], a["type"]) for a in actions] == [("agent", "click"), ("agent", "type"), ("agent", "hotkey")]
    assert actions[1]["text"] == text

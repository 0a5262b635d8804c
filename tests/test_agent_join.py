"""`workprint agent run` joining a `workprint record` that is already running (another process).

Real parts: the recorder is `workprint record` under Xvfb, the agent is `workprint agent run`
against a scripted OpenAI-compatible server on 127.0.0.1, xdotool plays the person. The joined
run plays the same scenario as the in-process one (tests/test_agent.py): a takeover while a
planted mistake is in flight, a call_user, a refused action; then the error cases: a second
agent, a --policy other than the recording's, the agent's process killed, the recorder killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import actions_json, workprint
from workprint.demo.agent_scenario import CORRECTION, EMAIL, MISTAKE, SOURCES, AgentScenario, open_desktop_apps
from workprint.demo.model_server import ScriptedModelServer
from workprint.demo.recording import Recording
from workprint.store import SessionReader

DONE = "Done.\n```python\ncomputer.terminate(status='success')\n```"


def _policy(home: Path, apps: str) -> Path:
    path = home / f"policy-{apps}.toml"
    path.write_text(f'[apps]\nallow = ["{apps}"]\n')
    return path


def _agent(env: dict[str, str], url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workprint", "agent", "run", "--task", "Write a line",
                             "--model", url, "--max-steps", "5", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Gate:
    """A model that answers each turn only once the test lets it (``release``)."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.asked = threading.Semaphore(0)
        self.go = threading.Semaphore(0)
        self.turn = 0

    def __call__(self, request: dict) -> str:
        turn, self.turn = self.turn, self.turn + 1
        self.asked.release()
        self.go.acquire(timeout=60)
        return self.replies[min(turn, len(self.replies) - 1)]

    def wait_asked(self) -> None:
        assert self.asked.acquire(timeout=60), "the agent never asked the model"


@pytest.fixture(scope="module")
def desk_apps(desk):
    return desk, *open_desktop_apps(desk)


@pytest.fixture(scope="module")
def joined(desk_apps, tmp_path_factory):
    """The scenario of test_agent.py, played by an agent joining a running `workprint record`."""
    desk, pad, term = desk_apps
    home = tmp_path_factory.mktemp("join-home")
    policy = _policy(home, "mousepad")
    rec = Recording(desk, home, policy)
    try:
        scenario = AgentScenario(desk, home, policy, pad, term)
        code, out, err = scenario.play()
    finally:
        rec_code, rec_out, rec_err = rec.stop()
    assert code == 0, err
    assert rec_code == 0, rec_err
    session = out.strip().splitlines()[-1]
    env = scenario.env
    return {"env": env, "home": home, "session": session, "stderr": err, "recorder_session":
            rec_out.strip().splitlines()[-1], "recorder_stderr": rec_err, "requests": scenario.server.requests,
            "actions": actions_json(env, session),
            "events": SessionReader(home, session).events(),
            "interventions": [json.loads(line) for line in
                              workprint("interventions", session, "--json", env=env).stdout.splitlines()]}


def test_the_run_joins_the_running_recording(joined):
    assert joined["session"] == joined["recorder_session"]
    assert f"joining the recording running now, session {joined['session']}" in joined["stderr"]
    assert "the recording's policy: policy-mousepad.toml" in joined["stderr"]
    kinds = [e["kind"] for e in joined["events"]]
    assert kinds.count("agent_start") == 1 and kinds.count("agent_end") == 1
    assert [e["status"] for e in joined["events"] if e["kind"] == "agent_end"] == ["done"]
    assert "warning" not in joined["recorder_stderr"], joined["recorder_stderr"]


def test_every_action_has_the_right_source(joined):
    got = [(a["source"], a["type"], a.get("text")) for a in joined["actions"]]
    assert got == SOURCES, got
    for action in joined["actions"]:
        assert ("model" in action) == (action["source"] == "agent")


def test_intervention_records(joined):
    records = joined["interventions"]
    assert [(r["trigger"], r["handback"]) for r in records] == [
        ("human_input", "resume"), ("call_user", "resume"), ("refused_app", "resume")]
    takeover, ask, refused = records
    assert takeover["agent_actions"] == [0, 1] and takeover["human_actions"] == [2, 3, 4]
    assert takeover["proposed"]["text"] == MISTAKE and takeover["proposed"]["executed"] is False
    assert takeover["task"] == "Write two lines in the editor" and takeover["model"] == "scripted-model"
    assert takeover["frame"] and takeover["t"] < takeover["t_end"]
    assert ask["human_actions"] == [7]
    assert refused["app"] == "xterm" and refused["proposed"]["executed"] is False


def test_no_agent_input_during_a_takeover(joined):
    events = joined["events"]
    agent_inputs = [e for e in events if e.get("agent") is not None]
    assert agent_inputs
    for r in joined["interventions"]:
        inside = [e for e in agent_inputs if r["t"] <= e["t"] <= r["t_end"]]
        assert not inside, f"agent input during intervention {r['id']}: {inside}"
    assert MISTAKE not in " ".join(e.get("text", "") for e in events if e["kind"] == "typed")


def test_typing_during_the_takeover_is_redacted(joined):
    texts = [json.dumps(joined["events"]), json.dumps(joined["actions"]), json.dumps(joined["interventions"]),
             json.dumps(joined["requests"]), joined["stderr"]]
    for text in texts:
        assert EMAIL not in text and "jane.doe" not in text
    typed = [e["text"] for e in joined["events"] if e["kind"] == "typed" and e.get("agent") is None]
    assert CORRECTION.replace(EMAIL, "[EMAIL]") in typed


@pytest.fixture(scope="module")
def refusals(desk_apps, tmp_path_factory):
    """One recording; while an agent is joined, a second one tries; one with another --policy
    before; an agent killed mid-run; and one more that joins after it, ended by `agent stop`."""
    desk, pad, _ = desk_apps
    home = tmp_path_factory.mktemp("refusals-home")
    policy = _policy(home, "mousepad")
    rec = Recording(desk, home, policy)
    env = rec.env
    link_path = home / "run" / "agent.sock"  # (workprint.agent.link imports the input hooks: a display)
    out: dict = {"home": home, "env": env, "link_mode": link_path.stat().st_mode & 0o777,
                 "run_mode": link_path.parent.stat().st_mode & 0o777}
    try:
        out["resume_before"] = workprint("agent", "resume", env=env, check=False)
        with ScriptedModelServer([DONE]) as quick:
            other = workprint("agent", "run", "--task", "t", "--model", quick.url, "--policy",
                              str(_policy(home, "xterm")), env=env, check=False)
            out["other_policy"] = (other.returncode, other.stderr)
            gate = Gate([DONE])
            with ScriptedModelServer(gate) as server:
                first = _agent(env, server.url, "--policy", str(policy))
                gate.wait_asked()  # joined, and in its first model call
                second = workprint("agent", "run", "--task", "t", "--model", quick.url, env=env, check=False)
                out["second"] = (second.returncode, second.stderr)
                gate.go.release()
                out["first"] = (first.wait(60), first.communicate()[1])
            gate = Gate([DONE])
            with ScriptedModelServer(gate) as server:
                doomed = _agent(env, server.url)
                gate.wait_asked()
                doomed.kill()
                doomed.wait(30)
                gate.go.release()
            desk.activate(pad)
            desk.xdotool("type", "--delay", 40, "after the agent")
            time.sleep(1.0)
            gate = Gate([DONE])
            with ScriptedModelServer(gate) as server:
                again = _agent(env, server.url)  # joins once the killed run is let go
                gate.wait_asked()
                workprint("agent", "stop", env=env)
                time.sleep(1.5)  # the recorder reads commands every 0.2 s
                gate.go.release()
                out["again"] = (again.wait(60), again.communicate()[1])
        out["stop_after"] = workprint("agent", "stop", env=env, check=False)
    finally:
        code, stdout, err = rec.stop()
    assert code == 0, err
    out["session"] = stdout.strip().splitlines()[-1]
    out["events"] = SessionReader(home, out["session"]).events()
    return out


def test_a_policy_other_than_the_recordings_is_refused(refusals):
    code, err = refusals["other_policy"]
    assert code == 2
    assert f"recording running (session {refusals['session']}) records under policy 'policy-mousepad.toml'" in err
    assert "leave out --policy" in err


def test_the_link_is_a_socket_only_this_person_can_open(refusals):
    assert refusals["link_mode"] == 0o600 and refusals["run_mode"] == 0o700


def test_a_second_agent_is_refused_while_one_is_joined(refusals):
    code, err = refusals["second"]
    assert code == 2 and f"an agent run is already going on in recording session {refusals['session']}" in err
    code, err = refusals["first"]
    assert code == 0 and "done after 1 step(s)" in err


def test_a_killed_agent_process_ends_its_run_in_the_log(refusals):
    events = refusals["events"]
    ends = [e for e in events if e["kind"] == "agent_end"]
    assert [e["status"] for e in ends] == ["done", "fail", "stopped"]  # the first, the killed, the next
    assert "the agent's process ended without ending its run" in ends[1]["error"]
    # After it, the person's typing is theirs (not tagged as the agent's), and a new run can join.
    after = [e for e in events if e["kind"] == "typed" and e["t"] > ends[1]["t"]]
    assert [(e["text"], e.get("agent")) for e in after] == [("after the agent", None)]


def test_agent_resume_and_stop_refuse_while_no_agent_is_joined(refusals):
    """A recording with no agent in it: `agent resume|stop` say so instead of claiming success."""
    for out in (refusals["resume_before"], refusals["stop_after"]):
        assert out.returncode == 2 and "no agent run is going on" in out.stderr, out.stderr
    assert not (refusals["home"] / "run" / "agent-run").exists()


def test_a_new_run_joins_after_it_and_agent_stop_ends_it(refusals):
    code, err = refusals["again"]
    assert code == 0 and "stopped after 1 step(s), 0 action(s)" in err, err
    starts = [e for e in refusals["events"] if e["kind"] == "agent_start"]
    handbacks = [e for e in refusals["events"] if e["kind"] == "handback"]
    assert len(starts) == 3 and handbacks == []  # `agent stop` while the agent had control: no takeover


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["killed", "stopped"])
def test_the_agent_stops_when_the_recording_ends_mid_run(desk, tmp_path, sig):
    """The recorder killed, or stopped with Ctrl-C, while the model answers: the agent must not act."""
    home = tmp_path / "home"
    home.mkdir()
    target = tmp_path / "typed.txt"
    title = f"cat sink {sig.name}"
    desk.spawn(["xterm", "-geometry", "60x8+40+900", "-title", title, "-e", "sh", "-c", f"cat > {target}"])
    time.sleep(1.0)
    wid = int(desk.xdotool("search", "--onlyvisible", "--name", title).splitlines()[-1])
    policy = _policy(home, "xterm")
    rec = Recording(desk, home, policy)
    desk.activate(wid)
    gate = Gate(["```python\npyautogui.write(message='unrecorded\\n')\n```", DONE])
    with ScriptedModelServer(gate) as server:
        agent = _agent(rec.env, server.url)
        gate.wait_asked()  # joined, and waiting for the model
        rec.proc.send_signal(sig)
        rec_out, _ = rec.proc.communicate(timeout=60)
        gate.go.release()
        gate.go.release()
        _, err = agent.communicate(timeout=60)
    assert agent.returncode == 2, err
    assert "the agent run ended with an error: the recording (session" in err
    assert "ended during the run; the agent stopped, so nothing it does goes unrecorded" in err
    desk.activate(wid)
    desk.xdotool("key", "ctrl+d")  # cat ends, the file is complete
    time.sleep(0.5)
    assert target.exists() and "unrecorded" not in target.read_text()
    if sig == signal.SIGINT:  # stopped cleanly: the run's end is in the session
        events = SessionReader(home, rec_out.strip().splitlines()[-1]).events()
        ends = [e for e in events if e["kind"] == "agent_end"]
        assert [(e["status"], e["error"]) for e in ends] == [("stopped", "the recording was stopped during the run")]

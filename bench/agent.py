"""What an agent run costs and how fast the person gets control.

On a 1920x1080 virtual desktop with mousepad, the real recorder and the real agent loop run
in this process (as `workprint agent run` runs them) against a scripted model server in a
child process that answers after ``--think`` seconds. Prints:

* **takeover latency**: from the person's first input event (the input hook's timestamp) to
  the agent being paused, over ``--takeovers`` takeovers played with xdotool while the agent
  types; and how many agent input events were recorded after a takeover (must be 0);
* **our overhead per step**, excluding the model's time: screenshot -> request sent, and reply
  received -> action executed and recorded, for click steps, with and without OCR masking of
  the screenshot;
* **recorder CPU** (all threads but the agent's, user+sys over wall) during an agent run;
* **takeover latency across processes** (``--only joined``): the recorder is `workprint record` in
  its own process and the agent here joins it over the agent link, as `workprint agent run` does
  when a recording is running; "paused" is when the agent's process has heard of the takeover.

    .venv/bin/python bench/agent.py [--takeovers 20] [--steps 30] [--think 0.5] [--only joined]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from workprint.demo.desktop import VirtualDesktop

SERVER = r"""
import json, sys, time
from workprint.demo.model_server import ScriptedModelServer
replies = json.loads(sys.argv[1]); think = float(sys.argv[2])
def reply(request):
    time.sleep(think)
    return replies[len(server.requests) % len(replies)]
server = ScriptedModelServer(reply)
with server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def cpu_of(task: str) -> float:
    fields = Path(task, "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads_cpu(exclude: set[int]) -> float:
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) not in exclude:
            try:
                total += cpu_of(str(task))
            except (OSError, IndexError):
                pass
    return total


class Server:
    def __init__(self, replies: list[str], think: float, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(replies), str(think)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def agent_session(desk: VirtualDesktop, home: Path, replies: list[str], think: float, steps: int,
                  redact: bool, person=None, injected: list | None = None):
    """Run the recorder + agent in this process; returns (result, channel, recorder, cpu share of the recorder)."""
    os.environ.update(desk.env)
    os.environ["WORKPRINT_HOME"] = str(home)
    from workprint.capture import open_backend
    from workprint.capture.indicator import Indicator
    from workprint.agent.runner import AgentRun
    from workprint.model import ChatClient
    from workprint.privacy.policy import Policy
    from workprint.recorder import Recorder

    policy_file = home / "policy.toml"
    policy_file.write_text('[apps]\nallow = ["mousepad"]\n')
    backend = open_backend()
    recorder = Recorder(home, backend, Policy.load(str(policy_file)), indicator=Indicator(enabled=False))
    server = Server(replies, think, {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    client = ChatClient(server.url)
    run = AgentRun(recorder, backend, client, "bench", max_steps=steps, redact_screens=redact,
                   log=lambda m: None)
    run.measure = True
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    recorder.ready.wait(30)
    time.sleep(1.0)
    helper = threading.Thread(target=person, args=(run.channel, home), daemon=True) if person else None
    main = threading.get_native_id()
    cpu0, wall0 = threads_cpu({main}), time.monotonic()
    if helper:
        helper.start()
    result = run.run()
    if injected is not None:
        injected.append(run.executor.injected)
    share = (threads_cpu({main}) - cpu0) / (time.monotonic() - wall0)
    recorder.stop()
    thread.join(30)
    client.close()
    server.close()
    return result, run.channel, recorder, share


def joined_session(desk: VirtualDesktop, home: Path, replies: list[str], think: float, steps: int, person,
                   injected: list):
    """`workprint record` in its own process, and the agent loop here joining it over the agent link
    (as `workprint agent run` does when a recording is running); returns (result, channel, session id)."""
    os.environ.update(desk.env)
    os.environ["WORKPRINT_HOME"] = str(home)
    from workprint.agent.link import join
    from workprint.agent.runner import AgentRun
    from workprint.capture import open_backend
    from workprint.demo.recording import Recording
    from workprint.model import ChatClient

    policy_file = home / "policy.toml"
    policy_file.write_text('[apps]\nallow = ["mousepad"]\n')
    recording = Recording(desk, home, policy_file)
    channel = join(home)
    backend = open_backend()
    server = Server(replies, think, {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    client = ChatClient(server.url)
    run = AgentRun(None, backend, client, "bench", max_steps=steps, redact_screens=False, log=lambda m: None,
                   channel=channel)
    run.measure = True
    time.sleep(1.0)
    if person is not None:
        threading.Thread(target=person, args=(channel, home), daemon=True).start()
    result = run.run()
    injected.append(run.executor.injected)
    channel.close()
    client.close()
    server.close()
    code, out, err = recording.stop()
    if code != 0:
        raise RuntimeError(f"workprint record failed: {err}")
    return result, channel, out.strip().splitlines()[-1]


def takeover_bench(desk: VirtualDesktop, args: argparse.Namespace, long_write: str, joined: bool) -> None:
    end_to_end: list[float] = []
    resumes: list[float] = []  # when the person handed back (monotonic)

    def person(channel, home):
        from workprint.home import send_control

        for _ in range(args.takeovers):
            while not channel.may_act():
                time.sleep(0.01)
            time.sleep(0.6)  # the agent is typing by now
            t0 = time.monotonic()
            desk.xdotool("key", "ctrl+End")
            deadline = time.monotonic() + 5
            while channel.may_act() and time.monotonic() < deadline:
                time.sleep(0.0005)
            end_to_end.append(channel.takeover_times[-1] - t0)
            time.sleep(0.5)
            resumes.append(time.monotonic())
            send_control(home, {"command": "agent_resume"})
            time.sleep(0.3)
        channel.send("stop")

    executor_injected: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if joined:
            result, channel, session = joined_session(desk, Path(tmp), [long_write], 0.05, 10_000, person,
                                                      executor_injected)
        else:
            result, channel, recorder, _ = agent_session(desk, Path(tmp), [long_write], 0.05, 10_000, False,
                                                         person=person, injected=executor_injected)
            session = recorder.session_id
        from workprint.store import SessionReader

        events = SessionReader(Path(tmp), session).events()
    lat = [1000 * v for v in channel.latencies]
    takeovers = [e for e in events if e["kind"] == "takeover"]
    handbacks = [e for e in events if e["kind"] == "handback"]
    # Events are written in the order the input hook classified them, and the takeover right
    # after the person's event that caused it: anything of the agent's written between a
    # takeover and its handback came after the pause.
    after = sum(1 for tk, hb in zip(takeovers, handbacks) for e in events
                if e.get("agent") is not None and tk["id"] < e["id"] < hb["id"])
    late = [g for p, r in zip(channel.takeover_times, resumes) for g in executor_injected[0] if p < g < r]
    where = ("agent joined to `workprint record` in another process; paused = the agent's process knows"
             if joined else "recorder and agent in one process")
    print(f"takeover latency ({where}), first person input event -> agent paused, {len(lat)} takeovers: "
          f"median {statistics.median(lat):.2f} ms, p95 {pct(lat, 95):.2f} ms, max {max(lat):.2f} ms; "
          f"agent input events after the person's first input: {after}, gestures the agent began after it was "
          f"paused: {len(late)}; run {result.status}")
    e2e = [1000 * v for v in end_to_end]
    print(f"  from starting `xdotool key` (process start, X server, XRecord delivery included) -> agent paused: "
          f"median {statistics.median(e2e):.1f} ms, p95 {pct(e2e, 95):.1f} ms")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--takeovers", type=int, default=20)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--think", type=float, default=0.5, help="the model's time per answer (s)")
    parser.add_argument("--only", choices=["overhead", "takeover", "joined"], help="one part only")
    args = parser.parse_args()
    with VirtualDesktop() as desk:
        desk.spawn(["mousepad"])
        wid = desk.wait_window("mousepad")
        desk.xdotool("windowsize", wid, 1400, 900)
        desk.xdotool("windowmove", wid, 200, 100)
        desk.activate(wid)
        x, y, w, h = desk.geometry(wid)
        cx, cy = x + w // 2, y + h // 2
        click = f"```python\npyautogui.click(x={cx}, y={cy + 100})\n```"
        long_write = "```python\npyautogui.write(message='" + "the agent keeps typing a long line " * 6 + "')\n```"

        # 1. Overhead per step (click steps), with and without OCR masking of the screenshot.
        for redact in ((False, True) if args.only in (None, "overhead") else ()):
            with tempfile.TemporaryDirectory() as tmp:
                result, _, _, share = agent_session(desk, Path(tmp), [click], args.think, args.steps, redact)
            t = result.timings[1:]  # the first step warms up (OCR models load)
            look = [1000 * (s["sent"] - s["start"]) for s in t]
            act = [1000 * (s["done"] - s["received"]) for s in t]
            total = [a + b for a, b in zip(look, act)]
            print(f"overhead per click step ({'with' if redact else 'without'} OCR masking), {len(t)} steps: "
                  f"screenshot->sent median {statistics.median(look):.1f} ms (p95 {pct(look, 95):.1f}), "
                  f"reply->executed+recorded median {statistics.median(act):.1f} ms (p95 {pct(act, 95):.1f}), "
                  f"total median {statistics.median(total):.1f} ms")
            if not redact:  # (with OCR, onnxruntime's worker threads would count as the recorder's)
                print(f"recorder CPU during the agent run (model think {args.think}s, a click per step): "
                      f"{share * 100:.2f} % of one core")

        if args.only in (None, "joined"):  # the same, the agent joined to `workprint record`, without OCR
            with tempfile.TemporaryDirectory() as tmp:
                result, _, _ = joined_session(desk, Path(tmp), [click], args.think, args.steps, None, [])
            t = result.timings[1:]
            look = [1000 * (s["sent"] - s["start"]) for s in t]
            act = [1000 * (s["done"] - s["received"]) for s in t]
            print(f"overhead per click step (joined to `workprint record`, without OCR masking), {len(t)} steps: "
                  f"screenshot->sent median {statistics.median(look):.1f} ms (p95 {pct(look, 95):.1f}), "
                  f"reply->executed+recorded median {statistics.median(act):.1f} ms (p95 {pct(act, 95):.1f})")

        # 2. Takeover latency: the person presses a key while the agent types; handed back each time.
        if args.only in (None, "takeover"):
            takeover_bench(desk, args, long_write, joined=False)
        # 3. The same with the recorder in its own process (`workprint record`), the agent joined.
        if args.only in (None, "joined"):
            takeover_bench(desk, args, long_write, joined=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

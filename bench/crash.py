"""What a kill -9 at a random moment loses: N kills of `workprint record` while someone types.

Each round starts the real recorder on a virtual desktop with mousepad focused, types one
character every 0.1 s with xdotool (the bench notes when each was sent, on the system's
monotonic clock, which the recorder uses too), and kills the recorder with SIGKILL at a random
moment 1 to 6 s into the typing. The typing continues past the kill, so the run in progress is
never ended by a pause. The next round's start recovers what the killed one left (a last short
recording recovers the last round), and then each session is read back as a user would
(`workprint actions SESSION --json`). Seconds lost for a kill = kill time minus the time the first
character after the last one kept was sent (0 when everything typed before the kill is kept).

    .venv/bin/python bench/crash.py --kills 50 --seed 0
    PYTHONPATH=<other checkout>/src .venv/bin/python bench/crash.py --kills 10   # compare another version
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.recording import Recording

TEXT = "the quick brown fox jumps over the lazy dog and then walks home slowly "
PERIOD_S = 0.1


def typed_text(env: dict, session: str) -> str:
    out = subprocess.run([sys.executable, "-m", "workprint", "actions", session, "--json"], env=env,
                         capture_output=True, text=True, timeout=120)
    return "".join(json.loads(line).get("text", "") for line in out.stdout.splitlines()
                   if json.loads(line)["type"] == "type")


def wait_started(home: Path, before: int) -> None:
    """Until the new recorder has created its session (on a loaded machine it can take seconds)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((home / "sessions").glob("*"))) <= before:
        time.sleep(0.1)
    time.sleep(0.5)  # its input hooks start right after


def round_(desk: VirtualDesktop, home: Path, rng: random.Random) -> dict:
    before = len(list((home / "sessions").glob("*")))
    rec = Recording(desk, home)
    wait_started(home, before)
    kill_after = rng.uniform(1.0, 6.0)
    sent: list[float] = []
    stop = threading.Event()

    def typist() -> None:
        i = 0
        next_t = time.monotonic()
        while not stop.is_set():
            sent.append(time.monotonic())
            desk.xdotool("type", TEXT[i % len(TEXT)])
            i += 1
            next_t += PERIOD_S
            time.sleep(max(0.0, next_t - time.monotonic()))

    thread = threading.Thread(target=typist)
    thread.start()
    time.sleep(kill_after)
    killed_at = time.monotonic()
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait(timeout=10)
    time.sleep(0.3)
    stop.set()
    thread.join()
    desk.xdotool("key", "Return")
    return {"env": rec.env, "killed_at": killed_at, "sent": sent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="workprint-bench-crash-"))
    rounds = []
    with VirtualDesktop() as desk:
        desk.spawn(["mousepad"])
        pad = desk.wait_window("mousepad")
        time.sleep(1.0)
        desk.activate(pad)
        x, y, w, h = desk.geometry(pad)
        desk.xdotool("mousemove", x + w // 2, y + h // 2)
        desk.xdotool("click", 1)
        for n in range(args.kills):
            rounds.append(round_(desk, home, rng))
            print(f"kill {n + 1}/{args.kills}", file=sys.stderr, flush=True)
        # One more start recovers the last killed session (it exits by itself once started).
        subprocess.run([sys.executable, "-m", "workprint", "record", "--quiet", "--duration", "1"],
                       env={**desk.env, "WORKPRINT_HOME": str(home)}, capture_output=True, timeout=300)
    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    sessions = [json.loads(line)["id"] for line in subprocess.run(
        [sys.executable, "-m", "workprint", "sessions", "--json"], env=env, capture_output=True, text=True,
        timeout=120).stdout.splitlines()]
    lost, late = [], []
    for info, session in zip(rounds, sessions):
        kept = typed_text(env, session)
        typed = "".join(TEXT[i % len(TEXT)] for i in range(len(info["sent"])))
        before_kill = sum(1 for t in info["sent"] if t < info["killed_at"])
        # Where the kept text ends in what was typed: its last characters are unique in the typed
        # text (shorter than the sentence repeats). The first characters of a round can be missed
        # because the recorder was still starting (its hooks come up after `Recording` returns on a
        # loaded machine); that is counted apart, since it is not what a kill loses.
        tail = kept[-12:]
        at = typed.rfind(tail) if tail else -1
        end = at + len(tail) if at >= 0 else 0
        late.append(typed.find(kept[:12]) if kept else before_kill)
        lost.append(0.0 if end >= before_kill else info["killed_at"] - info["sent"][end])
    raw = [{"session": s, "kept": typed_text(env, s), "killed_at": r["killed_at"], "sent": r["sent"]}
           for r, s in zip(rounds, sessions)]
    (home / "crash-rounds.json").write_text(json.dumps(raw))
    print(f"rounds: {home / 'crash-rounds.json'}", file=sys.stderr)
    print(f"kills: {len(lost)}")
    print(f"seconds lost: median {statistics.median(lost):.2f}, worst {max(lost):.2f}, "
          f"mean {statistics.mean(lost):.2f}")
    print(f"kills that lost more than 1 s: {sum(1 for s in lost if s > 1.0)}")
    print("all:", " ".join(f"{s:.2f}" for s in lost))
    print(f"characters missed at the start (recorder still starting): median {statistics.median(late)}, "
          f"worst {max(late)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

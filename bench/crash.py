"""What a kill -9 at a random moment loses: N kills of `workprint record` while someone types.

Each round starts the real recorder on a virtual desktop with mousepad focused, types one
character every 0.1 s with xdotool (the bench notes when each was sent, on the system's
monotonic clock, which the recorder uses too), and kills the recorder with SIGKILL at a random
moment 1 to 6 s into the typing. The typing continues past the kill, so the run in progress is
never ended by a pause. The next round's start recovers what the killed one left (a last short
recording recovers the last round), and then each session is read back as a user would
(`workprint actions SESSION --json`). Seconds lost for a kill = kill time minus the time the first
character missing from the session was sent (0 when nothing typed before the kill is missing).

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


def round_(desk: VirtualDesktop, home: Path, rng: random.Random) -> dict:
    rec = Recording(desk, home)
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
        code, _, err = Recording(desk, home).stop()  # its start recovers the last killed session
        if code != 0:
            print(err, file=sys.stderr)
    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    sessions = [json.loads(line)["id"] for line in subprocess.run(
        [sys.executable, "-m", "workprint", "sessions", "--json"], env=env, capture_output=True, text=True,
        timeout=120).stdout.splitlines()]
    lost = []
    for info, session in zip(rounds, sessions):
        kept = typed_text(env, session)
        typed = "".join(TEXT[i % len(TEXT)] for i in range(len(info["sent"])))
        prefix = 0
        while prefix < min(len(kept), len(typed)) and kept[prefix] == typed[prefix]:
            prefix += 1
        before_kill = sum(1 for t in info["sent"] if t < info["killed_at"])
        lost.append(0.0 if prefix >= before_kill else info["killed_at"] - info["sent"][prefix])
    print(f"kills: {len(lost)}")
    print(f"seconds lost: median {statistics.median(lost):.2f}, worst {max(lost):.2f}, "
          f"mean {statistics.mean(lost):.2f}")
    print(f"kills that lost more than 1 s: {sum(1 for s in lost if s > 1.0)}")
    print("all:", " ".join(f"{s:.2f}" for s in lost))
    return 0


if __name__ == "__main__":
    sys.exit(main())

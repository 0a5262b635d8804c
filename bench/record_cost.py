"""What recording costs: CPU of the recorder, bytes per active minute, and frame timing.

Plays a scripted workload at human pace (typing ~5 characters a second, pointer paths,
clicks, scrolls, menu use) on a 1920x1080 virtual screen while `workprint record` runs as
its own process, then prints:

* the recorder's CPU time over wall time (share of one core),
* bytes written per active minute (events and frames separately),
* for each action, how old its frame is (action start - frame grab) and how long after the
  action the frame after it was grabbed.

    .venv/bin/python bench/record_cost.py [--seconds 120] [--runs 1] [--idle 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.recording import Recording
from workprint.process import derive_actions
from workprint.store import SessionReader

WORDS = ("the quick brown fox jumps over a lazy dog while workprint records ticket ABC-42 "
         "release notes for version 2.3 are due on friday").split()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def workload(desk: VirtualDesktop, wid: int, seconds: float, rng: random.Random) -> None:
    x, y, w, h = desk.geometry(wid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        # A pointer path to somewhere in the text, then a click.
        tx, ty = x + rng.randint(40, w - 40), y + rng.randint(80, h - 40)
        for step in range(1, 11):
            desk.xdotool("mousemove", tx - (10 - step) * 8, ty - (10 - step) * 5)
            time.sleep(0.016)
        desk.xdotool("click", 1)
        time.sleep(0.4)
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + ". "
        desk.xdotool("type", "--delay", 200, sentence)
        time.sleep(1.2)
        roll = rng.random()
        if roll < 0.3:
            desk.xdotool("click", "--repeat", 3, "--delay", 80, rng.choice((4, 5)))
        elif roll < 0.45:
            desk.xdotool("key", "Return")
        elif roll < 0.55:
            desk.xdotool("key", "ctrl+z")
        time.sleep(0.8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat on fresh desktops; the CPU of each is printed")
    parser.add_argument("--idle", type=float, default=0.0, metavar="SECONDS",
                        help="first measure the recorder on the idle desktop (cursor blinking) this long")
    args = parser.parse_args()
    shares = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"--- run {run + 1} of {args.runs}")
        shares.append(one_run(args.seconds, args.idle))
    if args.runs > 1:
        print(f"recorder CPU over {args.runs} runs: mean {statistics.mean(shares) * 100:.2f}%, "
              f"min {min(shares) * 100:.2f}%, max {max(shares) * 100:.2f}% of one core (goal <= 3%)")
    return 0


def one_run(seconds: float, idle: float = 0.0) -> float:
    """One recorded workload; prints its figures and returns the recorder's share of a core."""
    rng = random.Random(7)
    home = Path(tempfile.mkdtemp(prefix="workprint-bench-"))
    with VirtualDesktop(1920, 1080) as desk:
        desk.spawn(["mousepad"])
        wid = desk.wait_window("mousepad")
        desk.xdotool("windowsize", wid, 1400, 900)
        desk.xdotool("windowmove", wid, 200, 80)
        time.sleep(1.0)
        desk.activate(wid)
        rec = Recording(desk, home)
        env = rec.env
        if idle > 0:
            cpu0, wall0 = cpu_seconds(rec.pid), time.monotonic()
            time.sleep(idle)
            print(f"recorder CPU, idle desktop: {(cpu_seconds(rec.pid) - cpu0) / (time.monotonic() - wall0) * 100:.2f}% "
                  f"of one core over {idle:.0f} s")
        cpu0, wall0 = cpu_seconds(rec.pid), time.monotonic()
        workload(desk, wid, seconds, rng)
        cpu1, wall1 = cpu_seconds(rec.pid), time.monotonic()
        _, out, err = rec.stop()
    session = out.strip().splitlines()[-1]
    reader = SessionReader(home, session)
    events = reader.events()
    actions = derive_actions(events)
    sdir = home / "sessions" / session
    event_bytes = sum(p.stat().st_size for p in (sdir / "events").glob("*"))
    frame_bytes = sum(p.stat().st_size for p in (sdir / "frames").glob("*"))
    row = json.loads(subprocess.run([sys.executable, "-m", "workprint", "sessions", "--json"], env=env,
                                    capture_output=True, text=True).stdout.splitlines()[-1])
    active_min = row["active_s"] / 60
    frame_t = {}
    for e in events:
        if e["kind"] == "frame":
            frame_t.setdefault(e["frame"], e["t"])
    ages = [a["t"] - frame_t[a["frame"]] for a in actions if a.get("frame") in frame_t]
    after = [frame_t[a["frame_after"]] - a["t_end"] for a in actions
             if a.get("frame_after") in frame_t and frame_t[a["frame_after"]] >= a["t_end"]]
    moves = sum(1 for e in events if e["kind"] == "move")
    cpu = (cpu1 - cpu0) / (wall1 - wall0)
    print(f"workload: {wall1 - wall0:.0f} s at human pace on 1920x1080, {len(actions)} actions, "
          f"{moves} pointer moves kept, {len(reader.frame_ids())} distinct frames stored")
    print(f"recorder CPU: {cpu * 100:.2f}% of one core on average (goal <= 3%)")
    print(f"bytes per active minute: {(event_bytes + frame_bytes) / active_min / 1e6:.2f} MB "
          f"(events {event_bytes / active_min / 1e3:.1f} kB, frames {frame_bytes / active_min / 1e6:.2f} MB; "
          f"active {row['active_s']:.0f} s)")
    if ages:
        print(f"frame before an action: median {statistics.median(ages) * 1000:.0f} ms older than the action's "
              f"first event, p95 {sorted(ages)[int(len(ages) * 0.95) - 1] * 1000:.0f} ms; never after it: "
              f"{all(a >= 0 for a in ages)}")
    if after:
        print(f"frame after an action: median {statistics.median(after) * 1000:.0f} ms after it ended")
    problems = [line for line in err.strip().splitlines() if "recording session" not in line]
    if problems:
        print("recorder stderr:", "\n".join(problems)[-500:])
    return cpu


if __name__ == "__main__":
    raise SystemExit(main())

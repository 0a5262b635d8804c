"""Annotation overhead per step, and what a run costs in tokens before it starts.

Annotates the scripted demonstration's session (recorded first if there is none) against the
scripted model server answering at once, so what is measured is workprint's side: building
each request (frame resize + PNG + data URL), the HTTP round trip, parsing, storing. Frames
are redacted before the clock starts (redaction is the exports' cost, measured in
screenshot_redaction.py). Goal: >= 10 steps/s with concurrency 8.

    .venv/bin/python bench/annotate.py [--source-home demo-output/home] [--session ID] [--repeat 3]

The session measured is the demonstration's (the home's session with the most steps), not
``latest``: after ``make demo`` that is the short agent run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workprint.demo.model_server import ScriptedModelServer
from workprint.process.pyautogui_code import to_code
from workprint.privacy.frames import RedactedFrames
from workprint.process.sessions import load_sessions
from workprint.model import ChatClient
from workprint.process.annotate import SIDECAR, annotate_session

ANSWER = json.dumps({"observation": "An editor.", "thought": "Continue.", "description": "Type.", "quality": "good"})


def answer(request: dict) -> str:
    if "write the task" in request["messages"][0]["content"]:
        return json.dumps({"instruction": "Write a note."})
    return ANSWER


def serve(urls: "multiprocessing.Queue[str]", stop: "multiprocessing.synchronize.Event") -> None:
    """The scripted server in a process of its own, as a model server is: in the measuring process
    its threads would contend with workprint's for the interpreter and slow both down."""
    with ScriptedModelServer(answer) as server:
        urls.put(server.url)
        stop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-home", default="demo-output/home")
    parser.add_argument("--session", help="session id (default: the one with the most steps)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = Path(args.source_home)
    if not (source / "catalog.sqlite").exists():
        print("recording the scripted demonstration first (python -m workprint.demo) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "workprint.demo", "--virtual"], check=True, stdout=subprocess.DEVNULL)
    home = Path(tempfile.mkdtemp(prefix="workprint-bench-annotate-")) / "home"
    shutil.copytree(source, home)
    sessions = load_sessions(home, [args.session] if args.session else [])
    session = max(sessions, key=lambda s: sum(len(e.actions) for e in s.episodes))
    frames = RedactedFrames(session)
    for action in session.actions:  # redact before the clock starts
        for key in ("frame", "frame_after"):
            if action.get(key):
                frames(action[key])
    steps = sum(len(e.actions) for e in session.episodes)
    screen = session.reader.meta.get("screen", {})
    print(f"session: {steps} steps in {len(session.episodes)} episode(s), screen {screen.get('w')}x{screen.get('h')}")
    for size in (None, "1280"):
        estimates: list[int] = []
        annotate_session(session, None, frames, to_code, image_size=size, dry_run=True,
                         show=lambda r, t: estimates.append(t) if r.kind == "step" else None)
        print(f"tokens per step (estimate, image {size or 'as recorded'}): median {statistics.median(estimates):.0f}")
    print(f"{'concurrency':>11} {'steps/s':>8} (best of {args.repeat}; server answers at once)")
    context = multiprocessing.get_context("fork")
    urls: "multiprocessing.Queue[str]" = context.Queue()
    stop = context.Event()
    server = context.Process(target=serve, args=(urls, stop), daemon=True)
    server.start()
    url = urls.get(timeout=30)
    try:
        for concurrency in (1, 8):
            rates = []
            for _ in range(args.repeat):
                (session.reader.dir / f"{SIDECAR}.sealed").unlink(missing_ok=True)
                with ChatClient(url) as client:
                    start = time.perf_counter()
                    summary = annotate_session(session, client, frames, to_code, concurrency=concurrency)
                    elapsed = time.perf_counter() - start
                assert summary.failed == 0 and summary.asked == steps + len(session.episodes), summary
                rates.append(steps / elapsed)
            print(f"{concurrency:>11} {max(rates):>8.1f}")
    finally:
        stop.set()
        server.join(timeout=10)
    shutil.rmtree(home.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

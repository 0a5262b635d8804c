"""Eval speed: scoring, building, and the overhead `eval run` adds per step.

* scoring: ``--predictions`` (default 100,000) predictions over every interaction type, half
  as actions, half as pyautogui code, read and scored on one core (the goal: under 10 s);
* build: a real recording (the scripted mousepad demonstration under Xvfb, recorded now) built
  into an eval set; steps per second, most of it OCR redaction of each distinct frame;
* run: ``--run-steps`` steps with 1920x1080 frames against a scripted OpenAI-compatible server
  in its own process that answers at once, at ``--concurrency`` (the goal: >= 20 steps/s at 8),
  with frames sent as recorded and resized to 1280 on the longest side.

    .venv/bin/python bench/eval.py [--predictions 100000] [--run-steps 400] [--no-build]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from workprint.evals import RunOptions, Thresholds, load_steps, read_predictions, run_eval, score
from workprint.process.pyautogui_code import to_code

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.evalset import STEPS  # noqa: E402  (the hand-made steps of every type)

SERVER = """
import sys, time
from workprint.demo.model_server import ScriptedModelServer
with ScriptedModelServer(["```python\\npyautogui.click(x=0.5, y=0.5)\\n```"], port=int(sys.argv[1])) as s:
    print(s.url, flush=True)
    while True:
        time.sleep(3600)
"""


def bench_scoring(n: int) -> dict:
    rng = random.Random(0)
    steps = []
    for i in range(n):
        episode, interaction, gold = STEPS[i % len(STEPS)]
        steps.append({"id": f"{i}", "episode": f"ep{i // 20}", "interaction": interaction, "gold": gold,
                      "screen": {"w": 1000, "h": 800}, "target": ({"bbox": gold["target"]["bbox"]}
                                                                  if "target" in gold else None)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jsonl"
        with path.open("w") as f:
            for i, s in enumerate(steps):
                gold = dict(s["gold"])
                if "x" in gold:
                    gold["x"] += rng.randint(-60, 60)
                use_code = i % 2 == 0 and s["interaction"] not in ("select", "navigate", "done")
                f.write(json.dumps({"id": s["id"], **({"code": to_code(gold)} if use_code else {"action": gold})})
                        + "\n")
        t0, c0 = time.perf_counter(), time.process_time()
        predictions = read_predictions(path, {s["id"]: s for s in steps})
        t1, c1 = time.perf_counter(), time.process_time()
        results, _ = score(steps, predictions, Thresholds())
        t2, c2 = time.perf_counter(), time.process_time()
    # CPU time as well as wall time: on a shared machine the wall clock counts other people's work.
    return {"predictions": n, "read_cpu_s": round(c1 - c0, 2), "score_cpu_s": round(c2 - c1, 2),
            "total_cpu_s": round(c2 - c0, 2), "total_wall_s": round(t2 - t0, 2),
            "step_success": results["overall"]["step_success"]}


def _frame(i: int) -> Image.Image:
    """A 1080p screen-like frame: windows, a menu bar and lines of text, different per step."""
    rng = random.Random(i)
    image = Image.new("RGB", (1920, 1080), (48, 56, 64))
    draw = ImageDraw.Draw(image)
    for w in range(3):
        x, y = rng.randint(0, 900), rng.randint(0, 500)
        draw.rectangle([x, y, x + 900, y + 520], fill=(250, 250, 250), outline=(90, 90, 90))
        draw.rectangle([x, y, x + 900, y + 28], fill=(220, 224, 230))
        for line in range(20):
            text = " ".join(rng.choice(["alpha", "ticket", "ABC-123", "report", "meeting", "9.4.1", "value"])
                            for _ in range(rng.randint(3, 12)))
            draw.text((x + 12, y + 40 + line * 22), text, fill=(20, 20, 20))
    return image


def bench_run(steps_n: int, concurrency: int, image_size: str | None) -> dict:
    from tests.conftest import _free_port

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "set"
        (d / "images").mkdir(parents=True)
        distinct = steps_n // 5  # consecutive steps share a frame, as in a real recording (70 steps, 15 frames)
        for i in range(distinct):
            _frame(i).save(d / "images" / f"{i}.png", compress_level=6)
        with (d / "steps.jsonl").open("w") as f:
            for i in range(steps_n):
                f.write(json.dumps({"id": f"s{i}", "episode": f"e{i // 10}", "interaction": "click",
                                    "instruction": "Open the report", "history": ["pyautogui.click(x=10, y=10)"] * (i % 10),
                                    "image": f"images/{i // 5}.png", "screen": {"w": 1920, "h": 1080},
                                    "gold": {"type": "click", "x": 960, "y": 540}, "target": None,
                                    "intervention": False}) + "\n")
        frame_kb = sum(p.stat().st_size for p in (d / "images").iterdir()) / distinct / 1024
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            url = server.stdout.readline().strip()
            steps = load_steps(d)
            t0, c0 = time.perf_counter(), time.process_time()
            run_eval(d, steps, Path(tmp) / "r", RunOptions(model=url, model_name="m", concurrency=concurrency,
                                                            image_size=image_size), progress=False)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            server.terminate()
            server.wait()
    return {"steps": steps_n, "concurrency": concurrency, "image_size": image_size or "as recorded",
            "frame_kb": round(frame_kb), "steps_per_s": round(steps_n / elapsed, 1),
            "ms_per_step": round(elapsed / steps_n * 1000, 1), "cpu_ms_per_step": round(cpu / steps_n * 1000, 1)}


def bench_build() -> dict:
    from workprint.demo.desktop import VirtualDesktop
    from workprint.demo.recording import Recording
    from workprint.demo.scenario import MousepadScript
    from workprint.evals import build_eval_set

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        with VirtualDesktop() as desk:
            desk.spawn(["mousepad"])
            pad = desk.wait_window("mousepad")
            time.sleep(1.0)
            rec = Recording(desk, home)
            MousepadScript(desk, pad).play()
            rec.stop()
        figures = {}
        # First build: every distinct frame OCR-read. Again: the masks kept with the session are painted.
        for run in ("first", "again"):
            t0, c0 = time.perf_counter(), time.process_time()
            summary = build_eval_set(home, [], Path(tmp) / run, progress=False)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            figures[run] = {"wall_s": round(elapsed, 2), "cpu_s": round(cpu, 2),
                            "steps_per_s": round(summary["steps"] / elapsed, 2),
                            "steps_per_cpu_s": round(summary["steps"] / cpu, 2)}
        frames = len(list((Path(tmp) / "first" / "images").rglob("*.png")))
    return {"steps": summary["steps"], "distinct_frames": frames, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--run-steps", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-build", action="store_true", help="skip the build bench (it records under Xvfb)")
    args = parser.parse_args()
    print("scoring:", json.dumps(bench_scoring(args.predictions)), flush=True)
    for size in (None, "1280"):  # client-side CPU only: the server is another process
        print("run:", json.dumps(bench_run(args.run_steps, args.concurrency, size)), flush=True)
    if not args.no_build:
        print("build:", json.dumps(bench_build()), flush=True)
    print(f"cores available: {len(os.sched_getaffinity(0))} (shared; figures are noisy)")


if __name__ == "__main__":
    main()

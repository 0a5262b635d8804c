"""Export from a collector: steps/s of `workprint export --collector` plain, and with `--ray`
on 1 and 2 local workers (the output is byte-identical; checked here too).

Starts an embedded collector, uploads ``--sessions`` sessions of ``--frames`` synthetic screen
frames (text drawn with Pillow, so the OCR redaction check has work), then exports them as
``chat``. Ray's start-up is included in its time, as a user waits for it.

    .venv/bin/python bench/collector_export.py [--sessions 2] [--frames 16]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def frame(n: int) -> bytes:
    image = Image.new("RGB", (1280, 800), "white")
    draw = ImageDraw.Draw(image)
    for line in range(12):
        draw.text((40, 40 + line * 50), f"frame {n} line {line}: quarterly report draft, cell B{line + n}",
                  fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--frames", type=int, default=16)
    args = parser.parse_args()
    from bench.collector import _enrol
    from tests.servers import Replica

    root = Path(tempfile.mkdtemp(prefix="wp-bench-export-"))
    data = root / "collector"
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        device = {"Authorization": "Bearer " + _enrol(server.url, data, 1)}
        steps = 0
        for s in range(args.sessions):
            frames, actions = {}, []
            for i in range(args.frames):
                png = frame(s * 1000 + i)
                digest = hashlib.sha256(png).hexdigest()
                httpx.put(f"{server.url}/v1/blobs/{digest}", content=png, headers=device, timeout=60)
                fid = f"{s:016x}{i:016x}"
                frames[fid] = digest
                actions.append({"id": i, "t": float(i), "t_end": i + 0.1, "app": "mousepad", "screen": {"w": 1280, "h": 800}, "type": "click", "x": 100, "y": 100 + i, "button": "left",
                                "frame": fid})
            reply = httpx.put(f"{server.url}/v1/sessions/20260101-00000{s}-00000{s}",
                              json={"meta": {"screen": [1280, 800]}, "actions": actions, "frames": frames},
                              headers=device, timeout=60)
            assert reply.status_code == 201, reply.text
            steps += len(actions)
        admin = {"Authorization": "Bearer " + (data / "admin.token").read_text().strip()}
        trainer = httpx.post(f"{server.url}/v1/tokens", json={"role": "trainer"}, headers=admin).json()["token"]
        env = {**os.environ, "WORKPRINT_HOME": str(root / "trainer"), "WORKPRINT_COLLECTOR_TOKEN": trainer}
        outputs = {}
        for name, extra, cpus in (("plain", [], "1"), ("ray, 1 worker", ["--ray"], "1"),
                                  ("ray, 2 workers", ["--ray"], "2")):
            out = root / name.replace(" ", "").replace(",", "-")
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "workprint", "export", "--collector", server.url, "--format", "chat",
                            "--out", str(out), "--quiet", *extra], env={**env, "WORKPRINT_RAY_CPUS": cpus},
                           check=False, capture_output=True, text=True)
            took = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{name}: export failed: {done.stderr[-3000:]}")
            outputs[name] = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
            print(f"[{name}] {steps} steps ({args.sessions} sessions x {args.frames} frames) in {took:.1f} s: "
                  f"{steps / took:.2f} steps/s ({os.cpu_count()} cores)", flush=True)
        same = all(o == outputs["plain"] for o in outputs.values())
        print(f"byte-identical to the plain export: {same}")
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

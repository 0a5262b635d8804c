"""Collector throughput: 50 simulated devices uploading at once over loopback, nothing lost.

Starts `workprint serve` as its own process, enrols ``--devices`` devices, and has each upload
random 64 KiB frames (content-addressed PUTs) and, every 20 frames, a session manifest that
refers to them, for ``--seconds``. Every chunk is counted and hashed on the way out, and at the
end every chunk is read back from the server's store and checked.

    .venv/bin/python bench/collector.py [--devices 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--blob-kib", type=int, default=64)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="workprint-bench-collector-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "workprint", "serve", "--port", str(port), "--data", str(data)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        admin = {"Authorization": "Bearer " + (data / "admin.token").read_text().strip()}
        tokens = []
        for i in range(args.devices):
            code = httpx.post(f"{url}/v1/enrolment-codes", headers=admin).json()["code"]
            reply = httpx.post(f"{url}/v1/devices", json={"code": code, "contributor": f"c-{i:012x}"}).json()
            tokens.append(reply["device_token"])
            consent = {"notice_version": 1, "notice_hash": "a" * 64, "policy_hash": "b" * 64,
                       "accepted_at": "2026-01-01T00:00:00+00:00"}  # uploads need an agreement on record
            httpx.post(f"{url}/v1/consent", json=consent, headers={"Authorization": f"Bearer {reply['device_token']}"})
        sent: dict[str, int] = {}
        lock = threading.Lock()
        errors: list[str] = []
        deadline = time.monotonic() + args.seconds
        manifests = [0]

        def device(index: int, token: str) -> None:
            rng = random.Random(index)
            headers = {"Authorization": f"Bearer {token}"}
            frames: dict[str, str] = {}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                n = 0
                while time.monotonic() < deadline:
                    blob = rng.randbytes(args.blob_kib * 1024)
                    digest = hashlib.sha256(blob).hexdigest()
                    reply = client.put(f"/v1/blobs/{digest}", content=blob)
                    if reply.status_code not in (200, 201):
                        errors.append(f"blob {reply.status_code}")
                        continue
                    with lock:
                        sent[digest] = len(blob)
                    frames[f"{n:032x}"] = digest
                    n += 1
                    if n % 20 == 0:
                        sid = f"20260101-{index:06d}-{n:06x}"
                        manifest = {"meta": {}, "actions": [{"type": "click", "frame": f} for f in frames], "frames": frames}
                        reply = client.put(f"/v1/sessions/{sid}", json=manifest)
                        if reply.status_code != 201:
                            errors.append(f"session {reply.status_code}")
                        with lock:
                            manifests[0] += 1
                        frames = {}

        threads = [threading.Thread(target=device, args=(i, t)) for i, t in enumerate(tokens)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        lost = 0
        for digest in sent:
            path = data / "blobs" / digest[:2] / digest
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                lost += 1
        total = sum(sent.values())
        print(f"{args.devices} devices for {elapsed:.0f} s on loopback, {args.blob_kib} KiB chunks "
              f"({os.cpu_count()} cores shared by server and clients)")
        print(f"chunks: {len(sent)} uploaded, {len(sent) / elapsed:.0f}/s, {total / elapsed / 1e6:.1f} MB/s; "
              f"{manifests[0]} session manifests, {manifests[0] / elapsed:.1f}/s")
        print(f"checked every chunk on the server: {lost} lost or corrupted; {len(errors)} refused requests")
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

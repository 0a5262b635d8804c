"""Collector ingest: simulated devices uploading at once over loopback, nothing lost.

Each device is enrolled, agrees to the notice, and uploads random ``--blob-kib`` KiB frames
(content-addressed PUTs) and, every 20 frames, a session manifest naming them, for
``--seconds``. Every request's latency is kept; every acknowledged frame is read back from the
store at the end (``lost`` counts those missing or corrupted). Setups (``--setup``, repeatable):

  embedded      one `workprint serve --data DIR`: SQLite catalog, blob folder (the default)
  replicas      two `workprint serve` behind nginx (deploy/nginx template) on PostgreSQL + SeaweedFS S3
  replicas-kill the same, one replica SIGKILLed halfway through

    .venv/bin/python bench/collector.py [--devices 200] [--seconds 20] [--setup embedded --setup replicas]

The devices are threads of this one process, on the same cores as the servers: figures are a
floor for what the servers do, and noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.servers: the same servers the tests start


def _enrol(url: str, data: Path, n: int) -> str:
    admin = {"Authorization": "Bearer " + (data / "admin.token").read_text().strip()}
    code = httpx.post(f"{url}/v1/enrolment-codes", headers=admin, timeout=60).json()["code"]
    token = httpx.post(f"{url}/v1/devices", json={"code": code, "contributor": f"c-{n:012x}"}, timeout=60).json()[
        "device_token"]
    consent = {"notice_version": 1, "notice_hash": "a" * 64, "policy_hash": "b" * 64,
               "accepted_at": "2026-01-01T00:00:00+00:00"}  # uploads need an agreement on record
    httpx.post(f"{url}/v1/consent", json=consent, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return token


def _request(client: httpx.Client, method: str, path: str, **kw) -> tuple[httpx.Response | None, float]:
    """Like the upload client: a cut connection or a balancer's 502/503/504 is retried."""
    start = time.perf_counter()
    delay = 0.2
    for _ in range(8):
        try:
            reply = client.request(method, path, **kw)
            if reply.status_code not in (502, 503, 504):
                return reply, time.perf_counter() - start
        except httpx.TransportError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 4)
    return None, time.perf_counter() - start


def ingest(url: str, data: Path, devices: int, seconds: float, blob_kib: int, kill=None) -> dict:
    tokens = [_enrol(url, data, i) for i in range(devices)]
    sent: dict[str, int] = {}
    latencies: list[float] = []
    errors: list[str] = []
    manifests = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def device(index: int, token: str) -> None:
        rng = random.Random(index)
        frames: dict[str, str] = {}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            n = 0
            while time.monotonic() < deadline:
                blob = rng.randbytes(blob_kib * 1024)
                digest = hashlib.sha256(blob).hexdigest()
                reply, took = _request(client, "PUT", f"/v1/blobs/{digest}", content=blob)
                with lock:
                    latencies.append(took)
                    if reply is None or reply.status_code not in (200, 201):
                        errors.append(f"blob {reply.status_code if reply else 'unreachable'}")
                        continue
                    sent[digest] = len(blob)
                frames[f"{n:032x}"] = digest
                n += 1
                if n % 20 == 0:
                    manifest = {"meta": {}, "actions": [{"type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "screen": {"w": 1920, "h": 1080}, "frame": f} for f in frames], "frames": frames}
                    reply, took = _request(client, "PUT", f"/v1/sessions/20260101-{index:06d}-{n:06x}", json=manifest)
                    with lock:
                        latencies.append(took)
                        if reply is None or reply.status_code != 201:
                            errors.append(f"session {reply.status_code if reply else 'unreachable'}")
                        else:
                            manifests[0] += 1
                    frames = {}

    threads = [threading.Thread(target=device, args=(i, t)) for i, t in enumerate(tokens)]
    start = time.monotonic()
    for t in threads:
        t.start()
    if kill:
        time.sleep(seconds / 2)
        kill()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    return {"elapsed": elapsed, "sent": sent, "manifests": manifests[0], "errors": errors,
            "p50": statistics.median(latencies) if latencies else 0,
            "p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else 0}


def report(name: str, result: dict, lost: int, devices: int, blob_kib: int) -> None:
    sent, elapsed = result["sent"], result["elapsed"]
    total = sum(sent.values())
    print(f"[{name}] {devices} devices, {elapsed:.0f} s, {blob_kib} KiB chunks, {os.cpu_count()} cores shared "
          f"by servers and clients")
    print(f"[{name}] chunks: {len(sent)} acknowledged, {len(sent) / elapsed:.0f}/s, {total / elapsed / 1e6:.1f} MB/s; "
          f"{result['manifests']} session manifests; request latency p50 {result['p50'] * 1000:.0f} ms, "
          f"p99 {result['p99'] * 1000:.0f} ms")
    print(f"[{name}] lost or corrupted: {lost} of {len(sent)}; {len(result['errors'])} requests failed "
          f"({', '.join(sorted(set(result['errors']))) or '-'})", flush=True)


def run_embedded(args) -> None:
    from tests.servers import Replica

    data = Path(tempfile.mkdtemp(prefix="wp-bench-embedded-"))
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        result = ingest(server.url, data, args.devices, args.seconds, args.blob_kib)
    finally:
        server.proc.terminate()
        server.proc.wait()
    lost = 0
    for digest in result["sent"]:
        path = data / "blobs" / digest[:2] / digest
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            lost += 1
    report("embedded", result, lost, args.devices, args.blob_kib)


def run_replicas(args, kill: bool) -> None:
    from tests.servers import Nginx, Replica, start_postgres, start_seaweed
    from workprint.server.blobs import open_blobs

    with start_postgres() as pg, start_seaweed() as s3:
        env = {**os.environ, **s3.env()}
        os.environ.update(s3.env())
        data, catalog, blobs_url = Path(tempfile.mkdtemp(prefix="wp-bench-replicas-")), pg.new_database(), s3.blobs_url()
        first = Replica(data, catalog, blobs_url, env).start()
        second = Replica(data, catalog, blobs_url, env).start()
        proxy = Nginx([first.port, second.port])
        try:
            result = ingest(proxy.url, data, args.devices, args.seconds, args.blob_kib,
                            kill=first.kill if kill else None)
        finally:
            proxy.stop()
            for r in (first, second):
                with contextlib.suppress(Exception):
                    r.kill()
        store = open_blobs(data, blobs_url)
        held = set(store.keys())
        lost = sum(1 for d in result["sent"] if d not in held)
        for d in random.Random(0).sample(sorted(result["sent"]), min(200, len(result["sent"]))):
            if hashlib.sha256(store.get(d)).hexdigest() != d:  # a sample read back whole
                lost += 1
        report("replicas, one killed" if kill else "replicas", result, lost, args.devices, args.blob_kib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--blob-kib", type=int, default=64)
    parser.add_argument("--setup", action="append", choices=["embedded", "replicas", "replicas-kill"])
    args = parser.parse_args()
    for setup in args.setup or ["embedded", "replicas", "replicas-kill"]:
        if setup == "embedded":
            run_embedded(args)
        else:
            run_replicas(args, kill=setup == "replicas-kill")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Collector memory on big session manifests (issue 14, finding 7): a `workprint serve` process's
resident memory while it refuses a 150 MB manifest (streamed chunked), while it accepts the
largest manifest under the limit (`MAX_MANIFEST`, 16 MiB), and while ``--burst`` of those arrive at
once (the collector parses `MANIFEST_SLOTS` at a time).

    PYTHONPATH=src .venv/bin/python bench/collector_manifest.py [--refused-mb 150] [--burst 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the servers the tests start

from tests.test_collector import Server  # noqa: E402
from tests.test_collector_security import _raw_put, _rss_kb, enrol, put_blob  # noqa: E402
from workprint.server.app import MAX_MANIFEST  # noqa: E402


def peak_mb(srv: Server, work) -> tuple[object, float, float, float]:
    """(result, RSS before, peak RSS, seconds) of ``work()`` in MB, sampled every 10 ms."""
    before = _rss_kb(srv.proc.pid)
    peak, stop = [before], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_kb(srv.proc.pid))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    result = work()
    took = time.perf_counter() - started
    stop.set()
    watcher.join()
    return result, before / 1024, peak[0] / 1024, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refused-mb", type=int, default=150)
    parser.add_argument("--burst", type=int, default=8)
    args = parser.parse_args()
    srv = Server(Path(tempfile.mkdtemp(prefix="wp-manifest-")) / "collector")
    srv.start()
    try:
        device, _ = enrol(srv, "c-aaaaaaaaaaaa")
        digest = put_blob(srv, device, b"\x89PNG frame")
        path = "/v1/sessions/20261123-101500-aaaaaa"
        chunk = b"x" * (1 << 20)

        def streamed():
            yield b'{"meta": {"pad": "'
            for _ in range(args.refused_mb):
                yield chunk

        def chunked():
            for part in streamed():
                yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
            yield b"0\r\n\r\n"

        headers = {**device, "Content-Type": "application/json"}
        status, before, peak, took = peak_mb(srv, lambda: _raw_put(
            srv.port, path, {**headers, "Transfer-Encoding": "chunked"}, chunked()))
        print(f"refused {args.refused_mb} MB streamed: HTTP {status}, RSS {before:.0f} -> peak {peak:.0f} MB, {took:.1f} s")

        action = {"type": "click", "x": 1, "y": 2, "button": "left", "t": 0.5, "t_end": 0.6, "source": "human",
                  "app": "mousepad", "window": "Untitled - Mousepad", "screen": {"w": 1920, "h": 1080, "scale": 1.0},
                  "frame": "0" * 32, "trace": [[0.1, 1, 2]] * 3}
        n = (MAX_MANIFEST - 64 * 1024) // (len(json.dumps(action)) + 16)
        body = json.dumps({"meta": {}, "frames": {"0" * 32: digest},
                           "actions": [dict(action, id=i) for i in range(n)]}).encode()
        def put(i: int) -> int:
            return httpx.put(f"{srv.url}/v1/sessions/20261123-1016{i:02d}-aaaaaa", content=body, headers=headers,
                             timeout=600).status_code

        status, base, peak, took = peak_mb(srv, lambda: put(0))
        print(f"accepted {len(body) / 2**20:.1f} MiB ({n} actions): HTTP {status}, "
              f"RSS {base:.0f} -> peak {peak:.0f} MB, {took:.1f} s")
        with ThreadPoolExecutor(args.burst) as pool:
            statuses, _, peak, took = peak_mb(srv, lambda: list(pool.map(put, range(1, args.burst + 1))))
        print(f"{args.burst} of them at once: HTTP {sorted(set(statuses))}, RSS {base:.0f} (before the first) -> "
              f"peak {peak:.0f} MB, {took:.1f} s")
    finally:
        srv.kill()


if __name__ == "__main__":
    main()

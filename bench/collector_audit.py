"""What the keyed, anchored audit trail costs: one entry per request (HMAC, its own committed
transaction, an anchor line appended), and `workprint audit verify` over the whole log.

    python bench/collector_audit.py [--entries 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from workprint.server.catalog import Entry, open_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = open_catalog(Path(tmp) / "collector")
        times = []
        for i in range(args.entries):
            start = time.perf_counter()
            catalog.audit(Entry("p-0123456789abcdef01234567", "contributor", "upload blob", f"{i:064x}", "stored"))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        intact, count, problem = catalog.verify_audit()
        verify_s = time.perf_counter() - start
        assert intact, problem
        anchor = (Path(tmp) / "collector" / "audit.anchor").stat().st_size
    times.sort()
    print(f"audit append (own transaction + anchor line), {args.entries} entries: "
          f"median {statistics.median(times) * 1e3:.2f} ms, p95 {times[int(len(times) * 0.95)] * 1e3:.2f} ms")
    print(f"verify {count} entries: {verify_s * 1e3:.0f} ms ({verify_s / count * 1e6:.1f} us per entry)")
    print(f"anchor file: {anchor / count:.0f} bytes per entry")


if __name__ == "__main__":
    main()

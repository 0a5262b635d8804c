"""Start-up cost of `workprint redact`: the shipped name dictionary is unpacked once into the
cache dir, then queried per word.

Printed: wall time of `workprint redact` on one line without a capitalised word (the name
dictionary is not opened), on one line with a name (it is opened and queried), and the first
run into an empty cache dir (which unpacks it).

    .venv/bin/python bench/redact_startup.py [--runs 5] [--compile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(line: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workprint", "redact"], input=line + "\n", env=env, check=True,
                   capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="also time the first run (unpacking)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "WORKPRINT_CACHE": cache}
        if args.compile:
            print(f"first run, unpacks the dictionary: {run('Meeting with Maria Garcia', env):.2f} s")
        else:
            run("Meeting with Maria Garcia", env)
        size = sum(os.path.getsize(os.path.join(cache, f)) for f in os.listdir(cache))
        print(f"dictionary in the cache dir: {size / 1e6:.1f} MB")
        plain = [run("mail bob@example.com at 2026-03-14 09:30", env) for _ in range(args.runs)]
        named = [run("Meeting with Maria Garcia moved to 2026-03-14 09:30", env) for _ in range(args.runs)]
        print(f"no capitalised word (dictionary not opened): median {statistics.median(plain):.2f} s")
        print(f"a name (dictionary opened and queried):      median {statistics.median(named):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

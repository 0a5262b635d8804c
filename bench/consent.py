"""What the consent check costs when `workprint record` starts: comparing the policy it is given
with the one agreed to (``privacy.consent.widenings``, globs compared as automata).

Printed, per pair of policies: the median time of one comparison and its answer. The pairs: the
same policy, a narrower one (URL and app globs), a wider one, and a pathological one (a dozen
patterns of five `*` each) that runs into the work budget and answers "wider" (ask again).

    .venv/bin/python bench/consent.py [--runs 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from workprint.privacy.consent import Scope, widenings
from workprint.privacy.policy import Policy


def scope(**kw) -> Scope:
    return Scope.of(Policy(**kw))


def pairs() -> list[tuple[str, Scope, Scope]]:
    agreed = scope(allow_apps=("mousepad", "chromium", "libreoffice*"),
                   allow_urls=("https://*.example.com/*", "https://intranet.corp/*"),
                   deny_apps=("slack", "zoom*"), deny_urls=("*bank*", "*login*", "*password*"))
    narrower = scope(allow_apps=("mousepad", "libreoffice-calc"),
                     allow_urls=("https://docs.example.com/*", "https://intranet.corp/wiki/*"),
                     deny_apps=("slack", "zoom*", "teams"), deny_urls=("*bank*", "*login*", "*password*", "*hr*"))
    wider = scope(allow_apps=("mousepad", "chrom*", "libreoffice*"),
                  allow_urls=("https://*.example.com/*", "https://*.intranet.corp/*"),
                  deny_apps=("slack",), deny_urls=("*login*", "*password*"))
    rng = random.Random(1)
    stars = tuple("*" + "*".join(rng.choice("abcdefgh") for _ in range(6)) + "*" for _ in range(12))
    odd = scope(allow_urls=tuple(p.replace("*", "?", 1) for p in stars))
    return [("same policy", agreed, agreed), ("narrower (globs)", agreed, narrower), ("wider", agreed, wider),
            ("pathological (12 patterns, 7 `*` each)", scope(allow_urls=stars), odd)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    for name, agreed, proposed in pairs():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            reasons = widenings(agreed, proposed)
            times.append(time.perf_counter() - start)
        answer = f"wider ({len(reasons)} reasons)" if reasons else "not wider"
        print(f"{name}: {statistics.median(times) * 1000:.1f} ms median of {args.runs}; {answer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

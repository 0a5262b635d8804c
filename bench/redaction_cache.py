"""What keeping frame masks with the session saves: the commands that follow a recording
(export, replay report, upload, evals) OCR each frame once between them, not once each.

Copies a recorded session (``make demo``'s by default) twice, removes any kept masks, and times
the real command line: in one copy ``workprint report`` with no masks kept (every frame read by
OCR, as each command did before), in the other ``workprint export --format hf`` first (which
reads and keeps the masks) and then the same report. The report's two times are the figure.

    .venv/bin/python bench/redaction_cache.py [--source-home demo-output/home]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workprint.privacy.frames import MASKS_SIDECAR
from workprint.store import Catalog


def timed(args: list[str], home: Path) -> float:
    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workprint", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-home", type=Path, default=Path("demo-output/home"))
    args = parser.parse_args()
    if not (args.source_home / "sessions").is_dir():
        sys.exit(f"no recorded session in {args.source_home}; run `make demo` first")
    with tempfile.TemporaryDirectory() as tmp:
        cold, warm = Path(tmp) / "cold", Path(tmp) / "warm"
        for home in (cold, warm):
            shutil.copytree(args.source_home, home)
            for kept in home.glob(f"sessions/*/{MASKS_SIDECAR}.sealed"):
                kept.unlink()
        session = max(Catalog(cold).list(), key=lambda s: s.frames)  # the demonstration, not the agent run
        frames = session.frames
        report_cold = timed(["report", session.id, "--out", str(Path(tmp) / "cold.html"), "--quiet"], cold)
        export = timed(["export", session.id, "--format", "hf", "--out", str(Path(tmp) / "ds"), "--quiet"], warm)
        report_warm = timed(["report", session.id, "--out", str(Path(tmp) / "warm.html"), "--quiet"], warm)
    print(f"session {session.id}: {frames} frames stored")
    print(f"report, no masks kept (every frame OCR-read): {report_cold:6.1f} s")
    print(f"export hf, reads and keeps the masks:          {export:6.1f} s")
    print(f"report after that export (masks painted):      {report_warm:6.1f} s")
    print(f"report speed-up from kept masks: {report_cold / report_warm:.1f}x")


if __name__ == "__main__":
    main()

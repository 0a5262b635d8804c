"""Export speed and size: steps per second and bytes per step, for each format.

Builds a long session by repeating a real recording (the scripted mousepad demonstration,
recorded first if there is none) until it spans ``--minutes`` minutes, then exports it with
every format. Frames repeat, so OCR work is reused after the first pass; the first-pass
cost per distinct frame is printed separately.

    .venv/bin/python bench/export.py [--minutes 30] [--source-home demo-output/home]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workprint.export import ExportOptions, run_export
from workprint.store import Catalog, SessionReader, SessionWriter


def synthesize(source_home: Path, home: Path, minutes: float) -> tuple[str, int]:
    reader = SessionReader(source_home, Catalog(source_home).resolve("latest"))
    events = reader.events()
    meta = next(e for e in events if e["kind"] == "session")
    span = max(e["t"] for e in events) + 1.0
    writer = SessionWriter(home, "20260101-000000-be0c40", {k: v for k, v in meta.items() if k not in ("id", "kind", "t")})
    for fid in reader.frame_ids():
        writer.put_frame(fid, reader.frame(fid))
    copies = int(minutes * 60 // span) + 1
    for copy in range(copies):
        offset = copy * span
        id_map = {}
        for e in events:
            if e["kind"] == "session":
                continue
            new = {k: v for k, v in e.items() if k != "id"}
            new["t"] = round(e["t"] + offset, 4)
            if "t_end" in new:
                new["t_end"] = round(e["t_end"] + offset, 4)
            if new.get("raw"):
                new["raw"] = [id_map.get(r, r) for r in new["raw"]]
            if "of" in new:
                new["of"] = id_map.get(new["of"], new["of"])
            id_map[e["id"]] = writer.append(new)
        writer.flush(sync=False)
    writer.close()
    Catalog(home).add(writer.session_id, "2026-01-01T00:00:00+00:00")
    Catalog(home).update(writer.session_id, events=writer.event_count, frames=writer.frame_count,
                         bytes=writer.bytes_on_disk, active_s=minutes * 60, ended_at="2026-01-01T00:30:00+00:00")
    return writer.session_id, len(reader.frame_ids())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--source-home", default="demo-output/home")
    args = parser.parse_args()
    source = Path(args.source_home)
    if not (source / "catalog.sqlite").exists():
        print("recording the scripted demonstration first (python -m workprint.demo) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "workprint.demo", "--virtual"], check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="workprint-bench-export-"))
    home = work / "home"
    home.mkdir()
    session, distinct = synthesize(source, home, args.minutes)
    print(f"session: {args.minutes:.0f} minutes scripted ({distinct} distinct frames, repeated)")
    print(f"{'format':<8} {'steps':>7} {'steps/s':>9} {'bytes/step':>11} {'seconds':>8}")
    for fmt in ("hf", "opencua", "chat"):
        out = work / fmt
        start = time.perf_counter()
        summary = run_export(home, [session], fmt, out, options=ExportOptions(allow_empty_instruction=True),
                             progress=False)
        elapsed = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"{fmt:<8} {summary['steps']:>7} {summary['steps'] / elapsed:>9.1f} {size / summary['steps']:>11.0f} "
              f"{elapsed:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Exports trainers load directly: ``hf`` (Parquet for `datasets`), ``opencua``, ``chat``.

``run_export`` is the one entry point; each format module writes one session's steps, and
this module handles what all share: redacted frames, splits, incremental re-export (a
manifest of each session's fingerprint), the dataset card and the progress bar.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from workprint.export import chat, hf, opencua, preference, rlif
from workprint.export.card import write_card
from workprint.export.steps import (ExportError, RedactedFrames, SessionData, Step, iter_steps, load_sessions,
                                    parse_split)
from workprint.privacy.frames import FrameRedactor

FORMATS: dict[str, Callable[..., list[str]]] = {"hf": hf.write_session, "opencua": opencua.write_session,
                                                 "chat": chat.write_session,
                                                 # agent runs: one pair per intervention; every agent step
                                                 "preference": preference.write_session, "rlif": rlif.write_session}
MANIFEST = "workprint-manifest.json"


def run_export(home: Path, refs: list[str], fmt: str, out: Path, split: str | None = None, seed: int = 0,
               images: str = "path", progress: bool = True) -> dict:
    """Export sessions; returns a summary. Sessions whose input did not change are skipped."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    splits = parse_split(split)
    sessions = load_sessions(home, refs)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest and manifest.get("format") != fmt:
        raise ExportError(f"{out} holds a {manifest.get('format')!r} export; use another --out for {fmt!r}")
    options = {"split": split, "seed": seed, "images": images}
    if manifest.get("options", options) != options:
        manifest = {}  # options changed: everything is written again
    done: dict = manifest.get("sessions", {})
    todo = [s for s in sessions if done.get(s.id, {}).get("fingerprint") != s.fingerprint]
    total_steps = sum(len(s.actions) for s in todo)
    bar = tqdm(total=total_steps, desc=f"export {fmt}", unit="step", disable=not progress)
    redactor = FrameRedactor()
    for session in todo:
        for old in done.get(session.id, {}).get("files", []):
            path = out / old
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        steps = _counting(iter_steps(session, splits, seed, RedactedFrames(session, redactor)), bar)
        files = FORMATS[fmt](session, steps, out, images=images)
        done[session.id] = {"fingerprint": session.fingerprint, "files": sorted(files)}
    bar.close()
    # Sessions no longer asked for stay in the export only if still in the store.
    manifest = {"format": fmt, "options": options, "sessions": dict(sorted(done.items()))}
    write_card(out, fmt, sessions, splits, seed)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return {"sessions": len(sessions), "written": len(todo), "skipped": len(sessions) - len(todo),
            "steps": sum(len(s.actions) for s in sessions), "out": str(out)}


def _counting(steps, bar):
    for step in steps:
        yield step
        bar.update(1)


__all__ = ["ExportError", "FORMATS", "SessionData", "Step", "run_export"]

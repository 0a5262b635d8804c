"""Exports trainers and benchmarks load unchanged; the formats are listed in ``formats.REGISTRY``.

``run_export`` is the one entry point; each format module writes one session's steps, and
this module handles what all share: redacted frames, splits, episodes a format cannot use,
incremental re-export (a manifest of each session's fingerprint), the dataset card and the
progress bar. Heavy imports happen on first use, so the command line starts fast.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from workprint.export.formats import REGISTRY, ExportOptions, Format

if TYPE_CHECKING:
    from workprint.export.steps import SessionData, Step

MANIFEST = "workprint-manifest.json"
NO_INSTRUCTION = "in an episode without an instruction"


def __getattr__(name: str) -> Any:  # ExportError, SessionData, Step without importing them eagerly
    if name in ("ExportError", "SessionData", "Step"):
        from workprint.export import steps

        return getattr(steps, name)
    raise AttributeError(name)


def run_export(home: Path, refs: list[str], fmt: str, out: Path, split: str | None = None, seed: int = 0,
               options: ExportOptions | None = None, progress: bool = True,
               collector: tuple[str, str] | None = None, ray_address: str | None = None) -> dict[str, Any]:
    """Export sessions; returns a summary. Sessions whose input did not change are skipped.
    ``collector`` (URL, trainer token): from a collector's trainer view instead of ``home``;
    ``ray_address`` then spreads fetching and redacting frames over Ray ("local" starts one)."""
    from tqdm import tqdm

    from workprint.export import formats
    from workprint.export.card import write_card
    from workprint.export.steps import ExportError, iter_steps, load_sessions, parse_split, session_frames
    from workprint.privacy.frames import FrameRedactor

    if fmt not in REGISTRY:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(REGISTRY)}")
    format_ = formats.get(fmt)
    options = options or ExportOptions()
    if options.image_base_url and not options.image_base_url.startswith(("http://", "https://")):
        raise ExportError(f"--image-base-url {options.image_base_url!r}: give an http:// or https:// URL "
                          "where the exported images/ folder will be served")
    splits = parse_split(split)
    if collector:
        from workprint.export.remote import CollectorReader, load_collector_sessions, prepare_frames

        sessions = load_collector_sessions(*collector)
        if refs:
            sessions = [s for s in sessions if s.id in refs or any(s.id.startswith(r) for r in refs)]
    else:
        sessions = load_sessions(home, refs)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest and manifest.get("format") != fmt:
        raise ExportError(f"{out} holds a {manifest.get('format')!r} export; use another --out for {fmt!r}")
    settings = {"split": split, "seed": seed, **options.key()}
    if manifest.get("options", settings) != settings:
        manifest = {}  # options changed: everything is written again
    done: dict[str, Any] = manifest.get("sessions", {})
    todo = [s for s in sessions if done.get(s.id, {}).get("fingerprint") != s.fingerprint]
    bar = tqdm(total=sum(len(ep.actions) for s in todo for ep in s.episodes), desc=f"export {fmt}", unit="step", disable=not progress)
    redactor = FrameRedactor()
    if collector:
        with tqdm(total=0, desc="frames", unit="frame", disable=not progress) as frames_bar:
            prepared = prepare_frames(todo, *collector, ray_address=ray_address, progress=frames_bar.update)
            for session in todo:
                assert isinstance(session.reader, CollectorReader)  # load_collector_sessions made them
                session.reader.redacted.update(prepared.get(session.id, {}))
    for session in todo:
        _remove(out, done.get(session.id, {}).get("files", []))
        # Episodes the format cannot use are dropped before their frames are redacted.
        dropped = [ep for ep in session.episodes if _needs_instruction(format_, options, ep)]
        usable = replace(session, episodes=[ep for ep in session.episodes if ep not in dropped])
        bar.update(sum(len(ep.actions) for ep in dropped))
        frames = session_frames(session, redactor)
        steps = _counting(iter_steps(usable, splits, seed, frames), bar)
        result = format_.write_session(usable, steps, out, options)
        if dropped:
            result.leave_out(NO_INSTRUCTION, sum(len(ep.actions) for ep in dropped))
        done[session.id] = {"fingerprint": session.fingerprint, "files": sorted(set(result.files)),
                            "left_out": dict(sorted(result.left_out.items())),
                            "episodes_without_instruction": [ep.id for ep in dropped]}
    bar.close()
    finished = format_.finish(out) if format_.finish else []
    left_out: dict[str, int] = {}
    without_instruction: list[str] = []
    for s in sessions:
        for reason, n in done.get(s.id, {}).get("left_out", {}).items():
            left_out[reason] = left_out.get(reason, 0) + n
        without_instruction += done.get(s.id, {}).get("episodes_without_instruction", [])
    manifest = {"format": fmt, "options": settings, "sessions": dict(sorted(done.items())), "finished": finished}
    write_card(out, format_, sessions, splits, seed, left_out,
               keep=lambda ep: not _needs_instruction(format_, options, ep))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    total = sum(len(ep.actions) for s in sessions for ep in s.episodes)
    return {"sessions": len(sessions), "written": len(todo), "skipped": len(sessions) - len(todo),
            "steps": total - sum(left_out.values()), "left_out": left_out,
            "episodes_without_instruction": without_instruction, "out": str(out)}


def _needs_instruction(format_: Format, options: ExportOptions, episode) -> bool:
    """True when this format would leave the episode out for want of an instruction."""
    return format_.needs_instruction and not options.allow_empty_instruction and not episode.instruction.strip()


def _counting(steps: Iterator["Step"], bar) -> Iterator["Step"]:
    for step in steps:
        yield step
        bar.update(1)


def _remove(out: Path, files: list[str]) -> None:
    for old in files:
        path = out / old
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


__all__ = ["ExportError", "ExportOptions", "REGISTRY", "SessionData", "Step", "run_export"]

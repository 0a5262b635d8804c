"""``hf``: Parquet shards that `datasets.load_dataset("parquet", ...)` loads, one row per step.

One shard per split and session (``data/<split>/<session>.parquet``), so re-exporting writes
only sessions that changed. The schema carries the `datasets` features, so the ``image``
column loads as ``datasets.Image``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from datasets import Features, Image, Value

from workprint.export.parquet import write_shard
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.steps import SessionData, Step, action_record

FEATURES = Features({
    "episode_id": Value("string"), "session": Value("string"), "step": Value("int32"),
    "instruction": Value("string"), "instruction_source": Value("string"),
    "action_type": Value("string"), "action": Value("string"), "code": Value("string"),
    "x": Value("float32"), "y": Value("float32"), "x2": Value("float32"), "y2": Value("float32"),
    "app": Value("string"), "window": Value("string"), "url": Value("string"), "target": Value("string"),
    "t": Value("float64"), "image": Image(), "image_redactions": Value("string"),
    # Written by a model (`workprint annotate`), never by the person; empty when not annotated.
    "model_instruction": Value("string"), "instruction_model": Value("string"), "annotation_model": Value("string"), "observation": Value("string"),
    "thought": Value("string"), "description": Value("string"), "quality": Value("string"),
    "source": Value("string"),  # human | agent (agent runs: DESIGN.md, "Agents at work")
})


def row(step: Step) -> dict[str, Any]:
    a = step.action
    norm = step.normalised()
    return {
        "episode_id": step.episode.id, "session": step.episode.session, "step": step.index,
        "instruction": step.episode.instruction, "instruction_source": step.episode.instruction_source,
        "action_type": a["type"], "action": json.dumps(action_record(a), sort_keys=True, ensure_ascii=False),
        "code": step.code, **norm, "app": a.get("app"), "window": a.get("window"), "url": a.get("url"),
        "target": json.dumps(a["target"], sort_keys=True) if a.get("target") else None, "t": a["t"],
        "image": {"bytes": step.image, "path": None} if step.image else None,
        "image_redactions": json.dumps(step.image_redactions),
        "model_instruction": step.episode.model_instruction, "instruction_model": step.episode.instruction_model,
        **annotation_columns(step),
        "source": a.get("source", "human"),
    }


def annotation_columns(step: Step) -> dict[str, str | None]:
    note = step.annotation or {}
    return {"annotation_model": note.get("model"), **{k: note.get(k) for k in
                                                      ("observation", "thought", "description", "quality")}}


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    by_split: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_split.setdefault(step.split, []).append(row(step))
    files = []
    for split, rows in sorted(by_split.items()):
        files.append(write_shard(out, split, session.id, rows, FEATURES))
    return Written(files)


def data_files(out: Path) -> dict[str, str]:
    """The `data_files` argument for `datasets.load_dataset("parquet", data_files=...)`."""
    return {split.name: str(split / "*.parquet") for split in sorted((out / "data").iterdir()) if split.is_dir()}


FORMAT = Format(
    name="hf",
    summary="Hugging Face `datasets` Parquet, one row per step (action as JSON and pyautogui code, image column)",
    loading="```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_files={\"train\": "
            "\"data/train/*.parquet\"})\n```\nThe `image` column is a `datasets.Image`; `action` is the "
            "workprint action as JSON, `code` the same as pyautogui (screen pixels), `x`/`y` normalised to 0..1.",
    write_session=write_session,
)

"""``trl``: Parquet that TRL's ``SFTTrainer`` trains a vision-language model on as loaded.

TRL's conversational vision format: a ``messages`` column (role, and content as a list of
``{"type": "image"}`` / ``{"type": "text", "text": ...}`` parts, the image part where the
screenshot goes) and an ``images`` column holding the screenshots, in order, as
``datasets.Image``. The prompt is the one every chat-style export shares (``prompt.py``).
One shard per split and session: ``data/<split>/<session>.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from datasets import Features, Image, List, Value

from workprint.export import prompt
from workprint.export.parquet import write_shard
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.steps import SessionData, Step

_PART = {"type": Value("string"), "text": Value("string")}
FEATURES = Features({
    "messages": List({"role": Value("string"), "content": List(_PART)}),
    "images": List(Image()),
})


def row(turn: prompt.Turn) -> dict[str, Any]:
    user = ([{"type": "image", "text": None}] if turn.image else []) + [{"type": "text", "text": turn.text}]
    return {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": prompt.SYSTEM}]},
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": turn.answer}]},
        ],
        "images": [{"bytes": turn.image, "path": None}] if turn.image else [],
    }


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    by_split: dict[str, list[dict[str, Any]]] = {}
    for turn in prompt.turns(steps, reasoning=options.reasoning):
        by_split.setdefault(turn.step.split, []).append(row(turn))
    for split, rows in sorted(by_split.items()):
        written.files.append(write_shard(out, split, session.id, rows, FEATURES, row_group_size=64))
    return written


FORMAT = Format(
    name="trl",
    summary="TRL `SFTTrainer` (vision): Parquet with `messages` + `images`",
    loading="```python\nfrom datasets import load_dataset\nds = load_dataset(\"parquet\", data_files={\"train\": "
            "\"data/train/*.parquet\"})[\"train\"]\n# trl.SFTTrainer(model=..., train_dataset=ds, ...)\n```\n"
            "TRL's conversational vision format: `messages` (system, user with an `image` part and the text, "
            "assistant with the action as pyautogui code, coordinates 0..1) and `images` (the redacted "
            "screenshot as `datasets.Image`).",
    write_session=write_session,
)

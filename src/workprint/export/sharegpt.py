"""``sharegpt``: LLaMA-Factory's ShareGPT format for multimodal SFT, with its ``dataset_info.json``.

Each line: ``conversations`` (``{"from": "human"|"gpt", "value": ...}``, alternating, starting
with the person), ``system`` and ``images`` (paths relative to the export folder, which is
LLaMA-Factory's ``dataset_dir``). The human turn carries exactly one ``<image>`` token per entry
of ``images``, where the screenshot goes. ``dataset_info.json`` registers one dataset per split
(``workprint_train``, ...), so ``--dataset_dir OUT --dataset workprint_train`` trains on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from workprint.export import prompt
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.steps import SessionData, Step

IMAGE_TOKEN = "<image>"


def record(turn: prompt.Turn, image_path: str | None) -> dict[str, Any]:
    # A literal "<image>" typed by a person must not count as an image slot.
    text = turn.text.replace(IMAGE_TOKEN, "<img>")
    human = f"{IMAGE_TOKEN}{text}" if image_path else text
    return {"conversations": [{"from": "human", "value": human},
                              {"from": "gpt", "value": turn.answer.replace(IMAGE_TOKEN, "<img>")}],
            "system": prompt.SYSTEM, "images": [image_path] if image_path else []}


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    by_split: dict[str, list[dict[str, Any]]] = {}
    for turn in prompt.turns(steps, reasoning=options.reasoning):
        image = None
        if turn.image:
            image = f"images/{turn.step.frame_id}.png"
            if image not in written.files:
                (out / "images").mkdir(exist_ok=True)
                (out / image).write_bytes(turn.image)
                written.files.append(image)
        by_split.setdefault(turn.step.split, []).append(record(turn, image))
    for split, records in sorted(by_split.items()):
        path = out / split / f"{session.id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        written.files.append(str(path.relative_to(out)))
    return written


def finish(out: Path) -> list[str]:
    """``dataset_info.json``: one LLaMA-Factory dataset per split folder present."""
    splits = sorted(p.name for p in out.iterdir() if p.is_dir() and p.name not in ("images",)
                    and any(p.glob("*.jsonl")))
    info = {f"workprint_{split}": {
        "file_name": split, "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "images": "images"},
    } for split in splits}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return ["dataset_info.json"]


FORMAT = Format(
    name="sharegpt",
    summary="LLaMA-Factory ShareGPT (`conversations` + `images`, one `<image>` per image) with `dataset_info.json`",
    loading="LLaMA-Factory: `dataset_dir: <this folder>`, `dataset: workprint_train` (see `dataset_info.json`). "
            "Each line of `<split>/*.jsonl` has `conversations` (human with one `<image>` token per image, "
            "gpt with the action as pyautogui code, coordinates 0..1), `system` and `images` (paths under "
            "`images/`).",
    write_session=write_session,
    finish=finish,
)

"""``chat``: JSONL for OpenAI's supervised (vision) fine-tuning, loaded by its API unchanged.

One line per step, ``{"messages": [system, user, assistant]}`` and nothing else at the top
level (OpenAI rejects unknown keys): the user message holds the task, the previous actions
and the screenshot; the assistant message the action as pyautogui code. Screenshots are
inline base64 data URLs by default, or http(s) URLs under ``--image-base-url`` (the PNGs are
then written to ``images/`` for you to host there). OpenAI accepts no other image reference.

The split is the folder (``train/``, ``validation/``, ``test/``), one file per session; which
episode, step and source (human or agent) each line is sits beside it in ``meta/``, line by line,
with what ``workprint annotate`` wrote (observation, thought, description, quality, the model
instruction and which model wrote them) where it did; ``--reasoning`` puts the thought in the answer.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Iterable

from workprint.export import prompt
from workprint.export.formats import ExportOptions, Format, Written
from workprint.export.steps import SessionData, Step, model_instruction_fields


class Images:
    """Where a step's screenshot goes: a data URL, or a file under images/ served from a base URL."""

    def __init__(self, out: Path, options: ExportOptions, written: Written):
        self.out, self.base, self.written = out, options.image_base_url, written

    def url(self, step: Step) -> str | None:
        if not step.image:
            return None
        if not self.base:
            return "data:image/png;base64," + base64.b64encode(step.image).decode()
        name = f"images/{step.frame_id}.png"
        if name not in self.written.files:
            (self.out / "images").mkdir(exist_ok=True)
            (self.out / name).write_bytes(step.image)
            self.written.files.append(name)
        return f"{self.base.rstrip('/')}/{step.frame_id}.png"


def prompt_messages(turn: prompt.Turn, image_url: str | None) -> list[dict[str, Any]]:
    """System and user messages in OpenAI's chat format (what chat-preference shares)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}]
    if image_url:
        content.append({"type": "image_url", "image_url": {"url": image_url}})
    return [{"role": "system", "content": prompt.SYSTEM}, {"role": "user", "content": content}]


def write_lines(out: Path, split: str, session: SessionData, lines: list[tuple[dict[str, Any], dict[str, Any]]],
                written: Written) -> None:
    """``<split>/<session>.jsonl`` (the records) and ``meta/<split>/<session>.jsonl`` (whose they are)."""
    data = out / split / f"{session.id}.jsonl"
    meta = out / "meta" / split / f"{session.id}.jsonl"
    for path in (data, meta):
        path.parent.mkdir(parents=True, exist_ok=True)
    with open(data, "w", encoding="utf-8") as d, open(meta, "w", encoding="utf-8") as m:
        for record, info in lines:
            d.write(json.dumps(record, ensure_ascii=False) + "\n")
            m.write(json.dumps(info, ensure_ascii=False, sort_keys=True) + "\n")
    written.files += [str(data.relative_to(out)), str(meta.relative_to(out))]


def step_info(step: Step) -> dict[str, Any]:
    """Whose the line is, and what a model wrote about it (``workprint annotate``) where it did: OpenAI's
    format takes no extra keys, so these optional columns live beside the lines, not in them."""
    note = step.annotation or {}
    written = {k: note[k] for k in ("observation", "thought", "description", "quality") if note.get(k)}
    if written:
        written["annotation_model"] = note.get("model") or ""
    return {"episode": step.episode.id, "session": step.episode.session, "step": step.index,
            "source": step.action.get("source", "human"), "instruction_source": step.episode.instruction_source,
            **model_instruction_fields(step.episode), **written}


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    images = Images(out, options, written)
    by_split: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for turn in prompt.turns(steps, reasoning=options.reasoning):
        messages = prompt_messages(turn, images.url(turn.step))
        messages.append({"role": "assistant", "content": turn.answer})
        by_split.setdefault(turn.step.split, []).append(({"messages": messages}, step_info(turn.step)))
    for split, lines in sorted(by_split.items()):
        write_lines(out, split, session, lines, written)
    return written


FORMAT = Format(
    name="chat",
    summary="OpenAI fine-tuning JSONL (`messages`; screenshots as data URLs or `--image-base-url` URLs)",
    loading="One JSON object per line in `<split>/*.jsonl`, OpenAI's chat fine-tuning format: `messages` = "
            "system, user (task, previous actions, screenshot as `image_url`), assistant (the action as "
            "pyautogui code, coordinates 0..1). Upload one file per split to OpenAI: "
            "`cat train/*.jsonl > train.jsonl`. Which episode, step and source each line is: `meta/<split>/`, "
            "line by line, with the model-written `observation`, `thought`, `description`, `quality`, "
            "`model_instruction` and the models' names where `workprint annotate` wrote them.",
    write_session=write_session,
)

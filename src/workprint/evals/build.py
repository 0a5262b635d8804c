"""Recorded episodes -> a step-level eval set (DESIGN.md, "Evals (contract)").

Each step is one decision an agent would have to make: the instruction, what was done so far
(pyautogui code), the redacted screen the person acted on, and what the person did. Built
from ``export.steps`` so an eval set shows exactly the frames an export would (OCR-redacted),
and deterministic: the same sessions and options give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from tqdm import tqdm

from workprint import __version__
from workprint.errors import WorkprintError
from workprint.evals.interaction import INTERACTIONS, interaction_of
from workprint.process.pyautogui_code import to_code
from workprint.export.steps import action_record, assign_split
from workprint.privacy.frames import RedactedFrames
from workprint.process.sessions import SessionData, load_sessions
from workprint.vocabulary import Action

STEPS_FILE = "steps.jsonl"
HOLDOUT_SPLIT = "eval"


class EvalSetError(WorkprintError):
    """An eval set cannot be built or read; the message says why and what to do."""


@dataclass
class BuildOptions:
    holdout: float | None = None  # keep only this fraction of episodes (by seed); None: all
    seed: int = 0
    max_per_interaction: int | None = None


def intervention_action_ids(session: SessionData) -> set[int]:
    """Ids of the person's actions that corrected an agent (DESIGN.md, "Agents at work").

    An intervention record lists ``human_actions``; actions by the person between its ``t``
    and ``t_end`` count too, for records written before the ids were known.
    """
    records: list[dict[str, Any]] = [dict(e) for e in session.events if e.get("kind") == "intervention"]
    ids: set[int] = set()
    for record in records:
        ids.update(i for i in record.get("human_actions") or [] if isinstance(i, int))
        t, t_end = record.get("t"), record.get("t_end")
        if isinstance(t, (int, float)) and isinstance(t_end, (int, float)):
            ids.update(a_id for a in session.actions if (a_id := a.get("id")) is not None
                       and a.get("source", "human") == "human" and t <= a["t"] <= t_end)
    return ids


def _holdout_splits(fraction: float) -> list[tuple[str, float]]:
    # The held-out share is the *last* one, so `workprint export --split {1-F},{F} --seed N`
    # puts exactly the complement of this eval set in train.
    return [("train", 1.0 - fraction), (HOLDOUT_SPLIT, fraction)]


def _rank(seed: int, step_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{step_id}".encode(), digest_size=8).digest()


def build_eval_set(home: Path, refs: list[str], out: Path, options: BuildOptions | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Write ``out/steps.jsonl``, ``out/images/`` and the dataset card; returns a summary."""
    options = options or BuildOptions()
    if options.holdout is not None and not 0 < options.holdout <= 1:
        raise EvalSetError(f"--holdout {options.holdout}: give the fraction of episodes to hold out, in (0, 1]")
    if options.max_per_interaction is not None and options.max_per_interaction < 1:
        raise EvalSetError("--max-per-interaction must be at least 1")
    try:
        sessions = load_sessions(home, refs)
    except Exception as exc:  # ExportError: no sessions, unknown id
        raise EvalSetError(str(exc)) from None

    # 1. Every candidate step, without images (cheap): decide what goes in before any OCR.
    candidates: list[dict[str, Any]] = []
    skipped: Counter = Counter()
    held_episodes, kept_episodes = [], 0
    for session in sessions:
        corrected = intervention_action_ids(session)
        for episode in session.episodes:
            if options.holdout is not None and assign_split(
                    episode.id, _holdout_splits(options.holdout), options.seed) != HOLDOUT_SPLIT:
                continue
            kept_episodes += 1
            held_episodes.append(episode.id)
            history: list[str] = []
            for index, action in enumerate(episode.actions):
                interaction = interaction_of(action)
                code = to_code(action)
                if interaction is None:
                    skipped["not an eval step (" + str(action.get("type")) + ")"] += 1
                elif action.get("source") == "agent":
                    # What an agent did is not a demonstration; it stays in the history of the steps after it.
                    skipped["an agent's action (not a demonstration)"] += 1
                elif not action.get("frame"):
                    skipped["no frame before the action"] += 1
                else:
                    candidates.append({"session": session, "action": action, "episode": episode,
                                       "index": index, "interaction": interaction, "history": list(history),
                                       "intervention": action.get("id") in corrected})
                history.append(code)

    # 2. The cap per interaction: a seeded choice, corrections first (they are the regression set).
    if options.max_per_interaction is not None:
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in candidates:
            by_type[c["interaction"]].append(c)
        keep: set[int] = set()
        for items in by_type.values():
            items = sorted(items, key=lambda c: (not c["intervention"],
                                                  _rank(options.seed, f"{c['episode'].id}:{c['index']}")))
            keep.update(id(c) for c in items[:options.max_per_interaction])
        skipped["over --max-per-interaction"] = len(candidates) - len(keep)
        candidates = [c for c in candidates if id(c) in keep]

    # 3. Redacted frames, written once each, and the steps.
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    frames_by_session: dict[str, RedactedFrames] = {}
    written: set[str] = set()
    bar = tqdm(total=len(candidates), desc="eval build", unit="step", disable=not progress)
    for c in candidates:
        session, action = c["session"], c["action"]
        frames = frames_by_session.get(session.id)
        if frames is None:
            # Masks kept with the session are painted; OCR models load only if a frame needs reading.
            frames = frames_by_session[session.id] = RedactedFrames(session)
        rel = f"images/{session.id}/{action['frame']}.png"
        if rel not in written:
            png, _ = frames(action["frame"])
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)
            written.add(rel)
        target = action.get("target") or {}
        rows.append({
            "id": f"{c['episode'].id}:{c['index']}",
            "episode": c["episode"].id,
            "interaction": c["interaction"],
            "instruction": c["episode"].instruction,
            "instruction_source": c["episode"].instruction_source,
            "history": c["history"],
            "image": rel,
            "screen": action.get("screen"),
            "gold": _gold(action),
            "target": {k: target[k] for k in ("bbox", "role", "name") if k in target} if target.get("bbox") else None,
            "intervention": bool(c["intervention"]),
            "source": action.get("source", "human"),
            "app": action.get("app"),
            "session": session.id,
        })
        bar.update(1)
    bar.close()
    for frames in frames_by_session.values():
        frames.save()  # the masks found, kept for the next build, export or report
    with (out / STEPS_FILE).open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    _write_card(out, sessions, rows, skipped, kept_episodes, options)
    if options.holdout is not None:
        (out / "holdout.json").write_text(json.dumps(
            {"seed": options.seed, "fraction": options.holdout, "episodes": sorted(held_episodes),
             "train_export": f"workprint export --split {round(1 - options.holdout, 6)},{options.holdout} "
                             f"--seed {options.seed} (train = the episodes not held out)"}, indent=1) + "\n")
    return {"steps": len(rows), "episodes": kept_episodes, "sessions": len(sessions),
            "by_interaction": dict(Counter(r["interaction"] for r in rows)), "skipped": dict(skipped),
            "out": str(out)}


def _gold(action: Action) -> dict[str, Any]:
    """The gold action in the vocabulary, without what the recorder alone knows (raw ids, trace, frames)."""
    record = action_record(action)
    for key in ("trace", "frame", "frame_after", "t", "t_end", "window", "id", "screen"):
        record.pop(key, None)
    return record


def _write_card(out: Path, sessions: list[SessionData], rows: list[dict[str, Any]], skipped: Counter, episodes: int,
                options: BuildOptions) -> None:
    counts = Counter(r["interaction"] for r in rows)
    corrected = Counter(r["interaction"] for r in rows if r["intervention"])
    table = "\n".join(f"| {k} | {counts[k]} | {corrected[k]} |" for k in INTERACTIONS if counts[k])
    apps = Counter(r["app"] or "?" for r in rows)
    sources = Counter(r["instruction_source"] for r in rows)
    holdout = (f"Held out {options.holdout:g} of the episodes with seed {options.seed} (`holdout.json` lists them; "
               f"`workprint export --split {round(1 - options.holdout, 6)},{options.holdout} --seed {options.seed}` "
               "trains on the rest)." if options.holdout is not None else "All episodes of the sessions given.")
    cap = (f"At most {options.max_per_interaction} steps per interaction (a seeded choice; corrections kept first)."
           if options.max_per_interaction else "No cap per interaction.")
    card = f"""# workprint eval set

Built with workprint {__version__} from {len(sessions)} session(s): {episodes} episode(s), {len(rows)} step(s).
{holdout} {cap}

## Steps by interaction
| interaction | steps | where a person corrected an agent |
|---|---|---|
{table or "| (none) | 0 | 0 |"}

`menu` is a click on a menu or menu item, `select` a choice in a dropdown or list (from the
accessible role of what was clicked); public benchmarks fold both into `click`.

## Steps by app
{chr(10).join(f"- {k}: {v}" for k, v in sorted(apps.items()))}

## Instructions
By source: {dict(sorted(sources.items()))}. Empty where the contributor did not mark a task; never invented.

## Left out
{chr(10).join(f"- {k}: {v}" for k, v in sorted(skipped.items()) if v) or "- nothing"}

## Using it
`steps.jsonl`: one step per line (`id`, `episode`, `interaction`, `instruction`, `history` as pyautogui
code, `image` relative to this folder, `screen`, `gold`, `target.bbox` when known, `intervention`).
Images are the redacted frames (text flagged by OCR masked on the device).

```sh
workprint eval run THIS_DIR --model http://127.0.0.1:8000/v1 --out results
workprint eval score THIS_DIR predictions.jsonl --out results
```
"""
    (out / "README.md").write_text(card)


def load_steps(directory: Path) -> list[dict[str, Any]]:
    """The steps of an eval set, with a clear error for a folder that is not one."""
    path = directory / STEPS_FILE
    if not path.is_file():
        raise EvalSetError(f"{directory} is not an eval set (no {STEPS_FILE}); build one with "
                           "`workprint eval build --out DIR`")
    steps = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                step = json.loads(line)
            except ValueError as exc:
                raise EvalSetError(f"{path}, line {number}: not JSON ({exc})") from None
            missing = [k for k in ("id", "episode", "interaction", "gold", "screen") if k not in step]
            if missing:
                raise EvalSetError(f"{path}, line {number}: missing {', '.join(missing)}")
            steps.append(step)
    return steps


def iter_interactions(steps: Iterable[dict[str, Any]]) -> list[str]:
    present = {s["interaction"] for s in steps}
    return [k for k in INTERACTIONS if k in present] + sorted(present - set(INTERACTIONS))

"""The dataset card (README.md) written beside every export."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

from workprint import __version__
from workprint.export.formats import Format
from workprint.export.agent_card import agent_section
from workprint.export.steps import SessionData, assign_split


def write_card(out: Path, format_: Format, sessions: list[SessionData], splits, seed: int,
               left_out: dict[str, int] | None = None, keep: Callable = lambda episode: True) -> None:
    """Counts describe what the export holds: episodes the format left out are not counted."""
    types: Counter[str] = Counter()
    apps: Counter[str] = Counter()
    screens: Counter[str] = Counter()
    redacted: Counter[str] = Counter()
    split_steps: Counter[str] = Counter()
    episodes = 0
    policies = set()
    for s in sessions:
        policies.add(json.dumps(s.reader.meta.get("policy", {}).get("apps", {}), sort_keys=True))
        for ep in s.episodes:
            if not keep(ep):
                continue
            episodes += 1
            split = assign_split(ep.id, splits, seed)
            for a in ep.actions:
                types[a["type"]] += 1
                apps[a.get("app") or "?"] += 1
                scr = a.get("screen") or {}
                screens[f"{scr.get('w')}x{scr.get('h')} @{scr.get('scale')}"] += 1
                split_steps[split] += 1
                for kind in a.get("redacted", []):
                    redacted[kind] += 1

    def table(counter: Counter, head: str) -> str:
        rows = "\n".join(f"| {k} | {v} |" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"| {head} | steps |\n|---|---|\n{rows or '| (none) | 0 |'}\n"

    fmt = format_.name
    loading = format_.loading
    skipped = "".join(f"- {n} step(s) {reason}\n" for reason, n in sorted((left_out or {}).items())) or "- none\n"
    card = f"""# workprint export ({fmt})

Recorded with workprint {__version__}: {len(sessions)} session(s), {episodes} episode(s),
{sum(types.values())} step(s). Splits by episode (seed {seed}): {dict(split_steps)}.

{format_.summary}.

## Loading
{loading}

## Left out of this format
{skipped}
## Steps by action type
{table(types, "action")}
## Steps by app
{table(apps, "app")}
## Screen sizes
{table(screens, "screen")}
## Redactions
Typed text redacted before storage, by kind (steps): {dict(redacted) or "none"}.
Screenshots: text found by OCR and flagged by the redactor is masked (black) before export;
windows of apps outside the policy are masked at capture.

## Policy used
{chr(10).join(f"- `{p}`" for p in sorted(policies))}

{agent_section(sessions)}
Instructions are empty (`instruction_source: "none"`) where the contributor did not mark a task;
they are never invented. People appear only as pseudonymous contributor ids.
"""
    (out / "README.md").write_text(card)

"""``chat-preference``: OpenAI preference (DPO) fine-tuning JSONL, one pair per corrected step.

OpenAI's documented shape: ``{"input": {"messages": [...]}, "preferred_output": [assistant],
"non_preferred_output": [assistant]}``, nothing else at the top level. The prompt is exactly
``chat``'s (task, previous actions, screenshot); the preferred answer is what the person did,
the non-preferred one what the agent was about to do.

A pair exists only where a step has a rejected action: interventions supply them (a step whose
action carries ``rejected``, the agent's proposed action in the DESIGN vocabulary). Other
producers call ``pair`` directly with (prompt messages, chosen action, rejected action).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from workprint.export import prompt
from workprint.export.chat import Images, prompt_messages, step_info, write_lines
from workprint.export.formats import ExportOptions, Format, Written
from workprint.process.pyautogui_code import to_code
from workprint.export.steps import SessionData, Step
from workprint.vocabulary import Action


def pair(prompt_messages: list[dict[str, Any]], chosen: Action, rejected: Action) -> dict[str, Any]:
    """One preference example: the prompt, the action to prefer and the one to avoid (vocabulary dicts).
    A rejected action without a screen size is placed on the chosen action's screen."""
    if "screen" not in rejected and "screen" in chosen:
        rejected = {**rejected, "screen": chosen["screen"]}
    return {"input": {"messages": prompt_messages},
            "preferred_output": [{"role": "assistant", "content": to_code(chosen, relative=True)}],
            "non_preferred_output": [{"role": "assistant", "content": to_code(rejected, relative=True)}]}


def rejected_for(step: Step) -> Action | None:
    """The action the person rejected at this step, when an intervention recorded one."""
    rejected = step.action.get("rejected")
    return rejected if isinstance(rejected, dict) and rejected.get("type") else None


def write_session(session: SessionData, steps: Iterable[Step], out: Path, options: ExportOptions) -> Written:
    written = Written()
    images = Images(out, options, written)
    by_split: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for turn in prompt.turns(steps):
        rejected = rejected_for(turn.step)
        if rejected is None:
            written.leave_out("no rejected action (not an intervention)")
            continue
        record = pair(prompt_messages(turn, images.url(turn.step)), turn.step.action, rejected)
        by_split.setdefault(turn.step.split, []).append((record, step_info(turn.step)))
    for split, lines in sorted(by_split.items()):
        write_lines(out, split, session, lines, written)
    return written


FORMAT = Format(
    name="chat-preference",
    summary="OpenAI preference (DPO) fine-tuning JSONL: the person's correction preferred over the agent's action",
    loading="One JSON object per line in `<split>/*.jsonl`, OpenAI's preference fine-tuning format: "
            "`input.messages` (the same prompt as `chat`), `preferred_output` (the person's action) and "
            "`non_preferred_output` (the agent's rejected action), each one assistant message of pyautogui code. "
            "Only steps where a person corrected an agent have a pair.",
    write_session=write_session,
)

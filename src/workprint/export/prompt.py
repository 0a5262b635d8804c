"""The prompt every chat-style export shares: task, previous actions, screenshot -> next action.

``chat`` (OpenAI), ``chat-preference``, ``trl`` and ``sharegpt`` differ only in how they wrap
these pieces, so a model trained on one sees the same prompt as a model trained on another,
and as ``workprint agent run`` sends (actions as OpenCUA-style pyautogui code, 0..1 coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from workprint.process.pyautogui_code import to_code
from workprint.export.steps import Step

SYSTEM = ("You are a computer-use agent. Given the task, the previous actions and a screenshot, answer with "
          "the next action as pyautogui code, one call per line. Coordinates are fractions of the screen "
          "width and height (0..1), e.g. pyautogui.click(x=0.3271, y=0.2694). End the task with "
          "computer.terminate(status='success') or computer.terminate(status='failure').")
HISTORY = 8  # previous actions shown in the prompt


@dataclass
class Turn:
    """One training example: the prompt text, its screenshot (PNG, redacted) and the answer."""

    step: Step
    text: str
    image: bytes | None
    answer: str  # pyautogui code, relative coordinates


def code(step: Step) -> str:
    return to_code(step.action, relative=True)


def user_text(instruction: str, previous: list[str]) -> str:
    history = "\n".join(previous[-HISTORY:]) or "(none)"
    return f"Task: {instruction or '(no instruction recorded)'}\nPrevious actions:\n{history}"


def turns(steps: Iterable[Step], reasoning: bool = False) -> Iterator[Turn]:
    """Each step with the prompt an agent would have seen before taking it.

    ``reasoning``: where a step has a model-written thought (``workprint annotate``), the answer
    is the thought, then the action ("reasoning then action"); the history stays code only.
    """
    history: dict[str, list[str]] = {}
    for step in steps:
        previous = history.setdefault(step.episode.id, [])
        action = code(step)
        thought = step.notes.get("thought") if reasoning else None
        answer = f"Thought: {thought}\nAction:\n{action}" if thought else action
        yield Turn(step, user_text(step.episode.instruction, previous), step.image, answer)
        previous.append(action)

"""What an export format is, and the one place formats are registered.

A format is a module under ``workprint/export/`` with a module-level ``FORMAT``; add its
module name to ``REGISTRY`` below and it is on the command line, in ``run_export`` and on the
dataset card. Modules are imported only when used, so the command line starts fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from workprint.export.steps import SessionData, Step

# name on the command line -> module under workprint.export
REGISTRY: dict[str, str] = {
    "hf": "hf",
    "opencua": "opencua",
    "agentnetbench": "agentnetbench",
    "chat": "chat",
    "chat-preference": "chat_preference",
    "trl": "trl",
    "sharegpt": "sharegpt",
    "preference": "preference",  # agent runs: TRL DPO pairs, one per intervention
    "rlif": "rlif",  # agent runs: every agent step with intervened and a reward
}


@dataclass(frozen=True)
class ExportOptions:
    """Settings a format may read; the export is rewritten when any of them changes."""

    image_base_url: str | None = None  # chat formats: http(s) URLs under this base instead of inline data URLs
    allow_empty_instruction: bool = False  # formats that need a task: keep episodes without one
    reasoning: bool = False  # chat, trl, sharegpt: the model-written thought before the action, where there is one

    def key(self) -> dict[str, Any]:
        return {"image_base_url": self.image_base_url, "allow_empty_instruction": self.allow_empty_instruction,
                "reasoning": self.reasoning}


@dataclass
class Written:
    """What one session's export wrote (paths relative to the export folder) and what it left out."""

    files: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> steps

    def leave_out(self, reason: str, n: int = 1) -> None:
        self.left_out[reason] = self.left_out.get(reason, 0) + n


WriteSession = Callable[["SessionData", Iterable["Step"], Path, ExportOptions], Written]


@dataclass(frozen=True)
class Format:
    name: str
    summary: str  # one line: what it is and which tool reads it (README table, --help, card)
    loading: str  # Markdown for the dataset card: how to load or run it
    write_session: WriteSession
    needs_instruction: bool = False  # episodes without an instruction are left out unless allowed
    finish: Callable[[Path], list[str]] | None = None  # after every session: files built from all of them


def get(name: str) -> Format:
    if name not in REGISTRY:
        raise KeyError(name)
    return importlib.import_module(f"workprint.export.{REGISTRY[name]}").FORMAT

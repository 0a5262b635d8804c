"""The person's commands to a running recorder: pause, task marks, and the hotkeys for them.

They arrive three ways, all read on the gate thread: the pause flag (``workprint pause`` /
``resume``), one JSON file per command in the control folder (``workprint task``, ``workprint
agent resume``), and hotkeys, which are never recorded themselves.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from workprint.home import control_dir, pause_flag, send_control, set_paused

# ctrl+alt+p pauses or resumes recording from the keyboard; ctrl+alt+t asks for the task being
# started (or ends the current one). Neither hotkey is recorded.
PAUSE_HOTKEY = ("ctrl", "alt", "p")
TASK_HOTKEY = ("ctrl", "alt", "t")


def pressed(hotkey: tuple[str, ...], name: str | None, mods: set[str]) -> bool:
    """Whether key ``name`` going down while ``mods`` are held is ``hotkey``."""
    return name == hotkey[-1] and set(hotkey[:-1]) <= mods


def task_dialog(ask_text: Callable[[str, str], str | None]) -> Callable[[Path], None]:
    """The task hotkey's question, asked with the backend's prompt (``Backend.ask_text``) off the
    gate thread; the answer comes back as a ``task_start`` command like `workprint task start`
    would send. The title starts "workprint:", so the dialog itself is never recorded."""

    def ask_task(home: Path) -> None:
        def ask() -> None:
            instruction = ask_text("workprint: new task",
                                   "What task are you starting? (it becomes the episode's instruction)")
            if instruction:
                send_control(home, {"command": "task_start", "instruction": instruction})

        threading.Thread(target=ask, daemon=True).start()

    return ask_task


class Control:
    """The pause flag and the control folder of one workprint home.

    ``ask_task(home)`` asks the person for a task (``task_dialog``); tests give their own.
    """

    def __init__(self, home: Path, ask_task: Callable[[Path], None]):
        self.home = home
        self._ask_task = ask_task

    def flag_paused(self) -> bool:
        """Whether `workprint pause` (or the hotkey) asked for a pause."""
        return pause_flag(self.home).exists()

    def set_paused(self, paused: bool) -> None:
        set_paused(self.home, paused)

    def commands(self) -> Iterator[dict[str, Any]]:
        """Commands sent since the last call, in the order they were sent; each file is removed as
        its command is handed over (one that fails to apply does not take the rest with it)."""
        for path in sorted(control_dir(self.home).glob("*.json")):
            try:
                command = json.loads(path.read_text())
            except (OSError, ValueError):
                command = {}
            path.unlink(missing_ok=True)
            yield command if isinstance(command, dict) else {}

    def task_hotkey(self, task_open: bool) -> None:
        """The task hotkey ends the open task, or asks for the instruction of a new one."""
        if task_open:
            send_control(self.home, {"command": "task_end"})
        else:
            self._ask_task(self.home)

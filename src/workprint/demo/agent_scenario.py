"""A short agent run with a person stepping in, shared by ``make demo``, the tests and ``bench/``.

A scripted model server answers the agent; xdotool plays the person. The run:

1. the agent clicks into mousepad and types a line (right actions);
2. while the model is answering the third turn (a planted mistake), the person clicks and
   types a correction holding an e-mail address, then ``workprint agent resume``: the
   mistake, in flight during the takeover, is never executed;
3. a malformed reply, retried once with the error told to the model, then Enter;
4. ``call_user``: the person answers by typing, and hands back with ctrl+alt+g;
5. a click aimed at the xterm, which the policy does not allow: refused, the person hands
   back with ``workprint agent resume``;
6. ``computer.terminate(status='success')``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.model_server import ScriptedModelServer
from workprint.demo.recording import accept_consent

EMAIL = "jane.doe@example.com"
MISTAKE = "WRONGWRONG"
CORRECTION = f" mail {EMAIL}"
ANSWER = " notes"
MALFORMED = "I will now press the Enter key to start a new line."
IMAGE_SIZE = (1280, 720)
TASK = "Write two lines in the editor"
# (source, type, text) of every action the scenario's session holds, in order.
SOURCES = [
    ("agent", "click", None),
    ("agent", "type", "agent line one"),
    ("human", "click", None),  # the takeover
    ("human", "hotkey", None),
    ("human", "type", CORRECTION.replace(EMAIL, "[EMAIL]")),
    ("agent", "key", None),
    ("agent", "call_user", None),
    ("human", "type", ANSWER),
]


def _code(line: str) -> str:
    return f"Next step.\n```python\n{line}\n```"


@dataclass
class AgentScenario:
    desk: VirtualDesktop
    home: Path
    policy: Path
    pad: int  # mousepad window id
    term: int  # xterm window id (not allowed)
    pace: float = 1.0
    task: str = TASK
    server: ScriptedModelServer | None = None
    proc: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # turns answered

    def __post_init__(self) -> None:
        self._in_flight = threading.Event()
        self._taken = threading.Event()
        px, py, pw, ph = self.desk.geometry(self.pad)
        sx, sy = self.desk.size
        self.pad_point = (px + pw // 2, py + ph // 2)
        tx, ty, tw, th = self.desk.geometry(self.term)
        self.term_point = (tx + tw // 2, ty + th // 2)
        iw, ih = IMAGE_SIZE
        # Turn -> reply. Coordinates: 0..1 for mousepad, pixels of the resized image for the xterm.
        self.replies = [
            _code(f"pyautogui.click(x={self.pad_point[0] / (sx - 1):.5f}, y={self.pad_point[1] / (sy - 1):.5f})"),
            _code("pyautogui.write(message='agent line one')"),
            _code(f"pyautogui.write(message='{MISTAKE}')"),  # in flight while the person takes over
            MALFORMED,
            _code("pyautogui.press('enter')"),
            _code("call_user(message='Which file name should I use?')"),
            _code(f"pyautogui.click(x={round(self.term_point[0] * iw / sx)}, y={round(self.term_point[1] * ih / sy)})"),
            _code("computer.terminate(status='success')"),
        ]

    @property
    def env(self) -> dict[str, str]:
        return {**self.desk.env, "WORKPRINT_HOME": str(self.home)}

    def _reply(self, request: dict[str, Any]) -> str:
        turn = len(self.server.requests) - 1 if self.server else 0
        if turn == 2:
            self._in_flight.set()
            self._taken.wait(30)  # answer only once the person has taken over
        self.answered.append(turn)
        return self.replies[min(turn, len(self.replies) - 1)]

    def _wait_turns(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answered) < n:
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError(f"the agent did not reach turn {n}: {self.log}")
            time.sleep(0.05)

    def _workprint(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "workprint", *args], env=self.env, check=True, capture_output=True,
                       timeout=60)

    def play(self, timeout: float = 240) -> tuple[int, str, str]:
        """Run the agent and the person; (exit code, stdout, stderr) of `workprint agent run`."""
        accept_consent(self.env, self.policy)  # the run records the person too: it needs their agreement
        with ScriptedModelServer(self._reply) as server:
            self.server = server
            argv = [sys.executable, "-m", "workprint", "agent", "run", "--task", self.task,
                    "--model", server.url, "--policy", str(self.policy), "--max-steps", "12",
                    "--image-size", f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}"]
            self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                self._person()
                out, err = self.proc.communicate(timeout=timeout)
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
        return self.proc.returncode, out, err

    def _person(self) -> None:
        desk = self.desk
        if not self._in_flight.wait(90):
            raise RuntimeError("the agent never asked for its third turn")
        # Takeover while the model is answering: click at the end of the text, type a correction.
        x, y = self.pad_point
        desk.xdotool("mousemove", x + 200, y + 120)
        desk.xdotool("click", 1)
        time.sleep(0.3)
        self._taken.set()
        desk.xdotool("key", "ctrl+End")
        desk.xdotool("type", "--delay", 60, CORRECTION)
        time.sleep(1.0 * self.pace)
        self._workprint("agent", "resume")
        # call_user (turn 5): answer by typing, hand back with the hotkey.
        self._wait_turns(6)
        time.sleep(1.5 * self.pace)
        desk.xdotool("type", "--delay", 60, ANSWER)
        time.sleep(0.8 * self.pace)
        desk.xdotool("key", "ctrl+alt+g")
        # The refused click on the xterm (turn 6): hand back from the command line.
        self._wait_turns(7)
        time.sleep(1.5 * self.pace)
        self._workprint("agent", "resume")


def open_desktop_apps(desk: VirtualDesktop) -> tuple[int, int]:
    """mousepad (allowed) and an xterm beside it (not allowed), both visible."""
    desk.spawn(["xterm", "-geometry", "70x12+1300+60", "-title", "scratch terminal"])
    term = desk.wait_window("xterm")
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    desk.xdotool("windowsize", pad, 1100, 800)
    desk.xdotool("windowmove", pad, 100, 120)
    time.sleep(1.0)
    desk.activate(pad)
    return pad, term

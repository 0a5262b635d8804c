"""The agent loop: look (through the policy gate), ask the model, act, record; yield to the person.

Each step takes a screenshot with the windows of apps the policy does not allow blacked
out (and text the redactor flags masked by OCR), sends it with the task and the previous
actions to the model, parses the reply into vocabulary actions and performs them through
the backend's injector, announcing each on the status line first. The recorder writes
everything; the channel says who has control. The recorder runs in this process
(``AgentChannel``) or is a running `workprint record` the run joined (``agent.link``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from PIL import Image

from workprint.agent.actuate import Executor, Interrupted
from workprint.agent.channel import AgentChannel
from workprint.capture.base import Backend, Window
from workprint.capture.frames import CapturedFrame, mask_rects, masked_rgb
from workprint.process.pyautogui_code import to_code
from workprint.model import ChatClient, ImageFit, ModelError, ReplyError, build_messages, encode_png
from workprint.model.parse import parse_reply, parse_tool_calls
from workprint.model.prompt import TOOLS
from workprint.process.actions import action_summary
from workprint.vocabulary import ACTION_SPECS, Action

if TYPE_CHECKING:
    from workprint.recorder import Recorder

POINTER = frozenset(t for t, spec in ACTION_SPECS.items() if spec.shape in ("point", "drag", "scroll"))
KEYBOARD = frozenset(t for t, spec in ACTION_SPECS.items() if spec.shape in ("text", "keys", "url"))
WAIT_MAX_S = 5.0


@dataclass
class RunResult:
    status: str  # done | fail | stopped | error
    steps: int = 0  # model turns
    actions: int = 0  # actions executed
    error: str | None = None
    takeovers: int = 0
    timings: list[dict[str, float]] = field(default_factory=list)  # per turn: our overhead (bench)


class AgentRun:
    def __init__(self, recorder: "Recorder | None", backend: Backend, client: ChatClient, task: str, *, fmt: str = "pyautogui",
                 max_steps: int = 30, image_size: str | None = None, redact_screens: bool = True,
                 log: Callable[[str], None] | None = None, channel: AgentChannel | None = None) -> None:
        self.backend = backend
        self.client = client
        self.task = task
        self.fmt = fmt
        self.max_steps = max_steps
        screen = backend.screen()
        self.fit = ImageFit.for_screen(screen.w, screen.h, image_size)
        self.redact_screens = redact_screens
        self.log = log or (lambda m: print(f"workprint agent: {m}", file=sys.stderr, flush=True))
        if channel is None:  # a joined run passes the link's channel, and no recorder
            assert recorder is not None, "AgentRun needs the recorder in this process, or a joined channel"
            channel = AgentChannel(recorder)
        self.channel = channel
        self._redactor: Any = None  # privacy.frames.FrameRedactor, loaded at the first look (OCR models)
        self._history: list[str] = []
        self._action_no = 0
        self.measure = False

    # ------------------------------------------------------------------ looking
    def observe(self) -> bytes:
        """The screen as the model may see it: PNG, denied windows black, flagged text masked."""
        w, h, pixels = self._grabber.grab()
        windows = self._inspector.windows()
        allowed, boxes = self.channel.look(windows)
        denied = {w.wid for w, ok in zip(windows, allowed) if not ok}
        frame = CapturedFrame(time.monotonic(), w, h, pixels, True, windows, None)
        masks = mask_rects(frame, lambda window: window.wid not in denied) + boxes
        image = Image.fromarray(masked_rgb(frame, masks))
        if self.redact_screens:
            if self._redactor is None:
                from workprint.privacy.frames import FrameRedactor

                self._redactor = FrameRedactor()
            image, _ = self._redactor.redact_image(image)
        return encode_png(image, self.fit)

    def _window_at(self, x: int, y: int) -> Window | None:
        for window in reversed(self._inspector.windows()):
            if window.contains(x, y) and window.app_ids:
                return window
        return None

    def refused(self, action: Action) -> Window | None | bool:
        """The window an action would act on, if the policy does not allow it (else False)."""
        if action["type"] in POINTER:
            window = self._window_at(action["x"], action["y"])
        elif action["type"] in KEYBOARD:
            window = self._inspector.active_window()
        else:
            return False
        return False if self.channel.look([window])[0][0] else window

    # ------------------------------------------------------------------ asking
    def ask(self, png: bytes, timing: dict[str, float]) -> tuple[list[Action] | None, str]:
        """(actions, raw reply text); actions None when the reply was unusable twice."""
        retry = None
        for attempt in range(2):
            messages = build_messages(self.task, self._history, png, format=self.fmt, fit=self.fit, retry=retry)
            timing["sent"] = time.perf_counter()
            reply = self.client.complete(messages, tools=TOOLS if self.fmt == "tools" else None)
            timing["received"] = time.perf_counter()
            text = reply.text
            if reply.tool_calls:
                import json

                text = (text + "\n" if text else "") + json.dumps(
                    [c.get("function") for c in reply.tool_calls], ensure_ascii=False)
            try:
                if self.fmt == "tools":
                    actions = parse_tool_calls(reply.tool_calls, self.fit)
                else:
                    actions = parse_reply(reply.text, self.fit)
                return actions, text
            except ReplyError as exc:
                what = f"the model's reply could not be used ({exc})"
                self.log(what + ("; asking once more, with the error" if attempt == 0 else "; skipping this turn"))
                self.channel.send("log", message=what)
                retry = (text, str(exc))
        return None, text

    # ------------------------------------------------------------------ the loop
    def _wait_for_person(self) -> str:
        while True:
            verdict = self.channel.wait_handback(0.25)
            if verdict is not None:
                return verdict
            if not self.channel.running:
                return "stop"

    def run(self) -> RunResult:
        channel = self.channel
        channel.attach()
        channel.send("start", task=self.task, model=self.client.model_name, format=self.fmt,
                     max_steps=self.max_steps)
        deadline = time.monotonic() + 10
        while not channel.running and time.monotonic() < deadline:
            time.sleep(0.01)
        self._grabber = self.backend.screen_grabber()
        self._inspector = self.backend.window_inspector()
        injector = self.backend.injector()
        executor = Executor(injector, channel)
        self.executor = executor
        if self.measure:
            executor.injected = []
        result = RunResult("fail")
        try:
            result = self._loop(executor, result)
        except ModelError as exc:
            result.status, result.error = "error", str(exc)
            self.log(f"the run ended: {exc}")
        finally:
            result.takeovers = channel.takeovers
            channel.send("end", status=result.status, error=result.error)
            end = time.monotonic() + 10
            while channel.running and time.monotonic() < end:
                time.sleep(0.01)
            injector.close()
            self._grabber.close()
            self._inspector.close()
        return result

    def _loop(self, executor: Executor, result: RunResult) -> RunResult:
        channel = self.channel
        while True:
            if channel.lost:  # a joined recording went away: never act unrecorded
                result.status, result.error = "error", channel.lost
                self.log(f"the run ended: {channel.lost}")
                return result
            if channel.stop_requested() or not channel.recording():
                result.status = "stopped"
                return result
            if not channel.may_act():
                if self._wait_for_person() == "stop":
                    if channel.lost:
                        continue
                    result.status = "stopped"
                    return result
                self._history.append("# the person had control here, then handed it back")
                continue
            if result.steps >= self.max_steps:
                self.log(f"no result after --max-steps {self.max_steps}: the run ends with fail")
                channel.send("log", message=f"max steps ({self.max_steps}) reached")
                result.status = "fail"
                return result
            result.steps += 1
            timing = {"start": time.perf_counter()}
            png = self.observe()
            timing["observed"] = time.perf_counter()
            actions, reply = self.ask(png, timing)
            if actions is None:
                continue
            for action in actions:
                self._action_no += 1
                step = self._action_no
                if not channel.may_act():  # the person took over while the model was answering
                    channel.send("proposed", step=step, action=action, reply=reply, why="takeover")
                    break
                kind = action["type"]
                if kind in ("done", "fail"):
                    channel.send("step", step=step, action=action, reply=reply)
                    result.status = kind
                    self.log(f"the agent says {kind}")
                    return result
                if kind == "call_user":
                    channel.send("step", step=step, action=action, reply=reply)
                    self.log(f"the agent asks for you: {action.get('message', '')}")
                    channel.pause_for("call_user", message=str(action.get("message", "")))
                    self._history.append(f"call_user(message={action.get('message', '')!r})")
                    break
                if kind == "wait":
                    time.sleep(min(WAIT_MAX_S, float(action.get("seconds") or 1.0)))
                    self._history.append("computer.wait()")
                    continue
                if kind == "navigate":  # on the desktop: the browser's address bar
                    action = {"type": "hotkey", "keys": ["ctrl", "l"], "url": action.get("url")}
                if kind == "select":
                    self.log(f"select {action.get('label')!r} cannot be done on the desktop; skipped")
                    continue
                window = self.refused(action)
                if window is not False:
                    app = window.app if isinstance(window, Window) else None
                    self.log(f"the agent wanted to {action_summary(action)} in {app or 'a window'}, which the "
                             "policy does not allow; not done. Do it yourself or hand back")
                    channel.send("proposed", step=step, action=action, reply=reply, why="refused_app")
                    channel.pause_for("refused_app", app=app or "")
                    break
                channel.show(f"next: {action_summary(action)}")
                channel.send("step", step=step, action=action, reply=reply)
                try:
                    executor.perform(action, step)
                except Interrupted:
                    break  # the person took control in the middle: the rest is not done
                if action.get("url"):  # navigate: type the address and go
                    try:
                        executor.write(str(action["url"]))
                        executor.keys(["enter"])
                    except Interrupted:
                        break
                result.actions += 1
                self._history.append(to_code(action))
                if self.measure:  # bench: until the gate has seen (and written) every injected event
                    until = time.monotonic() + 0.5
                    while channel.pending() and time.monotonic() < until:
                        time.sleep(0.0005)
            timing["done"] = time.perf_counter()
            result.timings.append(timing)


"""Asking a model (or a baseline) every step of an eval set.

The same client, prompt and parser as ``workprint agent`` (``workprint.model``), so a score
here says how that model would do as the agent. Predictions are appended to
``RESULTS/predictions.jsonl`` as they come, one flushed line each: a killed run resumes
where it stopped without asking a step twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from workprint.errors import WorkprintError
from workprint.model import ChatClient, ImageFit, ModelError, ReplyError, build_messages, encode_png
from workprint.model.parse import parse_reply, parse_tool_calls
from workprint.model.prompt import TOOLS
from workprint.vocabulary import ACTION_SPECS, button_of

PREDICTIONS = "predictions.jsonl"
RUN_FILE = "run.json"
BASELINES = ("random", "center", "repeat")


class RunError(WorkprintError):
    """The run cannot go on; predictions made so far are kept and a rerun resumes."""


class RunInterrupted(RunError):
    """The person stopped the run (Ctrl-C); what was answered is kept and a rerun resumes."""


@dataclass
class RunOptions:
    model: str | None = None
    model_name: str | None = None
    format: str = "pyautogui"
    concurrency: int = 4
    image_size: str | None = None
    baseline: str | None = None
    seed: int = 0
    retries: int = 3
    timeout: float = 120.0

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run (a resume must not mix answers of different models)."""
        if self.baseline:
            return {"baseline": self.baseline, "seed": self.seed}
        return {"model": self.model, "model_name": self.model_name, "format": self.format,
                "image_size": self.image_size}


def read_done(path: Path) -> set[str]:
    """Ids already answered; a torn last line (a killed run) is cut off so appends stay valid JSONL."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    keep = data if data.endswith(b"\n") or not data else data[:data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        with path.open("r+b") as f:
            f.truncate(len(keep))
    done = set()
    for line in keep.decode("utf-8").splitlines():
        try:
            done.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return done


# ---------------------------------------------------------------------------- baselines

def _screen(step: dict[str, Any]) -> tuple[int, int]:
    screen = step.get("screen") or {}
    return int(screen.get("w") or 1920), int(screen.get("h") or 1080)


def _shaped(kind: str, points: Callable[[], tuple[int, int]], rng: random.Random | None) -> dict[str, Any]:
    """An action of the gold's type with guessed arguments: what chance gets right."""
    shape = ACTION_SPECS[kind].shape if kind in ACTION_SPECS else None
    if shape == "point":
        x, y = points()
        return {"type": kind, "x": x, "y": y, "button": button_of(kind)}
    if shape == "drag":
        (x, y), (x2, y2) = points(), points()
        return {"type": "drag", "x": x, "y": y, "x2": x2, "y2": y2, "button": "left"}
    if shape == "scroll":
        x, y = points()
        return {"type": "scroll", "x": x, "y": y, "dx": 0, "dy": rng.choice((-3, 3)) if rng else -3}
    if shape == "text":
        return {"type": "type", "text": ""}
    if shape == "keys":
        keys = [["ctrl", "c"], ["ctrl", "v"], ["ctrl", "s"], ["ctrl", "z"]] if kind == "hotkey" else \
            [["enter"], ["tab"], ["esc"], ["backspace"]]
        return {"type": kind, "keys": rng.choice(keys) if rng else keys[0]}
    if shape == "url":
        return {"type": "navigate", "url": "about:blank"}
    if kind in ("done", "fail"):
        return {"type": kind}
    return {"type": "wait"}  # select outside a choice step, wait, call_user: nothing to guess


def baseline_action(name: str, step: dict[str, Any], previous: dict[str, Any] | None, seed: int) -> dict[str, Any]:
    """``random``/``center`` are told the step's action type and guess the arguments (a point anywhere
    on the screen / its centre); ``repeat`` repeats the previous gold action of the episode."""
    w, h = _screen(step)
    kind = step["gold"]["type"]
    if step["interaction"] in ("menu", "select"):
        kind = "click"
    if name == "random":
        rng = random.Random(int.from_bytes(hashlib.blake2b(f"{seed}:{step['id']}".encode(), digest_size=8).digest(),
                                           "big"))
        return _shaped(kind, lambda: (rng.randrange(w), rng.randrange(h)), rng)
    if name == "center":
        return _shaped(kind, lambda: (w // 2, h // 2), None)
    if name == "repeat":
        if previous is None:
            return {"type": "click", "x": w // 2, "y": h // 2, "button": "left"}
        return {k: v for k, v in previous.items() if k not in ("target", "source", "app", "url_title")}
    raise RunError(f"unknown baseline {name!r}; one of {', '.join(BASELINES)}")


# ---------------------------------------------------------------------------- model

class _Asker:
    CACHED_IMAGES = 32

    def __init__(self, directory: Path, options: RunOptions) -> None:
        self.directory = directory
        self.options = options
        self._cache: OrderedDict[tuple[str, ImageFit], bytes] = OrderedDict()
        self._encoding: dict[tuple[str, ImageFit], Future[bytes]] = {}
        self._lock = threading.Lock()
        self.client = ChatClient(options.model or "", options.model_name, retries=options.retries,
                                 timeout=options.timeout)

    def _image(self, rel: str, fit: ImageFit) -> bytes:
        """The PNG sent for a frame. Steps share frames (a typing run, a key after it), and a resize
        plus PNG encoding is most of a step's cost, so the last few are kept. Steps sharing a frame
        are asked at the same time: the first encodes it, the others wait for that one encoding."""
        key = (rel, fit)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            pending = self._encoding.get(key)
            if pending is None:
                pending = self._encoding[key] = Future()
                mine = True
            else:
                mine = False
        if not mine:
            return pending.result()
        image_path = self.directory / rel
        try:
            png = encode_png(image_path.read_bytes(), fit)
        except Exception as exc:
            error = RunError(f"cannot read the step's image {image_path}: {exc}") if isinstance(exc, OSError) else exc
            with self._lock:
                del self._encoding[key]
            pending.set_exception(error)  # the steps waiting on this frame fail the same way
            raise error from None
        with self._lock:
            del self._encoding[key]
            self._cache[key] = png
            while len(self._cache) > self.CACHED_IMAGES:
                self._cache.popitem(last=False)
        pending.set_result(png)
        return png

    def ask(self, step: dict[str, Any]) -> dict[str, Any]:
        w, h = _screen(step)
        try:
            fit = ImageFit.for_screen(w, h, self.options.image_size)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        png = self._image(step["image"], fit)
        tools = self.options.format == "tools"
        retry = None
        replies = []
        for _ in range(2):  # one retry, told what was wrong, as the agent does
            messages = build_messages(step.get("instruction") or "", list(step.get("history") or []), png,
                                      format=self.options.format, fit=fit, retry=retry)
            reply = self.client.complete(messages, tools=TOOLS if tools else None)
            replies.append(reply.text if not tools else json.dumps(reply.tool_calls))
            try:
                actions = parse_tool_calls(reply.tool_calls, fit) if tools else parse_reply(reply.text, fit)
                return {"id": step["id"], "action": actions[0], "reply": replies[-1],
                        "model": self.client.model_name}
            except ReplyError as exc:
                retry = (replies[-1], str(exc))
        return {"id": step["id"], "error": retry[1] if retry else "no answer", "reply": replies[-1],
                "model": self.client.model_name}

    def close(self) -> None:
        self.client.close()


def run_eval(directory: Path, steps: list[dict[str, Any]], out: Path, options: RunOptions,
             progress: bool = True) -> dict[str, Any]:
    """Answer every step not yet in ``out/predictions.jsonl``; returns counts."""
    if options.format not in ("pyautogui", "tools"):
        raise RunError(f"--format {options.format!r}: pyautogui or tools")
    if options.concurrency < 1:
        raise RunError("--concurrency must be at least 1")
    if options.baseline is None and not options.model:
        raise RunError("give --model URL (an OpenAI-compatible server) or --baseline random|center|repeat")
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / RUN_FILE
    identity = options.identity()
    if run_file.exists():
        before = json.loads(run_file.read_text()).get("identity")
        if before != identity:
            raise RunError(f"{out} holds predictions of another run ({before}); give another --out, or delete it")
    run_file.write_text(json.dumps({"identity": identity, "eval_set": os.path.abspath(directory)}, indent=1) + "\n")
    path = out / PREDICTIONS
    done = read_done(path)
    todo = [s for s in steps if s["id"] not in done]
    bar = tqdm(total=len(steps), initial=len(steps) - len(todo), desc="eval run", unit="step", disable=not progress)
    lock = threading.Lock()
    with path.open("a", encoding="utf-8") as f:
        def write(row: dict[str, Any]) -> None:
            with lock:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                bar.update(1)

        if options.baseline:
            previous: dict[str, dict[str, Any]] = {}
            gold_before: dict[str, dict[str, Any] | None] = {}
            for s in steps:  # the previous step's gold within the episode, in eval-set order
                gold_before[s["id"]] = previous.get(s["episode"])
                previous[s["episode"]] = s["gold"]
            for s in todo:
                write({"id": s["id"], "action": baseline_action(options.baseline, s, gold_before[s["id"]], options.seed),
                       "baseline": options.baseline})
        else:
            _ask_all(directory, todo, options, write)
    bar.close()
    return {"asked": len(todo), "resumed": len(steps) - len(todo), "steps": len(steps)}


def _ask_all(directory: Path, todo: list[dict[str, Any]], options: RunOptions,
             write: Callable[[dict[str, Any]], None]) -> None:
    try:
        asker = _Asker(directory, options)
    except ModelError as exc:
        raise RunError(str(exc)) from None
    pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="workprint-eval")
    unwritten: set[Future] = set()  # asked (or queued) and not yet written

    def submit(step: dict[str, Any]) -> Future:
        future = pool.submit(asker.ask, step)
        unwritten.add(future)
        return future

    try:
        pending: set[Future] = set()
        queue = iter(todo)
        first = next(queue, None)
        if first is not None:
            # The first step alone: an endpoint that does not answer fails after one step's retries.
            pending.add(submit(first))
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    row = future.result()
                except ModelError as exc:
                    unwritten.discard(future)
                    _keep_finished(unwritten, write)
                    raise RunError(f"{exc}\nThe predictions made so far are kept; run the same command again "
                                   "to resume.") from None
                write(row)
                unwritten.discard(future)
                # Keep at most 2x concurrency in flight: a stopped run has not asked far ahead.
                for step in queue:
                    pending.add(submit(step))
                    if len(pending) >= options.concurrency * 2:
                        break
    except KeyboardInterrupt:
        # Ctrl-C: the steps not yet asked are dropped, the answers under way are still written.
        _keep_finished(unwritten, write)
        raise RunInterrupted("interrupted; the predictions made so far are kept: run the same command again "
                             "to resume") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        asker.close()


def _keep_finished(pending: set[Future], write: Callable[[dict[str, Any]], None]) -> None:
    """After a fatal error or Ctrl-C, the answers already under way are still written: nothing asked is lost."""
    for future in list(pending):
        if future.cancel():
            continue
        try:
            write(future.result())
        except Exception:
            continue

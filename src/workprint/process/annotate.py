"""Model-written task instructions and step reasoning, flagged as the model's (OpenCUA's way).

OpenCUA's CoT synthesis judges each step (reflector), writes an observation, a thought and a
one-line description of it (generator), and writes the task from the whole trajectory
(summariser). ``workprint annotate`` does the same against any OpenAI-compatible vision
model, with three rules:

* only redacted frames and redacted text are sent (the frames exports use);
* what a person wrote is never replaced: a contributor's instruction stays the instruction,
  and the model's is kept beside it as ``model_instruction``;
* answers are cached by the content of the request, in a sealed sidecar of the session, so
  running again asks only what changed (a new model, a better redaction, new steps).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from workprint.model import ChatClient, ImageFit, ModelError, encode_png
from workprint.model.prompt import data_url
from workprint.vocabulary import Action

SIDECAR = "annotations"
PROMPT_VERSION = 1  # bump when the prompts change: cached answers to old prompts are asked again
QUALITIES = ("good", "redundant", "mistake")
HISTORY = 10

STEP_SYSTEM = """\
You annotate one step of a recorded computer-use trajectory, to make training data for \
computer-use agents. You see the task (if known), the previous actions, the screenshot taken \
just before the step, and the step's action as pyautogui code. Some text in the screenshot may \
be blacked out or replaced by placeholders such as [EMAIL]: never guess what was removed.
Answer with one JSON object and nothing else:
{"observation": "what the screen shows that matters for this step, one or two sentences",
 "thought": "why this action is the right next move towards the task, one or two sentences",
 "description": "the action in a short imperative line, e.g. Click 'Select All' in the Edit menu",
 "quality": "good" | "redundant" | "mistake"}
"redundant": the step does nothing useful for the task; "mistake": it works against the task."""

EPISODE_SYSTEM = """\
You read the steps of a recorded computer-use trajectory and write the task the person was \
doing, as the one-sentence instruction they could have given an assistant (e.g. "Write a note \
with the meeting time and save it as notes.txt"). Text may be replaced by placeholders such as \
[EMAIL]: keep the placeholders, never guess what was removed.
Answer with one JSON object and nothing else: {"instruction": "..."}"""


@dataclass
class Request:
    """One question for the model: about a step (``kind`` step) or an episode (``kind`` episode)."""

    kind: str
    key: str  # where the answer is kept: "<episode>:<index>" or the episode id
    messages: list[dict[str, Any]]
    image_size: tuple[int, int] | None = None

    @property
    def content_key(self) -> str:
        """Changes whenever anything sent would change: the cache key."""
        basis = json.dumps([PROMPT_VERSION, self.messages], sort_keys=True).encode()
        return hashlib.blake2b(basis, digest_size=16).hexdigest()


@dataclass
class Summary:
    asked: int = 0
    cached: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)


def step_key(episode_id: str, index: int) -> str:
    return f"{episode_id}:{index}"


def load(reader: Any) -> dict[str, Any]:
    """The session's annotations: ``{"steps": {key: {...}}, "episodes": {id: {...}}}``."""
    document = reader.read_sidecar(SIDECAR) or {}
    return {"steps": dict(document.get("steps") or {}), "episodes": dict(document.get("episodes") or {})}


def apply_to_episodes(episodes: list[Any], annotations: dict[str, Any]) -> None:
    """Give episodes without an instruction the model's, flagged; keep a person's and put the model's beside it."""
    for episode in episodes:
        note = annotations["episodes"].get(episode.id)
        if not note or not note.get("instruction"):
            continue
        episode.model_instruction = note["instruction"]
        episode.instruction_model = note.get("model")
        if not episode.instruction:
            episode.instruction = note["instruction"]
            episode.instruction_source = "model"


def parse_answer(text: str, kind: str) -> dict[str, Any]:
    """The JSON object in a reply, checked; ValueError says what is wrong (told to the model once)."""
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        raise ValueError("no JSON object in the answer")
    try:
        answer = json.loads(match.group(0))
    except ValueError as exc:
        raise ValueError(f"the JSON does not parse ({exc})") from None
    if not isinstance(answer, dict):
        raise ValueError("the answer must be a JSON object")
    if kind == "episode":
        instruction = answer.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError('"instruction" must be a non-empty string')
        return {"instruction": instruction.strip()}
    out = {}
    for name in ("observation", "thought", "description"):
        value = answer.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f'"{name}" must be a non-empty string')
        out[name] = value.strip()
    quality = str(answer.get("quality", "")).strip().lower()
    if quality not in QUALITIES:
        raise ValueError(f'"quality" must be one of {", ".join(QUALITIES)}')
    out["quality"] = quality
    return out


def step_requests(session: Any, frames: Callable[[str], tuple[bytes, list[str]]],
                  image_size: str | None, code: Callable[[Action], str]) -> list[Request]:
    """One request per step of every episode, each with the step's redacted frame."""
    requests = []
    for episode in session.episodes:
        history: list[str] = []
        for index, action in enumerate(episode.actions):
            step_code = code(action)
            # The person's instruction only: the model's own (from an earlier run) would change every
            # request, and so the cache key, after each run.
            person = episode.instruction if episode.instruction_source == "contributor" else ""
            task = person or "(not recorded; infer it from the steps)"
            target = action.get("target") or {}
            where = f" on {target.get('role')} '{target.get('name')}'" if target.get("name") else ""
            text = (f"Task: {task}\nApp: {action.get('app')}\nWindow: {action.get('window')}\n"
                    f"Previous actions:\n{chr(10).join(history[-HISTORY:]) or '(none)'}\n\n"
                    f"This step{where}:\n{step_code}")
            content: list[dict[str, Any]] = [{"type": "text", "text": text}]
            size = None
            if action.get("frame"):
                png, _ = frames(action["frame"])
                screen = action.get("screen") or {}
                fit = ImageFit.for_screen(int(screen.get("w") or 1), int(screen.get("h") or 1), image_size)
                png = encode_png(png, fit)
                size = (fit.image_w, fit.image_h)
                content.append({"type": "image_url", "image_url": {"url": data_url(png)}})
            requests.append(Request("step", step_key(episode.id, index),
                                    [{"role": "system", "content": STEP_SYSTEM},
                                     {"role": "user", "content": content}], size))
            history.append(step_code)
    return requests


def episode_request(episode: Any, notes: dict[str, Any], code: Callable[[Action], str]) -> Request:
    """The summariser's question: every step as code, with the model's description where there is one."""
    lines = []
    for index, action in enumerate(episode.actions):
        note = notes.get(step_key(episode.id, index)) or {}
        described = f"  # {note['description']}" if note.get("description") else ""
        lines.append(f"{index + 1}. [{action.get('app')}] {code(action)}{described}")
    text = "Steps:\n" + "\n".join(lines)
    return Request("episode", episode.id, [{"role": "system", "content": EPISODE_SYSTEM},
                                           {"role": "user", "content": text}])


def readable(request: Request) -> list[dict[str, Any]]:
    """The request's messages as a person checks them before a run: the text as it would be sent,
    each image as its size (``{"type": "image", "size": [w, h]}``) instead of its bytes."""
    out = []
    for message in request.messages:
        content = message["content"]
        if isinstance(content, list):
            content = [{"type": "image", "size": list(request.image_size or ())} if p.get("type") == "image_url"
                       else p for p in content]
        out.append({"role": message["role"], "content": content})
    return out


def estimate_tokens(request: Request) -> int:
    """A price estimate before anything is sent: text at ~4 characters a token, images by
    OpenAI's published high-detail rule (fit in 2048², shortest side to 768, 170 tokens per
    512-pixel tile plus 85). Servers differ (Qwen-VL counts 28-pixel patches); the dry run says so."""
    chars = 0
    for message in request.messages:
        content = message["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        chars += sum(len(p.get("text", "")) for p in parts if p.get("type") == "text")
    tokens = math.ceil(chars / 4)
    if request.image_size:
        w, h = (float(v) for v in request.image_size)
        scale = min(1.0, 2048 / max(w, h))
        w, h = w * scale, h * scale
        scale = min(1.0, 768 / min(w, h))
        w, h = w * scale, h * scale
        tokens += 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
    return tokens + 120  # the answer


def ask(client: ChatClient, request: Request) -> dict[str, Any]:
    """The model's checked answer; a malformed one is told back once, then it counts as failed."""
    reply = client.complete(request.messages)
    try:
        return parse_answer(reply.text, request.kind)
    except ValueError as exc:
        retry = request.messages + [{"role": "assistant", "content": reply.text},
                                    {"role": "user", "content": f"That answer could not be used: {exc}. "
                                                                "Answer again with the JSON object only."}]
        reply = client.complete(retry)
        return parse_answer(reply.text, request.kind)


def run_requests(client: ChatClient, requests: list[Request], stored: dict[str, Any], summary: Summary,
                 concurrency: int, progress: Callable[[int], None]) -> None:
    """Ask what is not cached, ``concurrency`` at a time; store each answer under its key."""
    todo = []
    for request in requests:
        kept = stored.get(request.key)
        if kept and kept.get("content_key") == request.content_key and kept.get("model") == client.model_name:
            summary.cached += 1
            progress(1)
        else:
            todo.append(request)

    def one(request: Request) -> tuple[Request, dict[str, Any] | None, str | None]:
        try:
            return request, ask(client, request), None
        except ValueError as exc:
            return request, None, f"{request.kind} {request.key}: the model's answer could not be used: {exc}"
        except ModelError as exc:
            return request, None, f"{request.kind} {request.key}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for request, answer, problem in pool.map(one, todo):
            progress(1)
            if answer is None:
                summary.failed += 1
                summary.problems.append(problem or "")
                continue
            summary.asked += 1
            stored[request.key] = {**answer, "model": client.model_name, "content_key": request.content_key}


def annotate_session(session: Any, client: ChatClient | None, frames: Callable[[str], tuple[bytes, list[str]]],
                     code: Callable[[Action], str], *, concurrency: int = 4, image_size: str | None = None,
                     progress: Callable[[int], None] = lambda n: None, dry_run: bool = False,
                     show: Callable[[Request, int], None] = lambda r, t: None) -> Summary:
    """Annotate one session's steps, then its episodes; saves after each stage, so an
    interrupted run keeps what it was told. With ``dry_run`` nothing is sent: each request
    is passed to ``show`` with its estimated tokens."""
    summary = Summary()
    stored = load(session.reader)
    steps = step_requests(session, frames, image_size, code)
    if dry_run:
        for request in steps:
            show(request, estimate_tokens(request))
        for episode in session.episodes:
            show(episode_request(episode, stored["steps"], code), estimate_tokens(
                episode_request(episode, stored["steps"], code)))
        return summary
    assert client is not None
    run_requests(client, steps, stored["steps"], summary, concurrency, progress)
    session.reader.write_sidecar(SIDECAR, stored)
    episodes = [episode_request(e, stored["steps"], code) for e in session.episodes]
    run_requests(client, episodes, stored["episodes"], summary, concurrency, progress)
    session.reader.write_sidecar(SIDECAR, stored)
    return summary

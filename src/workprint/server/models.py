"""Typed request bodies. A manifest is validated field by field before anything reads it, so one
contributor cannot store a value (a `frame` that is a list, a lone surrogate) that breaks a
reader for everyone else; what fails is answered 422 and nothing is stored."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workprint.vocabulary import ActionType, action_spec

DIGEST = r"^[0-9a-f]{64}$"
FRAME_ID = r"^[0-9a-f]{32}$"
SESSION_ID = r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$"
PSEUDONYM = r"^p-[0-9a-f]{24}$"
ROLE_SUBJECT = r"^(curator|trainer|auditor|admin)-[0-9a-z]{1,16}$"

MAX_ACTIONS = 200_000
MAX_INTERVENTIONS = 20_000  # takeovers (and agent run starts and ends) in one session
MAX_DEPTH = 12

Digest = Annotated[str, Field(pattern=DIGEST)]
FrameId = Annotated[str, Field(pattern=FRAME_ID)]
Num = int | float
Short = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=1_000_000)]


def check_json(value: Any, depth: int = 0) -> None:
    """Raises ValueError on what Python's JSON parser takes but UTF-8, JSON and readers cannot:
    lone surrogates (in keys too), NaN and infinities, and nesting deeper than any action needs."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone UTF-16 surrogate (not valid Unicode text)") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a number is NaN or infinite (not valid JSON)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(key, depth + 1)
            check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)


class Screen(BaseModel):
    """``screen`` of an action: exports turn pixels into 0..1 of it, so a size is needed."""

    model_config = ConfigDict(extra="allow")
    w: Annotated[int, Field(gt=0, le=100_000)]
    h: Annotated[int, Field(gt=0, le=100_000)]
    scale: Num | None = None


class Target(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Short | None = None
    name: Text | None = None
    bbox: Annotated[list[Num], Field(min_length=4, max_length=4)] | None = None
    selector: Text | None = None
    tag: Short | None = None


class ModelInfo(BaseModel):
    name: Short | None = None
    reply: Text | None = None


class _Step(BaseModel):
    """What every action shape needs to be turned into code (``vocabulary.ACTION_SPECS``): a
    contributor cannot store an action that makes a trainer's export fail for everyone."""

    model_config = ConfigDict(extra="allow")
    type: ActionType
    id: int | Short | None = None
    x: Num | None = None
    y: Num | None = None
    x2: Num | None = None
    y2: Num | None = None
    dx: Num | None = None
    dy: Num | None = None
    button: Short | None = None
    text: Text | None = None
    redacted: list[Short] | None = None
    keys: list[Short] | None = None
    value: Text | Num | None = None
    label: Text | None = None
    url: Text | None = None
    status: Short | None = None
    message: Text | None = None
    seconds: Num | None = None
    t: Num | None = None
    t_end: Num | None = None
    source: Short | None = None
    app: Short | None = None
    window: Text | None = None
    screen: Screen | None = None
    target: Target | None = None

    @model_validator(mode="after")
    def _has_what_its_type_needs(self) -> "_Step":
        missing = [name for name in action_spec(self.type).needs if getattr(self, name, None) is None]
        if missing:
            raise ValueError(f"a {self.type} action needs {', '.join(missing)}")
        return self


class Action(_Step):
    """One action of the vocabulary (DESIGN.md), with when it happened; fields not listed are kept, as JSON."""

    t: Num
    t_end: Num
    raw: list[int] | None = None
    model: ModelInfo | None = None
    agent_step: int | None = None
    frame: FrameId | None = None
    frame_after: FrameId | None = None
    trace: list[list[Num]] | None = None
    rejected: _Step | None = None  # the agent's proposed action a person's correction replaced
    observation: Text | None = None
    thought: Text | None = None
    description: Text | None = None
    reflection: Text | None = None
    quality: Short | None = None

    @model_validator(mode="after")
    def _pointer_has_a_screen(self) -> "Action":
        pointer = {action_spec(self.type).shape} | ({action_spec(self.rejected.type).shape} if self.rejected else set())
        if pointer & {"point", "drag", "scroll"} and self.screen is None:
            raise ValueError(f"a {self.type} action needs its screen (w, h): exports give coordinates as 0..1 of it")
        return self


class TaskMark(BaseModel):
    """A task the contributor marked (`workprint task start/end`): where episodes begin and end,
    and their instruction, redacted on the device like all text."""

    kind: Literal["task_start", "task_end"]
    t: Num
    instruction: Text | None = None
    status: Short | None = None
    by: Short | None = None
    redacted: list[Short] | None = None


class AgentRunMark(BaseModel):
    """Where an agent run started (its task, redacted on the device, and model) and ended (its
    status): what the agent-run exports (`preference`, `rlif`) and the dataset card read of it."""

    kind: Literal["agent_start", "agent_end"]
    t: Num
    task: Text | None = None
    model: Short | None = None
    status: Short | None = None
    redacted: list[Short] | None = None


class Proposed(_Step):
    """The agent's action a person took over from: pending (never executed) or its last executed one."""

    code: Text
    executed: bool


class Intervention(BaseModel):
    """An intervention record (DESIGN.md, "Agents at work"), derived on the device from its agent
    run's events, whose texts were redacted when they were written."""

    id: Annotated[int, Field(ge=0)]
    t: Num
    t_end: Num | None = None
    trigger: Short
    agent_actions: list[int] = Field(default_factory=list, max_length=MAX_ACTIONS)
    proposed: Proposed | None = None
    human_actions: list[int] = Field(default_factory=list, max_length=MAX_ACTIONS)
    frame: FrameId | None = None
    frame_after: FrameId | None = None
    handback: Short | None = None
    task: Text | None = None
    model: Short | None = None
    message: Text | None = None
    app: Short | None = None


class Manifest(BaseModel):
    meta: dict[str, Any] = Field(default_factory=dict)
    actions: list[Action] = Field(max_length=MAX_ACTIONS)
    frames: dict[FrameId, Digest]
    marks: list[TaskMark] = Field(default_factory=list, max_length=MAX_ACTIONS)
    # Agent runs and their interventions; absent in manifests from before they were carried, which
    # then give no preference pairs nor rlif rows (not rows that claim no one stepped in).
    agent_runs: Annotated[list[AgentRunMark], Field(max_length=MAX_INTERVENTIONS)] | None = None
    interventions: Annotated[list[Intervention], Field(max_length=MAX_INTERVENTIONS)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_json(cls, data: Any) -> Any:
        check_json(data)
        return data


class EnrolRequest(BaseModel):
    code: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    contributor: str = Field(pattern=r"^c-[0-9a-f]{12}$")


class CodeRequest(BaseModel):
    expires_in_hours: int = Field(168, ge=1, le=720, description="the code is refused after this (default 7 days)")


class TokenRequest(BaseModel):
    role: str = Field(pattern="^(curator|trainer|auditor|admin)$")
    expires_in_days: int = Field(90, ge=1, le=3650, description="the token is refused after this (default 90 days)")


class MissingRequest(BaseModel):
    digests: list[Digest] = Field(max_length=50_000)


class RetentionRequest(BaseModel):
    days: int = Field(ge=1, le=36500)


class ErasureRequest(BaseModel):
    pseudonym: str = Field(pattern=PSEUDONYM)


class Actor(BaseModel):
    role: str
    subject: str

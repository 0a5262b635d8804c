"""Typed request bodies. A manifest is validated field by field before anything reads it, so one
contributor cannot store a value (a `frame` that is a list, a lone surrogate) that breaks a
reader for everyone else; what fails is answered 422 and nothing is stored."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DIGEST = r"^[0-9a-f]{64}$"
FRAME_ID = r"^[0-9a-f]{32}$"
SESSION_ID = r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$"
PSEUDONYM = r"^p-[0-9a-f]{24}$"
ROLE_SUBJECT = r"^(curator|trainer|auditor|admin)-[0-9a-z]{1,16}$"

MAX_ACTIONS = 200_000
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


class Action(BaseModel):
    """One action of the vocabulary (DESIGN.md); fields not listed are kept, as JSON."""

    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(min_length=1, max_length=40)]
    id: int | Short | None = None
    t: Num | None = None
    t_end: Num | None = None
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
    app: Short | None = None
    window: Text | None = None
    source: Short | None = None
    frame: FrameId | None = None
    frame_after: FrameId | None = None
    trace: list[list[Num]] | None = None
    target: dict[str, Any] | None = None
    screen: dict[str, Any] | None = None


class TaskMark(BaseModel):
    """A task the contributor marked (`workprint task start/end`): where episodes begin and end,
    and their instruction, redacted on the device like all text."""

    kind: Literal["task_start", "task_end"]
    t: Num
    instruction: Text | None = None
    status: Short | None = None
    by: Short | None = None
    redacted: list[Short] | None = None


class Manifest(BaseModel):
    meta: dict[str, Any] = Field(default_factory=dict)
    actions: list[Action] = Field(max_length=MAX_ACTIONS)
    frames: dict[FrameId, Digest]
    marks: list[TaskMark] = Field(default_factory=list, max_length=MAX_ACTIONS)

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

"""What every export format starts from: sessions -> episodes -> steps with redacted frames.

One place decides which sessions, which episodes go to which split, and which frame bytes
may leave the store (redacted ones only), so the formats only differ in how they write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from workprint.errors import WorkprintError
from workprint.process.pyautogui_code import to_code
from workprint.privacy.frames import FrameRedactor, RedactedFrames
from workprint.process import annotate
from workprint.process.episodes import Episode
from workprint.process.sessions import SessionData, load_sessions
from workprint.vocabulary import Action


class ExportError(WorkprintError):
    """An export cannot run; the message says why and what to do."""


__all__ = ["ExportError", "RedactedFrames", "SessionData", "Step", "action_record", "assign_split", "iter_steps",
           "load_sessions", "model_instruction_fields", "parse_split", "session_frames", "session_interventions"]


@dataclass
class Step:
    episode: Episode
    index: int
    action: Action
    split: str
    frame_id: str | None
    image: bytes | None = None  # PNG, redacted
    image_redactions: list[str] = field(default_factory=list)
    # observation, thought, description, quality and model, when `workprint annotate` wrote them
    annotation: dict[str, Any] | None = None

    @property
    def notes(self) -> dict[str, Any]:
        """The step's model-written reasoning (observation, thought, description, quality), or {}:
        from ``workprint annotate``, or carried on the action by whoever built the step."""
        if self.annotation:
            return self.annotation
        fields: dict[str, Any] = dict(self.action)
        return {k: fields[k] for k in ("observation", "thought", "description", "reflection", "quality") if k in fields}

    @property
    def code(self) -> str:
        return to_code(self.action)

    def normalised(self) -> dict[str, float | None]:
        """Coordinates as 0..1 fractions of the screen (the 0..1000 grid is this × 1000)."""
        screen = self.action.get("screen") or {}
        w, h = screen.get("w") or 1, screen.get("h") or 1
        out: dict[str, float | None] = {}
        for key, size in (("x", w), ("y", h), ("x2", w), ("y2", h)):
            value = self.action.get(key)
            out[key] = round(value / size, 5) if isinstance(value, (int, float)) else None
        return out


def parse_split(text: str | None) -> list[tuple[str, float]]:
    """``0.8,0.1,0.1`` -> train/validation/test shares; None -> everything in train."""
    if not text:
        return [("train", 1.0)]
    try:
        shares = [float(p) for p in text.split(",")]
    except ValueError:
        raise ExportError(f"--split {text!r}: give shares like 0.8,0.1,0.1") from None
    if not 1 <= len(shares) <= 3 or any(s < 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ExportError(f"--split {text!r}: one to three non-negative shares that add up to 1")
    return list(zip(("train", "validation", "test"), shares))


def assign_split(episode_id: str, splits: list[tuple[str, float]], seed: int) -> str:
    """Deterministic split by episode (never by step, so an episode is never cut in two)."""
    h = int.from_bytes(hashlib.blake2b(f"{seed}:{episode_id}".encode(), digest_size=8).digest(), "big") / 2**64
    acc = 0.0
    for name, share in splits:
        acc += share
        if h < acc:
            return name
    return splits[-1][0]


def iter_steps(session: SessionData, splits: list[tuple[str, float]], seed: int,
               frames: RedactedFrames | None) -> Iterator[Step]:
    """Steps of one session in order, each with its redacted frame (none when ``frames`` is None)."""
    for episode in session.episodes:
        split = assign_split(episode.id, splits, seed)
        for index, action in enumerate(episode.actions):
            frame_id = action.get("frame")
            step = Step(episode, index, action, split, frame_id,
                        annotation=session.annotations["steps"].get(annotate.step_key(episode.id, index)))
            if frames is not None and frame_id:
                step.image, step.image_redactions = frames(frame_id)
            yield step


def session_frames(session: SessionData, redactor: FrameRedactor | None = None) -> RedactedFrames:
    """A session's frames as exports show them: redacted here, or, for a collector's session, as its
    export fetched and redacted them (``remote.prepare_frames``), not redacted a third time."""
    from workprint.export.remote import CollectorReader

    frames = RedactedFrames(session, redactor)
    if isinstance(session.reader, CollectorReader):
        frames.use(session.reader.redacted)
    return frames


def session_interventions(session: SessionData) -> list[dict[str, Any]] | None:
    """The intervention records of a session's agent runs (``process.interventions``): derived from
    the event log here; a collector's session carries those its device derived, and None when it was
    uploaded before they were carried (unknown: the agent-run formats then give it no rows)."""
    from workprint.export.remote import CollectorReader
    from workprint.process.interventions import derive_interventions

    if isinstance(session.reader, CollectorReader):
        return session.reader.interventions
    return derive_interventions(session.events, session.actions)


def model_instruction_fields(episode: Episode) -> dict[str, str]:
    """What a model wrote about the episode's task, and which model: ``model_instruction`` and
    ``instruction_model``, only when ``workprint annotate`` wrote one (none for a plain recording).
    Beside the person's instruction, never over it."""
    if not episode.model_instruction:
        return {}
    return {"model_instruction": episode.model_instruction, "instruction_model": episode.instruction_model or ""}


def action_record(action: Action) -> dict[str, Any]:
    """The action as exported: the DESIGN vocabulary without the raw-event bookkeeping."""
    return {k: v for k, v in action.items() if k not in ("raw",)}

"""What every export format starts from: sessions -> episodes -> steps with redacted frames.

One place decides which sessions, which episodes go to which split, and which frame bytes
may leave the store (redacted ones only), so the formats only differ in how they write.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workprint import __version__
from workprint.errors import WorkprintError
from workprint.process.pyautogui_code import to_code
from workprint.privacy.frames import REDACTOR_VERSION, FrameRedactor
from workprint.process import annotate, derive_actions
from workprint.process.episodes import Episode, split_episodes
from workprint.store import Catalog, SessionReader, StoreError


class ExportError(WorkprintError):
    """An export cannot run; the message says why and what to do."""


@dataclass
class Step:
    episode: Episode
    index: int
    action: dict[str, Any]
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
        return {k: self.action[k] for k in ("observation", "thought", "description", "reflection", "quality")
                if k in self.action}

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


@dataclass
class SessionData:
    id: str
    reader: SessionReader
    events: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    episodes: list[Episode]
    annotations: dict[str, Any] = field(default_factory=lambda: {"steps": {}, "episodes": {}})

    @property
    def fingerprint(self) -> str:
        """Changes when anything an export is built from changes, the screenshot redactor included:
        exports and uploads made by an older redactor are redone, never kept."""
        last = self.events[-1]["id"] if self.events else -1
        basis = json.dumps([self.id, last, len(self.events), self.reader.frame_ids(), __version__,
                            self.annotations, f"redactor-{REDACTOR_VERSION}"], sort_keys=True)
        return hashlib.blake2b(basis.encode(), digest_size=12).hexdigest()


def load_sessions(home: Path, refs: list[str]) -> list[SessionData]:
    catalog = Catalog(home)
    try:
        ids = [s.id for s in catalog.list()] if not refs else [catalog.resolve(r) for r in refs]
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    if not ids:
        raise ExportError("there are no sessions to export; record one with `workprint record`")
    out = []
    for sid in dict.fromkeys(ids):
        try:
            reader = SessionReader(home, sid)
            events = reader.events()
        except StoreError as exc:
            raise ExportError(str(exc)) from None
        actions = derive_actions(events)
        episodes = split_episodes(sid, events, actions)
        annotations = annotate.load(reader)
        annotate.apply_to_episodes(episodes, annotations)
        out.append(SessionData(sid, reader, events, actions, episodes, annotations))
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


class RedactedFrames:
    """Each frame of a session OCR-redacted once, on first use: what exports, the replay report
    and uploads show. Feed frames roughly in time order, so the redactor can reuse OCR work.

    Entries are keyed by the redactor's version as well as the frame: a redaction made by
    another version of the redaction logic is never handed out."""

    def __init__(self, session: SessionData, redactor: FrameRedactor | None = None):
        self._session = session
        self._redactor = redactor or FrameRedactor()
        self._cache: dict[tuple[int, str], tuple[bytes, list[str]]] = {}

    def __call__(self, frame_id: str) -> tuple[bytes, list[str]]:
        """(redacted PNG, kinds masked)."""
        key = (REDACTOR_VERSION, frame_id)
        if key not in self._cache:
            self._cache[key] = self._redactor.redact_png(self._session.reader.frame(frame_id))
        return self._cache[key]


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


def action_record(action: dict[str, Any]) -> dict[str, Any]:
    """The action as exported: the DESIGN vocabulary without the raw-event bookkeeping."""
    return {k: v for k, v in action.items() if k not in ("raw",)}

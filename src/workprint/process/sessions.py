"""Recorded sessions, read back and processed: events -> actions -> episodes (+ annotations).

What every consumer of recordings starts from (exports, the replay report, evals, annotation,
the review page and uploads), so they all see the same actions and episodes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workprint import __version__
from workprint.errors import WorkprintError
from workprint.privacy.frames import redactor_key
from workprint.process import annotate
from workprint.process.actions import derive_actions
from workprint.process.episodes import Episode, split_episodes
from workprint.store import Catalog, SessionReader, StoreError
from workprint.vocabulary import Action, Event


class SessionsError(WorkprintError):
    """Sessions cannot be read: none yet, an unknown id, a damaged store; the message says what to do."""


@dataclass
class SessionData:
    id: str
    reader: SessionReader
    events: list[Event]
    actions: list[Action]
    episodes: list[Episode]
    annotations: dict[str, Any] = field(default_factory=lambda: {"steps": {}, "episodes": {}})

    @property
    def fingerprint(self) -> str:
        """Changes when anything an export is built from changes, the screenshot redactor included:
        exports and uploads made by an older redactor are redone, never kept."""
        last = self.events[-1]["id"] if self.events else -1
        basis = json.dumps([self.id, last, len(self.events), self.reader.frame_ids(), __version__,
                            self.annotations, f"redactor-{redactor_key()}"], sort_keys=True)
        return hashlib.blake2b(basis.encode(), digest_size=12).hexdigest()


def load_sessions(home: Path, refs: list[str]) -> list[SessionData]:
    catalog = Catalog(home)
    try:
        ids = [s.id for s in catalog.list()] if not refs else [catalog.resolve(r) for r in refs]
    except StoreError as exc:
        raise SessionsError(str(exc)) from None
    if not ids:
        raise SessionsError("there are no sessions yet; record one with `workprint record`")
    out = []
    for sid in dict.fromkeys(ids):
        try:
            reader = SessionReader(home, sid)
            events = reader.events()
        except StoreError as exc:
            raise SessionsError(str(exc)) from None
        actions = derive_actions(events)
        episodes = split_episodes(sid, events, actions)
        annotations = annotate.load(reader)
        annotate.apply_to_episodes(episodes, annotations)
        out.append(SessionData(sid, reader, events, actions, episodes, annotations))
    return out

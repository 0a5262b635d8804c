"""The local catalog of sessions (SQLite), so listing never has to decrypt anything."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workprint.store.session import StoreError, sessions_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL,
    pid INTEGER,
    events INTEGER NOT NULL DEFAULT 0,
    frames INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    active_s REAL NOT NULL DEFAULT 0,
    dropped_snapshots INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class SessionInfo:
    id: str
    started_at: str
    ended_at: str | None
    status: str  # recording | finished | interrupted
    events: int
    frames: int
    bytes: int
    active_s: float
    dropped_snapshots: int = 0  # periodic/window snapshots dropped because encoding fell behind

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Catalog:
    def __init__(self, home: Path):
        self.home = home
        # The recorder updates the catalog from its gate thread; sqlite3 serialises access itself.
        self._db = sqlite3.connect(home / "catalog.sqlite", timeout=10, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sessions)")}
        if "dropped_snapshots" not in columns:  # catalogs written before the column existed
            self._db.execute("ALTER TABLE sessions ADD COLUMN dropped_snapshots INTEGER NOT NULL DEFAULT 0")

    def add(self, session_id: str, started_at: str) -> None:
        self._db.execute(
            "INSERT INTO sessions (id, started_at, status, pid) VALUES (?, ?, 'recording', ?)",
            (session_id, started_at, os.getpid()),
        )

    def update(self, session_id: str, *, events: int, frames: int, bytes: int, active_s: float,
               ended_at: str | None = None, dropped_snapshots: int = 0) -> None:
        status = "finished" if ended_at else "recording"
        self._db.execute(
            "UPDATE sessions SET events=?, frames=?, bytes=?, active_s=?, ended_at=?, status=?, dropped_snapshots=? "
            "WHERE id=?",
            (events, frames, bytes, active_s, ended_at, status, dropped_snapshots, session_id),
        )

    def remove(self, session_id: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE id=?", (session_id,))

    def list(self) -> list[SessionInfo]:
        rows = self._db.execute(
            "SELECT id, started_at, ended_at, status, pid, events, frames, bytes, active_s, dropped_snapshots "
            "FROM sessions ORDER BY started_at, id"
        ).fetchall()
        out = []
        for sid, started, ended, status, pid, events, frames, size, active, dropped in rows:
            if not (sessions_dir(self.home) / sid).is_dir():
                continue  # deleted on disk
            if status == "recording" and not _alive(pid):
                status = "interrupted"
            out.append(SessionInfo(sid, started, ended, status, events, frames, size, active, dropped))
        return out

    def resolve(self, ref: str) -> str:
        """An id from ``ref``, which is an id, a unique prefix of one, or ``latest``."""
        sessions = self.list()
        if not sessions:
            raise StoreError("there are no sessions yet; record one with `workprint record`")
        if ref == "latest":
            return sessions[-1].id
        matches = [s.id for s in sessions if s.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(f"no session {ref!r}; `workprint sessions` lists them")
        raise StoreError(f"{ref!r} matches {len(matches)} sessions; give more of the id")

"""The collector's storage behind two narrow interfaces, so object storage (S3 API) and
PostgreSQL can replace the embedded defaults: a local blob folder and a SQLite catalog.

The catalog also holds the append-only, hash-chained audit log: each entry's hash covers the
previous entry's hash, so an edited or deleted entry breaks the chain (``verify_audit``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

HASH_RE_LEN = 64


class BlobStore(Protocol):
    def has(self, digest: str) -> bool: ...
    def put(self, digest: str, data: bytes) -> bool: ...
    def get(self, digest: str) -> bytes: ...
    def delete(self, digest: str) -> None: ...


class LocalBlobStore:
    """Content-addressed files: ``blobs/ab/abcdef...``; writes are atomic (tmp + rename)."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self._path(digest).exists()

    def put(self, digest: str, data: bytes) -> bool:
        path = self._path(digest)
        if path.exists():
            return False
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return True

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS enrolment_codes (hash TEXT PRIMARY KEY, created REAL, used REAL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, manifest TEXT NOT NULL, received REAL NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tombstones (id TEXT NOT NULL, owner TEXT NOT NULL, deleted REAL, reason TEXT);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
"""


def _entry_hash(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev + json.dumps(fields, sort_keys=True)).encode()).hexdigest()


class Catalog:
    """SQLite catalog; one connection guarded by a lock (the server is I/O bound)."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- settings
    def setting(self, key: str, default: str | None = None) -> str | None:
        rows = self.execute("SELECT value FROM settings WHERE key=?", (key,))
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        self.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                     (key, value))

    # -- audit
    def audit(self, actor: str, role: str, action: str, target: str, outcome: str) -> None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else "0" * 64
            fields = {"ts": round(time.time(), 3), "actor": actor, "role": role, "action": action,
                      "target": target, "outcome": outcome}
            self._db.execute(
                "INSERT INTO audit (ts, actor, role, action, target, outcome, prev, hash) VALUES (?,?,?,?,?,?,?,?)",
                (fields["ts"], actor, role, action, target, outcome, prev, _entry_hash(prev, fields)))

    def audit_entries(self, limit: int = 1000) -> list[dict]:
        rows = self.execute("SELECT seq, ts, actor, role, action, target, outcome, prev, hash FROM audit "
                            "ORDER BY seq DESC LIMIT ?", (limit,))
        keys = ("seq", "ts", "actor", "role", "action", "target", "outcome", "prev", "hash")
        return [dict(zip(keys, r)) for r in reversed(rows)]

    def verify_audit(self) -> tuple[bool, int, str]:
        """(intact, entries checked, first problem)."""
        prev = "0" * 64
        rows = self.execute("SELECT seq, ts, actor, role, action, target, outcome, prev, hash FROM audit ORDER BY seq")
        for seq, ts, actor, role, action, target, outcome, stored_prev, stored_hash in rows:
            fields = {"ts": ts, "actor": actor, "role": role, "action": action, "target": target, "outcome": outcome}
            if stored_prev != prev or _entry_hash(prev, fields) != stored_hash:
                return False, seq, f"entry {seq} does not follow from the one before it"
            prev = stored_hash
        return True, len(rows), ""

"""The embedded catalog: one SQLite file beside the collector's secrets.

One connection per process guarded by a lock; writes in ``BEGIN IMMEDIATE`` transactions, so
several collector processes on one catalog file serialise instead of racing. The schema is a list
of numbered migrations, as on PostgreSQL: those not applied yet run on start, in one write
transaction that also moves ``PRAGMA user_version`` to the last one, so two processes starting at
once apply each exactly once.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from workprint.server.catalog.base import CollectorCatalog, Conn, Tx, read_anchor_lines
from workprint.files import touch_private

# The tables of the first release (IF NOT EXISTS: catalogs from before numbered migrations have them).
_TABLES = """
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
-- which device (pseudonym) uploaded which blob: a manifest may name only its own device's blobs
CREATE TABLE IF NOT EXISTS blobs (digest TEXT NOT NULL, owner TEXT NOT NULL, size INTEGER, received REAL,
    PRIMARY KEY (digest, owner));
CREATE TABLE IF NOT EXISTS session_blobs (session TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (session, digest));
CREATE INDEX IF NOT EXISTS session_blobs_digest ON session_blobs (digest);
-- consent on record: what each pseudonym agreed to (notice and policy hashes), and under which
-- agreement each session was uploaded (curators see that, never whose it is)
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, notice_version INTEGER NOT NULL, notice_hash TEXT NOT NULL,
    policy_hash TEXT NOT NULL, accepted_at TEXT NOT NULL, received REAL NOT NULL, withdrawn REAL);
CREATE INDEX IF NOT EXISTS consents_owner ON consents (owner);
CREATE TABLE IF NOT EXISTS session_consents (session TEXT PRIMARY KEY, consent TEXT NOT NULL);
"""

# columns added after the first release: (table, column, declaration)
_COLUMNS = (("tokens", "expires", "REAL"), ("tokens", "revoked", "REAL"), ("enrolment_codes", "expires", "REAL"))


def _create_tables(tx: Tx, catalog: "SqliteCatalog") -> None:  # noqa: ARG001
    for statement in _TABLES.split(";"):
        if statement.strip():
            tx._db.execute(statement)


def _add_columns(tx: Tx, catalog: "SqliteCatalog") -> None:  # noqa: ARG001
    for table, column, decl in _COLUMNS:
        if column not in {r[1] for r in tx._q(f"PRAGMA table_info({table})")}:
            tx._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def _own_blobs_and_pin_legacy_chain(tx: Tx, catalog: "SqliteCatalog") -> None:
    """A catalog from before blob ownership and the keyed chain: each session's frames are
    credited to its owner (the device that must have sent them), and an existing unkeyed
    audit log is pinned as it is: its head goes to the anchor file marked ``legacy``, it is
    verified the old way, and the keyed chain continues from it."""
    if tx.setting("schema") == "2":  # done before migrations were numbered
        return
    for sid, owner, manifest in tx._q("SELECT id, owner, manifest FROM sessions"):
        for digest in set(json.loads(manifest).get("frames", {}).values()):
            tx._db.execute("INSERT OR IGNORE INTO session_blobs (session, digest) VALUES (?,?)", (sid, digest))
            tx._db.execute("INSERT OR IGNORE INTO blobs (digest, owner, size, received) VALUES (?,?,NULL,?)",
                           (digest, owner, time.time()))
    head = tx._q("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    if head and not any(legacy for _, _, legacy in read_anchor_lines(catalog.anchor)):
        catalog._append_anchor(head[0][0], head[0][1], legacy=True)
    tx.set_setting("schema", "2")


# numbered migrations (``PRAGMA user_version`` counts those applied); a released one is never
# edited, a change is a new entry
MIGRATIONS: tuple[Callable[[Tx, "SqliteCatalog"], None], ...] = (
    _create_tables, _add_columns, _own_blobs_and_pin_legacy_chain)


class SqliteCatalog(CollectorCatalog):
    def __init__(self, path: Path, audit_key: str, anchor: Path):
        super().__init__(audit_key, anchor)
        touch_private(path)
        self.path = path
        self.url = f"sqlite:///{path}"
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        self._lock = threading.RLock()  # checkpoint() runs inside a commit too
        self.migrate()

    @contextlib.contextmanager
    def _writer(self) -> Iterator[Conn]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Conn]:
        with self._lock:
            yield self._db

    def migrate(self) -> int:
        """Applies the migrations not applied yet; returns the schema version."""
        with self.transaction() as tx:  # BEGIN IMMEDIATE: one process at a time reads the version
            done = tx._q("PRAGMA user_version")[0][0]
            for migration in MIGRATIONS[done:]:
                migration(tx, self)
            if done < len(MIGRATIONS):
                tx._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        return len(MIGRATIONS)

    def checkpoint(self) -> None:
        """Moves the write-ahead log into the database and truncates it, so erased text does not
        linger in ``catalog.sqlite-wal``."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._db.close()

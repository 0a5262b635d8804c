"""The catalog on PostgreSQL, for several collector replicas: psycopg 3 with a connection pool.

Write transactions take one transaction-level advisory lock, so writes from every replica
serialise as they do on SQLite: the audit chain stays one chain, the ownership checks and the
writes they guard see each other, and nothing needs a retry loop. Reads take no lock. The
schema is a list of numbered migrations, applied on start under a session advisory lock so
two replicas starting at once apply each exactly once.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from workprint.server.catalog.base import CollectorCatalog, Conn, Cursor

WRITE_LOCK = 0x77707231  # "wpr1": held by every write transaction
MIGRATE_LOCK = 0x77706d31  # "wpm1": held while the schema is migrated

# numbered migrations; a released one is never edited, a change is a new entry
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL,
        created DOUBLE PRECISION, expires DOUBLE PRECISION, revoked DOUBLE PRECISION);
    CREATE TABLE enrolment_codes (hash TEXT PRIMARY KEY, created DOUBLE PRECISION, used DOUBLE PRECISION,
        expires DOUBLE PRECISION);
    CREATE TABLE sessions (id TEXT PRIMARY KEY, owner TEXT NOT NULL, manifest TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL, quarantined INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX sessions_owner ON sessions (owner);
    CREATE TABLE tombstones (id TEXT NOT NULL, owner TEXT NOT NULL, deleted DOUBLE PRECISION, reason TEXT);
    CREATE INDEX tombstones_id ON tombstones (id);
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE audit (seq BIGINT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL,
        role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL,
        prev TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE blobs (digest TEXT NOT NULL, owner TEXT NOT NULL, size BIGINT, received DOUBLE PRECISION,
        PRIMARY KEY (digest, owner));
    CREATE INDEX blobs_owner ON blobs (owner);
    CREATE TABLE session_blobs (session TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (session, digest));
    CREATE INDEX session_blobs_digest ON session_blobs (digest);
    CREATE TABLE consents (id TEXT PRIMARY KEY, owner TEXT NOT NULL, notice_version INTEGER NOT NULL,
        notice_hash TEXT NOT NULL, policy_hash TEXT NOT NULL, accepted_at TEXT NOT NULL,
        received DOUBLE PRECISION NOT NULL, withdrawn DOUBLE PRECISION);
    CREATE INDEX consents_owner ON consents (owner);
    CREATE TABLE session_consents (session TEXT PRIMARY KEY, consent TEXT NOT NULL);
    """,
)

_MARK = re.compile(r"\?")


class _PgConn:
    """psycopg's connection with the catalog's ``?`` placeholders (the SQL has no literal ``?`` or ``%``)."""

    def __init__(self, conn: Any):
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(_MARK.sub("%s", sql), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        rows = [tuple(r) for r in rows]
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(_MARK.sub("%s", sql), rows)


class PostgresCatalog(CollectorCatalog):
    def __init__(self, url: str, audit_key: str, anchor: Path, pool_size: int = 8):
        import psycopg
        from psycopg_pool import ConnectionPool

        super().__init__(audit_key, anchor)
        self.url = url
        try:
            self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True},
                                        open=True, timeout=30)
            self._pool.wait(timeout=15)
        except (psycopg.Error, Exception) as exc:  # the pool wraps connection errors in its own
            raise ConnectionError(f"cannot reach the PostgreSQL catalog at {_redact(url)}: {exc}") from None
        self.migrate()

    def migrate(self) -> int:
        """Applies the migrations not applied yet; returns the schema version."""
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                             "(version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)")
                row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
                done = row[0] if row else 0
                for version, sql in enumerate(MIGRATIONS, 1):
                    if version <= done:
                        continue
                    with conn.transaction():
                        conn.execute(sql)
                        conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, time.time()))
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
        return len(MIGRATIONS)

    @contextlib.contextmanager
    def _writer(self) -> Iterator[Conn]:
        with self._pool.connection() as conn:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield _PgConn(conn)

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Conn]:
        with self._pool.connection() as conn:
            yield _PgConn(conn)

    def checkpoint(self) -> None:
        """Erased rows stay in dead tuples until a vacuum: run one on the tables that held them."""
        with self._pool.connection() as conn:
            conn.execute("VACUUM sessions, session_blobs, blobs, tokens, consents, session_consents")

    def close(self) -> None:
        self._pool.close()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)

"""The collector catalog's interface, shared by its SQLite and PostgreSQL implementations.

Every change goes through a named method of :class:`Tx`, inside ``CollectorCatalog.transaction()``, and
the audit entry that records it is written in the same transaction: an action is never stored
without its entry, nor an entry without its action. The SQL is written once, in the subset both
databases speak (``?`` placeholders are rewritten for PostgreSQL); write transactions are
serialised across every process on one catalog (SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL
transaction-level advisory lock), so the audit chain stays one chain, an enrolment code is
redeemed once and the first admin token is made once however many replicas run.

The audit log is append-only and chained with a keyed MAC: each entry's MAC covers its
sequence number, its fields and the previous entry's MAC, under a key that lives in the
collector's --data folder, not in the catalog. After every commit the head (sequence number and
MAC) is appended to an anchor file outside the catalog. ``verify_audit`` checks the MACs, that
sequence numbers have no gaps, and that every anchored head is still in the chain, so deleting
the newest entries, or deleting or editing any entry and recomputing the chain, is caught.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workprint.errors import WorkprintError


GENESIS = "0" * 64


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Conn(Protocol):
    """What Tx needs of a database connection (sqlite3's, or psycopg's behind a placeholder adapter)."""

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any: ...


class Refused(WorkprintError):
    """An expected refusal, raised inside ``CollectorCatalog.transaction()`` after its audit entry was
    written: the transaction is committed (the entry kept), then the refusal propagates."""

    def __init__(self, status: int, detail: object):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Entry:
    """One audit entry: who (pseudonym or role subject), in which role, did what to what, and how it ended."""

    actor: str
    role: str
    action: str
    target: str
    outcome: str


def _clean(text: str, limit: int = 300) -> str:
    """Audit fields come partly from requests: bounded, and never a string SQLite or JSON cannot store."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:limit]


def entry_mac(key: bytes, prev: str, seq: int, fields: dict[str, Any]) -> str:
    body = json.dumps({"seq": seq, **fields}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, (prev + body).encode(), hashlib.sha256).hexdigest()


class Tx:
    """One write transaction; every method is one named change, so a route reads as a list of them."""

    def __init__(self, db: Conn, key: bytes):
        self._db = db
        self._key = key
        self.head: tuple[int, str] | None = None
        self.erased = False

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self._db.execute(sql, args).fetchall()

    # -- audit
    def audit(self, entry: Entry) -> None:
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        fields = {"ts": round(time.time(), 3), "actor": _clean(entry.actor), "role": _clean(entry.role),
                  "action": _clean(entry.action), "target": _clean(entry.target), "outcome": _clean(entry.outcome)}
        mac = entry_mac(self._key, prev, seq, fields)
        self._db.execute("INSERT INTO audit (seq, ts, actor, role, action, target, outcome, prev, hash) "
                         "VALUES (?,?,?,?,?,?,?,?,?)",
                         (seq, fields["ts"], fields["actor"], fields["role"], fields["action"], fields["target"],
                          fields["outcome"], prev, mac))
        self.head = (seq, mac)

    # -- tokens and enrolment
    def token(self, token_hash: str, now: float) -> tuple[str, str] | None:
        """(role, subject) of a live token: not revoked, not expired."""
        rows = self._q("SELECT role, subject FROM tokens WHERE hash=? AND revoked IS NULL "
                       "AND (expires IS NULL OR expires > ?)", (token_hash, now))
        return (rows[0][0], rows[0][1]) if rows else None

    def live(self, subject: str, role: str, now: float) -> bool:
        """Whether ``subject`` still holds a live token in ``role``: checked again inside a write
        transaction, so a revocation or erasure that committed after the request's token was
        checked stops the write."""
        return bool(self._q("SELECT 1 FROM tokens WHERE subject=? AND role=? AND revoked IS NULL "
                            "AND (expires IS NULL OR expires > ?) LIMIT 1", (subject, role, now)))

    def has_admin(self) -> bool:
        return bool(self._q("SELECT 1 FROM tokens WHERE role='admin' AND revoked IS NULL"))

    def add_token(self, token_hash: str, role: str, subject: str, expires: float | None) -> None:
        self._db.execute("INSERT INTO tokens (hash, role, subject, created, expires) VALUES (?,?,?,?,?)",
                         (token_hash, role, subject, time.time(), expires))

    def revoke_tokens(self, subject: str, roles: Iterable[str]) -> int:
        roles = tuple(roles)
        marks = ",".join("?" * len(roles))
        cur = self._db.execute(f"UPDATE tokens SET revoked=? WHERE subject=? AND revoked IS NULL AND role IN ({marks})",
                               (time.time(), subject, *roles))
        return cur.rowcount

    def admins_left_without(self, subject: str) -> int:
        return self._q("SELECT COUNT(*) FROM tokens WHERE role='admin' AND revoked IS NULL AND subject<>? "
                       "AND (expires IS NULL OR expires > ?)", (subject, time.time()))[0][0]

    def add_enrolment_code(self, code_hash: str, expires: float) -> None:
        self._db.execute("INSERT INTO enrolment_codes (hash, created, used, expires) VALUES (?,?,NULL,?)",
                         (code_hash, time.time(), expires))

    def redeem_enrolment_code(self, code_hash: str, now: float) -> str:
        """Marks the code used; "ok", or why not ("unknown", "already used", "expired").
        One conditional UPDATE, so of two devices racing for one code exactly one wins."""
        cur = self._db.execute("UPDATE enrolment_codes SET used=? WHERE hash=? AND used IS NULL "
                               "AND (expires IS NULL OR expires > ?)", (now, code_hash, now))
        if cur.rowcount == 1:
            return "ok"
        rows = self._q("SELECT used FROM enrolment_codes WHERE hash=?", (code_hash,))
        return "unknown" if not rows else "already used" if rows[0][0] is not None else "expired"

    # -- blobs
    def add_blob(self, digest: str, owner: str, size: int) -> bool:
        """Ties a blob to the device that sent its bytes; False when that device had sent it before."""
        cur = self._db.execute("INSERT INTO blobs (digest, owner, size, received) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                               (digest, owner, size, time.time()))
        return cur.rowcount == 1

    def missing_blobs(self, owner: str, digests: Iterable[str]) -> list[str]:
        """Of ``digests``, those this device has not uploaded (other devices' blobs count as missing)."""
        wanted = list(dict.fromkeys(digests))
        have: set[str] = set()
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            have |= {r[0] for r in self._q(f"SELECT digest FROM blobs WHERE owner=? AND digest IN "
                                           f"({','.join('?' * len(part))})", (owner, *part))}
        return [d for d in wanted if d not in have]

    def blob_readable(self, digest: str, role: str) -> bool:
        """Curators see any frame a session names; trainers only frames of sessions not quarantined."""
        quarantine = "" if role == "curator" else " AND s.quarantined=0"
        return bool(self._q("SELECT 1 FROM session_blobs b JOIN sessions s ON s.id=b.session "
                            f"WHERE b.digest=?{quarantine} LIMIT 1", (digest,)))

    def _release_blobs(self, owner: str, digests: Iterable[str] | None) -> list[str]:
        """Drops ``owner``'s claim on blobs no session of theirs names (all of them when ``digests`` is
        None); returns the digests no device holds any more, whose files must go."""
        if digests is None:
            digests = [r[0] for r in self._q("SELECT digest FROM blobs WHERE owner=?", (owner,))]
        gone = []
        for digest in set(digests):
            if self._q("SELECT 1 FROM session_blobs b JOIN sessions s ON s.id=b.session "
                       "WHERE b.digest=? AND s.owner=? LIMIT 1", (digest, owner)):
                continue
            self._db.execute("DELETE FROM blobs WHERE digest=? AND owner=?", (digest, owner))
            if not self._q("SELECT 1 FROM blobs WHERE digest=? LIMIT 1", (digest,)):
                gone.append(digest)
        return gone

    # -- sessions
    def session(self, session_id: str) -> tuple[str, str, bool] | None:
        """(owner, manifest JSON, quarantined)."""
        rows = self._q("SELECT owner, manifest, quarantined FROM sessions WHERE id=?", (session_id,))
        return (rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    def is_tombstoned(self, session_id: str) -> bool:
        return bool(self._q("SELECT 1 FROM tombstones WHERE id=? LIMIT 1", (session_id,)))

    def put_session(self, session_id: str, owner: str, manifest: str, digests: Iterable[str]) -> list[str]:
        """Stores or replaces ``owner``'s session (the caller checked ownership in this transaction);
        returns the digests of frames the old version named that no device holds any more."""
        old = {r[0] for r in self._q("SELECT digest FROM session_blobs WHERE session=?", (session_id,))}
        self._db.execute("INSERT INTO sessions (id, owner, manifest, received) VALUES (?,?,?,?) "
                         "ON CONFLICT(id) DO UPDATE SET manifest=excluded.manifest WHERE sessions.owner=excluded.owner",
                         (session_id, owner, manifest, time.time()))
        self._db.execute("DELETE FROM session_blobs WHERE session=?", (session_id,))
        new = set(digests)
        self._db.executemany("INSERT INTO session_blobs (session, digest) VALUES (?,?)",
                             [(session_id, d) for d in new])
        return self._release_blobs(owner, old - new)

    def sessions(self, owner: str | None) -> list[tuple[str, float, bool, str]]:
        """(id, received, quarantined, manifest) of one owner's sessions, or of all."""
        where, args = ("WHERE owner=?", (owner,)) if owner else ("", ())
        return [(r[0], r[1], bool(r[2]), r[3])
                for r in self._q(f"SELECT id, received, quarantined, manifest FROM sessions {where} ORDER BY id", args)]

    def training_sessions(self) -> list[tuple[str, str]]:
        """(id, manifest) of the sessions not quarantined."""
        return [(r[0], r[1]) for r in self._q("SELECT id, manifest FROM sessions WHERE quarantined=0 ORDER BY id")]

    def quarantine(self, session_id: str) -> None:
        self._db.execute("UPDATE sessions SET quarantined=1 WHERE id=?", (session_id,))

    def delete_session(self, session_id: str, reason: str) -> list[str]:
        """Deletes a session and tombstones its id; returns the digests whose files must go."""
        row = self.session(session_id)
        if row is None:
            return []
        owner = row[0]
        digests = [r[0] for r in self._q("SELECT digest FROM session_blobs WHERE session=?", (session_id,))]
        self._db.execute("DELETE FROM sessions WHERE id=?", (session_id,))
        self._db.execute("DELETE FROM session_blobs WHERE session=?", (session_id,))
        self._db.execute("INSERT INTO tombstones (id, owner, deleted, reason) VALUES (?,?,?,?)",
                         (session_id, owner, time.time(), reason))
        return self._release_blobs(owner, digests)

    def release_stale_blobs(self, cutoff: float) -> list[str]:
        """Blobs sent before ``cutoff`` that no session of their device names (an upload abandoned
        halfway): the claim is dropped; returns the digests whose files must go."""
        gone = []
        for digest, owner in self._q("SELECT b.digest, b.owner FROM blobs b WHERE b.received < ? AND NOT EXISTS "
                                     "(SELECT 1 FROM session_blobs sb JOIN sessions s ON s.id=sb.session "
                                     "WHERE sb.digest=b.digest AND s.owner=b.owner)", (cutoff,)):
            gone += self._release_blobs(owner, [digest])
        return gone

    def sessions_received_before(self, cutoff: float) -> list[str]:
        return [r[0] for r in self._q("SELECT id FROM sessions WHERE received < ?", (cutoff,))]

    def erase(self, pseudonym: str) -> tuple[int, int, list[str]]:
        """Everything of one person: sessions (tombstoned), every blob their device uploaded whether
        or not a session names it, and their tokens. Returns (sessions, tokens revoked, digests to unlink)."""
        gone: list[str] = []
        sids = [r[0] for r in self._q("SELECT id FROM sessions WHERE owner=?", (pseudonym,))]
        for sid in sids:
            gone += self.delete_session(sid, "erasure request")
        gone += self._release_blobs(pseudonym, None)
        revoked = self.revoke_tokens(pseudonym, ("contributor",))
        self.erased = True
        return len(sids), revoked, gone

    # -- consent
    def accept_consent(self, cid: str, owner: str, notice_version: int, notice_hash: str, policy_hash: str,
                       accepted_at: str) -> None:
        self._db.execute("INSERT INTO consents VALUES (?,?,?,?,?,?,?,NULL)",
                         (cid, owner, notice_version, notice_hash, policy_hash, accepted_at, time.time()))

    def current_consent(self, owner: str) -> str | None:
        rows = self._q("SELECT id FROM consents WHERE owner=? AND withdrawn IS NULL ORDER BY received DESC LIMIT 1",
                       (owner,))
        return rows[0][0] if rows else None

    def withdraw_consent(self, owner: str) -> int:
        count = len(self._q("SELECT id FROM consents WHERE owner=? AND withdrawn IS NULL", (owner,)))
        self._db.execute("UPDATE consents SET withdrawn=? WHERE owner=? AND withdrawn IS NULL", (time.time(), owner))
        return count

    def forget_consents(self, owner: str) -> None:
        self._db.execute("DELETE FROM session_consents WHERE consent IN (SELECT id FROM consents WHERE owner=?)",
                         (owner,))
        self._db.execute("DELETE FROM consents WHERE owner=?", (owner,))

    def link_session_consent(self, session: str, consent: str) -> None:
        self._db.execute("INSERT INTO session_consents VALUES (?, ?) ON CONFLICT(session) DO UPDATE "
                         "SET consent=excluded.consent", (session, consent))

    def consent_by_session(self) -> list[tuple[str, int | None, str | None, float | None]]:
        """(session, notice version, policy hash, withdrawn) per session; no owner."""
        return [tuple(r) for r in self._q("SELECT s.id, c.notice_version, c.policy_hash, c.withdrawn FROM sessions s "
                       "LEFT JOIN session_consents l ON l.session = s.id "
                       "LEFT JOIN consents c ON c.id = l.consent ORDER BY s.id")]

    # -- settings
    def setting(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM settings WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_setting(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def delete_setting(self, key: str) -> None:
        self._db.execute("DELETE FROM settings WHERE key=?", (key,))


class CollectorCatalog:
    """The catalog's transaction discipline, anchor file and audit verification; a subclass opens
    connections (``_writer`` and ``_reader``) and may clean up after erasure (``checkpoint``)."""

    url: str

    def __init__(self, audit_key: str, anchor: Path):
        self._key = audit_key.encode()
        self.anchor = anchor

    # -- what a backend provides
    def _writer(self) -> contextlib.AbstractContextManager[Conn]:
        """A connection inside a begun write transaction that no other writer on this catalog, in
        any process, runs alongside."""
        raise NotImplementedError

    def _reader(self) -> contextlib.AbstractContextManager[Conn]:
        raise NotImplementedError

    def checkpoint(self) -> None:
        """After an erasure: make sure deleted rows do not linger in the database's files."""

    def close(self) -> None:
        """Releases connections."""

    # -- shared
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction; after commit, the audit head goes to the anchor file and deleted
        blobs' files are unlinked by the caller (digests returned by the Tx methods)."""
        with self._writer() as conn:
            tx = Tx(conn, self._key)
            try:
                yield tx
            except Refused:
                self._commit(conn, tx)
                raise
            except BaseException:
                with contextlib.suppress(Exception):  # a dead connection has nothing to roll back
                    conn.execute("ROLLBACK")
                raise
            self._commit(conn, tx)

    def _commit(self, conn: Conn, tx: Tx) -> None:
        conn.execute("COMMIT")
        if tx.head is not None:
            self._append_anchor(*tx.head)
        if tx.erased:
            self.checkpoint()

    def audit(self, entry: Entry) -> None:
        """An entry on its own (a refusal, a read with nothing else to write)."""
        with self.transaction() as tx:
            tx.audit(entry)

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        """Reads outside a write transaction (they see the last commit)."""
        with self._reader() as conn:
            yield Tx(conn, self._key)

    def once_per(self, job: str, period_s: float) -> bool:
        """True for exactly one caller per ``period_s`` among every replica on this catalog (the
        check and the mark are one serialised write transaction): retention runs once per period."""
        now = time.time()
        with self.transaction() as tx:
            last = float(tx.setting(f"last_run:{job}") or 0)
            if now - last < period_s:
                return False
            tx.set_setting(f"last_run:{job}", repr(now))
            return True

    def _append_anchor(self, seq: int, mac: str, legacy: bool = False) -> None:
        item = {"seq": seq, "hash": mac, "ts": round(time.time(), 3)}
        if legacy:
            item["legacy"] = True
        line = json.dumps(item) + "\n"
        fd = os.open(self.anchor, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def _audit_rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._reader() as conn:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]

    def audit_entries(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._audit_rows("SELECT seq, ts, actor, role, action, target, outcome, prev, hash FROM audit "
                                "ORDER BY seq DESC LIMIT ?", (limit,))
        keys = ("seq", "ts", "actor", "role", "action", "target", "outcome", "prev", "hash")
        return [dict(zip(keys, r)) for r in reversed(rows)]

    def verify_audit(self) -> tuple[bool, int, str]:
        """(intact, entries checked, first problem): MACs, no gaps in sequence numbers, and every head
        recorded in the anchor file still present."""
        lines = read_anchor_lines(self.anchor)  # before the rows: every head it holds was committed already
        anchored = [(seq, mac) for seq, mac, _ in lines]
        legacy_until = max((seq for seq, _, legacy in lines if legacy), default=0)
        rows = self._audit_rows("SELECT seq, ts, actor, role, action, target, outcome, prev, hash "
                                "FROM audit ORDER BY seq")
        prev, macs = GENESIS, {}
        for expected, (seq, ts, actor, role, action, target, outcome, stored_prev, stored) in enumerate(rows, 1):
            if seq != expected:
                return False, expected - 1, f"entry {expected} is missing (the next one is {seq}): entries were deleted"
            fields = {"ts": ts, "actor": actor, "role": role, "action": action, "target": target, "outcome": outcome}
            expected_mac = legacy_hash(prev, fields) if seq <= legacy_until else entry_mac(self._key, prev, seq, fields)
            if stored_prev != prev or not hmac.compare_digest(expected_mac, stored):
                return False, seq, f"entry {seq} does not follow from the one before it (edited, inserted or forged)"
            prev = macs[seq] = stored
        if rows and not anchored:
            return False, len(rows), f"the anchor file {self.anchor.name} is missing or empty"
        for seq, mac in anchored:
            if seq > len(rows):
                return False, len(rows), (f"the anchor records entry {seq} but the log ends at {len(rows)}: "
                                          "the newest entries were deleted")
            if not hmac.compare_digest(macs[seq], mac):
                return False, seq, f"entry {seq} differs from the head recorded in the anchor: the chain was rewritten"
        return True, len(rows), ""


def legacy_hash(prev: str, fields: dict[str, Any]) -> str:
    """The unkeyed chain of catalogs from before the audit key (verified up to the anchored legacy head)."""
    return hashlib.sha256((prev + json.dumps(fields, sort_keys=True)).encode()).hexdigest()


def read_anchor_lines(path: Path) -> list[tuple[int, str, bool]]:
    """(seq, MAC, legacy) per anchored head; a torn line (a crash mid-append) is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            item = json.loads(line)
            out.append((int(item["seq"]), str(item["hash"]), bool(item.get("legacy"))))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out



"""Consent at the collector: agreements on record per pseudonym, the upload gate, withdrawal.

A device's agreement (notice version and hash, policy hash, time) is stored with its pseudonym
and audited. Uploads from a pseudonym without a current agreement are refused (403). Curators
see, per session, that it was uploaded under an agreement (and to which notice version and
policy), never whose it is; no route lists agreements by person. Withdrawal marks the
agreement withdrawn; with erasure it runs the admin's erasure for that pseudonym and forgets
its agreements, leaving only the audit entries that show it happened.
"""

from __future__ import annotations

import secrets
import time
from typing import Callable

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from workprint.server.storage import Catalog

HEX64 = r"^[0-9a-f]{64}$"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, notice_version INTEGER NOT NULL, notice_hash TEXT NOT NULL,
    policy_hash TEXT NOT NULL, accepted_at TEXT NOT NULL, received REAL NOT NULL, withdrawn REAL);
CREATE INDEX IF NOT EXISTS consents_owner ON consents (owner);
CREATE TABLE IF NOT EXISTS session_consents (session TEXT PRIMARY KEY, consent TEXT NOT NULL);
"""

REFUSAL = ("no current consent on record for this device: the person recorded must agree with "
           "`workprint consent accept` (after enrolment) before anything is uploaded")


class ConsentBody(BaseModel):
    notice_version: int = Field(ge=1, le=1_000_000)
    notice_hash: str = Field(pattern=HEX64)
    policy_hash: str = Field(pattern=HEX64)
    accepted_at: str = Field(min_length=10, max_length=40)


class WithdrawBody(BaseModel):
    erase: bool = False


class ConsentRecords:
    """The consents tables inside the collector's catalog."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        for statement in filter(str.strip, _SCHEMA.split(";")):
            catalog.execute(statement)

    def accept(self, owner: str, body: ConsentBody) -> str:
        cid = "k-" + secrets.token_hex(8)  # an earlier agreement stays in force for what was sent under it
        self.catalog.execute("INSERT INTO consents VALUES (?,?,?,?,?,?,?,NULL)",
                             (cid, owner, body.notice_version, body.notice_hash, body.policy_hash,
                              body.accepted_at, time.time()))
        return cid

    def current(self, owner: str) -> str | None:
        rows = self.catalog.execute("SELECT id FROM consents WHERE owner=? AND withdrawn IS NULL "
                                    "ORDER BY received DESC LIMIT 1", (owner,))
        return rows[0][0] if rows else None

    def withdraw(self, owner: str) -> int:
        rows = self.catalog.execute("SELECT id FROM consents WHERE owner=? AND withdrawn IS NULL", (owner,))
        self.catalog.execute("UPDATE consents SET withdrawn=? WHERE owner=? AND withdrawn IS NULL",
                             (time.time(), owner))
        return len(rows)

    def forget(self, owner: str) -> None:
        self.catalog.execute("DELETE FROM session_consents WHERE consent IN (SELECT id FROM consents WHERE owner=?)",
                             (owner,))
        self.catalog.execute("DELETE FROM consents WHERE owner=?", (owner,))

    def link(self, session: str, consent: str) -> None:
        self.catalog.execute("INSERT INTO session_consents VALUES (?, ?) ON CONFLICT(session) DO UPDATE "
                             "SET consent=excluded.consent", (session, consent))

    def by_session(self) -> list[dict]:
        rows = self.catalog.execute(
            "SELECT s.id, c.notice_version, c.policy_hash, c.withdrawn FROM sessions s "
            "LEFT JOIN session_consents l ON l.session = s.id LEFT JOIN consents c ON c.id = l.consent "
            "ORDER BY s.id")
        return [{"session": sid, "consent": "none" if version is None else ("withdrawn" if withdrawn else "current"),
                 "notice_version": version, "policy_hash": policy_hash}
                for sid, version, policy_hash, withdrawn in rows]


def add_consent_routes(app: FastAPI, records: ConsentRecords, actor: Callable, require: Callable,
                       erase: Callable[[str, str], tuple[int, int]], retention_days: Callable[[], int]) -> None:
    """``erase(pseudonym, reason)`` is the admin's erasure; it returns (sessions, frames) deleted."""
    router = app  # routes on the app itself, so `app.routes` lists them like the others
    catalog = records.catalog

    @router.get("/v1/consent/terms")
    def terms(who=Depends(actor)) -> dict:
        """What the device's notice needs from the collector: how long data is kept."""
        require(who, "read the terms", "terms", "contributor")
        return {"retention_days": retention_days() or None}

    @router.post("/v1/consent", status_code=201)
    def accept(body: ConsentBody, who=Depends(actor)) -> dict:
        require(who, "record consent", "consent", "contributor")
        cid = records.accept(who.subject, body)
        catalog.audit(who.subject, who.role, "accept consent",
                      f"{cid} notice v{body.notice_version} {body.notice_hash[:16]} policy {body.policy_hash[:16]}",
                      "ok")
        return {"consent": cid}

    @router.post("/v1/consent/withdraw")
    def withdraw(body: WithdrawBody, who=Depends(actor)) -> dict:
        require(who, "withdraw consent", "consent", "contributor")
        withdrawn = records.withdraw(who.subject)
        catalog.audit(who.subject, who.role, "withdraw consent", who.subject, "ok")
        sessions = frames = 0
        if body.erase:
            catalog.audit(who.subject, who.role, "erasure request", who.subject, "received")
            sessions, frames = erase(who.subject, "erasure requested by the contributor")
            records.forget(who.subject)
            catalog.audit(who.subject, who.role, "erasure", who.subject,
                          f"{sessions} sessions, {frames} frames deleted")
        return {"withdrawn": withdrawn, "erased": body.erase, "deleted_sessions": sessions, "deleted_frames": frames}

    @router.get("/v1/consent/sessions")
    def sessions(who=Depends(actor)) -> dict:
        """Per session: uploaded under a current, withdrawn or no agreement. No pseudonyms."""
        require(who, "see consent per session", "consent", "curator", "auditor")
        catalog.audit(who.subject, who.role, "list consent per session", "-", "ok")
        return {"sessions": records.by_session()}



def require_current(records: ConsentRecords, who, action: str, target: str) -> str:
    """The upload gate: the pseudonym's current agreement id, or 403 (audited)."""
    cid = records.current(who.subject)
    if cid is None:
        records.catalog.audit(who.subject, who.role, action, target, "refused: no consent")
        raise HTTPException(403, REFUSAL)
    return cid

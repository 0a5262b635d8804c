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
from typing import Callable

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from workprint.server.catalog import CollectorCatalog, Entry

HEX64 = r"^[0-9a-f]{64}$"

REFUSAL = ("no current consent on record for this device: the person recorded must agree with "
           "`workprint consent accept` (after enrolment) before anything is uploaded")


class ConsentBody(BaseModel):
    notice_version: int = Field(ge=1, le=1_000_000)
    notice_hash: str = Field(pattern=HEX64)
    policy_hash: str = Field(pattern=HEX64)
    accepted_at: str = Field(min_length=10, max_length=40)


class WithdrawBody(BaseModel):
    erase: bool = False


def add_consent_routes(app: FastAPI, catalog: CollectorCatalog, actor: Callable, require: Callable,
                       unlink: Callable[[list[str]], None]) -> None:
    """The consent routes; ``unlink`` deletes the files of blobs an erasure released."""

    @app.get("/v1/consent/terms")
    def terms(who=Depends(actor)) -> dict:
        """What the device's notice needs from the collector: how long data is kept."""
        require(who, "read the terms", "terms", "contributor")
        with catalog.transaction() as tx:
            days = int(tx.setting("retention_days") or 0)
            tx.audit(Entry(who.subject, who.role, "read terms", "retention", "ok"))
        return {"retention_days": days or None}

    @app.post("/v1/consent", status_code=201)
    def accept(body: ConsentBody, who=Depends(actor)) -> dict:
        require(who, "record consent", "consent", "contributor")
        cid = "k-" + secrets.token_hex(8)  # an earlier agreement stays in force for what was sent under it
        with catalog.transaction() as tx:
            tx.accept_consent(cid, who.subject, body.notice_version, body.notice_hash, body.policy_hash,
                              body.accepted_at)
            tx.audit(Entry(who.subject, who.role, "accept consent",
                           f"{cid} notice v{body.notice_version} {body.notice_hash[:16]} "
                           f"policy {body.policy_hash[:16]}", "ok"))
        return {"consent": cid}

    @app.post("/v1/consent/withdraw")
    def withdraw(body: WithdrawBody, who=Depends(actor)) -> dict:
        require(who, "withdraw consent", "consent", "contributor")
        sessions = frames = 0
        with catalog.transaction() as tx:
            withdrawn = tx.withdraw_consent(who.subject)
            tx.audit(Entry(who.subject, who.role, "withdraw consent", who.subject, "ok"))
            if body.erase:
                tx.audit(Entry(who.subject, who.role, "erasure request", who.subject, "received"))
                # The admin's erasure: sessions, every frame the device sent, its tokens.
                sessions, tokens, gone = tx.erase(who.subject)
                tx.forget_consents(who.subject)
                frames = len(gone)
                tx.audit(Entry(who.subject, who.role, "erasure", who.subject,
                               f"{sessions} sessions, {frames} frames deleted, {tokens} tokens revoked"))
        if body.erase:
            unlink(gone)
        return {"withdrawn": withdrawn, "erased": body.erase, "deleted_sessions": sessions, "deleted_frames": frames}

    @app.get("/v1/consent/sessions")
    def sessions(who=Depends(actor)) -> dict:
        """Per session: uploaded under a current, withdrawn or no agreement. No pseudonyms."""
        require(who, "see consent per session", "consent", "curator", "auditor")
        with catalog.transaction() as tx:
            rows = tx.consent_by_session()
            tx.audit(Entry(who.subject, who.role, "list consent per session", "-", "ok"))
        return {"sessions": [{"session": sid, "consent": "none" if version is None else
                              ("withdrawn" if withdrawn else "current"),
                              "notice_version": version, "policy_hash": policy_hash}
                             for sid, version, policy_hash, withdrawn in rows]}


def require_current(catalog: CollectorCatalog, who, action: str, target: str) -> str:
    """The upload gate: the pseudonym's current agreement id, or 403 (audited)."""
    with catalog.read() as r:
        cid = r.current_consent(who.subject)
    if cid is None:
        catalog.audit(Entry(who.subject, who.role, action, target, "refused: no consent"))
        raise HTTPException(403, REFUSAL)
    return cid

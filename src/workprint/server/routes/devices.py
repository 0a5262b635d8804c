"""Enrolment codes, devices and role tokens."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path as PathParam

from workprint.server.catalog import Entry, Refused
from workprint.server.models import PSEUDONYM, ROLE_SUBJECT, Actor, CodeRequest, EnrolRequest, TokenRequest
from workprint.server.routes.common import Collector, hash_token as _hash_token


# Enrolment codes are read off a screen and typed into `workprint enrol URL CODE`: letters and
# digits only (no look-alikes such as 0/O or 1/I/l), in groups of four. A code must never start
# with "-", which the command line would take for an option. 12 characters of 32: 60 bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_enrolment_code() -> str:
    """A single-use enrolment code such as ``K7QX-9MPR-2DWF``."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def add_routes(app: FastAPI, ctx: Collector) -> None:
    catalog = ctx.catalog
    actor = ctx.actor
    require = ctx.require
    pseudonym = ctx.pseudonym

    @app.post("/v1/enrolment-codes", status_code=201)
    def new_code(body: CodeRequest | None = None, who: Actor = Depends(actor)) -> dict:
        require(who, "create enrolment codes", "-", "admin")
        body = body or CodeRequest()
        code = new_enrolment_code()
        expires = time.time() + body.expires_in_hours * 3600
        with catalog.transaction() as tx:
            tx.add_enrolment_code(_hash_token(code), expires)
            tx.audit(Entry(who.subject, who.role, "create enrolment code", "-", "ok"))
        return {"code": code, "expires": expires}

    @app.post("/v1/devices", status_code=201)
    def enrol(body: EnrolRequest) -> dict:
        token = secrets.token_urlsafe(32)
        who = pseudonym(body.contributor)
        with catalog.transaction() as tx:
            outcome = tx.redeem_enrolment_code(_hash_token(body.code), time.time())
            if outcome != "ok":
                tx.audit(Entry("anonymous", "-", "enrol device", who, f"refused: {outcome} code"))
                raise Refused(403, f"{outcome} enrolment code; ask an admin for a new one")
            tx.add_token(_hash_token(token), "contributor", who, None)
            tx.audit(Entry(who, "contributor", "enrol device", who, "ok"))
        return {"device_token": token, "pseudonym": who}

    @app.delete("/v1/devices/{device}")
    def revoke_device(device: Annotated[str, PathParam(pattern=PSEUDONYM)], who: Actor = Depends(actor)) -> dict:
        """Revokes every token of one device (pseudonym); its sessions stay until deleted or erased."""
        require(who, "revoke device tokens", device, "admin")
        with catalog.transaction() as tx:
            count = tx.revoke_tokens(device, ("contributor",))
            tx.audit(Entry(who.subject, who.role, "revoke device tokens", device, f"{count} revoked"))
        if not count:
            raise HTTPException(404, "no live token for this device")
        return {"revoked": count}

    @app.post("/v1/tokens", status_code=201)
    def new_token(body: TokenRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "create tokens", body.role, "admin")
        token = secrets.token_urlsafe(32)
        subject = f"{body.role}-{secrets.token_hex(4)}"
        expires = time.time() + body.expires_in_days * 86400
        with catalog.transaction() as tx:
            tx.add_token(_hash_token(token), body.role, subject, expires)
            tx.audit(Entry(who.subject, who.role, "create token", subject, "ok"))
        return {"token": token, "subject": subject, "expires": expires}

    @app.delete("/v1/tokens/{subject}")
    def revoke_token(subject: Annotated[str, PathParam(pattern=ROLE_SUBJECT)], who: Actor = Depends(actor)) -> dict:
        require(who, "revoke tokens", subject, "admin")
        with catalog.transaction() as tx:
            if subject.startswith("admin-") and not tx.admins_left_without(subject):
                tx.audit(Entry(who.subject, who.role, "revoke token", subject, "refused: the last admin"))
                raise Refused(409, "this is the last admin token; create another admin token first")
            count = tx.revoke_tokens(subject, ("curator", "trainer", "auditor", "admin"))
            tx.audit(Entry(who.subject, who.role, "revoke token", subject, f"{count} revoked"))
        if not count:
            raise HTTPException(404, "no live token with this subject")
        return {"revoked": count}

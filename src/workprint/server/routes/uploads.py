"""Uploads: which frames are missing, frame PUTs (content-addressed, idempotent), session manifests."""

from __future__ import annotations

import errno
import hashlib
import time
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path as PathParam, Request, Response
from starlette.concurrency import run_in_threadpool

from workprint.server import consent as consent_gate
from workprint.server.catalog import Entry, Refused
from workprint.server.models import DIGEST, SESSION_ID, Actor, Manifest, MissingRequest
from workprint.server.routes.common import Collector


def add_routes(app: FastAPI, ctx: Collector) -> None:
    catalog = ctx.catalog
    blobs = ctx.blobs
    actor = ctx.actor
    require = ctx.require
    unlink = ctx.unlink
    uploads = ctx.uploads
    upload_bytes = ctx.upload_bytes
    sessions_received = ctx.sessions_received

    @app.post("/v1/blobs/missing")
    def missing(body: MissingRequest, who: Actor = Depends(actor)) -> dict:
        """Which of these blobs this device has not uploaded yet: another device's frames are not
        revealed, they count as missing and must be sent (and so proven held)."""
        require(who, "upload", "blobs", "contributor")
        consent_gate.require_current(catalog, who, "upload", "blobs")
        with catalog.transaction() as tx:
            absent = tx.missing_blobs(who.subject, body.digests)
            tx.audit(Entry(who.subject, who.role, "check blobs", f"{len(body.digests)} digests", f"{len(absent)} missing"))
        return {"missing": absent}

    @app.put("/v1/blobs/{digest}")
    async def put_blob(request: Request, response: Response,
                       digest: Annotated[str, PathParam(pattern=DIGEST)], who: Actor = Depends(actor)) -> dict:
        require(who, "upload", digest, "contributor")
        consent_gate.require_current(catalog, who, "upload", digest)
        data = await request.body()  # BodyLimit caps it at MAX_BLOB
        if hashlib.sha256(data).hexdigest() != digest:
            await run_in_threadpool(catalog.audit, Entry(who.subject, who.role, "upload blob", digest,
                                                         "refused: body does not match digest"))
            raise HTTPException(422, "the body does not hash to the digest in the URL (truncated or corrupted); send it again")
        try:
            created, stored = await run_in_threadpool(store_blob, who, digest, data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise HTTPException(507, "the collector's disk is full; nothing was lost, retry later") from None
            raise
        if stored:
            uploads.inc()
            upload_bytes.inc(len(data))
        response.status_code = 201 if created else 200
        return {"digest": digest, "stored": created}

    def still_enrolled(tx, who: Actor, action: str, target: str) -> None:
        """Inside the write: a device revoked or erased since its token was checked stores nothing."""
        if not tx.live(who.subject, who.role, time.time()):
            tx.audit(Entry(who.subject, who.role, action, target, "refused: token revoked meanwhile"))
            raise Refused(401, "this device's token was revoked (or its data erased); enrol again or ask an admin")

    def store_blob(who: Actor, digest: str, data: bytes) -> tuple[bool, bool]:
        with catalog.transaction() as tx:  # the file is written under the lock deletion takes too
            still_enrolled(tx, who, "upload blob", digest)
            created = tx.add_blob(digest, who.subject, len(data))
            stored = blobs.put(digest, data)
            tx.audit(Entry(who.subject, who.role, "upload blob", digest, "stored" if created else "already held"))
        return created, stored

    @app.put("/v1/sessions/{session_id}", status_code=201)
    def put_session(body: Manifest, session_id: Annotated[str, PathParam(pattern=SESSION_ID)],
                    who: Actor = Depends(actor)) -> dict:
        require(who, "upload sessions", session_id, "contributor")
        consent_id = consent_gate.require_current(catalog, who, "upload sessions", session_id)
        manifest = body.model_dump_json(exclude_unset=True)
        digests = set(body.frames.values())

        def refuse(status: int, detail: object, why: str) -> None:
            tx.audit(Entry(who.subject, who.role, "upload session", session_id, f"refused: {why}"))
            raise Refused(status, detail)

        with catalog.transaction() as tx:  # ownership check and write in one transaction: no id race
            still_enrolled(tx, who, "upload session", session_id)
            existing = tx.session(session_id)
            if existing and existing[0] != who.subject:
                refuse(403, "this session belongs to another device", "another device's session")
            if tx.is_tombstoned(session_id):
                refuse(410, "this session was deleted and cannot be uploaded again", "deleted")
            if absent := tx.missing_blobs(who.subject, digests):
                refuse(409, {"message": "upload these blobs first", "missing": sorted(absent)},
                       f"{len(absent)} blobs not uploaded by this device")
            unlink(tx.put_session(session_id, who.subject, manifest, digests))
            tx.link_session_consent(session_id, consent_id)
            tx.audit(Entry(who.subject, who.role, "upload session", session_id, "ok"))
        sessions_received.inc()
        return {"session": session_id, "frames": len(body.frames), "actions": len(body.actions)}

"""The collector: enrolment, content-addressed uploads, roles, audit, deletion and retention.

Purpose limitation is part of the API: people are only keyed pseudonyms (HMAC of the device's
contributor id with a secret in the --data folder), there is no endpoint that ranks, scores or
summarises a person, and every request is written to the keyed, anchored audit log — reads,
deletes and refusals (no token, a wrong token, a bad code, a bad or oversized body) alike. An
action and its audit entry are written in one transaction (``storage.Catalog.transaction``).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path as PathParam, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.concurrency import run_in_threadpool

from workprint import __version__
from workprint.server import consent as consent_gate
from workprint.server.models import (
    DIGEST, PSEUDONYM, ROLE_SUBJECT, SESSION_ID, Actor, CodeRequest, EnrolRequest, ErasureRequest, Manifest,
    MissingRequest, RetentionRequest, TokenRequest,
)
from workprint.server.private import private_dir, secret_file, write_private
from workprint.server.blobs import open_blobs
from workprint.server.catalog import Entry, Refused, open_catalog

MAX_BLOB = 16 * 1024 * 1024
MAX_MANIFEST = 16 * 1024 * 1024
MAX_BODY = 4 * 1024 * 1024
RETENTION_CHECK_S = 3600
ABANDONED_UPLOAD_S = 7 * 86400  # frames no session of their device names are deleted after this
ROLES = ("contributor", "curator", "trainer", "auditor", "admin")
ANONYMOUS = Actor(role="-", subject="anonymous")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def body_limit(method: str, path: str) -> int:
    """The most bytes a request body may have: a frame, a session manifest, or a small JSON body."""
    if method == "PUT" and path.startswith("/v1/blobs/"):
        return MAX_BLOB
    if method == "PUT" and path.startswith("/v1/sessions/"):
        return MAX_MANIFEST
    return MAX_BODY


class TooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes; a frame is at most {MAX_BLOB} "
                              f"bytes and a session manifest at most {MAX_MANIFEST}: split the session")


class BodyLimit:
    """ASGI middleware: refuses a body over its limit with 413 before it is held in memory — at
    once from Content-Length, or as soon as a streamed body passes the limit."""

    def __init__(self, app, refuse) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length and (not length.isdigit() or int(length) > limit):
            await run_in_threadpool(self.refuse, headers.get(b"authorization"), scope["method"], scope["path"])
            exc = TooLarge(limit)
            await JSONResponse({"detail": exc.detail}, status_code=413, headers={"connection": "close"})(
                scope, receive, send)
            return
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        await self.app(scope, limited, send)


def create_app(data_dir: Path, catalog_url: str | None = None, blobs_url: str | None = None) -> FastAPI:
    """The collector on a --data folder (its secrets), a catalog (SQLite in DIR by default, or
    PostgreSQL) and a blob store (DIR/blobs by default, or an S3 bucket). Replicas given the same
    three are one collector."""
    private_dir(data_dir)
    catalog = open_catalog(data_dir, catalog_url)
    blobs = open_blobs(data_dir, blobs_url)
    with catalog.read() as r:
        legacy = r.setting("pseudonym_secret")  # before: kept in the catalog; now beside the audit key
    secret = secret_file(data_dir / "pseudonym.key", legacy=legacy)
    if legacy:
        with catalog.transaction() as tx:
            tx.delete_setting("pseudonym_secret")
            tx.audit(Entry("system", "system", "move the pseudonym key out of the catalog", "pseudonym.key", "ok"))
        catalog.checkpoint()  # so the old copy does not linger in the database file's pages
    registry = CollectorRegistry()
    uploads = Counter("workprint_blob_uploads", "blobs stored", registry=registry)
    upload_bytes = Counter("workprint_blob_upload_bytes", "bytes of blobs stored", registry=registry)
    sessions_received = Counter("workprint_sessions_received", "session manifests stored", registry=registry)
    refused = Counter("workprint_refused_requests", "requests refused (token, role, ownership, code, missing blobs)",
                      registry=registry)

    app = FastAPI(title="workprint collector", version=__version__,
                  description="Receives redacted recordings from enrolled devices. No per-person analytics.")
    app.state.catalog = catalog
    app.state.blobs = blobs

    def pseudonym(contributor: str) -> str:
        return "p-" + hmac.new(secret.encode(), contributor.encode(), hashlib.sha256).hexdigest()[:24]

    def identify(authorization: str | bytes | None) -> Actor | None:
        if isinstance(authorization, bytes):
            authorization = authorization.decode("latin-1")
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with catalog.read() as r:
            found = r.token(_hash_token(authorization[7:]), time.time())
        return Actor(role=found[0], subject=found[1]) if found else None

    def refuse_body(authorization: bytes | None, method: str, path: str) -> None:
        who = identify(authorization) or ANONYMOUS
        catalog.audit(Entry(who.subject, who.role, f"{method} {path}", "body", "refused: body too large"))

    app.add_middleware(BodyLimit, refuse=refuse_body)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
        await run_in_threadpool(refuse_body, request.headers.get("authorization", "").encode("latin-1"),
                                request.method, request.url.path)
        return JSONResponse({"detail": exc.detail}, status_code=413, headers={"connection": "close"})

    @app.exception_handler(Refused)
    async def refusal(request: Request, exc: Refused) -> JSONResponse:  # noqa: ARG001
        refused.inc()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 without echoing the input back (it may hold what could not be encoded, or a secret)."""
        def text(value: object) -> str:
            return str(value).encode("utf-8", "backslashreplace").decode("utf-8")[:200]

        errors = [{"loc": [text(part) for part in e.get("loc", ())], "msg": text(e.get("msg", "")),
                   "type": text(e.get("type", ""))} for e in exc.errors()[:20]]
        who = await run_in_threadpool(identify, request.headers.get("authorization")) or ANONYMOUS
        await run_in_threadpool(catalog.audit, Entry(who.subject, who.role, f"{request.method} {request.url.path}",
                                                     "body", "refused: invalid request"))
        return JSONResponse({"detail": errors}, status_code=422)

    def actor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Actor:
        who = identify(authorization)
        if who is None:
            refused.inc()
            why = "no token" if not authorization else "unknown, expired or revoked token"
            catalog.audit(Entry("anonymous", "-", f"{request.method} {request.url.path}", "-", f"refused: {why}"))
            if not authorization:
                raise HTTPException(401, "missing bearer token: enrol the device (`workprint enrol`) or ask an admin")
            raise HTTPException(401, "unknown, expired or revoked token: enrol again or ask an admin for a new one")
        return who

    def require(who: Actor, action: str, target: str, *roles: str) -> None:
        if who.role not in roles:
            refused.inc()
            catalog.audit(Entry(who.subject, who.role, action, target, "refused"))
            raise HTTPException(403, f"the {who.role} role may not {action}")

    def unlink(digests: list[str]) -> None:
        for digest in digests:
            blobs.delete(digest)

    def enforce_retention() -> int:
        with catalog.read() as r:
            days = int(r.setting("retention_days") or 0)
            old = r.sessions_received_before(time.time() - days * 86400) if days else []
        for sid in old:
            with catalog.transaction() as tx:
                unlink(tx.delete_session(sid, "retention"))
                tx.audit(Entry("system", "system", "expire session", sid, "deleted"))
        with catalog.transaction() as tx:  # frames sent for a session that never arrived
            stale = tx.release_stale_blobs(time.time() - ABANDONED_UPLOAD_S)
            unlink(stale)
            if stale:
                tx.audit(Entry("system", "system", "delete frames no session names", f"{len(stale)} frames", "deleted"))
        return len(old)

    app.state.enforce_retention = enforce_retention

    def retention_loop() -> None:
        while True:
            try:
                if catalog.once_per("retention", RETENTION_CHECK_S * 0.9):  # one replica per period
                    enforce_retention()
            except Exception:  # a busy database: try again next round
                pass
            time.sleep(RETENTION_CHECK_S)

    threading.Thread(target=retention_loop, name="workprint-retention", daemon=True).start()

    with catalog.transaction() as tx:  # under the write lock: two collectors starting at once make one admin
        if not tx.has_admin():
            token = secrets.token_urlsafe(32)
            write_private(data_dir / "admin.token", (token + "\n").encode())
            tx.add_token(_hash_token(token), "admin", "admin-1", None)
            tx.audit(Entry("system", "system", "create the first admin token", "admin-1", "ok"))

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return generate_latest(registry).decode()

    @app.post("/v1/enrolment-codes", status_code=201)
    def new_code(body: CodeRequest | None = None, who: Actor = Depends(actor)) -> dict:
        require(who, "create enrolment codes", "-", "admin")
        body = body or CodeRequest()
        code = secrets.token_urlsafe(12)
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

    def store_blob(who: Actor, digest: str, data: bytes) -> tuple[bool, bool]:
        with catalog.transaction() as tx:  # the file is written under the lock deletion takes too
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

    @app.get("/v1/sessions")
    def list_sessions(who: Actor = Depends(actor)) -> dict:
        require(who, "list sessions", "-", "contributor", "curator")
        with catalog.transaction() as tx:
            rows = tx.sessions(who.subject if who.role == "contributor" else None)
            tx.audit(Entry(who.subject, who.role, "list sessions", "-", "ok"))
        return {"sessions": [{"id": sid, "received": received, "quarantined": quarantined,
                              "actions": len(json.loads(manifest)["actions"])}
                             for sid, received, quarantined, manifest in rows]}

    def owned(tx, who: Actor, session_id: str, action: str) -> tuple[str, str]:
        """(owner, manifest) of a session this actor may act on; otherwise the refusal, audited in ``tx``."""
        row = tx.session(session_id)
        if row is None:
            tx.audit(Entry(who.subject, who.role, action, session_id, "not found"))
            raise Refused(404, "no such session")
        if who.role == "contributor" and row[0] != who.subject:
            tx.audit(Entry(who.subject, who.role, action, session_id, "refused"))
            raise Refused(403, "contributors see only their own sessions")
        return row[0], row[1]

    @app.get("/v1/sessions/{session_id}")
    def get_session(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "read sessions", session_id, "contributor", "curator")
        with catalog.transaction() as tx:
            _, manifest = owned(tx, who, session_id, "read session")
            tx.audit(Entry(who.subject, who.role, "read session", session_id, "ok"))
        return json.loads(manifest)

    @app.get("/v1/blobs/{digest}")
    def get_blob(digest: Annotated[str, PathParam(pattern=DIGEST)], who: Actor = Depends(actor)) -> Response:
        """Curators read any frame a session names; trainers only frames of sessions not quarantined."""
        require(who, "read frames", digest, "curator", "trainer")
        with catalog.transaction() as tx:
            if not (tx.blob_readable(digest, who.role) and blobs.has(digest)):
                tx.audit(Entry(who.subject, who.role, "read blob", digest, "not found"))
                raise Refused(404, "no such frame (or not in a session your role may read)")
            data = blobs.get(digest)
            tx.audit(Entry(who.subject, who.role, "read blob", digest, "ok"))
        return Response(data, media_type="image/png")

    @app.delete("/v1/sessions/{session_id}")
    def delete_session(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "delete sessions", session_id, "contributor", "admin")
        with catalog.transaction() as tx:
            owned(tx, who, session_id, "delete session")
            unlink(tx.delete_session(session_id, f"deleted by {who.role}"))
            tx.audit(Entry(who.subject, who.role, "delete session", session_id, "deleted"))
        return {"deleted": session_id}

    @app.post("/v1/sessions/{session_id}/quarantine")
    def quarantine(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "quarantine sessions", session_id, "curator")
        with catalog.transaction() as tx:
            owned(tx, who, session_id, "quarantine session")
            tx.quarantine(session_id)
            tx.audit(Entry(who.subject, who.role, "quarantine session", session_id, "ok"))
        return {"quarantined": session_id}

    @app.get("/v1/datasets/steps")
    def dataset_steps(who: Actor = Depends(actor)) -> dict:
        """De-identified steps for training: no owner, no pseudonym, quarantined sessions left out."""
        require(who, "read training data", "steps", "trainer")
        with catalog.transaction() as tx:
            rows = tx.training_sessions()
            tx.audit(Entry(who.subject, who.role, "read training data", "steps", "ok"))
        steps = []
        for sid, manifest in rows:
            m = json.loads(manifest)
            for action in m["actions"]:
                steps.append({"session": sid, "action": action, "frame_blob": m["frames"].get(action.get("frame"))})
        return {"steps": steps}

    @app.get("/v1/datasets/sessions")
    def dataset_sessions(who: Actor = Depends(actor)) -> dict:
        """The trainer's view of whole sessions, for `workprint export --collector`: actions and
        frame digests of sessions not quarantined; no owner, no pseudonym, no start time."""
        require(who, "read training data", "sessions", "trainer")
        with catalog.transaction() as tx:
            rows = tx.training_sessions()
            tx.audit(Entry(who.subject, who.role, "read training data", "sessions", f"{len(rows)} sessions"))
        out = []
        for sid, manifest in rows:
            m = json.loads(manifest)
            meta = {k: v for k, v in (m.get("meta") or {}).items() if k in ("screen", "settings", "platform", "workprint")}
            out.append({"id": sid, "meta": meta, "actions": m["actions"], "frames": m["frames"]})
        return {"sessions": out}

    @app.get("/v1/audit")
    def audit_log(who: Actor = Depends(actor)) -> dict:
        require(who, "read the audit log", "audit", "auditor")
        catalog.audit(Entry(who.subject, who.role, "read audit log", "audit", "ok"))
        return {"entries": catalog.audit_entries()}

    @app.get("/v1/audit/verify")
    def audit_verify(who: Actor = Depends(actor)) -> dict:
        require(who, "verify the audit log", "audit", "auditor")
        ok, count, problem = catalog.verify_audit()
        catalog.audit(Entry(who.subject, who.role, "verify audit log", "audit",
                            f"intact ({count} entries)" if ok else f"BROKEN: {problem}"))
        return {"intact": ok, "entries": count, "problem": problem}

    @app.put("/v1/retention")
    def set_retention(body: RetentionRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "set retention", "retention", "admin")
        with catalog.transaction() as tx:
            tx.set_setting("retention_days", str(body.days))
            tx.audit(Entry(who.subject, who.role, "set retention", str(body.days), "ok"))
        return {"retention_days": body.days, "expired": enforce_retention()}

    @app.post("/v1/erasure")
    def erasure(body: ErasureRequest, who: Actor = Depends(actor)) -> dict:
        """Everything of one person: sessions, every frame their device uploaded, their tokens; the
        catalog's write-ahead log is checkpointed so the erased text is not left in it."""
        require(who, "erase a person's data", body.pseudonym, "admin")
        with catalog.transaction() as tx:
            sessions, tokens, gone = tx.erase(body.pseudonym)
            unlink(gone)
            tx.audit(Entry(who.subject, who.role, "erasure", body.pseudonym,
                           f"{sessions} sessions, {len(gone)} frames deleted, {tokens} tokens revoked"))
        return {"deleted_sessions": sessions, "deleted_frames": len(gone), "revoked_tokens": tokens}

    consent_gate.add_consent_routes(app, catalog, actor, require, unlink)

    return app

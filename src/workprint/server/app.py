"""The collector: enrolment, content-addressed uploads, roles, audit, deletion and retention.

Purpose limitation is part of the API: people are only keyed pseudonyms (HMAC of the device's
contributor id with a secret in the --data folder), there is no endpoint that ranks, scores or
summarises a person, and every request is written to the keyed, anchored audit log — reads,
deletes and refusals (no token, a wrong token, a bad code, a bad or oversized body) alike. An
action and its audit entry are written in one transaction (``catalog.CollectorCatalog.transaction``).
This module assembles the service (storage, identities, body limits, retention); the routes are
in ``routes/`` by group and in ``consent.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.concurrency import run_in_threadpool

from workprint import __version__
from workprint.server import consent as consent_gate
from workprint.server.models import Actor
from workprint.files import atomic_write, private_dir
from workprint.server.private import secret_file
from workprint.server.blobs import open_blobs
from workprint.server.catalog import Entry, Refused, open_catalog
from workprint.server.routes import devices, governance
from workprint.server.routes import sessions as sessions_routes, uploads as uploads_routes
from workprint.server.routes.common import Collector, hash_token as _hash_token

MAX_BLOB = 16 * 1024 * 1024
MAX_MANIFEST = 16 * 1024 * 1024
MAX_BODY = 4 * 1024 * 1024
MANIFEST_SLOTS = 2  # manifests parsed at once per process (see ManifestSlots)
RETENTION_CHECK_S = 3600
ABANDONED_UPLOAD_S = 7 * 86400  # frames no session of their device names are deleted after this
ROLES = ("contributor", "curator", "trainer", "auditor", "admin")
ANONYMOUS = Actor(role="-", subject="anonymous")


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


class ManifestSlots:
    """ASGI middleware: at most ``slots`` session manifests are read, validated and stored at once
    in this process; the others wait unread (the server stops reading their bodies). A manifest
    near the limit costs ~17x its size while parsed, so without this a burst of them would take
    the collector's memory with it."""

    def __init__(self, app, slots: int = MANIFEST_SLOTS) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and scope["path"].startswith("/v1/sessions/"):
            async with self.slots:
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(data_dir: Path, catalog_url: str | None = None, blobs_url: str | None = None) -> FastAPI:
    """The collector on a --data folder (its secrets), a catalog (SQLite in DIR by default, or
    PostgreSQL) and a blob store (DIR/blobs by default, or an S3 bucket). Replicas given the same
    three are one collector."""
    private_dir(data_dir, narrow=True)
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

    app.add_middleware(ManifestSlots)
    app.add_middleware(BodyLimit, refuse=refuse_body)  # outermost: an oversized body is refused without waiting

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
            atomic_write(data_dir / "admin.token", token + "\n")
            tx.add_token(_hash_token(token), "admin", "admin-1", None)
            tx.audit(Entry("system", "system", "create the first admin token", "admin-1", "ok"))

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return generate_latest(registry).decode()

    ctx = Collector(catalog, blobs, actor, require, unlink, pseudonym, uploads, upload_bytes, sessions_received,
                    enforce_retention)
    for group in (devices, uploads_routes, sessions_routes, governance):
        group.add_routes(app, ctx)

    consent_gate.add_consent_routes(app, catalog, actor, require, unlink)

    return app

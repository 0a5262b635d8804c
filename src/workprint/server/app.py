"""The collector: enrolment, content-addressed uploads, roles, audit, deletion and retention.

Purpose limitation is part of the API: people are only keyed pseudonyms (HMAC of the device's
contributor id with a server secret), there is no endpoint that ranks, scores or summarises a
person, and every read and delete is written to the hash-chained audit log — refusals too.
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
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path as PathParam, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from pydantic import BaseModel, Field

from workprint import __version__
from workprint.server import consent as consent_gate
from workprint.server.storage import Catalog, LocalBlobStore

MAX_BLOB = 16 * 1024 * 1024
RETENTION_CHECK_S = 3600
DIGEST = r"^[0-9a-f]{64}$"
SESSION_ID = r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$"
ROLES = ("contributor", "curator", "trainer", "auditor", "admin")


class EnrolRequest(BaseModel):
    code: str = Field(min_length=8, max_length=128)
    contributor: str = Field(pattern=r"^c-[0-9a-f]{12}$")


class TokenRequest(BaseModel):
    role: str = Field(pattern="^(curator|trainer|auditor|admin)$")


class MissingRequest(BaseModel):
    digests: list[Annotated[str, Field(pattern=DIGEST)]] = Field(max_length=100_000)


class Manifest(BaseModel):
    meta: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(max_length=1_000_000)
    frames: dict[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")], Annotated[str, Field(pattern=DIGEST)]]


class RetentionRequest(BaseModel):
    days: int = Field(ge=1, le=36500)


class ErasureRequest(BaseModel):
    pseudonym: str = Field(pattern=r"^p-[0-9a-f]{24}$")


class Actor(BaseModel):
    role: str
    subject: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_app(data_dir: Path) -> FastAPI:
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(data_dir / "catalog.sqlite")
    blobs = LocalBlobStore(data_dir / "blobs")
    secret = catalog.setting("pseudonym_secret")
    if secret is None:
        secret = secrets.token_hex(32)
        catalog.set_setting("pseudonym_secret", secret)
    registry = CollectorRegistry()
    uploads = Counter("workprint_blob_uploads", "blobs stored", registry=registry)
    upload_bytes = Counter("workprint_blob_upload_bytes", "bytes of blobs stored", registry=registry)
    sessions_received = Counter("workprint_sessions_received", "session manifests stored", registry=registry)
    refused = Counter("workprint_refused_requests", "requests refused for lack of permission", registry=registry)

    app = FastAPI(title="workprint collector", version=__version__,
                  description="Receives redacted recordings from enrolled devices. No per-person analytics.")
    app.state.catalog = catalog
    consents = consent_gate.ConsentRecords(catalog)

    def pseudonym(contributor: str) -> str:
        return "p-" + hmac.new(secret.encode(), contributor.encode(), hashlib.sha256).hexdigest()[:24]

    def actor(authorization: Annotated[str | None, Header()] = None) -> Actor:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token: enrol the device (`workprint enrol`) or ask an admin")
        rows = catalog.execute("SELECT role, subject FROM tokens WHERE hash=?", (_hash_token(authorization[7:]),))
        if not rows:
            raise HTTPException(401, "unknown or revoked token")
        return Actor(role=rows[0][0], subject=rows[0][1])

    def require(who: Actor, action: str, target: str, *roles: str) -> None:
        if who.role not in roles:
            refused.inc()
            catalog.audit(who.subject, who.role, action, target, "refused")
            raise HTTPException(403, f"the {who.role} role may not {action}")

    def enforce_retention() -> int:
        days = int(catalog.setting("retention_days", "0") or 0)
        if not days:
            return 0
        cutoff = time.time() - days * 86400
        old = catalog.execute("SELECT id, owner FROM sessions WHERE received < ?", (cutoff,))
        for sid, owner in old:
            _delete(sid, owner, "retention")
            catalog.audit("system", "system", "expire session", sid, "deleted")
        return len(old)

    def _delete(sid: str, owner: str, reason: str) -> int:
        """Deletes a session and the frames no other session uses; returns how many frames went."""
        row = catalog.execute("SELECT manifest FROM sessions WHERE id=?", (sid,))
        if not row:
            return 0
        digests = set(json.loads(row[0][0])["frames"].values())
        catalog.execute("DELETE FROM sessions WHERE id=?", (sid,))
        catalog.execute("INSERT INTO tombstones (id, owner, deleted, reason) VALUES (?,?,?,?)",
                        (sid, owner, time.time(), reason))
        still_used: set[str] = set()
        for (manifest,) in catalog.execute("SELECT manifest FROM sessions"):
            still_used |= set(json.loads(manifest)["frames"].values())
        for digest in digests - still_used:
            blobs.delete(digest)
        return len(digests - still_used)

    def erase_person(pseudonym: str, reason: str) -> tuple[int, int]:
        """Everything uploaded under a pseudonym: (sessions, frames) deleted. The admin's erasure
        and a contributor's withdrawal with erasure both come here."""
        rows = catalog.execute("SELECT id FROM sessions WHERE owner=?", (pseudonym,))
        frames = sum(_delete(sid, pseudonym, reason) for (sid,) in rows)
        return len(rows), frames

    app.state.enforce_retention = enforce_retention

    def retention_loop() -> None:
        while True:
            try:
                enforce_retention()
            except Exception:  # a busy database: try again next round
                pass
            time.sleep(RETENTION_CHECK_S)

    threading.Thread(target=retention_loop, name="workprint-retention", daemon=True).start()

    if not catalog.execute("SELECT 1 FROM tokens WHERE role='admin'"):
        token = secrets.token_urlsafe(32)
        catalog.execute("INSERT INTO tokens VALUES (?, 'admin', 'admin-1', ?)", (_hash_token(token), time.time()))
        path = data_dir / "admin.token"
        path.write_text(token + "\n")
        path.chmod(0o600)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return generate_latest(registry).decode()

    @app.post("/v1/enrolment-codes", status_code=201)
    def new_code(who: Actor = Depends(actor)) -> dict:
        require(who, "create enrolment codes", "-", "admin")
        code = secrets.token_urlsafe(12)
        catalog.execute("INSERT INTO enrolment_codes VALUES (?, ?, NULL)", (_hash_token(code), time.time()))
        catalog.audit(who.subject, who.role, "create enrolment code", "-", "ok")
        return {"code": code}

    @app.post("/v1/devices", status_code=201)
    def enrol(body: EnrolRequest) -> dict:
        rows = catalog.execute("SELECT used FROM enrolment_codes WHERE hash=?", (_hash_token(body.code),))
        if not rows or rows[0][0] is not None:
            raise HTTPException(403, "unknown or already used enrolment code; ask an admin for a new one")
        catalog.execute("UPDATE enrolment_codes SET used=? WHERE hash=?", (time.time(), _hash_token(body.code)))
        token = secrets.token_urlsafe(32)
        who = pseudonym(body.contributor)
        catalog.execute("INSERT INTO tokens VALUES (?, 'contributor', ?, ?)", (_hash_token(token), who, time.time()))
        catalog.audit(who, "contributor", "enrol device", who, "ok")
        return {"device_token": token, "pseudonym": who}

    @app.post("/v1/tokens", status_code=201)
    def new_token(body: TokenRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "create tokens", body.role, "admin")
        token = secrets.token_urlsafe(32)
        subject = f"{body.role}-{secrets.token_hex(4)}"
        catalog.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)", (_hash_token(token), body.role, subject, time.time()))
        catalog.audit(who.subject, who.role, "create token", subject, "ok")
        return {"token": token, "subject": subject}

    @app.post("/v1/blobs/missing")
    def missing(body: MissingRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "upload", "blobs", "contributor")
        consent_gate.require_current(consents, who, "upload", "blobs")
        return {"missing": [d for d in dict.fromkeys(body.digests) if not blobs.has(d)]}

    @app.put("/v1/blobs/{digest}")
    async def put_blob(request: Request, response: Response,
                       digest: Annotated[str, PathParam(pattern=DIGEST)], who: Actor = Depends(actor)) -> dict:
        require(who, "upload", digest, "contributor")
        consent_gate.require_current(consents, who, "upload", digest)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BLOB):
            raise HTTPException(413, f"a blob is at most {MAX_BLOB} bytes; split it")
        data = b""
        async for part in request.stream():
            data += part
            if len(data) > MAX_BLOB:
                raise HTTPException(413, f"a blob is at most {MAX_BLOB} bytes; split it")
        if hashlib.sha256(data).hexdigest() != digest:
            raise HTTPException(422, "the body does not hash to the digest in the URL (truncated or corrupted); send it again")
        try:
            created = blobs.put(digest, data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise HTTPException(507, "the collector's disk is full; nothing was lost, retry later") from None
            raise
        if created:
            uploads.inc()
            upload_bytes.inc(len(data))
        response.status_code = 201 if created else 200
        return {"digest": digest, "stored": created}

    @app.put("/v1/sessions/{session_id}", status_code=201)
    def put_session(body: Manifest, session_id: Annotated[str, PathParam(pattern=SESSION_ID)],
                    who: Actor = Depends(actor)) -> dict:
        require(who, "upload sessions", session_id, "contributor")
        consent_id = consent_gate.require_current(consents, who, "upload sessions", session_id)
        rows = catalog.execute("SELECT owner FROM sessions WHERE id=?", (session_id,))
        if rows and rows[0][0] != who.subject:
            refused.inc()
            catalog.audit(who.subject, who.role, "overwrite session", session_id, "refused")
            raise HTTPException(403, "this session belongs to another device")
        if catalog.execute("SELECT 1 FROM tombstones WHERE id=?", (session_id,)):
            raise HTTPException(410, "this session was deleted and cannot be uploaded again")
        absent = [d for d in set(body.frames.values()) if not blobs.has(d)]
        if absent:
            raise HTTPException(409, {"message": "upload these blobs first", "missing": sorted(absent)})
        manifest = body.model_dump_json()
        catalog.execute("INSERT INTO sessions (id, owner, manifest, received) VALUES (?,?,?,?) "
                        "ON CONFLICT(id) DO UPDATE SET manifest=excluded.manifest",
                        (session_id, who.subject, manifest, time.time()))
        consents.link(session_id, consent_id)
        sessions_received.inc()
        catalog.audit(who.subject, who.role, "upload session", session_id, "ok")
        return {"session": session_id, "frames": len(body.frames), "actions": len(body.actions)}

    @app.get("/v1/sessions")
    def list_sessions(who: Actor = Depends(actor)) -> dict:
        require(who, "list sessions", "-", "contributor", "curator")
        if who.role == "contributor":
            rows = catalog.execute("SELECT id, received, quarantined, manifest FROM sessions WHERE owner=?",
                                   (who.subject,))
        else:
            rows = catalog.execute("SELECT id, received, quarantined, manifest FROM sessions")
        catalog.audit(who.subject, who.role, "list sessions", "-", "ok")
        return {"sessions": [{"id": r[0], "received": r[1], "quarantined": bool(r[2]),
                              "actions": len(json.loads(r[3])["actions"])} for r in rows]}

    def _owned(who: Actor, session_id: str, action: str) -> tuple[str, str]:
        rows = catalog.execute("SELECT owner, manifest FROM sessions WHERE id=?", (session_id,))
        if not rows:
            catalog.audit(who.subject, who.role, action, session_id, "not found")
            raise HTTPException(404, "no such session")
        if who.role == "contributor" and rows[0][0] != who.subject:
            refused.inc()
            catalog.audit(who.subject, who.role, action, session_id, "refused")
            raise HTTPException(403, "contributors see only their own sessions")
        return rows[0][0], rows[0][1]

    @app.get("/v1/sessions/{session_id}")
    def get_session(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "read sessions", session_id, "contributor", "curator")
        _, manifest = _owned(who, session_id, "read session")
        catalog.audit(who.subject, who.role, "read session", session_id, "ok")
        return json.loads(manifest)

    @app.get("/v1/blobs/{digest}")
    def get_blob(digest: Annotated[str, PathParam(pattern=DIGEST)], who: Actor = Depends(actor)) -> Response:
        require(who, "read frames", digest, "curator", "trainer")
        if not blobs.has(digest):
            raise HTTPException(404, "no such blob")
        catalog.audit(who.subject, who.role, "read blob", digest, "ok")
        return Response(blobs.get(digest), media_type="image/png")

    @app.delete("/v1/sessions/{session_id}")
    def delete_session(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "delete sessions", session_id, "contributor", "admin")
        owner, _ = _owned(who, session_id, "delete session")
        _delete(session_id, owner, f"deleted by {who.role}")
        catalog.audit(who.subject, who.role, "delete session", session_id, "deleted")
        return {"deleted": session_id}

    @app.post("/v1/sessions/{session_id}/quarantine")
    def quarantine(session_id: Annotated[str, PathParam(pattern=SESSION_ID)], who: Actor = Depends(actor)) -> dict:
        require(who, "quarantine sessions", session_id, "curator")
        _owned(who, session_id, "quarantine session")
        catalog.execute("UPDATE sessions SET quarantined=1 WHERE id=?", (session_id,))
        catalog.audit(who.subject, who.role, "quarantine session", session_id, "ok")
        return {"quarantined": session_id}

    @app.get("/v1/datasets/steps")
    def dataset_steps(who: Actor = Depends(actor)) -> dict:
        """De-identified steps for training: no owner, no pseudonym, quarantined sessions left out."""
        require(who, "read training data", "steps", "trainer")
        steps = []
        for sid, manifest in catalog.execute("SELECT id, manifest FROM sessions WHERE quarantined=0"):
            m = json.loads(manifest)
            for action in m["actions"]:
                frame = action.get("frame")
                steps.append({"session": sid, "action": action, "frame_blob": m["frames"].get(frame)})
        catalog.audit(who.subject, who.role, "read training data", "steps", "ok")
        return {"steps": steps}

    @app.get("/v1/audit")
    def audit_log(who: Actor = Depends(actor)) -> dict:
        require(who, "read the audit log", "audit", "auditor")
        catalog.audit(who.subject, who.role, "read audit log", "audit", "ok")
        return {"entries": catalog.audit_entries()}

    @app.get("/v1/audit/verify")
    def audit_verify(who: Actor = Depends(actor)) -> dict:
        require(who, "verify the audit log", "audit", "auditor")
        ok, count, problem = catalog.verify_audit()
        return {"intact": ok, "entries": count, "problem": problem}

    @app.put("/v1/retention")
    def set_retention(body: RetentionRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "set retention", "retention", "admin")
        catalog.set_setting("retention_days", str(body.days))
        catalog.audit(who.subject, who.role, "set retention", str(body.days), "ok")
        return {"retention_days": body.days, "expired": enforce_retention()}

    @app.post("/v1/erasure")
    def erasure(body: ErasureRequest, who: Actor = Depends(actor)) -> dict:
        require(who, "erase a person's data", body.pseudonym, "admin")
        sessions, frames = erase_person(body.pseudonym, "erasure request")
        catalog.audit(who.subject, who.role, "erasure", body.pseudonym, f"{sessions} sessions deleted")
        return {"deleted_sessions": sessions, "deleted_frames": frames}

    consent_gate.add_consent_routes(app, consents, actor, require, erase_person,
                                    lambda: int(catalog.setting("retention_days", "0") or 0))

    return app

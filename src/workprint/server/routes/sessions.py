"""Reading, deleting and quarantining sessions and frames; the trainer's de-identified datasets."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, FastAPI, Path as PathParam, Response

from workprint.server.blobs import DamagedBlob
from workprint.server.catalog import Entry, Refused
from workprint.server.models import DIGEST, SESSION_ID, Actor
from workprint.server.routes.common import Collector


def add_routes(app: FastAPI, ctx: Collector) -> None:
    catalog = ctx.catalog
    blobs = ctx.blobs
    actor = ctx.actor
    require = ctx.require
    unlink = ctx.unlink

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
            try:
                data = blobs.get(digest)
            except DamagedBlob:
                tx.audit(Entry(who.subject, who.role, "read blob", digest, "refused: the stored bytes are damaged"))
                raise Refused(500, "the collector's copy of this frame is damaged (its bytes no longer hash to "
                                   "its name); an admin must restore it from a backup") from None
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
                frame = action.get("frame")  # a str since manifests are validated; not so in older catalogs
                steps.append({"session": sid, "action": action,
                              "frame_blob": m["frames"].get(frame) if isinstance(frame, str) else None})
        return {"steps": steps}

    @app.get("/v1/datasets/sessions")
    def dataset_sessions(who: Actor = Depends(actor)) -> dict:
        """The trainer's view of whole sessions, for `workprint export --collector`: actions, task
        marks, agent runs, interventions and frame digests of sessions not quarantined; no owner, no
        pseudonym, no start time. ``agent_runs`` and ``interventions`` are null for a session uploaded
        before they were carried (unknown, not none)."""
        require(who, "read training data", "sessions", "trainer")
        with catalog.transaction() as tx:
            rows = tx.training_sessions()
            tx.audit(Entry(who.subject, who.role, "read training data", "sessions", f"{len(rows)} sessions"))
        out = []
        for sid, manifest in rows:
            m = json.loads(manifest)
            meta = {k: v for k, v in (m.get("meta") or {}).items() if k in ("screen", "settings", "platform", "workprint")}
            out.append({"id": sid, "meta": meta, "actions": m["actions"], "frames": m["frames"],
                        "marks": m.get("marks", []), "agent_runs": m.get("agent_runs"),
                        "interventions": m.get("interventions")})
        return {"sessions": out}

"""The audit log and its verification, retention and erasure."""

from __future__ import annotations


from fastapi import Depends, FastAPI

from workprint.server.catalog import Entry
from workprint.server.models import Actor, ErasureRequest, RetentionRequest
from workprint.server.routes.common import Collector


def add_routes(app: FastAPI, ctx: Collector) -> None:
    catalog = ctx.catalog
    actor = ctx.actor
    require = ctx.require
    unlink = ctx.unlink
    enforce_retention = ctx.enforce_retention

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

"""`workprint review`: a local page to look at sessions before they leave the device.

It lists sessions not uploaded yet, plays each like the replay report, and lets the person
approve a session for upload, delete it, or delete a time range of it. Deleted data is gone
from the store, not hidden. The page listens on 127.0.0.1 only, under a random path, so other
local users and web pages cannot drive it.
"""

from __future__ import annotations

import html
import secrets
from pathlib import Path

from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse

from workprint.export.report import build_report
from workprint.export.steps import load_sessions
from workprint.store import Catalog, StoreError
from workprint.store.session import SESSION_ID_RE, delete_range, delete_session
from workprint.upload.client import approve, review_state


def create_review_app(home: Path, token: str | None = None) -> tuple[FastAPI, str]:
    token = token or secrets.token_urlsafe(16)
    app = FastAPI(title="workprint review", docs_url=None, redoc_url=None, openapi_url=None)
    base = f"/{token}"

    def check(sid: str) -> str:
        if not SESSION_ID_RE.match(sid):
            raise HTTPException(404, "no such session")
        return sid

    @app.get(base + "/", response_class=HTMLResponse)
    def index() -> str:
        state = review_state(home)
        rows = []
        for info in Catalog(home).list():
            if info.id in state["uploaded"]:
                continue
            approved = "approved" if info.id in state["approved"] else "not reviewed"
            rows.append(f"""<tr><td><a href="{base}/session/{info.id}">{info.id}</a></td><td>{info.started_at}</td>
<td>{info.status}</td><td>{info.events}</td><td>{approved}</td><td>
<form method=post action="{base}/session/{info.id}/approve"><button>Approve for upload</button></form>
<form method=post action="{base}/session/{info.id}/delete" onsubmit="return confirm('Delete this session for good?')"><button>Delete session</button></form>
<form method=post action="{base}/session/{info.id}/delete-range">from <input name=start size=5> s to <input name=end size=5> s <button>Delete range</button></form>
</td></tr>""")
        body = "".join(rows) or "<tr><td colspan=6>Nothing waiting for review.</td></tr>"
        return f"""<!doctype html><meta charset=utf-8><title>workprint review</title>
<style>body{{font:14px system-ui;margin:24px}} td{{padding:6px;border-bottom:1px solid #ddd;vertical-align:top}} form{{display:inline-block;margin:2px}}</style>
<h1>Review before upload</h1><p>Only approved sessions (or sessions older than the review window) are uploaded, and only
their redacted text and redacted screenshots. Open a session to step through what would leave this machine.</p>
<table><tr><th>session</th><th>started (UTC)</th><th>status</th><th>events</th><th>review</th><th></th></tr>{body}</table>"""

    @app.get(base + "/session/{sid}", response_class=HTMLResponse)
    def view(sid: str) -> str:
        try:
            (session,) = load_sessions(home, [check(sid)])
        except Exception as exc:
            raise HTTPException(404, html.escape(str(exc))) from None
        return build_report(session)

    @app.post(base + "/session/{sid}/approve")
    def do_approve(sid: str) -> RedirectResponse:
        approve(home, check(sid))
        return RedirectResponse(base + "/", status_code=303)

    @app.post(base + "/session/{sid}/delete")
    def do_delete(sid: str) -> RedirectResponse:
        try:
            delete_session(home, check(sid))
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        Catalog(home).remove(sid)
        return RedirectResponse(base + "/", status_code=303)

    @app.post(base + "/session/{sid}/delete-range")
    def do_delete_range(sid: str, start: float = Form(...), end: float = Form(...)) -> RedirectResponse:
        if end < start:
            raise HTTPException(422, "the range ends before it starts")
        try:
            delete_range(home, check(sid), start, end)
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse(base + "/", status_code=303)

    return app, token

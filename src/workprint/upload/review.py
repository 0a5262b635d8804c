"""`workprint review`: a local page to look at sessions before they leave the device.

It lists sessions not uploaded yet, plays each like the replay report, and lets the person
approve a session for upload, delete it, or delete a time range of it. Deleted data is gone
from the store, not hidden.

Who can drive it: the page listens on 127.0.0.1 only, under a random path (the secret). The
secret never appears on a command line (``/proc/*/cmdline`` is readable by every local user):
the browser is given a file in WORKPRINT_HOME (mode 0600) that forwards to the page. Every
request must name 127.0.0.1 or localhost as its Host (a DNS-rebinding name is refused); every
change (POST) must come from the page's own origin and carry the page's CSRF token, so a page
on another origin cannot approve or delete anything even if it learned the address.
"""

from __future__ import annotations

import hmac
import html
import math
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from workprint.errors import WorkprintError
from workprint.export.report import build_report
from workprint.process.sessions import load_sessions
from workprint.store import Catalog, StoreError
from workprint.store.session import SESSION_ID_RE, SessionBusyError, delete_range, delete_session
from workprint.upload.client import approve, review_state


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _host_name(host: str) -> str:
    return urlsplit(f"//{host}").hostname or ""


def create_review_app(home: Path, token: str | None = None) -> tuple[FastAPI, str]:
    token = token or secrets.token_urlsafe(16)
    csrf = secrets.token_urlsafe(24)
    app = FastAPI(title="workprint review", docs_url=None, redoc_url=None, openapi_url=None)
    base = f"/{token}"

    @app.middleware("http")
    async def same_origin_only(request: Request, call_next):
        host = request.headers.get("host", "")
        if _host_name(host) not in LOCAL_HOSTS:
            return PlainTextResponse("refused: this page answers only to 127.0.0.1", status_code=421)
        if request.method != "GET":
            origin = request.headers.get("origin")
            if origin is not None and origin != f"http://{host}":
                return PlainTextResponse("refused: a change must come from the review page itself", status_code=403)
            if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                return PlainTextResponse("refused: a change must come from the review page itself", status_code=403)
        return await call_next(request)

    @app.exception_handler(WorkprintError)
    async def said_plainly(request: Request, exc: WorkprintError) -> PlainTextResponse:
        # A damaged review.json or session: the page says what happened, no traceback anywhere.
        return PlainTextResponse(f"workprint: {exc}", status_code=500)

    def check(sid: str) -> str:
        if not SESSION_ID_RE.match(sid):
            raise HTTPException(404, "no such session")
        return sid

    def check_csrf(value: str) -> None:
        if not hmac.compare_digest(value.encode(), csrf.encode()):
            raise HTTPException(403, "refused: the form's token is missing or wrong; reload the review page")

    hidden = f'<input type=hidden name=csrf value="{csrf}">'

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
<form method=post action="{base}/session/{info.id}/approve">{hidden}<button>Approve for upload</button></form>
<form method=post action="{base}/session/{info.id}/delete" onsubmit="return confirm('Delete this session for good?')">{hidden}<button>Delete session</button></form>
<form method=post action="{base}/session/{info.id}/delete-range">{hidden}from <input name=start size=5> s to <input name=end size=5> s <button>Delete range</button></form>
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
    def do_approve(sid: str, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(csrf)
        approve(home, check(sid))
        return RedirectResponse(base + "/", status_code=303)

    @app.post(base + "/session/{sid}/delete")
    def do_delete(sid: str, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(csrf)
        try:
            delete_session(home, check(sid), unless_recording=True)
        except SessionBusyError as exc:
            raise HTTPException(409, str(exc)) from None
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        Catalog(home).remove(sid)
        return RedirectResponse(base + "/", status_code=303)

    @app.post(base + "/session/{sid}/delete-range")
    def do_delete_range(sid: str, start: float = Form(...), end: float = Form(...),
                        csrf: str = Form("")) -> RedirectResponse:
        check_csrf(csrf)
        if not (math.isfinite(start) and math.isfinite(end)):
            raise HTTPException(422, "the range's start and end must be seconds from the session's start")
        if end < start:
            raise HTTPException(422, "the range ends before it starts")
        try:
            delete_range(home, check(sid), start, end)
        except SessionBusyError as exc:
            raise HTTPException(409, str(exc)) from None
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse(base + "/", status_code=303)

    return app, token


def browser_entry(home: Path, url: str) -> Path:
    """A file (mode 0600, in WORKPRINT_HOME) that forwards the browser to ``url``.

    The browser is started with this file's path, so the page's secret never appears on a
    command line, where every local user could read it.
    """
    from workprint.files import atomic_write

    path = home / "review.html"
    quoted = html.escape(url, quote=True)
    atomic_write(path, f'<!doctype html><meta charset=utf-8><meta http-equiv="refresh" content="0;url={quoted}">'
                       f'<title>workprint review</title><a href="{quoted}">Open the review page</a>')
    return path

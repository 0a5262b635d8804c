"""Upload reviewed sessions to a collector: only redacted text and redacted frames leave.

An upload is content-addressed and resumable: the device asks which blobs the collector lacks,
sends only those (each verified by its SHA-256 on arrival), then the session's manifest. A
cut connection or a restarted server costs a retry, never a duplicate; running `workprint
upload` again continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import httpx

from workprint.errors import WorkprintError
from workprint.files import atomic_write
from workprint.privacy.frames import RedactedFrames
from workprint.process.episodes import task_marks
from workprint.process.interventions import derive_interventions, run_marks
from workprint.process.sessions import SessionsError, load_sessions
from workprint.home import contributor_id
from workprint.store.crypto import Sealer, device_key

REVIEW_WINDOW_S = 24 * 3600
MISSING_BATCH = 10_000  # digests per "which frames do you lack" request (the collector takes at most 50 000)


class UploadError(WorkprintError):
    """Upload cannot go on; the message says why and what to do."""


def _config_path(home: Path) -> Path:
    return home / "collector.sealed"


def save_enrolment(home: Path, url: str, token: str, pseudonym: str) -> None:
    """The device token is stored sealed with the device key, never in clear."""
    data = json.dumps({"url": url.rstrip("/"), "token": token, "pseudonym": pseudonym}).encode()
    atomic_write(_config_path(home), Sealer(device_key(home)).seal(data, b"collector"))


def load_enrolment(home: Path) -> dict[str, Any]:
    path = _config_path(home)
    if not path.exists():
        raise UploadError("this device is not enrolled; run `workprint enrol URL CODE` with a code from your admin")
    return json.loads(Sealer(device_key(home)).open(path.read_bytes(), b"collector"))


def enrol(home: Path, url: str, code: str) -> str:
    try:
        reply = httpx.post(f"{url.rstrip('/')}/v1/devices", json={"code": code.strip(), "contributor": contributor_id(home)},
                           timeout=30)
    except httpx.HTTPError as exc:
        raise UploadError(f"cannot reach the collector at {url}: {exc}") from None
    if reply.status_code != 201:
        raise UploadError(f"enrolment refused ({reply.status_code}): {reply.json().get('detail', reply.text)}")
    body = reply.json()
    save_enrolment(home, url, body["device_token"], body["pseudonym"])
    return body["pseudonym"]


def review_state(home: Path) -> dict[str, Any]:
    """Which sessions the contributor approved, and which were uploaded (with their fingerprint)."""
    path = home / "review.json"
    if not path.exists():
        return {"approved": [], "uploaded": {}}
    try:
        state = json.loads(path.read_text())
        if not (isinstance(state.get("approved"), list) and isinstance(state.get("uploaded"), dict)):
            raise ValueError("unexpected shape")
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise UploadError(f"{path} is damaged ({exc}); nothing was uploaded. Move it away and approve your "
                          "sessions again with `workprint review` (sessions already uploaded may be sent again, "
                          "the collector keeps one copy)") from None
    return state


def save_review_state(home: Path, state: dict[str, Any]) -> None:
    """Written all at once (``atomic_write``): a crash leaves the old state or the new, never a torn file."""
    atomic_write(home / "review.json", json.dumps(state, indent=1, sort_keys=True))


def approve(home: Path, session_id: str) -> None:
    state = review_state(home)
    if session_id not in state["approved"]:
        state["approved"].append(session_id)
    save_review_state(home, state)


def _request(client: httpx.Client, method: str, url: str, attempts: int = 6, **kwargs) -> httpx.Response:
    """Retries connection failures (a cut network, a restarting server) with backoff."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            reply = client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
            continue
        if reply.status_code == 507:
            raise UploadError("the collector's disk is full; your data stays here, try again later")
        if reply.status_code in (502, 503, 504) and attempt < attempts - 1:
            # a load balancer with no replica to answer right now (one restarting): every upload
            # request is idempotent, so it is sent again
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
            continue
        return reply
    raise AssertionError("unreachable")


def upload(home: Path, refs: list[str], progress: Callable[[str], None] = lambda _: None,
           require_review: bool = True) -> list[str]:
    """Upload sessions (default: all finished, reviewed ones not uploaded yet); returns their ids."""
    config = load_enrolment(home)
    from workprint.privacy.consent import agreed

    if not agreed(home):
        raise UploadError("there is no consent in force on this device (never given, or withdrawn); nothing is "
                          "uploaded. Read `workprint consent show` and agree with `workprint consent accept`")
    state = review_state(home)
    try:
        sessions = load_sessions(home, refs)
    except SessionsError as exc:
        raise UploadError(str(exc)) from None
    done = []
    headers = {"Authorization": f"Bearer {config['token']}"}
    with httpx.Client(base_url=config["url"], headers=headers, timeout=60) as client:
        if sessions:  # a refusal (no consent on record there) before any frame is redacted for nothing
            _check(_request(client, "POST", "/v1/blobs/missing", json={"digests": []}), "start uploading")
        for session in sessions:
            meta = session.reader.meta
            started = meta.get("started_at", "")
            reviewed = session.id in state["approved"]
            if require_review and not reviewed and not _past_review_window(started):
                if refs:
                    raise UploadError(f"session {session.id} is not reviewed yet: look at it with `workprint report "
                                      f"{session.id}` and approve it with `workprint review --approve {session.id}`")
                continue
            if state["uploaded"].get(session.id) == session.fingerprint:
                continue
            progress(f"{session.id}: redacting frames")
            redacted = RedactedFrames(session)
            frames: dict[str, str] = {}
            payloads: dict[str, bytes] = {}
            interventions = derive_interventions(session.events, session.actions)
            shown = [(a.get("frame"), a.get("frame_after")) for a in session.actions]
            shown += [(i.get("frame"), i.get("frame_after")) for i in interventions]  # the takeovers' screens
            for pair in shown:
                for fid in pair:
                    if fid and fid not in frames:
                        png, _ = redacted(fid)
                        digest = hashlib.sha256(png).hexdigest()
                        frames[fid], payloads[digest] = digest, png
            missing = []
            wanted = sorted(payloads)
            for start in range(0, len(wanted), MISSING_BATCH):
                reply = _request(client, "POST", "/v1/blobs/missing",
                                 json={"digests": wanted[start:start + MISSING_BATCH]})
                _check(reply, "ask which frames the collector lacks")
                missing += reply.json()["missing"]
            for i, digest in enumerate(missing, 1):
                progress(f"{session.id}: frame {i}/{len(missing)}")
                _check(_request(client, "PUT", f"/v1/blobs/{digest}", content=payloads[digest]), "upload a frame")
            manifest = {"meta": {k: meta.get(k) for k in ("started_at", "screen", "settings", "platform", "workprint")},
                        "actions": [{k: v for k, v in a.items() if k != "raw"} for a in session.actions],
                        "frames": frames, "marks": task_marks(session.events),
                        # what the agent-run exports (preference, rlif) read: texts redacted when written
                        "agent_runs": run_marks(session.events), "interventions": interventions}
            reply = _request(client, "PUT", f"/v1/sessions/{session.id}", json=manifest)
            if reply.status_code == 409:  # frames the collector dropped meanwhile (a deletion): send them, retry
                detail = reply.json().get("detail")
                again = [d for d in (detail.get("missing", []) if isinstance(detail, dict) else []) if d in payloads]
                for digest in again:
                    _check(_request(client, "PUT", f"/v1/blobs/{digest}", content=payloads[digest]), "upload a frame")
                if again:
                    reply = _request(client, "PUT", f"/v1/sessions/{session.id}", json=manifest)
            _check(reply, "upload the session")
            state["uploaded"][session.id] = session.fingerprint
            save_review_state(home, state)
            done.append(session.id)
    return done


def _past_review_window(started_at: str) -> bool:
    import datetime as dt

    try:
        started = dt.datetime.fromisoformat(started_at)
    except ValueError:
        return False
    return (dt.datetime.now(dt.timezone.utc) - started).total_seconds() > REVIEW_WINDOW_S


def _check(reply: httpx.Response, what: str) -> None:
    if reply.status_code >= 400:
        try:
            detail = reply.json().get("detail")
        except ValueError:
            detail = reply.text[:200]
        raise UploadError(f"could not {what}: the collector answered {reply.status_code}: {detail}")


# ---------------------------------------------------------------------------- consent at the collector

def _contributor_call(home: Path, method: str, path: str, what: str, **kwargs) -> dict[str, Any]:
    config = load_enrolment(home)
    headers = {"Authorization": f"Bearer {config['token']}"}
    try:
        with httpx.Client(base_url=config["url"], headers=headers, timeout=30) as client:
            reply = _request(client, method, path, attempts=3, **kwargs)
    except httpx.HTTPError as exc:
        raise UploadError(f"cannot reach the collector at {config['url']} to {what}: {exc}") from None
    _check(reply, what)
    return reply.json()


def collector_terms(home: Path) -> dict[str, Any]:
    """What the collector says about keeping data (``retention_days``: None when unlimited)."""
    return _contributor_call(home, "GET", "/v1/consent/terms", "ask the collector how long it keeps data")


def send_consent(home: Path, agreement: dict[str, Any]) -> str:
    """Puts the device's agreement on record at the collector; returns its id there."""
    body = {k: agreement[k] for k in ("notice_version", "notice_hash", "policy_hash", "accepted_at")}
    return _contributor_call(home, "POST", "/v1/consent", "record your consent at the collector", json=body)["consent"]


def withdraw_at_collector(home: Path, erase: bool) -> dict[str, Any]:
    """Withdraws consent at the collector; with ``erase`` it deletes everything from this pseudonym.
    Returns ``deleted_sessions`` and ``deleted_frames``."""
    return _contributor_call(home, "POST", "/v1/consent/withdraw", "withdraw your consent at the collector",
                             json={"erase": erase})

"""Exports from a collector: a trainer builds the same formats from the collector's
de-identified view (sessions not quarantined, no owner) instead of a local store.

Frames are fetched and redacted again (a second check on what devices sent) in fixed chunks,
each with a fresh redactor, so the result does not depend on who does the work: in this
process one chunk after another, or spread over a Ray cluster (``ray_address``: ``"local"``
starts one here, anything else joins that cluster). Either way the export is byte-identical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workprint.export.steps import ExportError, SessionData

CHUNK = 8  # frames per unit of work: small enough to spread, large enough to amortise a task


def _client(url: str, token: str):
    import httpx

    return httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=120)


def fetch_json(url: str, token: str, path: str) -> Any:
    import httpx

    try:
        with _client(url, token) as client:
            reply = client.get(path)
    except httpx.HTTPError as exc:
        raise ExportError(f"cannot reach the collector at {url}: {exc}") from None
    if reply.status_code in (401, 403):
        raise ExportError(f"the collector at {url} refused the token ({reply.status_code}): exports need a trainer "
                          "token in WORKPRINT_COLLECTOR_TOKEN (an admin makes one: POST /v1/tokens {\"role\": \"trainer\"})")
    if reply.status_code != 200:
        raise ExportError(f"the collector at {url} answered {reply.status_code} to {path}")
    return reply.json()


@dataclass
class CollectorReader:
    """What exports read of a session (meta, frames, interventions), from a collector manifest;
    frames are filled in, redacted, by :func:`prepare_frames` before the export runs."""

    session_id: str
    meta: dict[str, Any]
    frames: dict[str, str]  # frame id -> SHA-256 of the PNG the device sent
    # The intervention records the device derived from its agent runs' events (a collector holds
    # no event log); None for a session uploaded before they were carried.
    interventions: list[dict[str, Any]] | None = None
    redacted: dict[str, tuple[bytes, list[str]]] = field(default_factory=dict)  # frame id -> (PNG, kinds)

    def frame_ids(self) -> list[str]:
        return sorted(self.frames)

    def frame(self, frame_id: str) -> bytes:
        return self.redacted[frame_id][0]

    def read_sidecar(self, name: str) -> None:  # noqa: ARG002 - annotations stay on the device
        return None

    def events(self) -> list[dict[str, Any]]:
        return []


def load_collector_sessions(url: str, token: str) -> list[SessionData]:
    from workprint.process import annotate
    from workprint.process.episodes import split_episodes

    listing = fetch_json(url, token, "/v1/datasets/sessions")["sessions"]
    if not listing:
        raise ExportError(f"the collector at {url} holds no sessions a trainer may use")
    out = []
    for item in listing:
        reader = CollectorReader(item["id"], item.get("meta") or {}, item["frames"], item.get("interventions"))
        actions, marks = item["actions"], item.get("marks") or []
        try:
            episodes = split_episodes(item["id"], marks, actions)
            # Where agent runs started and ended, in log order, as the events they were on the device.
            runs = [{**mark, "id": i} for i, mark in enumerate(item.get("agent_runs") or [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise ExportError(f"session {item['id']} on the collector has actions this version cannot read "
                              f"(missing or bad field {exc}); was it uploaded by another tool?") from None
        annotations = annotate.load(reader)
        # The collector holds actions, task marks, agent runs and interventions, not the raw event
        # log: the marks shape the episodes, the runs are the events the agent-run exports read.
        out.append(SessionData(item["id"], reader, runs, actions, episodes, annotations))  # type: ignore[arg-type]
    return out


def redact_chunk(url: str, token: str, items: list[tuple[str, str]]) -> list[tuple[bytes, list[str]]]:
    """Fetches ``(frame id, digest)`` frames, checks each against its digest, and redacts them
    with a fresh redactor: the unit of work, the same function here and on Ray workers."""
    from workprint.privacy.frames import FrameRedactor

    redactor = FrameRedactor()
    out = []
    with _client(url, token) as client:
        for _, digest in items:
            reply = client.get(f"/v1/blobs/{digest}")
            if reply.status_code != 200:
                raise ExportError(f"the collector did not give frame {digest[:12]}: {reply.status_code}")
            if hashlib.sha256(reply.content).hexdigest() != digest:
                raise ExportError(f"frame {digest[:12]} arrived damaged (its bytes hash to something else)")
            png, kinds = redactor.redact_png(reply.content)
            out.append((png, list(kinds)))
    return out


def prepare_frames(sessions: list[SessionData], url: str, token: str, ray_address: str | None = None,
                   progress: Callable[[int], None] = lambda _: None) -> dict[str, dict[str, tuple[bytes, list[str]]]]:
    """Every frame the sessions' actions show, redacted: ``{session: {frame id: (png, kinds)}}``."""
    work: list[tuple[str, list[tuple[str, str]]]] = []
    for session in sessions:
        frames = session.reader.frames  # type: ignore[attr-defined]
        records = session.reader.interventions or []  # type: ignore[attr-defined]
        shown = (f for a in [*session.actions, *records] for f in (a.get("frame"), a.get("frame_after")))
        wanted = [fid for fid in dict.fromkeys(shown) if fid and fid in frames]
        for i in range(0, len(wanted), CHUNK):
            work.append((session.id, [(fid, frames[fid]) for fid in wanted[i:i + CHUNK]]))
    if ray_address:
        results = _on_ray(work, url, token, ray_address, progress)
    else:
        results = []
        for _, items in work:
            results.append(redact_chunk(url, token, items))
            progress(len(items))
    out: dict[str, dict[str, tuple[bytes, list[str]]]] = {}
    for (sid, items), done in zip(work, results):
        for (fid, _), (png, kinds) in zip(items, done):
            out.setdefault(sid, {})[fid] = (png, kinds)
    return out


def _on_ray(work, url: str, token: str, address: str, progress) -> list:
    try:
        import ray
    except ImportError:
        raise ExportError("--ray needs Ray: pip install 'workprint[scale]'") from None
    started = not ray.is_initialized()
    if started:
        if address == "local":
            # "local": a new cluster here, never one RAY_ADDRESS or a running `ray start` points at
            ray.init(address="local", num_cpus=_local_cpus(), include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": _worker_env()})
        else:
            _check_reachable(address)
            try:
                ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": _worker_env()})
            except (ConnectionError, RuntimeError) as exc:
                raise ExportError(f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[0]}. A cluster "
                                  "with token authentication needs its token here too (RAY_AUTH_MODE=token and "
                                  "RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH)") from None
    try:
        task = ray.remote(num_cpus=1)(redact_chunk)
        refs = [task.remote(url, token, items) for _, items in work]
        results = []
        for ref, (_, items) in zip(refs, work):  # in order: the export is written in order anyway
            results.append(ray.get(ref))
            progress(len(items))
        return results
    finally:
        if started:
            ray.shutdown()


def _check_reachable(address: str) -> None:
    """Ray waits minutes on an address where nothing answers: look first, and say so at once."""
    import socket
    from urllib.parse import urlparse

    if address == "auto":  # the cluster this machine's `ray start` joined: Ray finds it itself
        return
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ExportError(f"--ray {address!r}: give the cluster's address as HOST:PORT (its GCS port, 6379 unless "
                          "`ray start --head --port` said otherwise), ray://HOST:PORT, or no address for a local one")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise ExportError(f"nothing answers at the Ray address {address} ({exc.strerror or exc}): start the cluster "
                          "(`ray start --head`) or give its head's address") from None


def _local_cpus() -> int:
    import os

    return max(1, min(int(os.environ.get("WORKPRINT_RAY_CPUS", "2")), os.cpu_count() or 1))


def _worker_env() -> dict[str, str]:
    import os

    return {k: os.environ[k] for k in ("PYTHONPATH", "OMP_NUM_THREADS") if k in os.environ}

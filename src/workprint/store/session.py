"""One recording session on disk: an encrypted event log and content-addressed frames.

::

    sessions/<id>/key.wrapped          session key, sealed with the device key
    sessions/<id>/events/000001.seg    sealed batches of JSON events (append-only)
    sessions/<id>/frames/<fid>.frame   sealed encoded frames, one file per distinct frame
    sessions/<id>/pending/000007.seg   the typing run in progress, sealed, not yet redacted
    sessions/<id>/recording.lock       held (flock) while a recorder writes the session

A typing run is held back until it ends so it can be redacted as a whole; while it grows its
keystrokes are sealed under ``pending/`` (never in the event log, so no reader sees them), and
the file is removed once the redacted run is in the log. After a kill, the next recorder start
redacts what ``pending/`` holds into the log (``recover_held_runs``).

The first event of a session is ``{"kind": "session", ...}`` with its metadata (settings,
screen, policy), so an event log alone is enough to derive actions again.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, cast

from workprint.errors import WorkprintError
from workprint.files import atomic_write, fsync_dir, private_dir
from workprint.store.crypto import DecryptError, Sealer, load_session_key, new_session_key
from workprint.store.framecodec import decode, patch_reference
from workprint.vocabulary import Event
from workprint.store.segments import SegmentWriter, read_segment, seal_interrupted

SESSION_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
FRAME_ID_RE = re.compile(r"^[0-9a-f]{32}$")
SEGMENT_BYTES = 16 * 1024 * 1024


class StoreError(WorkprintError):
    """The store cannot do what was asked; the message says why and what to do."""


class SessionBusyError(StoreError):
    """The session is held by a live recorder, or is being changed; try again later."""


def sessions_dir(home: Path) -> Path:
    return home / "sessions"


def session_dir(home: Path, session_id: str) -> Path:
    if not SESSION_ID_RE.match(session_id):
        raise StoreError(f"{session_id!r} is not a session id (expected e.g. 20261123-101500-a1b2c3)")
    return sessions_dir(home) / session_id


class SessionWriter:
    """Thread-safe appender for one session. Events are batched and sealed on ``flush``."""

    def __init__(self, home: Path, session_id: str, meta: dict[str, Any]):
        self.session_id = session_id
        self.dir = session_dir(home, session_id)
        private_dir(self.dir / "events")
        private_dir(self.dir / "frames")
        self._lock_fd = _try_lock(self.dir)
        self._sealer = Sealer(new_session_key(home, self.dir, session_id))
        self._held: dict[int, SegmentWriter] = {}
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._next_id = 0
        self._segment_no = 0
        self._segment: SegmentWriter | None = None
        self.event_count = 0
        self.frame_count = 0
        self.frame_bytes = 0
        self._closed = False
        self._open_segment()
        self.append({"kind": "session", "t": 0.0, **meta})
        self.flush()

    def _open_segment(self) -> None:
        if self._segment is not None:
            self._segment.close()
        self._segment_no += 1
        path = self.dir / "events" / f"{self._segment_no:06d}.seg"
        self._segment = SegmentWriter(path, self._sealer, "events", self._segment_no)

    def append(self, event: dict[str, Any]) -> int:
        """Queue one event (must carry ``kind`` and ``t``); returns its id."""
        with self._lock:
            if self._closed:
                raise StoreError("session is closed")
            event_id = self._next_id
            self._next_id += 1
            self._pending.append(json.dumps({"id": event_id, **event}, separators=(",", ":")).encode())
            self.event_count += 1
            return event_id

    def flush(self, sync: bool = True) -> None:
        """Seal queued events as one record and make them durable."""
        with self._lock:
            if not self._pending or self._segment is None:
                return
            payload = b"\n".join(self._pending)
            try:
                self._segment.append(payload)
                if sync:
                    self._segment.sync()
            except OSError as exc:
                # The events stay queued in memory and are written by the next flush that succeeds.
                raise StoreError(
                    f"could not write to {self._segment.path}: {exc.strerror}. Free disk space: "
                    f"{len(self._pending)} events wait in memory; the session so far is intact and readable"
                ) from exc
            self._pending.clear()
            if self._segment.bytes_written > SEGMENT_BYTES:
                self._open_segment()

    def hold_run(self, run: int, header: dict[str, Any], events: list[dict[str, Any]]) -> None:
        """Seal keystrokes of typing run ``run`` under ``pending/`` and make them durable."""
        writer = self._held.get(run)
        if writer is None:
            folder = private_dir(self.dir / "pending")
            writer = self._held[run] = SegmentWriter(folder / f"{run:06d}.seg", self._sealer, "pending", run)
            writer.append(json.dumps(header).encode())
        if events:
            writer.append(json.dumps({"events": events}).encode())
        writer.sync()

    def release_run(self, run: int) -> None:
        """Forget a held run: it is in the log now (flushed), or it was dropped (typed into a secure field)."""
        writer = self._held.pop(run, None)
        if writer is None:
            return
        writer.close()
        writer.path.unlink(missing_ok=True)
        fsync_dir(writer.path.parent)

    def has_frame(self, frame_id: str) -> bool:
        return (self.dir / "frames" / f"{frame_id}.frame").exists()

    def put_frame(self, frame_id: str, encoded: bytes) -> bool:
        """Store an encoded frame once (content-addressed); returns False if already there."""
        path = self.dir / "frames" / f"{frame_id}.frame"
        if path.exists():
            return False
        sealed = self._sealer.seal(encoded, f"frame:{frame_id}".encode())
        atomic_write(path, sealed)
        with self._lock:
            self.frame_count += 1
            self.frame_bytes += len(sealed)
        return True

    @property
    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._closed = True
            if self._segment is not None:
                self._segment.close()
                self._segment = None
            for writer in self._held.values():
                writer.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _try_lock(directory: Path) -> int | None:
    """An exclusive lock on the session's ``recording.lock``, or None if a live recorder holds it."""
    fd = os.open(directory / "recording.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


FinishRun = Callable[[dict[str, Any], list[dict[str, Any]], Callable[[dict[str, Any]], int]], None]


def recover_held_runs(home: Path, finish: FinishRun) -> int:
    """Redact the typing runs a killed recorder left under ``pending/`` into their session's log.

    ``finish(header, keystrokes, append)`` turns one held run into redacted events through
    ``append`` (the recorder's own rule, ``write_typing_run``). A run already in the log (the
    recorder was killed after writing it, before removing the file) is not written twice;
    sessions whose recorder still runs (their lock is held) are left alone. Returns the runs recovered.
    """
    recovered = 0
    for folder in sorted(sessions_dir(home).glob("*/pending")):
        held = sorted(p for p in folder.glob("*.seg") if p.stem.isdigit())
        if not held or not SESSION_ID_RE.match(folder.parent.name):
            continue
        lock = _try_lock(folder.parent)
        if lock is None:
            continue
        try:
            _settle_event_log(folder.parent)  # a delete_range cut short: its held runs are gone already
            reader = SessionReader(home, folder.parent.name)
            events = reader.events()
            done = {e.get("run") for e in events if e.get("kind") == "typed"}
            next_id = max((e.get("id", 0) for e in events), default=-1) + 1
            lines: list[bytes] = []

            def append(event: dict[str, Any]) -> int:
                nonlocal next_id
                lines.append(json.dumps({"id": next_id, **event}, separators=(",", ":")).encode())
                next_id += 1
                return next_id - 1

            for path in held:
                run = int(path.stem)
                read = read_segment(path, reader._sealer, "pending", run)
                if run in done or not read.records:
                    continue
                header = json.loads(read.records[0])
                keystrokes = [e for record in read.records[1:] for e in json.loads(record)["events"]]
                if keystrokes:
                    finish({**header, "run": run}, keystrokes, append)
                    recovered += 1
            if lines:
                numbers = [int(p.stem) for p in (reader.dir / "events").glob("*.seg") if p.stem.isdigit()]
                if numbers:
                    last = max(numbers)
                    seal_interrupted(reader.dir / "events" / f"{last:06d}.seg", reader._sealer, "events", last)
                number = max(numbers, default=0) + 1
                writer = SegmentWriter(reader.dir / "events" / f"{number:06d}.seg", reader._sealer, "events", number)
                writer.append(b"\n".join(lines))
                writer.close()
            for path in held:
                path.unlink()
            fsync_dir(folder)
        except (StoreError, OSError, ValueError, KeyError):
            continue  # left sealed as it is; a damaged session is reported by its readers
        finally:
            os.close(lock)
    return recovered


class SessionReader:
    """Reads a session back, tolerating a torn tail or corrupt records (see ``problems``)."""

    def __init__(self, home: Path, session_id: str):
        self.session_id = session_id
        self.dir = session_dir(home, session_id)
        if not self.dir.is_dir():
            raise StoreError(f"no session {session_id} in {sessions_dir(home)}; `workprint sessions` lists them")
        if _rewrite_interrupted(self.dir):  # a delete_range was killed: finish it (or undo it) first
            lock = _try_lock(self.dir)
            if lock is not None:
                try:
                    _settle_event_log(self.dir)
                finally:
                    os.close(lock)
            elif not (self.dir / "events").is_dir():
                raise SessionBusyError(f"session {session_id} is being changed (a range is being deleted); try again")
        try:
            self._sealer = Sealer(load_session_key(home, self.dir, session_id))
        except FileNotFoundError as exc:
            raise StoreError(f"session {session_id} has no key: it was deleted or never finished starting") from exc
        except DecryptError as exc:
            raise StoreError(
                f"session {session_id} cannot be decrypted with this device's key; "
                "sessions are readable only on the device that recorded them"
            ) from exc
        self.problems: list[str] = []
        self._events: list[Event] | None = None

    def _segments(self) -> Iterator[tuple[int, Path]]:
        for path in sorted((self.dir / "events").glob("*.seg")):
            try:
                yield int(path.stem), path
            except ValueError:
                self.problems.append(f"{path.name}: unexpected file in the event log; ignored")

    def events(self) -> list[Event]:
        """All intact events, in the order they were written (ids ascending)."""
        if self._events is None:
            events: list[Event] = []
            segments = list(self._segments())
            for number, path in segments:
                read = read_segment(path, self._sealer, "events", number)
                self.problems.extend(read.problems)
                if read.versioned and not read.closed and not read.problems:
                    last = number == segments[-1][0]
                    if not last or self._finished():
                        self.problems.append(
                            f"{path.name}: ends without its end record after {len(read.records)} records: the "
                            "file was cut and the records after them are lost")
                for record in read.records:
                    for line in record.split(b"\n"):
                        try:
                            events.append(json.loads(line))
                        except ValueError:
                            self.problems.append(f"{path.name}: an undecodable event was skipped")
            events.sort(key=lambda e: e.get("id", 0))
            self._events = events
        return self._events

    def _finished(self) -> bool:
        """The catalog says this session was closed properly (so its last segment must have its end)."""
        from workprint.store.catalog import Catalog

        if not (self.dir.parent.parent / "catalog.sqlite").exists():
            return False
        return any(s.id == self.session_id and s.status == "finished" for s in Catalog(self.dir.parent.parent).list())

    @property
    def meta(self) -> dict[str, Any]:
        for event in self.events():
            if event.get("kind") == "session":
                return cast(dict[str, Any], event)  # free-form: whatever the recorder put there
        raise StoreError(f"session {self.session_id} has no metadata record: its first segment is damaged")

    def frame_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.dir / "frames").glob("*.frame"))

    def frame(self, frame_id: str) -> bytes:
        """One frame as PNG bytes (a patch is applied to its keyframe: at most two decodes)."""
        try:
            return decode(self._blob(frame_id), self._blob)
        except ValueError as exc:
            raise StoreError(f"frame {frame_id} of session {self.session_id} is damaged: {exc}") from exc

    def read_sidecar(self, name: str) -> dict[str, Any] | None:
        """A sealed JSON document kept beside the event log (e.g. model annotations), or None.

        Sidecars hold what is derived later; they are sealed with the session key, so deleting
        the session makes them unreadable with it.
        """
        path = self.dir / f"{name}.sealed"
        try:
            return json.loads(self._sealer.open(path.read_bytes(), f"sidecar:{name}".encode()))
        except FileNotFoundError:
            return None
        except (DecryptError, ValueError):
            self.problems.append(f"{path.name} is damaged; it is ignored and will be written afresh")
            return None

    def write_sidecar(self, name: str, document: dict[str, Any]) -> None:
        """Replace a sidecar atomically (a crash leaves the old one or the new one, never half)."""
        sealed = self._sealer.seal(json.dumps(document, sort_keys=True).encode(), f"sidecar:{name}".encode())
        atomic_write(self.dir / f"{name}.sealed", sealed)

    def _blob(self, frame_id: str) -> bytes:
        if not FRAME_ID_RE.match(frame_id):
            raise StoreError(f"{frame_id!r} is not a frame id")
        path = self.dir / "frames" / f"{frame_id}.frame"
        try:
            return self._sealer.open(path.read_bytes(), f"frame:{frame_id}".encode())
        except FileNotFoundError as exc:
            raise StoreError(f"frame {frame_id} is not in session {self.session_id}") from exc
        except DecryptError as exc:
            raise StoreError(f"frame {frame_id} of session {self.session_id} is damaged") from exc


def delete_session(home: Path, session_id: str, *, unless_recording: bool = False) -> None:
    """Remove a session from the device: its key first (what remains is unreadable), then its files.

    ``unless_recording``: refuse (``SessionBusyError``) a session a live recorder still writes,
    which would go on writing frames into a folder that is gone (the review page; erasure stops
    the recorders itself first)."""
    import shutil

    directory = session_dir(home, session_id)
    if not directory.is_dir():
        raise StoreError(f"no session {session_id}")
    if unless_recording:
        lock = _try_lock(directory)
        if lock is None:
            raise SessionBusyError(f"session {session_id} is being recorded; stop the recorder, then delete it")
        os.close(lock)
    (directory / "key.wrapped").unlink(missing_ok=True)
    shutil.rmtree(directory)


def _rewrite_interrupted(directory: Path) -> bool:
    """A ``delete_range`` was cut short here (see ``_settle_event_log``)."""
    return not (directory / "events").is_dir() or any(
        (directory / name).exists() for name in ("events.new", "events.next", "events.old"))


def _settle_event_log(directory: Path) -> None:
    """Finish or undo a ``delete_range`` that was interrupted, so the log is whole again.

    A rewrite goes ``events.new`` (being written) -> ``events.next`` (complete and synced) ->
    ``events`` moved to ``events.old`` -> ``events.next`` moved to ``events`` -> ``events.old``
    removed. Whatever step a crash stopped at, this leaves exactly one ``events/``: the new log
    once it was complete (the deletion the person asked for is finished), else the old one.
    """
    import shutil

    events, new, nxt, old = (directory / n for n in ("events", "events.new", "events.next", "events.old"))
    if new.exists():
        shutil.rmtree(new)  # an incomplete rewrite: the old log stands
    if nxt.exists():
        if events.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(events, old)
        os.replace(nxt, events)
    elif old.exists() and not events.exists():
        os.replace(old, events)
    if old.exists():
        shutil.rmtree(old)
    fsync_dir(directory)


def _drop_held_runs(reader: "SessionReader", start: float, end: float) -> None:
    """Typing runs a killed recorder left sealed (not yet redacted into the log) that overlap the
    range are removed too, so the next start cannot bring deleted text back."""
    folder = reader.dir / "pending"
    for path in sorted(folder.glob("*.seg")) if folder.is_dir() else []:
        if not path.stem.isdigit():
            continue
        read = read_segment(path, reader._sealer, "pending", int(path.stem))
        try:
            header = json.loads(read.records[0]) if read.records else {}
            times = [e["t"] for r in read.records[1:] for e in json.loads(r)["events"]]
        except (ValueError, KeyError, TypeError):
            times = []
        first = header.get("t", min(times, default=start))
        last = max(times, default=first)
        if not read.records or (first <= end and last >= start):
            path.unlink()
    if folder.is_dir():
        fsync_dir(folder)


def delete_range(home: Path, session_id: str, start: float, end: float) -> int:
    """Remove every event between ``start`` and ``end`` (seconds from session start), and the
    frames nothing else refers to. A record that overlaps the range at all (a typing run or a form
    input that began before it or ended after it) goes whole, with the keystrokes it was made of,
    so no text typed inside the range survives. The event log is rewritten; returns the events removed.

    A session a recorder is still writing is refused (its log would be moved away under it). Once
    the new log is complete (``events.next``), held runs and frames of the range are removed before
    the logs are swapped, so a crash at any later point cannot bring them back: the next open
    finishes the swap."""
    import shutil

    directory = session_dir(home, session_id)
    if not directory.is_dir():
        raise StoreError(f"no session {session_id} in {sessions_dir(home)}; `workprint sessions` lists them")
    lock = _try_lock(directory)
    if lock is None:
        raise SessionBusyError(f"session {session_id} is being recorded; stop the recorder, then delete the range")
    try:
        _settle_event_log(directory)
        reader = SessionReader(home, session_id)
        events = reader.events()

        def overlaps(e: Event) -> bool:
            return e["kind"] != "session" and e["t"] <= end and e.get("t_end", e["t"]) >= start

        doomed = {e["id"] for e in events if overlaps(e)}
        for e in events:
            run = e.get("raw")
            if e["id"] in doomed and run:
                doomed.update(range(run[0], run[1] + 1))  # the keystrokes a removed run was made of
        kept = [e for e in events if e["id"] not in doomed]
        removed = len(events) - len(kept)
        kept.append({"id": (events[-1]["id"] + 1) if events else 0, "kind": "deleted_range", "t": start,
                     "t_end": end, "events": removed})
        new_dir, next_dir, old_dir = reader.dir / "events.new", reader.dir / "events.next", reader.dir / "events.old"
        private_dir(new_dir)
        writer = SegmentWriter(new_dir / "000001.seg", reader._sealer, "events", 1)
        for i in range(0, len(kept), 1000):
            writer.append(b"\n".join(json.dumps(e, separators=(",", ":")).encode() for e in kept[i:i + 1000]))
        writer.close()
        os.replace(new_dir, next_dir)
        fsync_dir(reader.dir)  # the new log is complete: from here on a crash finishes the deletion
        _drop_held_runs(reader, start, end)
        _drop_unreferenced_frames(reader, kept)
        os.replace(reader.dir / "events", old_dir)
        os.replace(next_dir, reader.dir / "events")
        fsync_dir(reader.dir)
        shutil.rmtree(old_dir)
        return removed
    finally:
        os.close(lock)


def _drop_unreferenced_frames(reader: "SessionReader", kept: list[Event]) -> None:
    """Remove the frames no kept event names (a patch keeps its keyframe)."""
    referenced = {e["frame"] for e in kept if e["kind"] == "frame"}
    for fid in list(referenced):
        blob = reader._blob(fid) if (reader.dir / "frames" / f"{fid}.frame").exists() else b""
        ref = patch_reference(blob)
        if ref is not None:
            referenced.add(ref)
    for path in (reader.dir / "frames").glob("*.frame"):
        if path.stem not in referenced:
            path.unlink()
    fsync_dir(reader.dir / "frames")

"""The session store: encrypted at rest, readable after a crash, clear about damage."""

from __future__ import annotations

import stat

import pytest

from workprint.store import SessionReader, SessionWriter, StoreError
from workprint.store.catalog import Catalog

SECRET = "correct-horse-battery-staple-9431"


def _write(home, n=5, flush_each=True):
    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    for i in range(n):
        writer.append({"kind": "note", "t": float(i), "text": f"{SECRET}-{i}"})
        if flush_each:
            writer.flush()
    writer.put_frame("0" * 32, b"\x89PNG fake frame " + SECRET.encode())
    return writer


def test_round_trip_and_nothing_in_clear(home):
    writer = _write(home)
    writer.close()
    reader = SessionReader(home, writer.session_id)
    notes = [e for e in reader.events() if e["kind"] == "note"]
    assert [e["text"] for e in notes] == [f"{SECRET}-{i}" for i in range(5)]
    assert reader.frame("0" * 32).endswith(SECRET.encode())
    assert reader.problems == []
    for path in home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"{path} holds the secret in clear"


def test_keys_are_private(home):
    _write(home).close()
    key = home / "keys" / "device.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32


def test_torn_tail_is_reported_and_the_rest_reads(home):
    writer = _write(home)  # never closed: the recorder is killed
    segment = next((writer.dir / "events").glob("*.seg"))
    data = segment.read_bytes()
    segment.write_bytes(data[:-7])  # a kill -9 in the middle of the last write
    reader = SessionReader(home, writer.session_id)
    notes = [e for e in reader.events() if e["kind"] == "note"]
    assert [e["text"] for e in notes] == [f"{SECRET}-{i}" for i in range(4)]
    assert any("torn tail" in p for p in reader.problems)


def test_corrupt_record_in_the_middle_is_skipped_not_fatal(home):
    writer = _write(home)
    writer.close()
    segment = next((writer.dir / "events").glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    reader = SessionReader(home, writer.session_id)
    notes = [e for e in reader.events() if e["kind"] == "note"]
    assert 3 <= len(notes) < 5
    assert any("corrupt record" in p or "integrity" in p for p in reader.problems)


def test_records_cannot_be_reordered(home):
    writer = _write(home, n=3)
    writer.close()
    segment = next((writer.dir / "events").glob("*.seg"))
    from workprint.store.segments import MAGIC, _LEN

    data = segment.read_bytes()
    records, pos = [], len(MAGIC)
    while pos < len(data):
        (n,) = _LEN.unpack_from(data, pos)
        records.append(data[pos:pos + 4 + n])
        pos += 4 + n
    records[1], records[2] = records[2], records[1]
    segment.write_bytes(MAGIC + b"".join(records))
    reader = SessionReader(home, writer.session_id)
    reader.events()
    assert len([p for p in reader.problems if "integrity" in p]) == 2


def test_another_device_cannot_read(home, tmp_path):
    writer = _write(home)
    writer.close()
    (home / "keys" / "device.key").write_bytes(b"\x01" * 32)
    with pytest.raises(StoreError, match="device"):
        SessionReader(home, writer.session_id)


def test_bad_session_ids_are_refused(home):
    with pytest.raises(StoreError, match="not a session id"):
        SessionReader(home, "../../etc")
    Catalog(home)
    with pytest.raises(StoreError, match="no sessions yet"):
        Catalog(home).resolve("latest")


def _typing_session(home):
    """A typing run from 1 s to 5 s (its keystrokes, then the run) and a form input from 2 s to 6 s."""
    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    ids = [writer.append({"kind": "key_down", "t": 1.0 + i * 0.5, "key": c, "char": c}) for i, c in enumerate("CUTWORDS9")]
    writer.append({"kind": "typed", "t": 1.0, "t_end": 5.0, "text": "CUTWORDS9", "raw": [ids[0], ids[-1]]})
    writer.append({"kind": "dom_input", "t": 2.0, "t_end": 6.0, "text": "FORMTEXT7"})
    writer.append({"kind": "note", "t": 8.0, "text": "after"})
    writer.close()
    return writer.session_id


def test_delete_range_removes_records_that_span_the_cut(home):
    from workprint.store.session import delete_range

    session = _typing_session(home)
    delete_range(home, session, 3.0, 3.5)
    events = SessionReader(home, session).events()
    dump = repr(events)
    assert "CUTWORDS" not in dump and "FORMTEXT" not in dump, "text typed inside the range survived"
    assert not [e for e in events if e["kind"] == "key_down"], "the run's keystrokes went with it"
    assert any(e.get("text") == "after" for e in events)


def test_delete_range_after_an_interrupted_one(home):
    from workprint.store.session import delete_range

    session = _typing_session(home)
    folder = home / "sessions" / session
    (folder / "events.old").mkdir()
    (folder / "events.old" / "000001.seg").write_bytes(b"left by a killed delete")
    delete_range(home, session, 7.5, 8.5)
    assert not (folder / "events.old").exists()
    assert "after" not in repr(SessionReader(home, session).events())


def test_a_crash_between_the_renames_of_delete_range_leaves_a_readable_log(home, monkeypatch):
    import os

    from workprint.store import session as store_session

    real_replace = os.replace

    session = _typing_session(home)
    calls = []

    def crash_on_second_swap(src, dst):
        calls.append((src, dst))
        if str(src).endswith("events.next"):
            raise KeyboardInterrupt("killed between the renames")
        real_replace(src, dst)

    monkeypatch.setattr(store_session.os, "replace", crash_on_second_swap)
    with pytest.raises(KeyboardInterrupt):
        store_session.delete_range(home, session, 7.5, 8.5)
    monkeypatch.undo()
    folder = home / "sessions" / session
    assert not (folder / "events").exists()  # the state a kill at that moment leaves
    events = SessionReader(home, session).events()
    assert events and "after" not in repr(events), "the deletion that was asked for is finished"
    assert any(e["kind"] == "deleted_range" for e in events)
    store_session.delete_range(home, session, 0.0, 0.5)  # and the next one works


def test_a_segment_cut_at_a_record_boundary_is_reported(home):
    from workprint.store import session as store_session

    store_session_bytes = store_session.SEGMENT_BYTES
    store_session.SEGMENT_BYTES = 200  # several segments
    try:
        writer = _write(home, n=12)
        writer.close()
    finally:
        store_session.SEGMENT_BYTES = store_session_bytes
    Catalog(home).add(writer.session_id, "2026-11-23T10:15:00+00:00")
    Catalog(home).update(writer.session_id, events=13, frames=1, bytes=1, active_s=1.0, ended_at="2026-11-23T10:16:00")
    segments = sorted((writer.dir / "events").glob("*.seg"))
    assert len(segments) >= 3
    assert SessionReader(home, writer.session_id).problems == [], "an intact session reads clean"
    for victim in (segments[1], segments[-1]):  # the middle and the last of a finished session
        original = victim.read_bytes()
        # Drop the last complete record(s): the file still parses cleanly up to where it was cut.
        from workprint.store.segments import MAGIC, _LEN

        pos, bounds = len(MAGIC), []
        while pos < len(original):
            (n,) = _LEN.unpack_from(original, pos)
            pos += _LEN.size + n
            bounds.append(pos)
        victim.write_bytes(original[:bounds[-3] if len(bounds) >= 3 else bounds[0]])
        reader = SessionReader(home, writer.session_id)
        reader.events()
        assert any(victim.name in p and "cut" in p for p in reader.problems), reader.problems
        victim.write_bytes(original)


def test_concurrent_first_runs_agree_on_one_whole_device_key(tmp_path):
    import threading

    from workprint.home import contributor_id
    from workprint.store.crypto import device_key

    for attempt in range(40):
        home = tmp_path / f"home{attempt}"
        home.mkdir()
        start = threading.Barrier(12)
        got, errors = [], []

        def first_run() -> None:
            start.wait()
            try:
                got.append((device_key(home), contributor_id(home)))
            except Exception as exc:  # an empty or partial key read by the loser of the race
                errors.append(exc)

        threads = [threading.Thread(target=first_run) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        assert len(set(got)) == 1, "every first run got the same key and id"
        assert len(got[0][0]) == 32 and (home / "keys" / "device.key").stat().st_mode & 0o077 == 0


def test_new_keys_and_segments_are_durable_in_their_folders(home, monkeypatch):
    import os

    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    writer = _write(home, n=1)
    writer.close()
    assert str(home / "keys") in synced, "the folder of a new device key is synced"
    assert str(writer.dir) in synced, "the folder of a new session key is synced"
    assert str(writer.dir / "events") in synced, "the folder of a new segment is synced"
    assert str(writer.dir / "frames") in synced, "the folder of a new frame is synced"


def test_delete_range_also_removes_a_held_run_a_crash_left_in_the_range(home):
    from workprint.privacy.typed import write_typing_run
    from workprint.store.session import delete_range, recover_held_runs

    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    inside = [{"kind": "key_down", "t": 3.0 + i * 0.1, "key": c, "char": c} for i, c in enumerate("HELDINSIDE")]
    outside = [{"kind": "key_down", "t": 9.0 + i * 0.1, "key": c, "char": c} for i, c in enumerate("heldoutside")]
    writer.hold_run(1, {"t": 3.0, "app": "mousepad"}, inside)
    writer.hold_run(2, {"t": 9.0, "app": "mousepad"}, outside)
    writer.close()  # as after a kill: the held runs stay sealed under pending/
    delete_range(home, writer.session_id, 2.5, 5.0)
    recover_held_runs(home, write_typing_run)
    typed = [e["text"] for e in SessionReader(home, writer.session_id).events() if e["kind"] == "typed"]
    assert typed == ["heldoutside"], typed


def _kill_delete_range_at_rename(monkeypatch, home, session, start, end, which: str) -> None:
    """Run delete_range and kill it at the rename ``which`` (``"events.next->events"``: folder names)."""
    import os

    from workprint.store import session as store_session

    real_replace = os.replace

    def killed(src, dst):
        if f"{os.path.basename(src)}->{os.path.basename(dst)}" == which:
            raise KeyboardInterrupt(f"killed at the rename of {which}")
        real_replace(src, dst)

    monkeypatch.setattr(store_session.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store_session.delete_range(home, session, start, end)
    monkeypatch.undo()


def test_a_crash_during_delete_range_never_lets_a_held_run_in_the_range_come_back(home, monkeypatch):
    """A killed recorder left a typing run sealed under pending/; the person deletes the range it
    falls in, and delete-range is itself killed between its renames. The next recorder start must not
    redact that run back into the log."""
    from workprint.privacy.typed import write_typing_run
    from workprint.store import session as store_session

    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    writer.append({"kind": "note", "t": 8.0, "text": "after"})
    writer.hold_run(1, {"t": 3.0, "app": "mousepad"},
                    [{"kind": "key_down", "t": 3.0 + i * 0.1, "key": c, "char": c} for i, c in enumerate("HELDINSIDE")])
    writer.close()  # as after a kill
    _kill_delete_range_at_rename(monkeypatch, home, writer.session_id, 2.5, 5.0, "events.next->events")  # between the renames
    store_session.recover_held_runs(home, write_typing_run)  # the next `workprint record`
    dump = repr(SessionReader(home, writer.session_id).events())
    assert "HELDINSIDE" not in dump and "after" in dump


def test_delete_range_refuses_a_session_being_recorded(home):
    """Cutting the log of a live recording would move it away under the recorder: everything it
    wrote afterwards would go into a deleted file."""
    from workprint.store.session import delete_range

    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    writer.append({"kind": "note", "t": 1.0, "text": "before"})
    writer.flush()
    with pytest.raises(StoreError, match="being recorded"):
        delete_range(home, writer.session_id, 0.5, 1.5)
    writer.append({"kind": "note", "t": 9.0, "text": "later"})
    writer.close()
    texts = [e.get("text") for e in SessionReader(home, writer.session_id).events()]
    assert "before" in texts and "later" in texts
    delete_range(home, writer.session_id, 0.5, 1.5)  # once it is finished, it can be cut
    assert "before" not in repr(SessionReader(home, writer.session_id).events())


def test_a_delete_range_killed_after_its_new_log_was_complete_is_finished_by_the_next_reader(home, monkeypatch):
    """Killed after the range's frames were removed, before the logs were swapped: a reader must see
    the finished deletion, never the old log naming frames that are gone."""
    writer = SessionWriter(home, "20261123-101500-a1b2c3", {"screen": {"w": 10, "h": 10, "scale": 1.0}})
    for t, fid in ((3.0, "a" * 32), (8.0, "b" * 32)):
        writer.put_frame(fid, b"\x89PNG frame " + fid.encode())
        writer.append({"kind": "frame", "t": t, "frame": fid})
    writer.close()
    _kill_delete_range_at_rename(monkeypatch, home, writer.session_id, 2.5, 5.0, "events->events.old")  # before the swap
    reader = SessionReader(home, writer.session_id)
    frames = [e["frame"] for e in reader.events() if e["kind"] == "frame"]
    assert frames == ["b" * 32], "the deletion that was asked for is finished"
    assert all(reader.frame(fid) for fid in frames)
    assert any(e["kind"] == "deleted_range" for e in reader.events())

"""The collector's security promises (SECURITY.md, findings 1-10), each against real `workprint serve`
processes on 127.0.0.1: a keyed, anchored audit trail that catches deletion and rewriting;
every refusal audited; complete erasure; roles that hold for frames too; single-use codes under
a concurrent burst; bounded, typed manifests; a private data folder; expiry and revocation."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import workprint
from tests.test_collector import Server


@pytest.fixture
def server(tmp_path):
    old = os.umask(0o022)  # the usual umask: the collector must not depend on a stricter one
    try:
        srv = Server(tmp_path / "collector")
        srv.start()
    finally:
        os.umask(old)
    yield srv
    srv.kill()


def bearer(token: str) -> dict:
    return {"Authorization": "Bearer " + token}


def enrol(srv: Server, contributor: str) -> tuple[dict, str]:
    reply = httpx.post(f"{srv.url}/v1/devices", json={"code": srv.code(), "contributor": contributor})
    assert reply.status_code == 201, reply.text
    device = bearer(reply.json()["device_token"])
    srv.agree(device)  # uploads need a consent on record
    return device, reply.json()["pseudonym"]


def put_blob(srv: Server, who: dict, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    reply = httpx.put(f"{srv.url}/v1/blobs/{digest}", content=data, headers=who)
    assert reply.status_code in (200, 201), reply.text
    return digest


def manifest(frame_digest: str, window: str = "Untitled - Mousepad", frame_id: str = "0" * 32) -> dict:
    return {"meta": {"screen": {"w": 1920, "h": 1080}},
            "actions": [{"id": 0, "type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "window": window,
                         "screen": {"w": 1920, "h": 1080}, "frame": frame_id}],
            "frames": {frame_id: frame_digest}}


def audit_rows(data: Path) -> list[tuple]:
    db = sqlite3.connect(data / "catalog.sqlite")
    try:
        return db.execute("SELECT seq, ts, actor, role, action, target, outcome, prev, hash FROM audit "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()


def verify(data: Path) -> subprocess.CompletedProcess:
    return workprint("audit", "verify", "--data", str(data), env=dict(os.environ), check=False)


def rewrite_chain(data: Path, mac) -> None:
    """Renumber the audit log 1..n and recompute every link with ``mac(prev, seq, fields)``."""
    db = sqlite3.connect(data / "catalog.sqlite")
    rows = db.execute("SELECT ts, actor, role, action, target, outcome FROM audit ORDER BY seq").fetchall()
    db.execute("DELETE FROM audit")
    prev = "0" * 64
    for seq, (ts, actor, role, action, target, outcome) in enumerate(rows, 1):
        fields = {"ts": ts, "actor": actor, "role": role, "action": action, "target": target, "outcome": outcome}
        digest = mac(prev, seq, fields)
        db.execute("INSERT INTO audit (seq, ts, actor, role, action, target, outcome, prev, hash) "
                   "VALUES (?,?,?,?,?,?,?,?,?)", (seq, ts, actor, role, action, target, outcome, prev, digest))
        prev = digest
    db.commit()
    db.close()


# -- 1. the audit trail is keyed and anchored ------------------------------------------------------

def test_audit_tampering_is_caught_deleted_newest_deleted_or_edited_anywhere_and_rechained(server, tmp_path):
    auditor = server.token("auditor")
    for _ in range(5):
        httpx.get(f"{server.url}/v1/audit", headers=auditor)
    server.kill()
    data = server.data
    assert len(audit_rows(data)) >= 6
    intact = verify(data)
    assert intact.returncode == 0, intact.stderr

    def tampered(name: str, change) -> str:
        copy = tmp_path / name
        shutil.copytree(data, copy)
        change(copy)
        result = verify(copy)
        assert result.returncode == 1, f"{name}: tampering not caught: {result.stdout}"
        assert "BROKEN" in result.stderr
        return result.stderr

    def delete_newest(copy):
        db = sqlite3.connect(copy / "catalog.sqlite")
        db.execute("DELETE FROM audit WHERE seq > (SELECT MAX(seq) - 3 FROM audit)")
        db.commit()
        db.close()

    assert "newest entries were deleted" in tampered("newest", delete_newest)

    def delete_middle(copy):
        db = sqlite3.connect(copy / "catalog.sqlite")
        db.execute("DELETE FROM audit WHERE seq = 3")
        db.commit()
        db.close()

    assert "entry 3 is missing" in tampered("gap", delete_middle)

    def unkeyed(prev, seq, fields):  # what the old chain did: anyone could recompute it
        return hashlib.sha256((prev + json.dumps(fields, sort_keys=True)).encode()).hexdigest()

    def delete_middle_and_rechain(copy):
        delete_middle(copy)
        rewrite_chain(copy, unkeyed)

    tampered("rechained", delete_middle_and_rechain)

    def edit_and_rechain(copy):
        db = sqlite3.connect(copy / "catalog.sqlite")
        db.execute("UPDATE audit SET actor='someone-else' WHERE seq = 2")
        db.commit()
        db.close()
        rewrite_chain(copy, unkeyed)

    tampered("edited", edit_and_rechain)

    key = (data / "audit.key").read_text().strip()
    assert key.encode() not in (data / "catalog.sqlite").read_bytes(), "the audit key is not in the catalog"

    def insider(copy):  # even with the key, the anchor outside the catalog gives it away
        from workprint.server.catalog import entry_mac

        delete_middle(copy)
        rewrite_chain(copy, lambda prev, seq, fields: entry_mac(key.encode(), prev, seq, fields))

    assert "anchor" in tampered("insider", insider)
    assert verify(data).returncode == 0, "the untouched log still verifies"


# -- 2. every read and refusal is audited ------------------------------------------------------

def test_refusals_reads_and_verification_are_audited(server):
    auditor = server.token("auditor")
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    url = server.url
    assert httpx.get(f"{url}/v1/sessions").status_code == 401
    assert httpx.get(f"{url}/v1/sessions", headers=bearer("not-a-token")).status_code == 401
    assert httpx.post(f"{url}/v1/devices", json={"code": "wrong-code-123", "contributor": "c-bbbbbbbbbbbb"}
                      ).status_code == 403
    assert httpx.post(f"{url}/v1/blobs/missing", json={"digests": ["e" * 64]}, headers=alice).status_code == 200
    assert httpx.get(f"{url}/v1/blobs/{'e' * 64}", headers=server.token("curator")).status_code == 404
    assert httpx.get(f"{url}/v1/consent/terms", headers=alice).status_code == 200
    assert httpx.get(f"{url}/v1/audit/verify", headers=auditor).json()["intact"]
    before = len(audit_rows(server.data))
    verify(server.data)
    entries = [dict(zip(("seq", "ts", "actor", "role", "action", "target", "outcome"), r))
               for r in audit_rows(server.data)]

    def logged(**want) -> bool:
        return any(all(want[k] in e[k] for k in want) for e in entries)

    assert logged(actor="anonymous", action="GET /v1/sessions", outcome="no token")
    assert logged(actor="anonymous", action="GET /v1/sessions", outcome="unknown")
    assert logged(action="enrol device", outcome="refused: unknown code")
    assert logged(action="check blobs", outcome="1 missing")
    assert logged(action="read blob", target="e" * 64, outcome="not found")
    assert logged(role="contributor", action="read terms", outcome="ok")
    assert logged(role="auditor", action="verify audit log", outcome="intact")
    assert logged(actor="operator", action="verify audit log", outcome="intact")
    assert len(entries) == before + 1, "the command-line verification is audited too"
    assert not any("not-a-token" in json.dumps(e) for e in entries), "a presented token is never written down"


# -- 3. erasure is complete ----------------------------------------------------------------------

def test_erasure_deletes_every_frame_the_device_sent_revokes_it_and_leaves_no_text(server):
    url = server.url
    alice, alice_p = enrol(server, "c-aaaaaaaaaaaa")
    bob, _ = enrol(server, "c-bbbbbbbbbbbb")
    planted = "ERASE-ME-7f3a91 alice's window"  # only in the manifest: it can linger only in the catalog
    named = put_blob(server, alice, b"\x89PNG alice frame")
    orphan = put_blob(server, alice, b"\x89PNG alice frame nobody names")
    assert httpx.put(f"{url}/v1/sessions/20261123-101500-aaaaaa", json=manifest(named, planted),
                     headers=alice).status_code == 201
    pinned = httpx.put(f"{url}/v1/sessions/20261123-101500-bbbbbb", json=manifest(named), headers=bob)
    own = put_blob(server, bob, b"\x89PNG bob frame")
    assert httpx.put(f"{url}/v1/sessions/20261123-101500-bbbbbc", json=manifest(own), headers=bob).status_code == 201

    reply = httpx.post(f"{url}/v1/erasure", json={"pseudonym": alice_p}, headers=server.admin)
    assert reply.status_code == 200, reply.text
    for path in server.data.rglob("*"):
        if path.is_file():
            assert b"ERASE-ME-7f3a91" not in path.read_bytes(), f"erased text left in {path.name}"
    png = b"\x89PNG alice frame again"
    again = httpx.put(f"{url}/v1/blobs/{hashlib.sha256(png).hexdigest()}", content=png, headers=alice)
    assert again.status_code == 401, "the erased person's device token is revoked"
    files = {p.name for p in (server.data / "blobs").rglob("*") if p.is_file()}
    assert orphan not in files, "a frame alice uploaded that no session names is deleted too"
    assert named not in files, "a frame alice uploaded is deleted although bob's manifest named it"
    assert pinned.status_code == 409, "bob could not name a frame he never uploaded"
    assert own in files, "bob's frame stays"
    assert httpx.get(f"{url}/v1/sessions/20261123-101500-bbbbbc", headers=server.token("curator")).status_code == 200


# -- 4 and 5. roles hold for frames ------------------------------------------------------------

def test_trainer_cannot_read_frames_of_a_quarantined_session(server):
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    kept = put_blob(server, alice, b"\x89PNG kept")
    hidden = put_blob(server, alice, b"\x89PNG quarantined")
    for sid, digest in (("20261123-101500-000001", kept), ("20261123-101500-000002", hidden)):
        assert httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest(digest), headers=alice).status_code == 201
    curator, trainer = server.token("curator"), server.token("trainer")
    assert httpx.post(f"{server.url}/v1/sessions/20261123-101500-000002/quarantine",
                      headers=curator).status_code == 200
    assert httpx.get(f"{server.url}/v1/blobs/{kept}", headers=trainer).content == b"\x89PNG kept"
    assert httpx.get(f"{server.url}/v1/blobs/{hidden}", headers=trainer).status_code == 404
    assert httpx.get(f"{server.url}/v1/blobs/{hidden}", headers=curator).status_code == 200, "curators review it"
    steps = httpx.get(f"{server.url}/v1/datasets/steps", headers=trainer).json()["steps"]
    assert [s["frame_blob"] for s in steps] == [kept]


def test_a_device_learns_nothing_about_other_devices_frames(server):
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    bob, _ = enrol(server, "c-bbbbbbbbbbbb")
    digest = put_blob(server, alice, b"\x89PNG alice's screen")
    assert httpx.post(f"{server.url}/v1/blobs/missing", json={"digests": [digest]}, headers=alice
                      ).json()["missing"] == []
    assert httpx.post(f"{server.url}/v1/blobs/missing", json={"digests": [digest]}, headers=bob
                      ).json()["missing"] == [digest], "bob is told to send it, as if it did not exist"
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101500-bbbbbb", json=manifest(digest),
                     headers=bob).status_code == 409


# -- 6. single use under concurrency: two collector processes on one catalog ------------------------

@pytest.fixture
def two_servers(server):
    """Two collector processes on one --data folder, as replicas behind a load balancer."""
    second = Server(server.data)
    second.start()
    yield server, second
    second.kill()


def test_single_use_codes_hold_under_a_concurrent_burst(two_servers):
    first, second = two_servers
    codes = [first.code() for _ in range(30)]
    urls = [first.url, second.url]

    def try_code(job):
        code, n = job
        reply = httpx.post(f"{urls[n % 2]}/v1/devices", timeout=60, json={"code": code, "contributor": f"c-{n:012x}"})
        return code, reply.status_code

    jobs = [(code, i * 4 + k) for i, code in enumerate(codes) for k in range(4)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(try_code, jobs))
    assert all(status in (201, 403) for _, status in results), results
    wins = {code: sum(1 for c, s in results if c == code and s == 201) for code in codes}
    assert set(wins.values()) == {1}, f"codes used more than once: {[c for c, w in wins.items() if w != 1]}"
    assert verify(first.data).returncode == 0, "two processes appending kept one unbroken chain"


def test_two_devices_writing_one_session_id_at_once_cannot_take_it_over(two_servers):
    first, second = two_servers
    urls = [first.url, second.url]
    alice, _ = enrol(first, "c-aaaaaaaaaaaa")
    bob, _ = enrol(first, "c-bbbbbbbbbbbb")
    frames = {"alice": put_blob(first, alice, b"\x89PNG a"), "bob": put_blob(first, bob, b"\x89PNG b")}
    who = {"alice": alice, "bob": bob}
    ids = [f"20261123-1016{i:02d}-cccccc" for i in range(20)]

    def put(job):
        sid, name, n = job
        body = manifest(frames[name])
        body["meta"]["device"] = name
        reply = httpx.put(f"{urls[n % 2]}/v1/sessions/{sid}", json=body, headers=who[name], timeout=60)
        return sid, name, reply.status_code

    jobs = [(sid, name, i + k) for i, sid in enumerate(ids) for k, name in enumerate(("alice", "bob"))]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(put, jobs))
    curator = first.token("curator")
    for sid in ids:
        winners = [name for s, name, status in results if s == sid and status == 201]
        stored = httpx.get(f"{first.url}/v1/sessions/{sid}", headers=curator).json()
        assert winners == [stored["meta"]["device"]], f"{sid}: {results} stored {stored['meta']}"


# -- 7 and 8. bounded, typed manifests -------------------------------------------------------------

def _raw_put(port: int, path: str, headers: dict, body_chunks) -> int:
    """Send a request by hand (a streamed body the server may refuse halfway); return the status."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
    try:
        for chunk in body_chunks:
            sock.sendall(chunk)
    except OSError:
        pass  # the server answered and closed before the body ended
    reply = b""
    try:
        while b"\r\n" not in reply and (part := sock.recv(4096)):
            reply += part
    except OSError:
        pass
    sock.close()
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0  # 0: no answer at all


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_oversized_manifests_are_refused_with_413_without_being_held(server):
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    path = "/v1/sessions/20261123-101500-aaaaaa"
    headers = {**alice, "Content-Type": "application/json"}
    assert _raw_put(server.port, path, {**headers, "Content-Length": str(150 * 1024 * 1024)},
                    [b'{"meta": {}, ']) == 413
    before = _rss_kb(server.proc.pid)
    chunk = b"x" * (1024 * 1024)

    def chunked(total_mb):
        head = b'{"meta": {"pad": "'
        yield f"{len(head):x}\r\n".encode() + head + b"\r\n"
        for _ in range(total_mb):
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        yield b"0\r\n\r\n"

    assert _raw_put(server.port, path, {**headers, "Transfer-Encoding": "chunked"}, chunked(150)) == 413
    grown_mb = (_rss_kb(server.proc.pid) - before) / 1024
    assert grown_mb < 50, f"the collector grew by {grown_mb:.0f} MB on a refused 150 MB manifest"
    frame = put_blob(server, alice, b"\x89PNG fine")
    assert httpx.put(f"{server.url}{path}", json=manifest(frame), headers=alice).status_code == 201, "still serving"


def test_malformed_manifests_get_4xx_and_cannot_break_training_data(server):
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    trainer = server.token("trainer")
    frame = put_blob(server, alice, b"\x89PNG ok")
    good = manifest(frame)
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101500-000001", json=good, headers=alice).status_code == 201
    bad_frame = json.loads(json.dumps(good))
    bad_frame["actions"][0]["frame"] = ["0" * 32]
    surrogate = json.dumps(good).replace("Untitled", "\\ud800")
    surrogate_key = json.dumps(good).replace('"screen"', '"\\udfff"')
    bad_type = json.loads(json.dumps(good))
    bad_type["actions"][0]["type"] = {"nested": True}
    not_finite = json.dumps(good).replace('"x": 1', '"x": Infinity')
    bodies = [json.dumps(bad_frame), surrogate, surrogate_key, json.dumps(bad_type), not_finite]
    for n, body in enumerate(bodies, 2):
        reply = httpx.put(f"{server.url}/v1/sessions/20261123-101500-00000{n}", content=body.encode(),
                          headers={**alice, "Content-Type": "application/json"})
        assert 400 <= reply.status_code < 500, (body[:80], reply.status_code, reply.text)
    steps = httpx.get(f"{server.url}/v1/datasets/steps", headers=trainer)
    assert steps.status_code == 200 and len(steps.json()["steps"]) == 1


# -- 9. the data folder is private from the start ----------------------------------------------------

def test_data_folder_is_private_from_the_first_byte(tmp_path):
    data = tmp_path / "collector"
    seen: dict[str, int] = {}
    stop = threading.Event()

    def watch():  # catches a file written wide open and narrowed afterwards
        while not stop.is_set():
            for path in ([data, *data.rglob("*")] if data.exists() else []):
                try:
                    mode = stat.S_IMODE(path.lstat().st_mode)
                except FileNotFoundError:
                    continue
                seen[str(path.relative_to(tmp_path))] = seen.get(str(path.relative_to(tmp_path)), 0) | mode
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    old = os.umask(0o022)
    srv = Server(data)
    try:
        srv.start()
        alice, _ = enrol(srv, "c-aaaaaaaaaaaa")
        frame = put_blob(srv, alice, b"\x89PNG private")
        assert httpx.put(f"{srv.url}/v1/sessions/20261123-101500-000001", json=manifest(frame),
                         headers=alice).status_code == 201
    finally:
        os.umask(old)
        srv.kill()
        stop.set()
        watcher.join()
    wide = {p: oct(m) for p, m in seen.items() if m & 0o077}
    assert not wide, f"readable by other local users at some moment: {wide}"
    names = {Path(p).name for p in seen}
    assert {"admin.token", "audit.key", "pseudonym.key", "audit.anchor", "catalog.sqlite", frame} <= names


# -- 10. codes expire; device and role tokens can be revoked ----------------------------------------

def test_codes_expire_and_tokens_can_be_revoked(server):
    url = server.url
    code = server.code()
    db = sqlite3.connect(server.data / "catalog.sqlite")
    db.execute("UPDATE enrolment_codes SET expires = ?", (time.time() - 1,))  # a week has passed
    db.commit()
    reply = httpx.post(f"{url}/v1/devices", json={"code": code, "contributor": "c-aaaaaaaaaaaa"})
    assert reply.status_code == 403 and "expired" in reply.text
    short = httpx.post(f"{url}/v1/enrolment-codes", json={"expires_in_hours": 1}, headers=server.admin).json()
    assert short["expires"] - time.time() < 3601
    alice, alice_p = enrol(server, "c-aaaaaaaaaaaa")
    assert httpx.get(f"{url}/v1/sessions", headers=alice).status_code == 200
    assert httpx.delete(f"{url}/v1/devices/{alice_p}", headers=alice).status_code == 403, "admins revoke"
    assert httpx.delete(f"{url}/v1/devices/{alice_p}", headers=server.admin).json()["revoked"] == 1
    assert httpx.get(f"{url}/v1/sessions", headers=alice).status_code == 401

    made = httpx.post(f"{url}/v1/tokens", json={"role": "trainer"}, headers=server.admin).json()
    trainer = bearer(made["token"])
    assert httpx.get(f"{url}/v1/datasets/steps", headers=trainer).status_code == 200
    assert httpx.delete(f"{url}/v1/tokens/{made['subject']}", headers=server.admin).status_code == 200
    assert httpx.get(f"{url}/v1/datasets/steps", headers=trainer).status_code == 401
    auditor = server.token("auditor")
    db.execute("UPDATE tokens SET expires = ? WHERE role = 'auditor'", (time.time() - 1,))
    db.commit()
    db.close()
    assert httpx.get(f"{url}/v1/audit", headers=auditor).status_code == 401, "role tokens expire"
    assert httpx.delete(f"{url}/v1/tokens/admin-1", headers=server.admin).status_code == 409, "never lock admins out"


# -- upgrading a collector that ran before these fixes ---------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, created REAL);
CREATE TABLE enrolment_codes (hash TEXT PRIMARY KEY, created REAL, used REAL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, owner TEXT NOT NULL, manifest TEXT NOT NULL, received REAL NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0);
CREATE TABLE tombstones (id TEXT NOT NULL, owner TEXT NOT NULL, deleted REAL, reason TEXT);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
"""


def _unkeyed(prev: str, fields: dict) -> str:
    return hashlib.sha256((prev + json.dumps(fields, sort_keys=True)).encode()).hexdigest()


def test_an_old_collector_folder_keeps_its_frames_pseudonyms_and_verifiable_log(tmp_path):
    import hmac

    data = tmp_path / "old"
    (data / "blobs" / "ab").mkdir(parents=True)
    png = b"\x89PNG uploaded before the upgrade"
    digest = hashlib.sha256(png).hexdigest()
    (data / "blobs" / digest[:2]).mkdir(exist_ok=True)
    (data / "blobs" / digest[:2] / digest).write_bytes(png)
    secret = "11" * 32
    owner = "p-" + hmac.new(secret.encode(), b"c-aaaaaaaaaaaa", hashlib.sha256).hexdigest()[:24]
    admin = "old-admin-token"
    db = sqlite3.connect(data / "catalog.sqlite")
    db.executescript(_OLD_SCHEMA)
    db.execute("INSERT INTO settings VALUES ('pseudonym_secret', ?)", (secret,))
    db.execute("INSERT INTO tokens VALUES (?, 'admin', 'admin-1', 0)", (hashlib.sha256(admin.encode()).hexdigest(),))
    db.execute("INSERT INTO sessions (id, owner, manifest, received) VALUES (?,?,?,?)",
               ("20261101-090000-aaaaaa", owner, json.dumps(manifest(digest)), time.time()))
    prev = "0" * 64
    for n in range(3):
        fields = {"ts": 1.0 + n, "actor": "admin-1", "role": "admin", "action": "create token", "target": "-",
                  "outcome": "ok"}
        db.execute("INSERT INTO audit (ts, actor, role, action, target, outcome, prev, hash) VALUES (?,?,?,?,?,?,?,?)",
                   (*fields.values(), prev, _unkeyed(prev, fields)))
        prev = _unkeyed(prev, fields)
    db.commit()
    db.close()

    srv = Server(data)
    srv.start()
    try:
        (data / "admin.token").write_text(admin)
        assert httpx.get(f"{srv.url}/v1/blobs/{digest}", headers=srv.token("trainer")).content == png
        again = httpx.post(f"{srv.url}/v1/devices", json={"code": srv.code(), "contributor": "c-aaaaaaaaaaaa"})
        assert again.json()["pseudonym"] == owner, "the same person keeps the same pseudonym"
        srv.agree(bearer(again.json()["device_token"]))
        assert httpx.post(f"{srv.url}/v1/blobs/missing", json={"digests": [digest]},
                          headers=bearer(again.json()["device_token"])).json()["missing"] == []
    finally:
        srv.kill()
    assert (data / "pseudonym.key").read_text().strip() == secret
    assert secret.encode() not in (data / "catalog.sqlite").read_bytes(), "the secret left the catalog"
    assert verify(data).returncode == 0, verify(data).stderr
    db = sqlite3.connect(data / "catalog.sqlite")  # edit an old entry and recompute the old, unkeyed links
    prev = "0" * 64
    for seq, ts, actor, role, action, target, outcome in db.execute(
            "SELECT seq, ts, actor, role, action, target, outcome FROM audit WHERE seq <= 3 ORDER BY seq").fetchall():
        actor = "someone-else" if seq == 2 else actor
        fields = {"ts": ts, "actor": actor, "role": role, "action": action, "target": target, "outcome": outcome}
        db.execute("UPDATE audit SET actor=?, prev=?, hash=? WHERE seq=?", (actor, prev, _unkeyed(prev, fields), seq))
        prev = _unkeyed(prev, fields)
    db.commit()
    db.close()
    broken = verify(data)
    assert broken.returncode == 1, "the old entries are chained into the keyed ones: rewriting them is caught"


def test_frames_of_an_upload_abandoned_halfway_are_deleted_after_a_week(server):
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    kept = put_blob(server, alice, b"\x89PNG named")
    abandoned = put_blob(server, alice, b"\x89PNG never named")
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101500-000001", json=manifest(kept),
                     headers=alice).status_code == 201
    db = sqlite3.connect(server.data / "catalog.sqlite")
    db.execute("UPDATE blobs SET received = ?", (time.time() - 8 * 86400,))  # a week has passed
    db.commit()
    db.close()
    assert httpx.put(f"{server.url}/v1/retention", json={"days": 365}, headers=server.admin).status_code == 200
    files = {p.name for p in (server.data / "blobs").rglob("*") if p.is_file()}
    assert kept in files and abandoned not in files


def test_a_killed_collector_never_keeps_an_action_without_its_audit_entry(server):
    """kill -9 in the middle of a burst of uploads: every stored session has its audit entry and
    every "upload session ok" entry its session (one transaction each)."""
    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    frame = put_blob(server, alice, b"\x89PNG burst")
    ids = [f"20261123-12{i // 60:02d}{i % 60:02d}-dddddd" for i in range(120)]

    def put(sid):
        try:
            return httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest(frame), headers=alice,
                             timeout=30).status_code
        except httpx.HTTPError:
            return 0

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(put, sid) for sid in ids]
        while sum(f.done() for f in futures) < 40:
            time.sleep(0.01)
        server.kill()
        done = [f.result() for f in futures]
    assert 40 <= done.count(201) < len(ids), "killed mid-burst"
    db = sqlite3.connect(server.data / "catalog.sqlite")
    stored = {r[0] for r in db.execute("SELECT id FROM sessions")}
    audited = {r[0] for r in db.execute("SELECT target FROM audit WHERE action='upload session' AND outcome='ok'")}
    db.close()
    assert stored == audited
    assert verify(server.data).returncode == 0


def _png(color: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "PNG")
    return buf.getvalue()


def _action(i: int, kind: str, frame_id: str) -> dict:
    """A whole action of the vocabulary, as a device uploads it."""
    from workprint.vocabulary import action_spec

    values = {"x": 10, "y": 20, "x2": 30, "y2": 40, "text": "hello", "keys": ["ctrl", "s"], "label": "Blue",
              "url": "https://example.com/"}
    return {"id": i, "type": kind, **{k: values[k] for k in action_spec(kind).needs}, "t": float(i),
            "t_end": i + 0.5, "source": "human", "app": "mousepad", "window": "Untitled - Mousepad",
            "screen": {"w": 64, "h": 48, "scale": 1.0}, "frame": frame_id}


def test_an_action_the_collector_accepts_cannot_break_a_trainers_export(server, tmp_path):
    """One contributor's manifest, accepted, must not make `workprint export --collector` fail for
    every trainer: each action type without the fields exporters read is refused at upload."""
    from workprint.vocabulary import ACTION_SPECS

    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    mallory, _ = enrol(server, "c-bbbbbbbbbbbb")
    fid = "0" * 32
    frames = {fid: put_blob(server, alice, _png("white"))}
    whole = {"meta": {"screen": {"w": 64, "h": 48}}, "frames": frames,
             "actions": [_action(i, kind, fid) for i, kind in enumerate(ACTION_SPECS)],
             "marks": [{"kind": "task_start", "t": 0.0, "instruction": "save the file"},
                       {"kind": "task_end", "t": 100.0, "status": "success"}]}
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101500-000001", json=whole,
                     headers=alice).status_code == 201, "every action type, whole, is accepted"

    own = {fid: put_blob(server, mallory, _png("black"))}
    poisons = [{"type": "click"}, {"type": "zzz", "t": 0, "t_end": 1}, {"model": "not a dict"}]
    for kind, spec in ACTION_SPECS.items():
        poisons += [{k: v for k, v in _action(0, kind, fid).items() if k != need} for need in spec.needs]
        poisons.append({k: v for k, v in _action(0, kind, fid).items() if k != "t_end"})
        if spec.shape in ("point", "drag", "scroll"):  # relative coordinates need the screen
            poisons.append({k: v for k, v in _action(0, kind, fid).items() if k != "screen"})
    for n, poison in enumerate(poisons):
        action = {**_action(0, "click", fid), **poison} if "model" in poison else poison
        body = {"meta": {}, "frames": own, "actions": [action]}
        reply = httpx.put(f"{server.url}/v1/sessions/20261123-1016{n // 60:02d}-{n % 60:06d}", json=body,
                          headers=mallory)
        assert reply.status_code == 422, (poison, reply.status_code)

    token = server.token("trainer")["Authorization"][7:]
    env = {**os.environ, "WORKPRINT_COLLECTOR_TOKEN": token, "WORKPRINT_HOME": str(tmp_path / "home")}
    for fmt in ("opencua", "hf", "chat"):
        done = workprint("export", "--collector", server.url, "--format", fmt, "--out", str(tmp_path / fmt),
                         "--quiet", env=env, check=False)
        assert done.returncode == 0, (fmt, done.stderr[-800:])
        assert "exported 0 steps" not in done.stderr, done.stderr


def test_agent_runs_and_interventions_are_typed_and_a_manifest_without_them_gives_no_agent_rows(server, tmp_path):
    """The agent runs and interventions a manifest carries are checked like its actions: a malformed
    one is a 422 and nothing is stored. A manifest from before they were carried still exports: its
    agent steps are said left out of `preference` and `rlif`, never exported as if no one stepped in."""
    from workprint.server.models import MAX_INTERVENTIONS

    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    fid = "0" * 32
    frames = {fid: put_blob(server, alice, _png("white"))}
    actions = [{**_action(0, "click", fid), "source": "agent", "model": {"name": "m", "reply": "click"}},
               _action(1, "type", fid)]
    proposed = {"type": "type", "text": "WRONG", "code": "pyautogui.write(message='WRONG')", "executed": False}
    record = {"id": 0, "t": 0.8, "t_end": 1.6, "trigger": "human_input", "agent_actions": [0], "proposed": proposed,
              "human_actions": [1], "frame": fid, "frame_after": fid, "handback": "resume", "task": "save the file",
              "model": "m"}
    runs = [{"kind": "agent_start", "t": 0.0, "task": "save the file", "model": "m"},
            {"kind": "agent_end", "t": 2.0, "status": "success"}]
    whole = {"meta": {}, "frames": frames, "actions": actions, "agent_runs": runs, "interventions": [record]}
    poisons = [{"interventions": "not a list"}, {"interventions": [{**record, "proposed": {**proposed, "text": None}}]},
               {"interventions": [{**record, "proposed": {k: v for k, v in proposed.items() if k != "code"}}]},
               {"interventions": [{**record, "frame": [fid]}]}, {"interventions": [{**record, "human_actions": [{}]}]},
               {"interventions": [{k: v for k, v in record.items() if k != "trigger"}]},
               {"interventions": [record] * (MAX_INTERVENTIONS + 1)},
               {"agent_runs": [{"kind": "agent_step", "t": 0.0}]}, {"agent_runs": [{**runs[0], "t": "soon"}]},
               {"agent_runs": [{**runs[0], "task": ["a", "list"]}]}]
    for n, poison in enumerate(poisons):
        reply = httpx.put(f"{server.url}/v1/sessions/20261123-1018{n:02d}-aaaaaa", json={**whole, **poison},
                          headers=alice)
        assert reply.status_code == 422, (str(poison)[:120], reply.status_code, reply.text[:200])
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101900-000001", json=whole, headers=alice).status_code == 201
    older = {k: v for k, v in whole.items() if k not in ("agent_runs", "interventions")}
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101900-000002", json=older, headers=alice).status_code == 201

    token = server.token("trainer")["Authorization"][7:]
    env = {**os.environ, "WORKPRINT_COLLECTOR_TOKEN": token, "WORKPRINT_HOME": str(tmp_path / "home")}
    listing = httpx.get(f"{server.url}/v1/datasets/sessions", headers=bearer(token)).json()["sessions"]
    assert [(s["id"][-6:], s["interventions"] is None) for s in listing] == [("000001", False), ("000002", True)]
    import pyarrow.parquet as pq

    for fmt, rows in (("preference", 1), ("rlif", 2)):
        done = workprint("export", "--collector", server.url, "--format", fmt, "--out", str(tmp_path / fmt),
                         "--quiet", env=env, check=False)
        assert done.returncode == 0, (fmt, done.stderr[-800:])
        assert "left out 1 step(s): agent steps of a session uploaded without its interventions" in done.stderr
        tables = [pq.read_table(p).to_pylist() for p in sorted((tmp_path / fmt).rglob("*.parquet"))]
        assert [[r["session"][-6:] for r in t] for t in tables] == [["000001"] * rows], (fmt, tables)


def test_an_upload_already_past_the_token_check_is_refused_once_the_device_is_revoked(server):
    """Erasure or revocation that commits while an upload waits for the write lock: the upload
    must not store anything afterwards (the token is checked again inside its transaction)."""
    alice, alice_p = enrol(server, "c-aaaaaaaaaaaa")
    png = b"\x89PNG sent while being erased"
    digest = hashlib.sha256(png).hexdigest()
    db = sqlite3.connect(server.data / "catalog.sqlite", isolation_level=None, timeout=30)
    db.execute("BEGIN IMMEDIATE")  # the collector's writers wait behind this one, as behind an erasure
    with ThreadPoolExecutor(1) as pool:
        upload = pool.submit(httpx.put, f"{server.url}/v1/blobs/{digest}", content=png, headers=alice, timeout=60)
        time.sleep(1.0)  # the request is authenticated (reads never wait) and now waits for the lock
        db.execute("UPDATE tokens SET revoked = ? WHERE subject = ?", (time.time(), alice_p))
        db.execute("COMMIT")
        reply = upload.result()
    db.close()
    assert reply.status_code == 401, reply.text
    assert not (server.data / "blobs" / digest[:2] / digest).exists(), "nothing stored for a revoked device"
    entries = audit_rows(server.data)
    # refused inside the upload's transaction (or, on a slow machine, at the token check): audited either way
    assert any("revoked" in e[6] and digest in (e[5], e[4].split("/")[-1]) for e in entries), entries[-3:]


def test_a_manifest_an_older_collector_stored_unchecked_does_not_break_training_data(server):
    """Manifests stored before they were validated (an upgraded collector) may hold a `frame`
    that is a list: trainers' steps still answer."""
    alice, alice_p = enrol(server, "c-aaaaaaaaaaaa")
    frame = put_blob(server, alice, b"\x89PNG ok")
    assert httpx.put(f"{server.url}/v1/sessions/20261123-101500-000001", json=manifest(frame),
                     headers=alice).status_code == 201
    old = manifest(frame)
    old["actions"][0]["frame"] = ["0" * 32]
    db = sqlite3.connect(server.data / "catalog.sqlite", timeout=30)
    db.execute("INSERT INTO sessions (id, owner, manifest, received) VALUES (?,?,?,?)",
               ("20261101-101500-000002", alice_p, json.dumps(old), time.time()))
    db.commit()
    db.close()
    steps = httpx.get(f"{server.url}/v1/datasets/steps", headers=server.token("trainer"))
    assert steps.status_code == 200, steps.text
    assert sorted(str(s["frame_blob"]) for s in steps.json()["steps"]) == sorted([frame, "None"])


def test_a_burst_of_the_largest_manifests_does_not_take_the_collectors_memory(server):
    """Each manifest under the 16 MiB limit is accepted, but parsing one costs many times its
    size: twelve at once must cost about what two do (the collector parses at most two at once)."""
    from bench.collector_manifest import peak_mb

    alice, _ = enrol(server, "c-aaaaaaaaaaaa")
    frame = put_blob(server, alice, b"\x89PNG big")
    action = {"type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "source": "human", "app": "mousepad",
              "window": "Untitled - Mousepad", "screen": {"w": 1920, "h": 1080}, "frame": "0" * 32,
              "trace": [[0.1, 1, 2]] * 3}
    body = json.dumps({"meta": {}, "frames": {"0" * 32: frame},
                       "actions": [dict(action, id=i) for i in range(58_000)]}).encode()
    assert 15 * 2**20 < len(body) < 16 * 2**20

    def put(n: int) -> int:
        return httpx.put(f"{server.url}/v1/sessions/20261123-1017{n:02d}-eeeeee", content=body, timeout=600,
                         headers={**alice, "Content-Type": "application/json"}).status_code

    status, base, peak, _ = peak_mb(server, lambda: put(0))
    one = peak - base
    with ThreadPoolExecutor(12) as pool:
        statuses, _, peak, _ = peak_mb(server, lambda: list(pool.map(put, range(1, 13))))
    assert status == 201 and statuses == [201] * 12
    # measured: one +311 MB; twelve at once +588 MB (two at a time), +1158 MB when all are parsed at once
    assert peak - base < 2.6 * one, f"one manifest: +{one:.0f} MB; twelve at once: +{peak - base:.0f} MB"

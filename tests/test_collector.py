"""The collector as a real server process on 127.0.0.1: enrol, upload through a network cut and
a server restart without losing or duplicating a byte, roles, audit, deletion, bad input."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import _free_port, actions_json, wait_until, workprint


class Server:
    def __init__(self, data: Path):
        self.data = data
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "workprint", "serve", "--port", str(self.port),
                                      "--data", str(self.data)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 30, "the collector starting")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def admin(self) -> dict:
        return {"Authorization": "Bearer " + (self.data / "admin.token").read_text().strip()}

    def token(self, role: str) -> dict:
        reply = httpx.post(f"{self.url}/v1/tokens", json={"role": role}, headers=self.admin)
        assert reply.status_code == 201, reply.text
        return {"Authorization": "Bearer " + reply.json()["token"]}

    def code(self) -> str:
        return httpx.post(f"{self.url}/v1/enrolment-codes", headers=self.admin).json()["code"]

    def agree(self, device: dict) -> None:
        """What `workprint consent accept` sends for an enrolled device (uploads need it)."""
        body = {"notice_version": 1, "notice_hash": "a" * 64, "policy_hash": "b" * 64,
                "accepted_at": "2026-11-23T10:00:00+00:00"}
        reply = httpx.post(f"{self.url}/v1/consent", json=body, headers=device)
        assert reply.status_code == 201, reply.text


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "collector")
    srv.start()
    yield srv
    srv.kill()


class CuttingProxy(threading.Thread):
    """A TCP proxy on loopback that cuts every connection once ``cut_after`` bytes went upstream."""

    def __init__(self, upstream_port: int, cut_after: int):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.upstream = upstream_port
        self.cut_after = cut_after
        self.sent = 0
        self.cuts = 0

    def run(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return

        def pump(src, dst, count):
            try:
                while data := src.recv(65536):
                    if count:
                        self.sent += len(data)
                        if self.cuts == 0 and self.sent > self.cut_after:
                            self.cuts += 1
                            raise OSError("cut")
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()

        threading.Thread(target=pump, args=(up, client, False), daemon=True).start()
        pump(client, up, True)


def test_upload_survives_a_network_cut_and_a_server_restart(recorded, server, tmp_path):
    env = recorded["env"]
    proxy = CuttingProxy(server.port, cut_after=300_000)
    proxy.start()
    workprint("enrol", f"http://127.0.0.1:{proxy.port}", server.code(), env=env)
    workprint("consent", "accept", "--yes", "--policy", str(recorded["home"] / "policy.toml"), env=env)
    refused = workprint("upload", recorded["session"], env=env, check=False)
    assert refused.returncode == 2 and "not reviewed" in refused.stderr, "nothing leaves before review"
    workprint("review", "--approve", recorded["session"], env=env)
    first = workprint("upload", env=env, check=False)
    assert proxy.cuts == 1, "the connection was cut mid-upload"
    server.kill()  # and the server dies too
    server.start()
    second = workprint("upload", env=env, check=False)
    assert first.returncode == 0 or second.returncode == 0, first.stderr + second.stderr
    curator = server.token("curator")
    manifest = httpx.get(f"{server.url}/v1/sessions/{recorded['session']}", headers=curator).json()
    assert len(manifest["actions"]) == len(actions_json(env, recorded["session"]))
    stored = list((server.data / "blobs").rglob("*"))
    blob_files = [p for p in stored if p.is_file()]
    assert sorted(p.name for p in blob_files) == sorted(set(manifest["frames"].values())), "no duplicates, none lost"
    for digest in manifest["frames"].values():
        body = httpx.get(f"{server.url}/v1/blobs/{digest}", headers=curator).content
        assert hashlib.sha256(body).hexdigest() == digest
        assert b"jane.doe" not in body
    assert not [p for p in stored if p.suffix == ".tmp"], "no partial files left behind"
    again = workprint("upload", recorded["session"], env=env)
    assert "uploaded 0 session(s)" in again.stdout, "an unchanged session is not sent twice"
    assert "nothing was due" in again.stdout and "workprint review" in again.stdout, "it says why"
    assert len([p for p in (server.data / "blobs").rglob("*") if p.is_file()]) == len(blob_files)


def test_roles_refuse_and_audit(server):
    tokens = {role: server.token(role) for role in ("curator", "trainer", "auditor")}
    device = httpx.post(f"{server.url}/v1/devices", json={"code": server.code(), "contributor": "c-0123456789ab"}).json()
    tokens["contributor"] = {"Authorization": "Bearer " + device["device_token"]}
    server.agree(tokens["contributor"])
    tokens["admin"] = server.admin
    assert device["pseudonym"].startswith("p-") and "0123456789ab" not in device["pseudonym"]
    endpoints = {
        ("GET", "/v1/audit"): {"auditor"},
        ("GET", "/v1/datasets/steps"): {"trainer"},
        ("GET", "/v1/sessions"): {"contributor", "curator"},
        ("POST", "/v1/enrolment-codes"): {"admin"},
        ("POST", "/v1/blobs/missing"): {"contributor"},
    }
    for (method, path), allowed in endpoints.items():
        body = {"digests": []} if path.endswith("missing") else None
        assert httpx.request(method, server.url + path, json=body).status_code == 401
        for role, headers in tokens.items():
            status = httpx.request(method, server.url + path, headers=headers, json=body).status_code
            assert (status < 400) == (role in allowed), f"{role} {method} {path} -> {status}"
    entries = httpx.get(f"{server.url}/v1/audit", headers=tokens["auditor"]).json()["entries"]
    assert sum(1 for e in entries if e["outcome"] == "refused") >= 15
    assert httpx.get(f"{server.url}/v1/audit/verify", headers=tokens["auditor"]).json()["intact"]
    db = sqlite3.connect(server.data / "catalog.sqlite")
    db.execute("UPDATE audit SET outcome='ok' WHERE seq=(SELECT MIN(seq) FROM audit WHERE outcome='refused')")
    db.commit()
    db.close()
    verdict = httpx.get(f"{server.url}/v1/audit/verify", headers=tokens["auditor"]).json()
    assert not verdict["intact"] and "does not follow" in verdict["problem"]
    cli = workprint("audit", "verify", "--data", str(server.data), env=dict(os.environ), check=False)
    assert cli.returncode == 1 and "BROKEN" in cli.stderr
    paths = [r.path for r in __import__("workprint.server", fromlist=["create_app"]).create_app(
        server.data.parent / "probe").routes]
    assert not [p for p in paths if any(w in p for w in ("rank", "score", "productivity", "person"))]


def test_sessions_are_owned_deleted_and_bad_input_refused(server):
    def device(contributor):
        reply = httpx.post(f"{server.url}/v1/devices", json={"code": server.code(), "contributor": contributor})
        headers = {"Authorization": "Bearer " + reply.json()["device_token"]}
        server.agree(headers)
        return headers

    alice, bob = device("c-aaaaaaaaaaaa"), device("c-bbbbbbbbbbbb")
    png = b"\x89PNG fake frame bytes"
    digest = hashlib.sha256(png).hexdigest()
    assert httpx.put(f"{server.url}/v1/blobs/{digest}", content=png, headers=alice).status_code == 201
    assert httpx.put(f"{server.url}/v1/blobs/{digest}", content=png, headers=alice).status_code == 200, "idempotent"
    sid = "20261123-101500-a1b2c3"
    manifest = {"meta": {}, "actions": [{"type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "screen": {"w": 1920, "h": 1080}, "frame": "0" * 32}], "frames": {"0" * 32: digest}}
    assert httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest, headers=alice).status_code == 201
    assert httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest, headers=bob).status_code == 403
    assert httpx.get(f"{server.url}/v1/sessions/{sid}", headers=bob).status_code == 403
    assert httpx.get(f"{server.url}/v1/sessions", headers=bob).json()["sessions"] == []
    # bad input: clear 4xx, and the server stays up
    assert httpx.put(f"{server.url}/v1/blobs/{'0' * 64}", content=png, headers=alice).status_code == 422
    assert httpx.put(f"{server.url}/v1/blobs/..%2F..%2Fetc", content=png, headers=alice).status_code in (404, 422)
    assert httpx.put(f"{server.url}/v1/sessions/..%2Fx", json=manifest, headers=alice).status_code in (404, 422)
    assert httpx.put(f"{server.url}/v1/sessions/{sid}", content=b"{garbage", headers={
        **alice, "content-type": "application/json"}).status_code == 422
    big = b"x" * (16 * 1024 * 1024 + 1)
    assert httpx.put(f"{server.url}/v1/blobs/{hashlib.sha256(big).hexdigest()}", content=big,
                     headers=alice).status_code == 413
    missing = {**manifest, "frames": {"1" * 32: "f" * 64}}
    reply = httpx.put(f"{server.url}/v1/sessions/20261123-101500-ffffff", json=missing, headers=alice)
    assert reply.status_code == 409 and "f" * 64 in reply.text
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    # deletion: gone from the store and from training data, tombstoned
    trainer = server.token("trainer")
    assert len(httpx.get(f"{server.url}/v1/datasets/steps", headers=trainer).json()["steps"]) == 1
    assert httpx.delete(f"{server.url}/v1/sessions/{sid}", headers=alice).status_code == 200
    assert httpx.get(f"{server.url}/v1/datasets/steps", headers=trainer).json()["steps"] == []
    assert not [p for p in (server.data / "blobs").rglob("*") if p.is_file()]
    assert httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest, headers=alice).status_code in (409, 410)
    assert "text/plain" in httpx.get(f"{server.url}/metrics").headers["content-type"]
    assert httpx.get(f"{server.url}/openapi.json").json()["info"]["title"] == "workprint collector"


def test_tls(tmp_path):
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "workprint", "serve", "--port", str(port), "--data",
                             str(tmp_path / "data"), "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key",
                             str(tmp_path / "key.pem")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        trust = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))

        def healthy() -> httpx.Response | None:
            try:
                return httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust, timeout=1)
            except httpx.HTTPError:
                return None

        reply = wait_until(healthy, 30, "the collector answering over TLS")
        assert reply.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        proc.kill()
        proc.wait()


def test_enrolment_codes_can_be_typed_into_the_command_line():
    """A code is read off a screen and typed as `workprint enrol URL CODE`: it must never look like an
    option to the command line (a code starting with "-" once broke enrolment one time in 64)."""
    from workprint.cli import build_parser
    from workprint.server.models import EnrolRequest
    from workprint.server.routes.devices import new_enrolment_code

    codes = {new_enrolment_code() for _ in range(2000)}
    assert len(codes) == 2000
    parser = build_parser()
    for code in codes:
        assert parser.parse_args(["enrol", "https://collector.example", code]).code == code
        EnrolRequest(code=code, contributor="c-0123456789ab")  # the collector's own schema takes it

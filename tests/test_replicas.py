"""The collector past one machine, with real servers on 127.0.0.1: PostgreSQL (a private
cluster), SeaweedFS's S3 API, and nginx from deploy/ in front of two `workprint serve` replicas."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from tests.conftest import workprint
from tests.servers import Nginx, Replica

SECRETS = {"admin.token", "audit.key", "audit.anchor", "pseudonym.key"}


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}


def bucket(s3, blobs_url: str):
    """The S3 blob store a --blobs URL names, opened with the test server's credentials."""
    from workprint.server.blobs import S3BlobStore, open_blobs

    old = {k: os.environ.get(k) for k in s3.env()}
    os.environ.update(s3.env())
    try:
        store = open_blobs(Path("/nonexistent"), blobs_url)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert isinstance(store, S3BlobStore)
    return store


def bucket_digests(s3, blobs_url: str) -> set[str]:
    return set(bucket(s3, blobs_url).keys())


def admin(data: Path) -> dict:
    return {"Authorization": "Bearer " + (data / "admin.token").read_text().strip()}


def enrol_device(url: str, data: Path, n: int) -> dict:
    code = httpx.post(f"{url}/v1/enrolment-codes", headers=admin(data)).json()["code"]
    reply = httpx.post(f"{url}/v1/devices", json={"code": code, "contributor": f"c-{n:012x}"})
    assert reply.status_code == 201, reply.text
    device = {"Authorization": "Bearer " + reply.json()["device_token"]}
    body = {"notice_version": 1, "notice_hash": "a" * 64, "policy_hash": "b" * 64,
            "accepted_at": "2026-11-23T10:00:00+00:00"}
    assert httpx.post(f"{url}/v1/consent", json=body, headers=device).status_code == 201
    return device


def test_serve_on_postgres_and_s3_writes_only_secrets_under_data(postgres, seaweed, tmp_path):  # noqa: F811
    data, catalog, blobs = tmp_path / "secrets", postgres.new_database(), seaweed.blobs_url()
    env = {**os.environ, **seaweed.env()}
    replica = Replica(data, catalog, blobs, env).start()
    try:
        device = enrol_device(replica.url, data, 1)
        frame = os.urandom(50_000)
        digest = hashlib.sha256(frame).hexdigest()
        assert httpx.put(f"{replica.url}/v1/blobs/{digest}", content=frame, headers=device).status_code == 201
        assert httpx.put(f"{replica.url}/v1/blobs/{digest}", content=frame, headers=device).status_code == 200
        bad = httpx.put(f"{replica.url}/v1/blobs/{'0' * 64}", content=frame, headers=device)
        assert bad.status_code == 422, "bytes that do not hash to their name are refused"
        manifest = {"meta": {}, "actions": [{"type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "screen": {"w": 1920, "h": 1080}, "frame": "f" * 32}], "frames": {"f" * 32: digest}}
        assert httpx.put(f"{replica.url}/v1/sessions/20260101-000000-aaaaaa", json=manifest,
                         headers=device).status_code == 201
        trainer = {"Authorization": "Bearer " + httpx.post(f"{replica.url}/v1/tokens", json={"role": "trainer"},
                                                           headers=admin(data)).json()["token"]}
        assert httpx.get(f"{replica.url}/v1/blobs/{digest}", headers=trainer).content == frame
        store = bucket(seaweed, blobs)  # the object damaged in the bucket: refused, not served
        store._s3.put_object(Bucket=store.bucket, Key=store._key(digest), Body=b"\x00" + frame[1:])
        damaged = httpx.get(f"{replica.url}/v1/blobs/{digest}", headers=trainer)
        assert damaged.status_code == 500 and "damaged" in damaged.text and frame[1:100] not in damaged.content
        store._s3.put_object(Bucket=store.bucket, Key=store._key(digest), Body=frame)
    finally:
        replica.kill()
    assert bucket_digests(seaweed, blobs) == {digest}, "the frame is in the bucket, and only it"
    assert files_under(data) <= SECRETS, f"nothing but secrets under --data: {files_under(data) - SECRETS}"
    run_env = {**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    ok = workprint("audit", "verify", "--data", str(data), "--catalog", catalog, env=run_env)
    assert "intact" in ok.stdout
    with psycopg.connect(catalog, autocommit=True) as conn:  # an insider edits one entry in the database
        conn.execute("UPDATE audit SET outcome='stored' WHERE outcome LIKE 'refused%'")
    broken = workprint("audit", "verify", "--data", str(data), "--catalog", catalog, env=run_env, check=False)
    assert broken.returncode == 1 and "BROKEN" in broken.stderr


def test_bad_catalog_and_blob_urls_are_clear_errors(tmp_path):
    for args, said in ((["--catalog", "mysql://x/y"], "postgresql://"), (["--blobs", "ftp://x"], "s3://BUCKET"),
                       (["--catalog", "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1"], "cannot reach")):
        out = subprocess.run([sys.executable, "-m", "workprint", "serve", "--data", str(tmp_path / "d"), *args],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and said in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_an_upload_cut_on_one_replica_resumes_on_another(recorded, postgres, seaweed, tmp_path):  # noqa: F811
    """The replica taking an upload and the uploading command are both killed with frames half
    sent; another replica takes the device's address and `workprint upload` again sends only the
    frames the first one had not stored, then the session, once."""
    data, catalog, blobs = tmp_path / "secrets", postgres.new_database(), seaweed.blobs_url()
    env = {**os.environ, **seaweed.env()}
    first = Replica(data, catalog, blobs, env).start()
    home = tmp_path / "device"
    shutil.copytree(recorded["home"], home, ignore=shutil.ignore_patterns("upload*", "review*"))
    denv, sid = {**recorded["env"], "WORKPRINT_HOME": str(home)}, recorded["session"]
    second = None
    try:
        code = httpx.post(f"{first.url}/v1/enrolment-codes", headers=admin(data)).json()["code"]
        workprint("enrol", first.url, code, env=denv)
        workprint("consent", "accept", "--yes", "--policy", str(home / "policy.toml"), env=denv)
        workprint("review", "--approve", sid, env=denv)
        upload = subprocess.Popen([sys.executable, "-m", "workprint", "upload", sid], env=denv,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with psycopg.connect(catalog, autocommit=True) as conn:
            def stored() -> int:
                return conn.execute("SELECT COUNT(*) FROM audit WHERE action='upload blob'").fetchone()[0]

            deadline = time.time() + 300
            while stored() < 2 and time.time() < deadline and upload.poll() is None:
                time.sleep(0.01)
            upload.kill()  # the device's command and the replica it talked to, both cut
            first.kill()
            upload.wait()
            cut_at = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]
            assert stored() >= 2, "frames were flowing when the replica died"
            assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0, "the session had not arrived"
            second = Replica(data, catalog, blobs, env, port=first.port).start()  # the address now reaches another
            workprint("upload", sid, env=denv)
            rows = conn.execute("SELECT seq, action, target, outcome FROM audit WHERE action IN "
                                "('upload blob', 'check blobs') ORDER BY seq").fetchall()
            manifest = conn.execute("SELECT manifest FROM sessions WHERE id=%s", (sid,)).fetchone()
    finally:
        first.kill()
        if second:
            second.kill()
    assert manifest, "the session arrived"
    frames = set(json.loads(manifest[0])["frames"].values())
    before = {target for seq, action, target, _ in rows if seq <= cut_at and action == "upload blob"}
    after = [target for seq, action, target, _ in rows if seq > cut_at and action == "upload blob"]
    assert before and after, "some frames reached the first replica, the rest the second"
    assert before.isdisjoint(after), "no frame the first replica stored was sent again"
    assert sorted(before | set(after)) == sorted(frames) and len(after) == len(set(after)), "each frame once"
    asked = [outcome for seq, action, _, outcome in rows if seq > cut_at and action == "check blobs"]
    assert f"{len(after)} missing" in asked, f"the second replica was asked for the missing frames only: {asked}"


def test_the_compose_file_wires_what_the_tests_start():
    """deploy/compose.yaml runs the pieces the tests run from deploy/ (the nginx template, the
    SeaweedFS identities, the unit's serve options), and its credentials agree with each other."""
    import re
    import shlex
    from urllib.parse import urlparse

    import yaml

    from tests.servers import NGINX_TEMPLATE, SEAWEED_CONFIG, unit_exec_start
    from workprint.cli import build_parser

    deploy = NGINX_TEMPLATE.parent.parent
    compose = yaml.safe_load((deploy / "compose.yaml").read_text())
    services = compose["services"]
    collectors = [s for s in services.values() if "workprint serve" in str(s.get("command", ""))]
    assert len(collectors) >= 2, "two replicas at least"
    db, s3 = services["postgres"]["environment"], services["seaweedfs"]
    identities = json.loads(SEAWEED_CONFIG.read_text())["identities"]
    unit_options = {a for a in unit_exec_start() if a.startswith("--")}
    for service in collectors:
        argv = shlex.split(service["command"])
        assert {a for a in argv if a.startswith("--")} >= unit_options, "the same serve options as the systemd unit"
        args = build_parser().parse_args(argv[1:])
        catalog, blobs = urlparse(args.catalog), urlparse(args.blobs)
        assert (catalog.username, catalog.password, catalog.path) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"],
                                                                      "/" + db["POSTGRES_DB"])
        assert blobs.scheme == "s3" and "seaweedfs:8333" in blobs.query
        keys = (service["environment"]["AWS_ACCESS_KEY_ID"], service["environment"]["AWS_SECRET_ACCESS_KEY"])
        assert keys in {(c["accessKey"], c["secretKey"]) for i in identities for c in i["credentials"]}
        assert any(v.endswith(":" + args.data) for v in service["volumes"]), "the secrets folder is a shared volume"
    mounts = {v.split(":")[0]: v.split(":")[1] for v in s3["volumes"] + services["nginx"]["volumes"]}
    assert (deploy / "seaweedfs-s3.json").samefile(SEAWEED_CONFIG), "SeaweedFS gets the identities the tests use"
    assert "-s3.config=" + mounts["./seaweedfs-s3.json"] in s3["command"]
    assert (deploy / "nginx/workprint.conf.template").samefile(NGINX_TEMPLATE)
    assert "./nginx/workprint.conf.template" in mounts, "nginx renders the template the tests render"
    placeholders = set(re.findall(r"\$\{(WORKPRINT_[A-Z0-9_]+)\}", NGINX_TEMPLATE.read_text()))
    assert placeholders and placeholders <= set(services["nginx"]["environment"]), "every placeholder is set"


def test_uploads_through_nginx_survive_a_replica_killed_midway(recorded, postgres, seaweed, tmp_path):  # noqa: F811
    """Three device homes upload through nginx to two replicas; one replica is SIGKILLed once
    frames are flowing. Every session arrives exactly once, every frame is in the bucket and
    none on local disk, and the audit chain on PostgreSQL verifies."""
    from tests.servers import clone_session

    data, catalog, blobs = tmp_path / "secrets", postgres.new_database(), seaweed.blobs_url()
    env = {**os.environ, **seaweed.env()}
    first = Replica(data, catalog, blobs, env).start()  # makes the secrets the second one shares
    second = Replica(data, catalog, blobs, env).start()
    proxy = Nginx([first.port, second.port])
    try:
        homes = []
        for i in range(3):
            home = tmp_path / f"device-{i}"
            shutil.copytree(recorded["home"], home, ignore=shutil.ignore_patterns("sessions", "catalog*",
                                                                                  "upload*", "review*"))
            sid = f"20261123-10000{i}-00000{i}"
            clone_session(recorded["home"], recorded["session"], home, sid)
            denv = {**recorded["env"], "WORKPRINT_HOME": str(home)}
            code = httpx.post(f"{proxy.url}/v1/enrolment-codes", headers=admin(data)).json()["code"]
            workprint("enrol", proxy.url, code, env=denv)
            workprint("consent", "accept", "--yes", "--policy", str(home / "policy.toml"), env=denv)
            workprint("review", "--approve", sid, env=denv)
            homes.append((denv, sid))
        uploads = [subprocess.Popen([sys.executable, "-m", "workprint", "upload", sid], env=denv, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for denv, sid in homes]
        deadline = time.time() + 300
        with psycopg.connect(catalog, autocommit=True) as conn:
            while time.time() < deadline:
                stored = conn.execute("SELECT COUNT(*) FROM audit WHERE action='upload blob'").fetchone()[0]
                if stored >= 3:
                    break
                time.sleep(0.05)
            arrived = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        assert stored >= 3 and arrived < len(homes), "the replica dies with frames flowing and sessions to come"
        first.kill()  # SIGKILL, mid-upload
        results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in uploads]
        for (denv, sid), (rc, out, err) in zip(homes, results):
            if rc != 0:  # cut on the dead replica: the same command again resumes on the other one
                again = workprint("upload", sid, env=denv, check=False)
                assert again.returncode == 0, err + again.stderr
    finally:
        proxy.stop()
        first.kill()
        second.kill()
    sids = sorted(sid for _, sid in homes)
    with psycopg.connect(catalog, autocommit=True) as conn:
        rows = conn.execute("SELECT id, manifest FROM sessions ORDER BY id").fetchall()
    assert [r[0] for r in rows] == sids, "every session arrives, once"
    frames = {d for _, manifest in rows for d in json.loads(manifest)["frames"].values()}
    assert frames, "the sessions name frames"
    in_bucket = bucket_digests(seaweed, blobs)
    assert frames <= in_bucket, f"{len(frames - in_bucket)} frames are not in the bucket"
    assert files_under(data) <= SECRETS, f"nothing but secrets on local disk: {files_under(data) - SECRETS}"
    verify = workprint("audit", "verify", "--data", str(data), "--catalog", catalog,
                       env={**env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert "intact" in verify.stdout

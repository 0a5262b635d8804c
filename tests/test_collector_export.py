"""`workprint export --collector URL`: a trainer builds a dataset from what a collector holds,
and `--ray` spreads the frame work over a local Ray cluster with byte-identical output."""

from __future__ import annotations

import os
import shutil

import httpx

from tests.conftest import workprint
from tests.servers import Replica


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_export_from_collector_with_and_without_ray_is_byte_identical(recorded, tmp_path):
    home = tmp_path / "device"
    shutil.copytree(recorded["home"], home, ignore=shutil.ignore_patterns("upload*", "review*"))
    env = {**recorded["env"], "WORKPRINT_HOME": str(home)}
    data = tmp_path / "collector"
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        admin = {"Authorization": "Bearer " + (data / "admin.token").read_text().strip()}
        code = httpx.post(f"{server.url}/v1/enrolment-codes", headers=admin).json()["code"]
        workprint("enrol", server.url, code, env=env)
        workprint("consent", "accept", "--yes", "--policy", str(home / "policy.toml"), env=env)
        workprint("review", "--approve", recorded["session"], env=env)
        workprint("upload", recorded["session"], env=env)
        trainer = httpx.post(f"{server.url}/v1/tokens", json={"role": "trainer"}, headers=admin).json()["token"]
        trainer_env = {**env, "WORKPRINT_HOME": str(tmp_path / "trainer"), "WORKPRINT_COLLECTOR_TOKEN": trainer,
                       "WORKPRINT_RAY_CPUS": "2"}
        refused = workprint("export", "--collector", server.url, "--format", "chat", "--out", str(tmp_path / "x"),
                            env={**trainer_env, "WORKPRINT_COLLECTOR_TOKEN": "not-a-token"}, check=False)
        assert refused.returncode == 2 and "trainer token" in refused.stderr
        for fmt in ("chat", "hf"):
            plain, spread = tmp_path / f"{fmt}-plain", tmp_path / f"{fmt}-ray"
            workprint("export", "--collector", server.url, "--format", fmt, "--out", str(plain), "--quiet",
                      env=trainer_env)
            workprint("export", "--collector", server.url, "--format", fmt, "--out", str(spread), "--quiet",
                      "--ray", env=trainer_env)
            a, b = tree(plain), tree(spread)
            assert len(a) >= 2 and sum(map(len, a.values())) > 10_000, f"{fmt}: the export holds steps and images"
            assert a.keys() == b.keys()
            assert [k for k in a if a[k] != b[k]] == [], f"{fmt}: every file byte-identical with Ray"
        curator = httpx.post(f"{server.url}/v1/tokens", json={"role": "curator"}, headers=admin).json()["token"]
        sessions = httpx.get(f"{server.url}/v1/datasets/sessions", headers={"Authorization": f"Bearer {trainer}"})
        assert all(set(item) == {"id", "meta", "actions", "frames"} for item in sessions.json()["sessions"])
        assert "owner" not in sessions.text and '"p-' not in sessions.text, "no owner nor pseudonym in the trainer view"
        sid = sessions.json()["sessions"][0]["id"]
        assert httpx.post(f"{server.url}/v1/sessions/{sid}/quarantine",
                          headers={"Authorization": f"Bearer {curator}"}).status_code == 200
        empty = workprint("export", "--collector", server.url, "--format", "chat", "--out", str(tmp_path / "q"),
                          env=trainer_env, check=False)
        assert empty.returncode == 2 and "no sessions a trainer may use" in empty.stderr, "quarantined stays out"
    finally:
        server.kill()

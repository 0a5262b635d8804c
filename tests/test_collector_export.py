"""`workprint export --collector URL`: a trainer builds a dataset from what a collector holds,
and `--ray` spreads the frame work over a local Ray cluster with byte-identical output."""

from __future__ import annotations

import json
import os
import shutil

import httpx

from tests.conftest import Recording, workprint
from tests.servers import Replica, free_port, start_ray_head


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def upload_to(server: Replica, env: dict[str, str], session: str, *consent: str) -> dict[str, str]:
    """The device of ``env`` enrols with ``server``, agrees (``consent``: more `consent accept`
    arguments), approves ``session`` and uploads it; returns the collector admin's headers."""
    admin = {"Authorization": "Bearer " + (server.data / "admin.token").read_text().strip()}
    code = httpx.post(f"{server.url}/v1/enrolment-codes", headers=admin).json()["code"]
    workprint("enrol", server.url, code, env=env)
    workprint("consent", "accept", "--yes", *consent, env=env)
    workprint("review", "--approve", session, env=env)
    workprint("upload", session, env=env)
    return admin


def test_export_from_collector_with_and_without_ray_is_byte_identical(recorded, tmp_path):
    home = tmp_path / "device"
    shutil.copytree(recorded["home"], home, ignore=shutil.ignore_patterns("upload*", "review*"))
    env = {**recorded["env"], "WORKPRINT_HOME": str(home)}
    data = tmp_path / "collector"
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        admin = upload_to(server, env, recorded["session"], "--policy", str(home / "policy.toml"))
        trainer = httpx.post(f"{server.url}/v1/tokens", json={"role": "trainer"}, headers=admin).json()["token"]
        trainer_env = {**env, "WORKPRINT_HOME": str(tmp_path / "trainer"), "WORKPRINT_COLLECTOR_TOKEN": trainer,
                       "WORKPRINT_RAY_CPUS": "2"}
        refused = workprint("export", "--collector", server.url, "--format", "chat", "--out", str(tmp_path / "x"),
                            env={**trainer_env, "WORKPRINT_COLLECTOR_TOKEN": "not-a-token"}, check=False)
        assert refused.returncode == 2 and "trainer token" in refused.stderr
        # --ray with no address starts a Ray here, whatever RAY_ADDRESS (or a running `ray start`) says
        local_env = {**trainer_env, "RAY_ADDRESS": f"127.0.0.1:{free_port()}"}
        for fmt in ("chat", "hf"):
            plain, spread = tmp_path / f"{fmt}-plain", tmp_path / f"{fmt}-ray"
            workprint("export", "--collector", server.url, "--format", fmt, "--out", str(plain), "--quiet",
                      env=trainer_env)
            workprint("export", "--collector", server.url, "--format", fmt, "--out", str(spread), "--quiet",
                      "--ray", env=local_env)
            a, b = tree(plain), tree(spread)
            assert len(a) >= 2 and sum(map(len, a.values())) > 10_000, f"{fmt}: the export holds steps and images"
            assert a.keys() == b.keys()
            assert [k for k in a if a[k] != b[k]] == [], f"{fmt}: every file byte-identical with Ray"
        with start_ray_head() as cluster:  # an existing cluster, joined by its address
            joined = tmp_path / "chat-joined"
            workprint("export", "--collector", server.url, "--format", "chat", "--out", str(joined), "--quiet",
                      "--ray", cluster.address, env={**trainer_env, **cluster.env})
            assert tree(joined) == tree(tmp_path / "chat-plain"), "byte-identical on a joined cluster too"
        nobody = workprint("export", "--collector", server.url, "--format", "chat", "--out", str(tmp_path / "n"),
                           "--ray", f"127.0.0.1:{free_port()}", env=trainer_env, check=False)
        assert nobody.returncode == 2 and "nothing answers at the Ray address" in nobody.stderr, nobody.stderr
        curator = httpx.post(f"{server.url}/v1/tokens", json={"role": "curator"}, headers=admin).json()["token"]
        sessions = httpx.get(f"{server.url}/v1/datasets/sessions", headers={"Authorization": f"Bearer {trainer}"})
        assert all(set(item) == {"id", "meta", "actions", "frames", "marks", "agent_runs", "interventions"}
                   for item in sessions.json()["sessions"])
        assert "owner" not in sessions.text and '"p-' not in sessions.text, "no owner nor pseudonym in the trainer view"
        sid = sessions.json()["sessions"][0]["id"]
        assert httpx.post(f"{server.url}/v1/sessions/{sid}/quarantine",
                          headers={"Authorization": f"Bearer {curator}"}).status_code == 200
        empty = workprint("export", "--collector", server.url, "--format", "chat", "--out", str(tmp_path / "q"),
                          env=trainer_env, check=False)
        assert empty.returncode == 2 and "no sessions a trainer may use" in empty.stderr, "quarantined stays out"
    finally:
        server.kill()


def test_tasks_marked_on_the_device_are_the_episodes_exported_from_the_collector(desk, home, tmp_path):
    """A task marked while recording travels with the upload: the collector's export has the same
    episode and (redacted) instruction as the device's, so task-only formats like `opencua` work."""
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    rec = Recording(desk, home)
    desk.activate(pad)
    workprint("task", "start", "Greet jane@example.com in the note", env=rec.env)
    desk.xdotool("type", "--delay", 50, "Good morning")
    desk.xdotool("key", "Return")
    workprint("task", "end", env=rec.env)
    code, out, err = rec.stop()
    assert code == 0, err
    sid = out.strip().splitlines()[-1]
    data = tmp_path / "collector"
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        admin = upload_to(server, rec.env, sid)  # agreeing again, now that data leaves the device
        trainer = httpx.post(f"{server.url}/v1/tokens", json={"role": "trainer"}, headers=admin).json()["token"]
        trainer_env = {**rec.env, "WORKPRINT_HOME": str(tmp_path / "trainer"), "WORKPRINT_COLLECTOR_TOKEN": trainer}
        workprint("export", "--collector", server.url, "--format", "opencua", "--out", str(tmp_path / "remote"),
                  "--quiet", env=trainer_env)
        workprint("export", sid, "--format", "opencua", "--out", str(tmp_path / "local"), "--quiet", env=rec.env)
    finally:
        server.kill()

    def trajectories(folder):
        lines = (tmp_path / folder / "train.jsonl").read_text().splitlines()
        return [(t["instruction"], [s["value"]["code"] for s in t["traj"]]) for t in map(json.loads, lines)]

    remote, local = trajectories("remote"), trajectories("local")
    assert [i for i, _ in remote] == ["Greet [EMAIL] in the note"], remote
    assert remote == local, "the collector's episodes are the device's"
    assert remote[0][1][-1] == "computer.terminate(status='success')", "the ended task ends in done"


def _rows(folder) -> list[dict]:
    """Every row of a Parquet export, in order (images as their bytes)."""
    import pyarrow.parquet as pq

    return [row for path in sorted((folder / "data").rglob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def test_preference_and_rlif_from_a_collector_are_the_devices_rows(tmp_path):
    """An agent run with a person's corrections, uploaded: the manifest carries the run and its
    interventions (redacted on the device), so `export --collector --format preference|rlif` gives
    the rows the device's own export gives, images included."""
    from workprint.demo.agent_scenario import EMAIL, MISTAKE, AgentScenario, open_desktop_apps
    from workprint.demo.desktop import VirtualDesktop

    home = tmp_path / "device"
    home.mkdir()
    policy = home / "policy.toml"
    policy.write_text('[apps]\nallow = ["mousepad"]\n')
    with VirtualDesktop() as desk:
        pad, term = open_desktop_apps(desk)
        scenario = AgentScenario(desk, home, policy, pad, term, task=f"Write two lines for {EMAIL}")
        # the mistake the person takes over from, proposed and never executed, names the address too
        scenario.replies[2] = f"Next step.\n```python\npyautogui.write(message='{MISTAKE} {EMAIL}')\n```"
        code, out, err = scenario.play()
    assert code == 0, err
    sid, env = out.strip().splitlines()[-1], scenario.env
    data = tmp_path / "collector"
    server = Replica(data, None, None, dict(os.environ)).start()
    try:
        admin = upload_to(server, env, sid, "--policy", str(policy))
        curator = httpx.post(f"{server.url}/v1/tokens", json={"role": "curator"}, headers=admin).json()["token"]
        trainer = httpx.post(f"{server.url}/v1/tokens", json={"role": "trainer"}, headers=admin).json()["token"]
        uploaded = httpx.get(f"{server.url}/v1/sessions/{sid}", headers={"Authorization": f"Bearer {curator}"})
        assert uploaded.status_code == 200
        trainer_env = {**env, "WORKPRINT_HOME": str(tmp_path / "trainer"), "WORKPRINT_COLLECTOR_TOKEN": trainer}
        for fmt in ("preference", "rlif"):
            workprint("export", "--collector", server.url, "--format", fmt, "--out", str(tmp_path / f"{fmt}-remote"),
                      "--quiet", env=trainer_env)
            workprint("export", sid, "--format", fmt, "--out", str(tmp_path / f"{fmt}-local"), "--quiet", env=env)
        catalog = b"".join(p.read_bytes() for p in sorted(data.glob("catalog.sqlite*")))  # with its WAL
    finally:
        server.kill()

    manifest = uploaded.json()
    assert [r["trigger"] for r in manifest["interventions"]] == ["human_input", "call_user", "refused_app"]
    assert [m["kind"] for m in manifest["agent_runs"]] == ["agent_start", "agent_end"]
    assert manifest["agent_runs"][0]["task"] == "Write two lines for [EMAIL]"
    assert manifest["interventions"][0]["proposed"]["text"] == f"{MISTAKE} [EMAIL]"
    for text in (uploaded.text, catalog.decode("latin-1")):
        assert f"{MISTAKE} [EMAIL]" in text, "the search reads what was uploaded"
        assert EMAIL not in text and "jane.doe" not in text, "the upload holds the address in clear"
    for fmt in ("preference", "rlif"):
        local, remote = _rows(tmp_path / f"{fmt}-local"), _rows(tmp_path / f"{fmt}-remote")
        assert remote == local, f"{fmt}: the collector's rows are the device's"
        texts = json.dumps([{k: v for k, v in row.items() if k not in ("image", "images")} for row in remote])
        assert EMAIL not in texts and "[EMAIL]" in texts
        cards = [(tmp_path / f"{fmt}-{where}" / "README.md").read_text() for where in ("local", "remote")]
        local_runs, remote_runs = (card[card.index("## Agent runs"):].split("\n## ")[0] for card in cards)
        assert remote_runs == local_runs and "Interventions: 3" in remote_runs, "the card counts the same runs"
    pairs = _rows(tmp_path / "preference-remote")
    assert [p["trigger"] for p in pairs] == ["human_input", "call_user"], "one pair per correction"
    assert f"{MISTAKE} [EMAIL]" in pairs[0]["rejected"][0]["content"][0]["text"]
    assert len(pairs[0]["images"]) == 1 and pairs[0]["images"][0]["bytes"], "the takeover's screen travelled too"
    steps = _rows(tmp_path / "rlif-remote")
    assert [(s["trigger"], s["executed"]) for s in steps if s["intervened"]] == [
        ("human_input", False), ("refused_app", False)]
    assert all(s["task"] == "Write two lines for [EMAIL]" and s["image"] for s in steps)

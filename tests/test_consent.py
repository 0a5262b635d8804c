"""Consent (DESIGN.md, Consent): the notice, the agreement on record, refusal with exit 3 that
writes nothing, re-consent on widening only, the collector's refusal, and withdrawal that erases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Recording, has_event, wait_logged, wait_until, workprint
from tests.test_collector import Server, server  # noqa: F401  (the real `workprint serve` fixture)
from workprint.demo.model_server import ScriptedModelServer
from workprint.home import ready_file
from workprint.privacy import consent
from workprint.privacy.consent import Destination, Scope, build_notice, widenings
from workprint.privacy.policy import Policy


def _policy(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _scope(**kw) -> Scope:
    return Scope.of(Policy(**kw))


# ---------------------------------------------------------------- what "widens" means

def test_a_new_allowed_app_or_site_widens():
    agreed = _scope(allow_apps=("mousepad",), allow_urls=("https://intranet.example/*",))
    assert widenings(agreed, _scope(allow_apps=("mousepad", "xterm"), allow_urls=("https://intranet.example/*",))
                     ) == ["new app allowed: xterm"]
    assert widenings(agreed, _scope(allow_apps=("mousepad",),
                                    allow_urls=("https://intranet.example/*", "https://mail.example/*"))
                     ) == ["new site allowed: https://mail.example/*"]
    assert widenings(agreed, _scope(allow_apps=("mouse*",), allow_urls=("https://intranet.example/*",))
                     ) == ["new app allowed: mouse*"], "a new glob is never assumed to be covered"


def test_removing_the_allow_list_or_a_deny_entry_widens():
    assert any("allow-list was removed" in r
               for r in widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=None)))
    assert any("allow-list was removed" in r
               for r in widenings(_scope(allow_urls=("https://a.example/*",)), _scope(allow_urls=None)))
    assert widenings(_scope(deny_apps=("slack",)), _scope()) == ["app no longer denied: slack"]
    assert widenings(_scope(deny_urls=("*bank*",)), _scope()) == ["site no longer denied: *bank*"]
    builtin_shrunk = Scope(**{**_scope().__dict__, "builtin_deny_apps": ("keepassxc",)})
    assert "app no longer denied: bitwarden" in widenings(_scope(), builtin_shrunk)
    no_titles = Scope(**{**_scope().__dict__, "builtin_deny_titles": ()})
    assert any("incognito" in r for r in widenings(_scope(), no_titles))


def test_narrowing_needs_no_new_agreement():
    agreed = _scope(allow_apps=("mousepad", "chromium"), deny_apps=("slack",))
    assert widenings(agreed, _scope(allow_apps=("mousepad",), deny_apps=("slack",))) == []
    assert widenings(agreed, _scope(allow_apps=("mousepad", "chromium"), deny_apps=("slack", "xterm"))) == []
    assert widenings(_scope(), _scope(allow_apps=("mousepad",))) == [], "an allow-list only narrows"
    assert widenings(_scope(allow_apps=("mouse*",)), _scope(allow_apps=("mousepad",))) == [], \
        "a name the agreed glob already matched"
    # a site deny entry dropped together with the only allow pattern that could match it records nothing new
    assert widenings(_scope(allow_urls=("https://a.example/*", "https://b.example/*"), deny_urls=("https://b.example/*",)),
                     _scope(allow_urls=("https://a.example/*",))) == []
    # allowing a built-in denied app changes nothing: the built-in deny-list wins
    assert widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=("mousepad", "keepassxc"))) == []
    assert widenings(agreed, agreed) == []


def test_globs_are_compared_by_what_they_match():
    """A narrower glob is no new agreement (URL patterns are nearly always globs); a glob that names
    one thing more is."""
    sites = _scope(allow_urls=("https://*.example.com/*",))
    assert widenings(sites, _scope(allow_urls=("https://docs.example.com/*",))) == []
    assert widenings(sites, _scope(allow_urls=("https://*.example.com/wiki/*", "https://a?.example.com/*"))) == []
    assert widenings(sites, _scope(allow_urls=("https://*.example.org/*",))) == \
        ["new site allowed: https://*.example.org/*"]
    assert widenings(sites, _scope(allow_urls=("https://*example.com/*",))) == \
        ["new site allowed: https://*example.com/*"], "also https://badexample.com/"
    assert widenings(_scope(allow_apps=("x*",)), _scope(allow_apps=("xc*",))) == []
    assert widenings(_scope(allow_apps=("x*",)), _scope(allow_apps=("*x",))) == ["new app allowed: *x"]
    # a deny entry replaced by a broader one narrows; by a narrower one widens (when it could be recorded)
    assert widenings(_scope(deny_apps=("slack",)), _scope(deny_apps=("sl*",))) == []
    assert widenings(_scope(deny_urls=("https://bank.*/*",)), _scope(deny_urls=("https://bank.*",))) == []
    assert widenings(_scope(deny_apps=("sl*",)), _scope(deny_apps=("slack",))) == ["app no longer denied: sl*"]
    assert widenings(_scope(allow_urls=("https://*.example.com/*",), deny_urls=("https://bank.*",)),
                     _scope(allow_urls=("https://*.example.com/*",), deny_urls=("https://bank.*.com/*",))) == [], \
        "what it named and is still allowed, the new entry denies"
    assert widenings(_scope(allow_urls=("https://*.example.com/*",), deny_urls=("https://bank.*",)),
                     _scope(allow_urls=("https://*.example.com/*",), deny_urls=("https://bank.example.*",))) == \
        ["site no longer denied: https://bank.*"], "https://bank.x.example.com/ is recorded now"


def test_a_dropped_app_deny_entry_widens_even_outside_the_allow_list():
    """A window goes by two names (WM_CLASS instance and class) and is recorded when either is
    allowed and neither denied: `deny = ["slack"]` kept out a window named slack *and* chromium."""
    agreed = _scope(allow_apps=("chromium",), deny_apps=("slack",))
    proposed = _scope(allow_apps=("chromium",))
    assert Policy(allow_apps=("chromium",)).app_allowed(("slack", "chromium"))
    assert not Policy(allow_apps=("chromium",), deny_apps=("slack",)).app_allowed(("slack", "chromium"))
    assert widenings(agreed, proposed) == ["app no longer denied: slack"]
    assert widenings(_scope(allow_apps=("mousepad",), deny_apps=("sl*",)),
                     _scope(allow_apps=("mousepad",), deny_apps=("slack",))) == ["app no longer denied: sl*"]
    assert widenings(_scope(allow_apps=(), deny_apps=("slack",)), _scope(allow_apps=())) == [], \
        "an empty allow-list records nothing, denied or not"
    # an allowed glob all of whose names the built-in deny-list keeps out adds nothing; one that names more does
    assert widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=("mousepad", "keepass*"))) == []
    assert widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=("mousepad", "keep*"))) == \
        ["new app allowed: keep*"]
    # what cannot be compared exactly asks again: a character class, or a comparison past its budget
    assert widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=("mousepa[d]",))) == \
        ["new app allowed: mousepa[d]"]


def test_a_comparison_past_its_budget_asks_again(monkeypatch):
    agreed, narrower = _scope(allow_apps=("x*",)), _scope(allow_apps=("xc*",))
    assert widenings(agreed, narrower) == []
    monkeypatch.setattr(consent, "MAX_STEPS", 5)
    assert widenings(agreed, narrower) == ["new app allowed: xc*"], "the safe mistake, never a silent yes"


# ---------------------------------------------------------------- the notice and the record

def test_the_notice_says_what_where_who_how_long_and_never_to_assess(tmp_path):
    policy = Policy.load(_policy(tmp_path, '[apps]\nallow = ["mousepad"]\ndeny = ["slack"]\n'))
    local = build_notice(policy, Destination()).text()
    for words in ("mousepad", "keepassxc", "slack", "incognito", "screenshots", "[EMAIL]",
                  "Recordings stay on this device", "Never to assess", "workprint pause",
                  "workprint consent withdraw --erase", "until you delete it",
                  "workprint agent run --model URL"):
        assert words in local, words
    remote = build_notice(policy, Destination("https://collector.example", "p-" + "0" * 24, 30))
    text = remote.text()
    assert "https://collector.example" in text and "p-000000000000000000000000" in text
    assert "30 days after upload" in text
    for role in ("curator", "trainer", "auditor", "admin"):
        assert f"{role}:" in text
    assert remote.digest() != build_notice(policy, Destination()).digest(), "the hash covers what was shown"
    hostile = Policy(allow_apps=("<script>alert(1)</script>",))
    page = build_notice(hostile, Destination()).html()
    assert page.startswith("<!doctype html>") and "<script>alert" not in page and "&lt;script&gt;" in page


def test_status_reads_only_and_the_record_is_written_atomically(tmp_path):
    home = tmp_path / "never-created"
    state = consent.status(home, Policy())
    assert not state.current and not home.exists(), "checking consent creates nothing"
    policy = Policy(allow_apps=("mousepad",))
    consent.accept(home, policy, build_notice(policy, Destination()), None)
    record = json.loads((home / "consent.json").read_text())
    assert record["current"]["policy_hash"] == Scope.of(policy).digest()
    assert record["current"]["notice_version"] == consent.NOTICE_VERSION
    assert [p.name for p in home.iterdir()] == ["consent.json"], "no temporary file left behind"
    assert (home / "consent.json").stat().st_mode & 0o077 == 0
    assert consent.status(home, policy).current
    (home / "consent.json").write_text('{"current": {"notice_version": 1')
    with pytest.raises(consent.ConsentError, match="damaged"):
        consent.status(home, policy)


def test_an_agreement_to_an_older_notice_is_not_current(tmp_path):
    """A notice that promises or discloses something new is agreed to again."""
    home = tmp_path / "home"
    policy = Policy(allow_apps=("mousepad",))
    consent.accept(home, policy, build_notice(policy, Destination()), None)
    record = json.loads((home / "consent.json").read_text())
    record["current"]["notice_version"] = consent.NOTICE_VERSION - 1
    (home / "consent.json").write_text(json.dumps(record))
    state = consent.status(home, policy)
    assert not state.current and any("the notice changed" in r for r in state.reasons), state.reasons


# ---------------------------------------------------------------- the command line on a real desktop

def _files(home: Path) -> dict[str, int]:
    return {str(p.relative_to(home)): p.stat().st_size for p in home.rglob("*") if p.is_file()} if home.exists() else {}


def test_record_refuses_without_consent_and_writes_nothing(desk, tmp_path):
    home = tmp_path / "home"
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    policy = _policy(tmp_path, '[apps]\nallow = ["mousepad"]\n')
    out = workprint("record", "--policy", str(policy), "--duration", "2", env=env, check=False)
    assert out.returncode == 3, out.stderr
    assert f"workprint consent accept --policy {policy}" in out.stderr and "Traceback" not in out.stderr
    assert not home.exists(), "a refused recording leaves no trace, not even its folder"
    # `accept` without an answer (no terminal) is a clear error, and agrees to nothing
    out = workprint("consent", "accept", "--policy", str(policy), env=env, check=False, input="")
    assert out.returncode == 2 and "type yes" in out.stderr and "--yes" in out.stderr
    assert not (home / "consent.json").exists()
    out = workprint("consent", "accept", "--policy", str(policy), env=env, check=False, input="no\n")
    assert out.returncode == 1 and not (home / "consent.json").exists()
    out = workprint("consent", "accept", "--policy", str(policy), env=env, input="yes\n")
    assert "Never to assess" in out.stdout and "consent recorded on this device" in out.stdout
    assert "you agreed to this policy" in workprint("consent", "show", "--policy", str(policy), env=env).stdout
    ok = workprint("record", "--policy", str(policy), "--duration", "1", "--quiet", env=env)
    assert len(workprint("sessions", "--json", env=env).stdout.strip().splitlines()) >= 1, ok.stderr


def test_widening_needs_a_new_agreement_and_narrowing_does_not(desk, tmp_path):
    home = tmp_path / "home"
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    sites = '[urls]\nallow = ["https://*.example.com/*"]\n'
    agreed = _policy(tmp_path, '[apps]\nallow = ["mousepad", "x*"]\ndeny = ["xterm"]\n' + sites, "agreed.toml")
    workprint("consent", "accept", "--yes", "--policy", str(agreed), env=env)
    before = _files(home)
    for text, why in (('[apps]\nallow = ["mousepad", "x*", "zenity"]\ndeny = ["xterm"]\n', "new app allowed: zenity"),
                      ('[apps]\nallow = ["mousepad", "x*"]\n', "app no longer denied: xterm"),
                      ('[apps]\ndeny = ["xterm"]\n', "allow-list was removed")):
        wider = _policy(tmp_path, text, "wider.toml")
        out = workprint("record", "--policy", str(wider), "--duration", "1", env=env, check=False)
        assert out.returncode == 3 and why in out.stderr, out.stderr
        assert "workprint consent accept --policy" in out.stderr
        assert _files(home) == before, "a refused recording writes nothing"
    narrower = _policy(tmp_path, '[apps]\nallow = ["mousepad", "xclock"]\ndeny = ["xterm", "chromium"]\n'
                       '[urls]\nallow = ["https://docs.example.com/*"]\n', "narrow.toml")
    out = workprint("record", "--policy", str(narrower), "--duration", "1", "--quiet", env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert (home / "sessions").is_dir() and any((home / "sessions").iterdir())
    wider = _policy(tmp_path, '[apps]\nallow = ["mousepad", "x*", "zenity"]\ndeny = ["xterm"]\n', "wider.toml")
    workprint("consent", "accept", "--yes", "--policy", str(wider), env=env)
    assert workprint("record", "--policy", str(wider), "--duration", "1", "--quiet", env=env,
                     check=False).returncode == 0, "agreeing again to the wider policy lets it record"


def test_withdraw_stops_a_running_recording_for_good(desk, tmp_path):
    home = tmp_path / "home"
    rec = Recording(desk, home)
    out = workprint("consent", "withdraw", env=rec.env)
    assert "stopped 1 running recording(s)" in out.stdout and "nothing was uploaded" not in out.stdout
    assert rec.proc.wait(timeout=60) == 0, "the recorder ended cleanly, keeping what it had"
    again = workprint("record", "--duration", "1", env=rec.env, check=False)
    assert again.returncode == 3 and "withdrawn" in again.stderr and "workprint consent accept" in again.stderr
    assert "no current agreement" in workprint("consent", "show", env=rec.env).stdout
    page = workprint("consent", "show", "--html", env=rec.env).stdout
    assert page.startswith("<!doctype html>") and "Never to assess" in page


def test_withdraw_stops_a_recording_started_with_the_workprint_command(desk, tmp_path):
    """As people start it: the `workprint` script (its path an argument of the interpreter), not
    `python -m workprint`."""
    script = Path(sys.executable).parent / "workprint"
    assert script.exists(), "the package's `workprint` command is installed next to this interpreter"
    home = tmp_path / "home"
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    workprint("consent", "accept", "--yes", env=env)
    proc = subprocess.Popen([str(script), "record", "--quiet"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: ready_file(home, proc.pid).exists() or proc.poll() is not None, 60, "the recorder ready")
        out = workprint("consent", "withdraw", env=env)
        assert "stopped 1 running recording(s)" in out.stdout, out.stdout
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_an_agent_run_records_only_with_consent_and_withdraw_ends_it(desk, tmp_path):
    """`agent run` records the person (their takeovers) in its own session, as `workprint record`
    does: the same refusal without an agreement, and withdrawal ends it."""
    home = tmp_path / "home"
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    policy = _policy(tmp_path, '[apps]\nallow = ["mousepad"]\n')

    def agent(url: str) -> list[str]:
        return ["agent", "run", "--task", "wait a little", "--model", url, "--policy", str(policy),
                "--max-steps", "500"]

    out = workprint(*agent("http://127.0.0.1:9/v1"), env=env, check=False)
    assert out.returncode == 3, out.stderr
    assert f"workprint consent accept --policy {policy}" in out.stderr and "Traceback" not in out.stderr
    assert not home.exists(), "a refused run leaves no trace"
    workprint("consent", "accept", "--yes", "--policy", str(policy), env=env)
    with ScriptedModelServer(["```python\ncomputer.wait(seconds=0.3)\n```"]) as server:
        run = subprocess.Popen([sys.executable, "-m", "workprint", *agent(server.url)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: len(server.requests) >= 2 or run.poll() is not None, 60, "the agent at work")
            assert run.poll() is None, run.communicate()[1]
            out = workprint("consent", "withdraw", env=env)
            assert "stopped 1 running recording(s)" in out.stdout, out.stdout
            _, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
    assert "workprint agent: stopped after" in err, err
    again = workprint(*agent("http://127.0.0.1:9/v1"), env=env, check=False)
    assert again.returncode == 3 and "withdrawn" in again.stderr, again.stderr


# ---------------------------------------------------------------- the collector

def _device(server: Server) -> dict:
    reply = httpx.post(f"{server.url}/v1/devices", json={"code": server.code(), "contributor": "c-0000000000c1"})
    return {"Authorization": "Bearer " + reply.json()["device_token"]}


def test_the_collector_refuses_uploads_without_consent(server):
    device = _device(server)
    png = b"\x89PNG a frame"
    digest = __import__("hashlib").sha256(png).hexdigest()
    manifest = {"meta": {}, "actions": [{"type": "click", "x": 1, "y": 2, "t": 0.5, "t_end": 0.6, "screen": {"w": 1920, "h": 1080}, "frame": "0" * 32}], "frames": {"0" * 32: digest}}
    sid = "20261123-101500-c0c0c0"
    for method, path, kwargs in (("POST", "/v1/blobs/missing", {"json": {"digests": [digest]}}),
                                 ("PUT", f"/v1/blobs/{digest}", {"content": png}),
                                 ("PUT", f"/v1/sessions/{sid}", {"json": manifest})):
        reply = httpx.request(method, server.url + path, headers=device, **kwargs)
        assert reply.status_code == 403 and "workprint consent accept" in reply.json()["detail"], reply.text
    assert not [p for p in (server.data / "blobs").rglob("*") if p.is_file()], "nothing stored"
    server.agree(device)
    assert httpx.put(f"{server.url}/v1/blobs/{digest}", content=png, headers=device).status_code == 201
    assert httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest, headers=device).status_code == 201
    curator = server.token("curator")
    listed = httpx.get(f"{server.url}/v1/consent/sessions", headers=curator)
    assert listed.json()["sessions"] == [{"session": sid, "consent": "current", "notice_version": 1,
                                          "policy_hash": "b" * 64}]
    assert "p-" not in listed.text, "a curator sees that a session has consent, not whose it is"
    assert httpx.get(f"{server.url}/v1/consent/sessions", headers=device).status_code == 403
    assert httpx.get(f"{server.url}/v1/consent/sessions", headers=server.token("trainer")).status_code == 403
    withdrawn = httpx.post(f"{server.url}/v1/consent/withdraw", json={"erase": False}, headers=device)
    assert withdrawn.json()["deleted_sessions"] == 0
    reply = httpx.put(f"{server.url}/v1/sessions/{sid}", json=manifest, headers=device)
    assert reply.status_code == 403 and "consent" in reply.json()["detail"]
    assert httpx.get(f"{server.url}/v1/consent/sessions", headers=curator).json()["sessions"][0]["consent"] == "withdrawn"
    entries = httpx.get(f"{server.url}/v1/audit", headers=server.token("auditor")).json()["entries"]
    actions = [(e["action"], e["outcome"]) for e in entries]
    assert ("upload", "refused: no consent") in actions and ("accept consent", "ok") in actions
    assert ("withdraw consent", "ok") in actions


def test_withdraw_with_erase_removes_everything_on_both_sides(desk, server, tmp_path):
    home = tmp_path / "home"
    policy = _policy(tmp_path, '[apps]\nallow = ["mousepad"]\n')
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    time.sleep(1.0)
    desk.activate(pad)
    rec = Recording(desk, home, policy)
    for word in ("erase", "me"):  # each its own typing run
        desk.xdotool("type", "--delay", 40, word)
        wait_logged(home, rec.session, has_event("typed", text=word), f"the typing run {word!r}")
    code, out, err = rec.stop()
    assert code == 0, err
    session, env = out.strip().splitlines()[-1], rec.env
    workprint("enrol", server.url, server.code(), env=env)
    workprint("review", "--approve", session, env=env)
    refused = workprint("upload", session, env=env, check=False)
    assert refused.returncode == 2 and "workprint consent accept" in refused.stderr, \
        "enrolling is not agreeing to send: the collector refuses until the person agrees again"
    assert httpx.put(f"{server.url}/v1/retention", json={"days": 30}, headers=server.admin).status_code == 200
    notice = workprint("consent", "show", "--policy", str(policy), env=env).stdout
    assert server.url in notice and "curator:" in notice and "deleted automatically 30 days after upload" in notice
    workprint("consent", "accept", "--yes", "--policy", str(policy), env=env)
    workprint("upload", env=env)
    curator = server.token("curator")
    assert httpx.get(f"{server.url}/v1/sessions/{session}", headers=curator).status_code == 200
    frames = [p for p in (server.data / "blobs").rglob("*") if p.is_file()]
    assert frames, "the session's frames reached the collector"
    local_frames = json.loads(workprint("sessions", "--json", env=env).stdout.splitlines()[0])["frames"]
    assert local_frames > 0

    out = workprint("consent", "withdraw", "--erase", env=env)
    assert f"removed at the collector {server.url}: 1 session(s), {len(frames)} frame(s)" in out.stdout, out.stdout
    assert f"removed on this device: 1 session(s), {local_frames} frame(s)" in out.stdout, out.stdout
    # the device
    assert not any((home / "sessions").iterdir()), "the sessions are gone from the device"
    assert workprint("sessions", env=env).stdout.startswith("no sessions yet")
    # the collector
    assert httpx.get(f"{server.url}/v1/sessions/{session}", headers=curator).status_code == 404
    assert not [p for p in (server.data / "blobs").rglob("*") if p.is_file()], "the frames are gone"
    assert httpx.get(f"{server.url}/v1/datasets/steps", headers=server.token("trainer")).json()["steps"] == []
    auditor = server.token("auditor")
    entries = httpx.get(f"{server.url}/v1/audit", headers=auditor).json()["entries"]
    pseudonym = next(e["actor"] for e in entries if e["action"] == "enrol device")
    assert {"withdraw consent", "erasure request"} <= {e["action"] for e in entries if e["actor"] == pseudonym}
    assert any(e["action"] == "erasure" and e["outcome"].startswith(f"1 sessions, {len(frames)} frames deleted")
               for e in entries), "the audit says what the erasure removed"
    assert httpx.get(f"{server.url}/v1/audit/verify", headers=auditor).json()["intact"]
    # and afterwards: nothing is recorded, nothing is accepted
    again = workprint("record", "--policy", str(policy), "--duration", "1", env=env, check=False)
    assert again.returncode == 3 and "withdrawn" in again.stderr
    from workprint.upload.client import load_enrolment

    token = {"Authorization": "Bearer " + load_enrolment(home)["token"]}
    reply = httpx.post(f"{server.url}/v1/blobs/missing", json={"digests": []}, headers=token)
    # Erasure also revokes the device's token (the erased person cannot upload again without enrolling anew).
    assert reply.status_code == 401, "a later upload is refused"


def test_an_erasure_that_did_not_reach_the_collector_is_not_forgotten(server, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    workprint("enrol", server.url, server.code(), env=env)
    workprint("consent", "accept", "--yes", env=env)
    server.kill()
    out = workprint("consent", "withdraw", "--erase", env=env, check=False)
    assert out.returncode == 2 and "run `workprint consent withdraw --erase` again" in out.stderr, out.stderr
    assert "has not reached the collector yet" in workprint("consent", "show", env=env).stdout
    again = workprint("consent", "accept", "--yes", env=env, check=False)
    assert again.returncode == 2 and "has not reached the collector yet" in again.stderr, again.stderr
    server.start()
    out = workprint("consent", "withdraw", "--erase", env=env)
    assert f"removed at the collector {server.url}: 0 session(s)" in out.stdout, out.stdout
    assert "has not reached the collector" not in workprint("consent", "show", env=env).stdout
    auditor = server.token("auditor")
    entries = httpx.get(f"{server.url}/v1/audit", headers=auditor).json()["entries"]
    assert [e["action"] for e in entries].count("erasure request") == 1


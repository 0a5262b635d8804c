"""Consent (DESIGN.md, Consent): the notice, the agreement on record, refusal with exit 3 that
writes nothing, re-consent on widening only, the collector's refusal, and withdrawal that erases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Recording, has_event, wait_logged, workprint
from tests.test_collector import Server, server  # noqa: F401  (the real `workprint serve` fixture)
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
    # a deny entry dropped together with the only allow pattern that could match it records nothing new
    assert widenings(_scope(allow_apps=("mousepad", "slack"), deny_apps=("slack",)),
                     _scope(allow_apps=("mousepad",))) == []
    # allowing a built-in denied app changes nothing: the built-in deny-list wins
    assert widenings(_scope(allow_apps=("mousepad",)), _scope(allow_apps=("mousepad", "keepassxc"))) == []
    assert widenings(agreed, agreed) == []


# ---------------------------------------------------------------- the notice and the record

def test_the_notice_says_what_where_who_how_long_and_never_to_assess(tmp_path):
    policy = Policy.load(_policy(tmp_path, '[apps]\nallow = ["mousepad"]\ndeny = ["slack"]\n'))
    local = build_notice(policy, Destination()).text()
    for words in ("mousepad", "keepassxc", "slack", "incognito", "screenshots", "[EMAIL]",
                  "Nothing leaves this device", "Never to assess", "workprint pause",
                  "workprint consent withdraw --erase", "until you delete it"):
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
    agreed = _policy(tmp_path, '[apps]\nallow = ["mousepad", "x*"]\ndeny = ["xterm"]\n', "agreed.toml")
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
    narrower = _policy(tmp_path, '[apps]\nallow = ["mousepad", "xclock"]\ndeny = ["xterm", "chromium"]\n',
                       "narrow.toml")
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

    out = workprint("consent", "withdraw", "--erase", env=env)
    assert f"removed at the collector {server.url}: 1 session(s), {len(frames)} frame(s)" in out.stdout, out.stdout
    assert "removed on this device: 1 session(s)" in out.stdout
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

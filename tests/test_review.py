"""The review page: look, approve, delete a session or a time range — deleted data is gone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx

from tests.conftest import Recording, _free_port, actions_json, has_event, wait_logged, wait_until, workprint
from workprint.store import SessionReader


def _record(desk, home, words):
    rec = Recording(desk, home)
    for word in words:  # each its own typing run
        desk.xdotool("type", "--delay", 40, word)
        wait_logged(home, rec.session, has_event("typed", text=word), f"the typing run {word!r}")
    code, out, err = rec.stop()
    assert code == 0, err
    return rec.env, out.strip().splitlines()[-1]


def test_review_page_approves_and_deletes(desk, home):
    desk.spawn(["mousepad"])
    wid = desk.wait_window("mousepad")
    time.sleep(1.0)
    desk.activate(wid)
    env, session = _record(desk, home, ["alpha", "bravo", "charlie"])
    _, doomed = _record(desk, home, ["delta"])
    typed = {a["text"]: a for a in actions_json(env, session) if a["type"] == "type"}
    assert set(typed) >= {"alpha", "bravo", "charlie"}
    port = _free_port()
    page = subprocess.Popen([sys.executable, "-m", "workprint", "review", "--no-browser", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = page.stdout.readline().split()[2]
        def answer() -> httpx.Response | None:
            try:
                return httpx.get(url, timeout=2)
            except httpx.HTTPError:
                return None

        index = wait_until(answer, 20, "the review page answering")
        assert session in index.text and doomed in index.text and "not reviewed" in index.text
        assert httpx.get(url.replace(url.split("/")[3], "wrong-token")).status_code == 404, "the page needs its token"
        replay = httpx.get(f"{url}session/{session}", timeout=120)
        assert "Replay of session" in replay.text
        bravo = typed["bravo"]
        csrf = re.search(r'name=csrf value="([^"]+)"', index.text).group(1)
        httpx.post(f"{url}session/{session}/delete-range",
                   data={"start": bravo["t"] - 0.05, "end": bravo["t_end"] + 0.05, "csrf": csrf})
        httpx.post(f"{url}session/{doomed}/delete", data={"csrf": csrf})
        httpx.post(f"{url}session/{session}/approve", data={"csrf": csrf})
        index = httpx.get(url).text
    finally:
        page.terminate()
        page.wait()
    assert doomed not in index and "approved" in index
    assert not (home / "sessions" / doomed).exists(), "a deleted session is gone from disk"
    assert doomed not in workprint("sessions", env=env).stdout
    texts = [a["text"] for a in actions_json(env, session) if a["type"] == "type"]
    assert "alpha" in texts and "charlie" in texts and "bravo" not in texts
    dump = json.dumps(SessionReader(home, session).events())
    assert "bravo" not in dump, "the deleted range is gone from the store, not hidden"
    assert json.loads((home / "review.json").read_text())["approved"] == [session]


BROWSER_SPY = """
import pathlib, re, sys, time, urllib.request
out = pathlib.Path(sys.argv[1])
out.write_text(repr(sys.argv[2:]) + "\\n")
target = sys.argv[2]
page = pathlib.Path(target.removeprefix("file://")).read_text() if target.startswith("file://") else ""
url = re.search(r'url=([^"]+)"', page).group(1) if "url=" in page else target
with urllib.request.urlopen(url, timeout=5) as reply:  # the page answers while the browser command runs
    out.write_text(out.read_text() + str(reply.status) + "\\n")
time.sleep(3)
"""


def test_review_page_refuses_other_origins_and_keeps_its_secret_off_the_command_line(home, tmp_path):
    from workprint.store import Catalog, SessionWriter

    SessionWriter(home, "20261123-101500-a1b2c3", {"started_at": "2026-11-23T10:15:00+00:00"}).close()
    Catalog(home).add("20261123-101500-a1b2c3", "2026-11-23T10:15:00+00:00")
    spy, seen = tmp_path / "browser.py", tmp_path / "browser-argv.txt"
    spy.write_text(BROWSER_SPY)
    port = _free_port()
    env = {**os.environ, "WORKPRINT_HOME": str(home), "BROWSER": f"{sys.executable} {spy} {seen} %s"}
    page = subprocess.Popen([sys.executable, "-m", "workprint", "review", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = page.stdout.readline().split()[2]
        token = url.split("/")[3]
        wait_until(lambda: seen.exists() and len(seen.read_text().splitlines()) >= 2, 20,
                   "the browser command being run and fetching the page")
        argv, status = seen.read_text().splitlines()
        assert token not in argv, "the page's secret is on the browser's command line"
        assert status == "200", "the page answers while the browser command runs"
        index = httpx.get(url)
        csrf = re.search(r'name=csrf value="([^"]+)"', index.text).group(1)
        approve = f"{url}session/20261123-101500-a1b2c3/approve"
        # DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header keeps the name.
        assert httpx.get(url, headers={"Host": f"attacker.example:{port}"}).status_code == 421
        assert httpx.post(approve, data={"csrf": csrf}, headers={"Host": f"attacker.example:{port}"}).status_code == 421
        assert httpx.post(approve, data={"csrf": csrf}, headers={"Origin": "http://evil.example"}).status_code == 403
        assert httpx.post(approve, data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert httpx.post(approve, data={}).status_code == 403, "a change without the page's CSRF token"
        assert httpx.post(approve, data={"csrf": "guess"}).status_code == 403
        assert not (home / "review.json").exists() or "a1b2c3" not in (home / "review.json").read_text()
        same = httpx.post(approve, data={"csrf": csrf}, headers={"Origin": f"http://127.0.0.1:{port}"})
        assert same.status_code == 303
        cut = f"{url}session/20261123-101500-a1b2c3/delete-range"
        assert httpx.post(cut, data={"start": "nan", "end": "nan", "csrf": csrf}).status_code == 422, \
            "a range that is not a number is refused, not recorded as deleted"
        # A session a recorder is still writing: deleting it, or a range of it, waits until it stops.
        live = SessionWriter(home, "20261123-101600-d4e5f6", {"started_at": "2026-11-23T10:16:00+00:00"})
        Catalog(home).add(live.session_id, "2026-11-23T10:16:00+00:00")
        try:
            for action, data in (("delete", {}), ("delete-range", {"start": 0, "end": 1})):
                reply = httpx.post(f"{url}session/{live.session_id}/{action}", data={**data, "csrf": csrf})
                assert reply.status_code == 409 and "being recorded" in reply.text, (action, reply.text)
            assert (home / "sessions" / live.session_id / "key.wrapped").exists()
        finally:
            live.close()
    finally:
        page.terminate()
        page.wait()
    assert json.loads((home / "review.json").read_text())["approved"] == ["20261123-101500-a1b2c3"]
    assert (home / "review.html").stat().st_mode & 0o077 == 0


def test_a_torn_review_state_is_a_clear_error_not_a_traceback(home):
    from workprint.store import Catalog, SessionWriter
    from workprint.upload.client import save_enrolment, save_review_state

    env = {**os.environ, "WORKPRINT_HOME": str(home)}
    SessionWriter(home, "20261123-101500-a1b2c3", {"started_at": "2026-11-23T10:15:00+00:00"}).close()
    Catalog(home).add("20261123-101500-a1b2c3", "2026-11-23T10:15:00+00:00")
    workprint("consent", "accept", "--yes", env=env)  # uploads need a consent in force
    save_enrolment(home, "http://127.0.0.1:9", "token", "p-1")
    save_review_state(home, {"approved": ["20261123-101500-a1b2c3"], "uploaded": {}})
    assert (home / "review.json").stat().st_mode & 0o077 == 0
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    whole = (home / "review.json").read_bytes()
    (home / "review.json").write_bytes(whole[: len(whole) // 2])  # what a crash mid-write used to leave
    for args in (["upload"], ["review", "--approve", "20261123-101500-a1b2c3"],
                 ["review", "--no-browser", "--port", str(_free_port())]):
        out = workprint(*args, env=env, check=False)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr and "review.json is damaged" in out.stderr, out.stderr
    # Torn while the review page is open: the page says so, and nothing prints a traceback.
    save_review_state(home, {"approved": [], "uploaded": {}})
    page = subprocess.Popen([sys.executable, "-m", "workprint", "review", "--no-browser", "--port", str(_free_port())],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = page.stdout.readline().split()[2]
        wait_until(lambda: _answers(url), 20, "the review page answering")
        (home / "review.json").write_bytes(whole[: len(whole) // 2])
        reply = httpx.get(url)
        assert reply.status_code == 500 and "review.json is damaged" in reply.text, reply.text
    finally:
        page.terminate()
        _, err = page.communicate(timeout=20)
    assert "Traceback" not in err, err


def _answers(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None

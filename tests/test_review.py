"""The review page: look, approve, delete a session or a time range — deleted data is gone."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from tests.conftest import Recording, _free_port, actions_json, workprint
from workprint.store import SessionReader


def _record(desk, home, words):
    rec = Recording(desk, home)
    for word in words:
        desk.xdotool("type", "--delay", 40, word)
        time.sleep(1.4)
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
        for _ in range(50):
            try:
                index = httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert session in index.text and doomed in index.text and "not reviewed" in index.text
        assert httpx.get(url.replace(url.split("/")[3], "wrong-token")).status_code == 404, "the page needs its token"
        replay = httpx.get(f"{url}session/{session}", timeout=120)
        assert "Replay of session" in replay.text
        bravo = typed["bravo"]
        httpx.post(f"{url}session/{session}/delete-range", data={"start": bravo["t"] - 0.05, "end": bravo["t_end"] + 0.05})
        httpx.post(f"{url}session/{doomed}/delete")
        httpx.post(f"{url}session/{session}/approve")
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

"""Adversarial: a password typed into a real password field or prompt is stored nowhere."""

from __future__ import annotations

import json
import time

from tests.conftest import Recording, actions_json, has_event, wait_logged, workprint
from workprint.store import SessionReader

FORM_SECRET = "PW-SECRET-9876"
PROMPT_SECRET = "PROMPT-SECRET-5555"


def _everything(home, session, env, tmp_path) -> str:
    """Every output a password could leak into: store, actions, and an export."""
    reader = SessionReader(home, session)
    parts = [json.dumps(reader.events()), json.dumps(actions_json(env, session))]
    out = tmp_path / "export"
    workprint("export", session, "--format", "chat", "--out", str(out), "--quiet", env=env)
    parts += [p.read_text(errors="replace") for p in out.rglob("*.jsonl")]
    parts += [p.read_bytes().decode("latin-1") for p in (home / "sessions").rglob("*") if p.is_file()]
    return "\n".join(parts)


def test_password_field_of_a_form_keeps_no_keystrokes(desk, home, tmp_path):
    desk.spawn(["zenity", "--forms", "--title", "Sign in", "--add-entry", "Login", "--add-password", "Password"])
    wid = desk.wait_window("zenity")
    time.sleep(1.5)
    rec = Recording(desk, home)
    desk.activate(wid)
    desk.xdotool("type", "--delay", 60, "alice42")
    wait_logged(home, rec.session, has_event("typed"), "the login typed")
    desk.xdotool("key", "Tab")
    time.sleep(0.5)  # the accessibility bus tells the recorder the password field has focus
    desk.xdotool("type", "--delay", 60, FORM_SECRET)
    wait_logged(home, rec.session, has_event("secure_input"), "the secure field's use written")
    desk.xdotool("key", "Escape")
    code, out, err = rec.stop()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    texts = [a.get("text") for a in actions_json(rec.env, session) if a["type"] == "type"]
    assert "alice42" in texts, "typing outside the password field is recorded"
    kinds = [e["kind"] for e in SessionReader(home, session).events()]
    assert "secure_input" in kinds, "the use of a secure field is recorded, without content"
    everything = _everything(home, session, rec.env, tmp_path)
    for fragment in (FORM_SECRET, "SECRET-9876", "9876"):
        assert fragment not in everything


def test_password_prompt_is_not_recorded_at_all(desk, home, tmp_path):
    desk.spawn(["zenity", "--password", "--title", "[sudo] password for alice"])
    wid = desk.wait_window("zenity")
    time.sleep(1.0)
    rec = Recording(desk, home)
    desk.activate(wid)
    desk.xdotool("type", "--delay", 60, PROMPT_SECRET)
    desk.xdotool("key", "Return")
    time.sleep(1.5)
    code, out, err = rec.stop()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    everything = _everything(home, session, rec.env, tmp_path)
    assert PROMPT_SECRET not in everything and "5555" not in everything
    assert not [a for a in actions_json(rec.env, session) if a.get("app") == "zenity"]

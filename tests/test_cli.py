"""The command line contract of DESIGN.md, and its errors for people."""

from __future__ import annotations

import os

from tests.conftest import workprint


def test_help_teaches_the_commands(env):
    out = workprint("--help", env=env).stdout
    for command in ("record", "sessions", "actions", "pause", "resume", "redact"):
        assert command in out
    assert "workprint actions latest" in out


def test_record_without_a_display_says_what_to_do(env):
    no_display = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    workprint("consent", "accept", "--yes", env=no_display)
    out = workprint("record", "--duration", "1", env=no_display, check=False)
    assert out.returncode == 2
    assert "DISPLAY is not set" in out.stderr and "make demo" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_policy_is_reported_before_recording(env, tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("[apps]\nallow = 3\n")
    out = workprint("record", "--policy", str(policy), env={**env, "DISPLAY": ":999"}, check=False)
    assert out.returncode == 2 and "must be a list of strings" in out.stderr


def test_actions_of_unknown_sessions(env):
    out = workprint("actions", "latest", env=env, check=False)
    assert out.returncode == 2 and "no sessions yet" in out.stderr
    assert workprint("sessions", env=env).stdout.startswith("no sessions yet")


def test_pause_and_resume_toggle_a_flag_the_recorder_reads(env, home):
    workprint("pause", env=env)
    assert (home / "paused").exists()
    workprint("resume", env=env)
    assert not (home / "paused").exists()
    assert os.stat(home).st_mode & 0o077 == 0, "WORKPRINT_HOME is private to its owner"

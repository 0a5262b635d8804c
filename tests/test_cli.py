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


def test_pause_with_no_recording_says_the_next_one_starts_paused(env, home):
    out = workprint("pause", env=env).stdout
    assert "no recording is running" in out and "next `workprint record`" in out
    workprint("resume", env=env)


def test_every_command_says_what_it_does_in_its_own_help(env):
    """`workprint CMD --help` is where a person looks first: each command (and subcommand)
    explains itself there, not only in the one-line list of `workprint --help`."""
    from workprint.cli import build_parser

    def commands(parser, path=()):
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    yield (*path, name), sub
                    yield from commands(sub, (*path, name))

    found = list(commands(build_parser()))
    assert len(found) > 25
    vague = [" ".join(p) for p, sub in found if not sub.description and not sub.epilog]
    assert not vague, f"commands whose --help says only their flags: {vague}"
    bare = [f"{' '.join(p)} {a.option_strings or a.dest}" for p, sub in found for a in sub._actions
            if not a.help and a.dest != "help" and a.__class__.__name__ != "_SubParsersAction"]
    assert not bare, f"arguments without a help text: {bare}"


def test_a_mistyped_command_line_names_the_choices_and_where_the_options_are_explained(env, tmp_path):
    bad_format = workprint("export", "--format", "parquet", "--out", str(tmp_path / "o"), env=env, check=False)
    assert bad_format.returncode == 2 and "'hf'" in bad_format.stderr and "'opencua'" in bad_format.stderr
    assert "`workprint export --help` explains its options" in bad_format.stderr
    no_model = workprint("agent", "run", "--task", "Write a note", env=env, check=False)
    assert no_model.returncode == 2 and "--model" in no_model.stderr
    assert "`workprint agent run --help` explains its options" in no_model.stderr
    assert "Traceback" not in bad_format.stderr + no_model.stderr

"""Tasks marked while recording become episodes with the contributor's instruction."""

from __future__ import annotations

import time

from tests.conftest import Recording, has_event, wait_logged, workprint


def test_marked_task_becomes_an_episode_ending_with_done(desk, home, tmp_path):
    from datasets import load_dataset

    desk.spawn(["mousepad"])
    wid = desk.wait_window("mousepad")
    time.sleep(1.0)
    rec = Recording(desk, home)
    desk.activate(wid)
    workprint("task", "start", "Write a greeting to jane@example.com", env=rec.env)
    wait_logged(home, rec.session, has_event("task_start"), "task_start")
    desk.xdotool("type", "--delay", 50, "Good morning")
    wait_logged(home, rec.session, has_event("typed", text="Good morning"), "typed")
    workprint("task", "end", env=rec.env)
    wait_logged(home, rec.session, has_event("task_end"), "task_end")
    desk.xdotool("key", "Return")
    wait_logged(home, rec.session, has_event("key_down", key="enter"), "key_down")
    code, out, err = rec.stop()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    workprint("export", session, "--format", "hf", "--out", str(tmp_path / "ds"), "--quiet", env=rec.env)
    ds = load_dataset("parquet", data_files={"train": str(tmp_path / "ds" / "data" / "train" / "*.parquet")})["train"]
    rows = list(zip(ds["instruction"], ds["instruction_source"], ds["action_type"]))
    assert ("Write a greeting to [EMAIL]", "contributor", "type") in rows, rows
    assert ("Write a greeting to [EMAIL]", "contributor", "done") in rows
    assert ("", "none", "key") in rows, "after the task, actions are unmarked and carry no instruction"
    done = [c for c, t in zip(ds["code"], ds["action_type"]) if t == "done"]
    assert done == ["computer.terminate(status='success')"]


def test_task_needs_a_running_recording(env):
    out = workprint("task", "start", "anything", env=env, check=False)
    assert out.returncode == 2 and "no recording is running" in out.stderr

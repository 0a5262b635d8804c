"""`workprint eval run` against a real OpenAI-compatible server on 127.0.0.1 with a fixed policy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict

from tests.conftest import _free_port, wait_until, workprint
from tests.evalset import index_of_png, make_set
from workprint.demo.model_server import Scripted, ScriptedModelServer, request_images
from workprint.process.pyautogui_code import to_code


def _right(index: int, step: dict) -> bool:
    """The policy's own knowledge of where it is right: even steps, except navigate (pyautogui cannot say it)."""
    return index % 2 == 0 and step["interaction"] != "navigate"


def _answer(step: dict, right: bool) -> str:
    gold = step["gold"]
    if not right:
        return "Thought: not sure.\n```python\npyautogui.click(x=5, y=5)\n```"
    if step["interaction"] in ("select", "menu"):
        x, y, w, h = step["target"]["bbox"]
        code = f"pyautogui.click(x={x + w // 2}, y={y + h // 2})"
    elif gold["type"] == "done":
        code = "computer.terminate(status='success')"
    else:
        code = to_code(gold)
    return f"Thought: I see it.\n```python\n{code}\n```"


def _policy(steps: list[dict], delay: float = 0.0):
    def reply(request: dict):
        index = index_of_png(request_images(request)[0])
        return Scripted(content=_answer(steps[index], _right(index, steps[index])), delay=delay)
    return reply


def _expected(steps: list[dict]) -> dict[str, float]:
    by = defaultdict(list)
    for i, s in enumerate(steps):
        by[s["interaction"]].append(_right(i, s))
    return {k: sum(v) / len(v) for k, v in by.items()}


def test_every_step_is_asked_with_its_image_and_scored_per_type(tmp_path, env):
    steps = make_set(tmp_path / "set", repeat=3)
    with ScriptedModelServer(_policy(steps)) as server:
        out = workprint("eval", "run", str(tmp_path / "set"), "--model", server.url, "--concurrency", "4",
                        "--out", str(tmp_path / "r"), "--quiet", env=env)
        asked = sorted(index_of_png(request_images(r)[0]) for r in server.requests)
    assert asked == list(range(len(steps))), "each step once, each with its own frame"
    first = server.requests[0]
    text = first["messages"][1]["content"][0]["text"]
    index = index_of_png(request_images(first)[0])
    assert steps[index]["instruction"] in text
    assert all(h in text for h in steps[index]["history"])
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    expected = _expected(steps)
    assert {k: v["step_success"] for k, v in results["by_interaction"].items()} == \
        {k: round(v, 6) for k, v in expected.items()}
    assert "click_radius=0.04" in out.stdout
    predictions = [json.loads(line) for line in (tmp_path / "r" / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["id"] for p in predictions) == sorted(s["id"] for s in steps)
    assert all(p["model"] == "scripted-model" and "reply" in p for p in predictions)
    assert (tmp_path / "r" / "report.html").stat().st_size > 1000


def test_tools_format_and_unusable_replies(tmp_path, env):
    steps = make_set(tmp_path / "set")

    def reply(request: dict):
        assert request.get("tools"), "the tools of the vocabulary are offered"
        index = index_of_png(request_images(request)[0])
        step = steps[index]
        if step["interaction"] == "select":
            return {"tool_calls": [{"function": {"name": "select", "arguments": json.dumps({"label": "large"})}}]}
        if step["interaction"] == "navigate":
            return {"tool_calls": [{"function": {"name": "navigate",
                                                 "arguments": json.dumps({"url": "https://example.com/a?q=1"})}}]}
        return "I would rather not."  # no tool call: retried once, then recorded as unusable

    with ScriptedModelServer(reply) as server:
        workprint("eval", "run", str(tmp_path / "set"), "--model", server.url, "--format", "tools",
                  "--out", str(tmp_path / "r"), "--quiet", env=env)
        assert len(server.requests) == 2 * len(steps) - 2  # one retry for each unusable answer
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["by_interaction"]["select"]["step_success"] == 1.0
    assert results["by_interaction"]["navigate"]["step_success"] == 1.0
    assert results["overall"]["unusable"] == len(steps) - 2


def test_a_killed_run_resumes_without_asking_again(tmp_path, env):
    steps = make_set(tmp_path / "set", repeat=4)
    results_dir = tmp_path / "r"
    with ScriptedModelServer(_policy(steps, delay=0.1)) as server:
        argv = [sys.executable, "-m", "workprint", "eval", "run", str(tmp_path / "set"), "--model", server.url,
                "--concurrency", "2", "--out", str(results_dir), "--quiet"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        predictions = results_dir / "predictions.jsonl"
        wait_until(lambda: predictions.exists() and predictions.read_text().count("\n") >= 12, 60,
                   "12 predictions written")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done_first = {json.loads(line)["id"] for line in predictions.read_text().splitlines() if line.endswith("}")}
        assert 12 <= len(done_first) < len(steps), "killed midway"
        mark = len(server.requests)
        out = workprint("eval", "run", str(tmp_path / "set"), "--model", server.url, "--concurrency", "2",
                        "--out", str(results_dir), "--quiet", env=env)
        asked_again = {steps[index_of_png(request_images(r)[0])]["id"] for r in server.requests[mark:]}
    assert not asked_again & done_first, "steps answered before the kill are not asked again"
    assert "resumed" in out.stderr
    ids = [json.loads(line)["id"] for line in predictions.read_text().splitlines()]
    assert sorted(ids) == sorted(s["id"] for s in steps), "every step exactly once"
    results = json.loads((results_dir / "results.json").read_text())
    assert {k: v["step_success"] for k, v in results["by_interaction"].items()} == \
        {k: round(v, 6) for k, v in _expected(steps).items()}


def test_an_endpoint_that_does_not_answer(tmp_path, env):
    make_set(tmp_path / "set")
    port = _free_port()
    out = workprint("eval", "run", str(tmp_path / "set"), "--model", f"http://127.0.0.1:{port}/v1", "--retries", "1",
                    "--model-name", "m", "--out", str(tmp_path / "r"), "--quiet", env=env, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cannot reach" in out.stderr and "tried 2 times" in out.stderr and "resume" in out.stderr
    with ScriptedModelServer([Scripted(status=503)]) as server:
        out = workprint("eval", "run", str(tmp_path / "set"), "--model", server.url, "--retries", "2",
                        "--out", str(tmp_path / "r2"), "--quiet", env=env, check=False)
        assert out.returncode == 2 and "HTTP 503" in out.stderr
        assert len(server.requests) == 3, "bounded retries"
    out = workprint("eval", "run", str(tmp_path / "set"), "--out", str(tmp_path / "r3"), env=env, check=False)
    assert out.returncode == 2 and "--baseline" in out.stderr


def test_baselines_give_the_scale(tmp_path, env):
    steps = make_set(tmp_path / "set", repeat=2)
    for name in ("random", "center", "repeat"):
        workprint("eval", "run", str(tmp_path / "set"), "--baseline", name, "--out", str(tmp_path / name),
                  "--quiet", env=env)
    center = json.loads((tmp_path / "center" / "results.json").read_text())
    # The centre (500, 400) is the gold point of one of the two unboxed clicks: half the clicks.
    assert center["by_interaction"]["click"]["step_success"] == 0.5
    assert center["by_interaction"]["click"]["type_match"] == 1.0
    repeat = json.loads((tmp_path / "repeat" / "results.json").read_text())
    assert repeat["by_interaction"]["type"]["type_match"] == 0.0  # typing opens e2: nothing to repeat
    workprint("eval", "run", str(tmp_path / "set"), "--baseline", "random", "--out", str(tmp_path / "random2"),
              "--quiet", env=env)
    assert (tmp_path / "random" / "predictions.jsonl").read_text() == \
        (tmp_path / "random2" / "predictions.jsonl").read_text(), "seeded"
    assert len(steps) == len((tmp_path / "random" / "predictions.jsonl").read_text().splitlines())


def test_a_results_folder_holds_one_run(tmp_path, env):
    make_set(tmp_path / "set")
    workprint("eval", "run", str(tmp_path / "set"), "--baseline", "center", "--out", str(tmp_path / "r"), "--quiet",
              env=env)
    out = workprint("eval", "run", str(tmp_path / "set"), "--baseline", "random", "--out", str(tmp_path / "r"),
                    "--quiet", env=env, check=False)
    assert out.returncode == 2 and "another run" in out.stderr and "another --out" in out.stderr


def test_steps_sharing_a_frame_encode_it_once(tmp_path, monkeypatch):
    """A typing run shares one frame; asked together at concurrency 8, its resize and PNG encoding
    (the cost of a step) happens once, and every step still gets that frame."""
    import time

    from workprint.evals import RunOptions, load_steps, run_eval
    from workprint.evals import run as run_module

    steps = make_set(tmp_path / "set", repeat=3)  # 42 steps
    rows = [json.loads(line) for line in (tmp_path / "set" / "steps.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        row["image"] = f"images/{(i // 6) * 6}.png"  # 6 steps per frame, 7 frames
    (tmp_path / "set" / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    encoded = []
    real = run_module.encode_png

    def counting(image, fit=None):
        encoded.append(index_of_png(image))
        time.sleep(0.2)  # as slow as a 1080p frame on a busy machine: the steps sharing it overlap
        return real(image, fit)

    monkeypatch.setattr(run_module, "encode_png", counting)
    with ScriptedModelServer(["```python\npyautogui.click(x=0.5, y=0.5)\n```"]) as server:
        run_eval(tmp_path / "set", load_steps(tmp_path / "set"), tmp_path / "r",
                 RunOptions(model=server.url, model_name="m", concurrency=8, image_size="500"), progress=False)
        sent = sorted(index_of_png(request_images(r)[0]) for r in server.requests)
    assert sorted(encoded) == [i * 6 for i in range(7)], "each distinct frame encoded once"
    assert sent == sorted((i // 6) * 6 for i in range(len(steps))), "each step asked with its own frame"


def test_ctrl_c_keeps_the_answers_under_way_and_resumes(tmp_path, env):
    """Ctrl-C stops a run without a traceback; every step the server was asked is written (the
    answers under way are waited for), so the rerun asks only the others."""
    steps = make_set(tmp_path / "set", repeat=3)
    results_dir = tmp_path / "r"
    predictions = results_dir / "predictions.jsonl"
    with ScriptedModelServer(_policy(steps, delay=0.5)) as server:
        argv = [sys.executable, "-m", "workprint", "eval", "run", str(tmp_path / "set"), "--model", server.url,
                "--concurrency", "3", "--out", str(results_dir), "--quiet"]
        # SIGINT as a terminal's Ctrl-C sends it (not ignored, as it would be for a background job).
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        wait_until(lambda: predictions.exists() and predictions.read_text().count("\n") >= 4, 60,
                   "4 predictions written")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        asked = {steps[index_of_png(request_images(r)[0])]["id"] for r in server.requests}
        written = [json.loads(line)["id"] for line in predictions.read_text().splitlines()]
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert "interrupted" in err and "resume" in err
        assert sorted(written) == sorted(asked) and len(asked) < len(steps), "every step asked is kept, once"
        mark = len(server.requests)
        workprint("eval", "run", str(tmp_path / "set"), "--model", server.url, "--concurrency", "3",
                  "--out", str(results_dir), "--quiet", env=env)
        again = {steps[index_of_png(request_images(r)[0])]["id"] for r in server.requests[mark:]}
    assert not again & asked and again | asked == {s["id"] for s in steps}

"""Agents at work, end to end on a real X desktop: `workprint agent run` against a real
OpenAI-compatible server on 127.0.0.1 (scripted replies: right actions, a planted mistake, a
malformed reply, a call_user, an action on a window the policy does not allow), driving
mousepad through XTEST, while xdotool plays the person who takes over.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import page_in_chromium, actions_json, workprint
from workprint.demo.agent_scenario import (EMAIL, IMAGE_SIZE, MALFORMED, MISTAKE, SOURCES, AgentScenario,
                                           open_desktop_apps)
from workprint.demo.desktop import VirtualDesktop
from workprint.demo.model_server import request_images
from workprint.store import SessionReader


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = tmp_path_factory.mktemp("agent-home")
    policy = home / "policy.toml"
    policy.write_text('[apps]\nallow = ["mousepad"]\n')
    with VirtualDesktop() as desk:
        pad, term = open_desktop_apps(desk)
        scenario = AgentScenario(desk, home, policy, pad, term)
        code, out, err = scenario.play()
        term_rect = desk.geometry(term)
        screen = desk.size
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    env = scenario.env
    return {"env": env, "home": home, "session": session, "stderr": err, "requests": scenario.server.requests,
            "term_rect": term_rect, "screen": screen,
            "actions": actions_json(env, session),
            "interventions": [json.loads(line) for line in
                              workprint("interventions", session, "--json", env=env).stdout.splitlines()]}


def test_every_action_has_the_right_source(run):
    got = [(a["source"], a["type"], a.get("text")) for a in run["actions"]]
    assert got == SOURCES, got
    for action in run["actions"]:
        if action["source"] == "agent":
            assert action["model"]["name"] == "scripted-model" and action["model"]["reply"]
        else:
            assert "model" not in action


def test_agent_coordinates_are_mapped_back_to_the_screen(run):
    click = run["actions"][0]
    # The reply said x, y in 0..1; the click landed at the point it named (mousepad's centre).
    assert 100 < click["x"] < 1200 and 120 < click["y"] < 920
    assert click["app"] == "mousepad"


def test_intervention_records(run):
    records = run["interventions"]
    assert [r["trigger"] for r in records] == ["human_input", "call_user", "refused_app"]
    assert [r["handback"] for r in records] == ["resume", "resume", "resume"]
    for r in records:
        assert set(r) >= {"id", "t", "t_end", "trigger", "agent_actions", "proposed", "human_actions", "frame",
                          "frame_after", "handback", "task", "model"}
        assert r["task"] == "Write two lines in the editor" and r["model"] == "scripted-model"
        assert r["t"] < r["t_end"] and r["frame"]
    takeover, ask, refused = records
    assert takeover["agent_actions"] == [0, 1]
    assert takeover["human_actions"] == [2, 3, 4]
    # The planted mistake was in flight when the person took over: proposed, never executed.
    assert takeover["proposed"]["type"] == "type" and takeover["proposed"]["text"] == MISTAKE
    assert takeover["proposed"]["executed"] is False
    assert ask["message"] == "Which file name should I use?" and ask["human_actions"] == [7]
    assert refused["proposed"]["type"] == "click" and refused["proposed"]["executed"] is False
    assert refused["app"] == "xterm" and refused["human_actions"] == []
    # The correction carries the action it replaced (what preference exports pair), and the gate
    # wrote each span as an `intervention` event (what the eval set builder reads).
    assert run["actions"][2]["rejected"]["text"] == MISTAKE
    events = SessionReader(run["home"], run["session"]).events()
    spans = [(e["trigger"], e["handback"]) for e in events if e["kind"] == "intervention"]
    assert spans == [(r["trigger"], r["handback"]) for r in records]
    human = workprint("interventions", run["session"], env=run["env"]).stdout
    assert "human_input" in human and "not executed" in human


def test_no_agent_input_during_a_takeover(run):
    events = SessionReader(run["home"], run["session"]).events()
    agent_inputs = [e for e in events if e.get("agent") is not None]
    assert agent_inputs, "the agent's own input was recorded"
    for r in run["interventions"]:
        inside = [e for e in agent_inputs if r["t"] <= e["t"] <= r["t_end"]]
        assert not inside, f"agent input during intervention {r['id']}: {inside}"
    typed = " ".join(e.get("text", "") for e in events if e["kind"] == "typed")
    assert MISTAKE not in typed
    # Every person's event is untagged (xdotool uses XTEST too; the gate still told them apart).
    assert all(e.get("agent") is None for e in events if e["kind"] == "press" and e["t"] >= run["interventions"][0]["t"]
               and e["t"] <= run["interventions"][0]["t_end"])


def test_malformed_reply_is_retried_once_with_the_error(run):
    retries = [r for r in run["requests"] if any(m.get("content") == MALFORMED for m in r["messages"])]
    assert len(retries) == 1
    assert "could not be used: no action found" in retries[0]["messages"][-1]["content"]
    assert "could not be used" in run["stderr"]


def test_denied_window_is_black_in_every_image_sent(run):
    x, y, w, h = run["term_rect"]
    sx = IMAGE_SIZE[0] / run["screen"][0]
    sy = IMAGE_SIZE[1] / run["screen"][1]
    images = [png for request in run["requests"] for png in request_images(request)]
    assert len(images) == len(run["requests"]) >= 8
    for png in images:
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        assert pixels.shape[:2] == (IMAGE_SIZE[1], IMAGE_SIZE[0])
        region = pixels[int(y * sy) + 2:int((y + h) * sy) - 2, int(x * sx) + 2:int((x + w) * sx) - 2]
        assert region.size and region.max() == 0, "the xterm (not allowed) was visible to the model"
        assert pixels.max() > 0  # the rest of the screen is not black


def test_email_typed_during_the_takeover_is_redacted_everywhere(run, tmp_path):
    from workprint.privacy.frames import FrameRedactor

    env = run["env"]
    texts = [json.dumps(SessionReader(run["home"], run["session"]).events()), json.dumps(run["actions"]),
             json.dumps(run["interventions"]), json.dumps(run["requests"]), run["stderr"]]
    for fmt in ("hf", "chat", "preference", "rlif"):
        out = tmp_path / fmt
        workprint("export", run["session"], "--format", fmt, "--out", str(out), "--quiet", env=env)
        texts += [p.read_bytes().decode("latin-1") for p in out.rglob("*") if p.is_file() and p.suffix != ".png"]
    report = tmp_path / "replay.html"
    workprint("report", run["session"], "--out", str(report), "--quiet", env=env)
    texts.append(report.read_text())
    for text in texts:
        assert EMAIL not in text and "jane.doe" not in text
    # What the model saw after the correction, read back by OCR: the line is there, the address is not.
    seen = []
    for request in run["requests"][3:]:
        for png in request_images(request):
            rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
            seen.append(" ".join(b.text for b in FrameRedactor().text_boxes(rgb)).replace(" ", ""))
    assert any("agentlineone" in s.replace("1", "l") for s in seen), seen
    assert not any("jane" in s or "example" in s for s in seen), seen


def test_preference_export_loads_with_datasets(run, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "pref"
    workprint("export", run["session"], "--format", "preference", "--out", str(out), "--quiet", env=run["env"])
    ds = load_dataset("parquet", data_files={"train": str(out / "data" / "train" / "*.parquet")})["train"]
    assert {"prompt", "chosen", "rejected", "images"} <= set(ds.column_names)
    assert len(ds) == 2  # the refusal the person handed straight back has no correction
    first = ds[0]
    assert first["trigger"] == "human_input"
    assert MISTAKE in first["rejected"][0]["content"][0]["text"]
    chosen = first["chosen"][0]["content"][0]["text"]
    assert "pyautogui.click(" in chosen and "[EMAIL]" in chosen and first["chosen"][0]["role"] == "assistant"
    assert first["prompt"][-1]["role"] == "user" and "agent line one" in first["prompt"][-1]["content"][1]["text"]
    assert len(first["images"]) == 1 and first["images"][0].size == tuple(run["screen"])
    card = (out / "README.md").read_text()
    assert "1 run(s)" in card and "'human_input': 1" in card and "'refused_app': 1" in card


def test_chat_preference_is_openai_preference_fine_tuning_beside_trls(run, tmp_path):
    from tests.export_validators import openai_preference_line

    out = tmp_path / "chat-preference"
    workprint("export", run["session"], "--format", "chat-preference", "--out", str(out), "--quiet", env=run["env"])
    lines = [json.loads(line) for path in (out / "train").glob("*.jsonl") for line in path.read_text().splitlines()]
    assert len(lines) == 2, "the same corrections as the TRL preference export"
    for line in lines:
        openai_preference_line(line)
    assert MISTAKE in lines[0]["non_preferred_output"][0]["content"]
    assert "pyautogui.click(" in lines[0]["preferred_output"][0]["content"]
    assert lines[0]["input"]["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_rlif_export_marks_the_steps_before_a_takeover(run, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "rlif"
    workprint("export", run["session"], "--format", "rlif", "--out", str(out), "--quiet", env=run["env"])
    ds = load_dataset("parquet", data_files={"train": str(out / "data" / "train" / "*.parquet")})["train"]
    rows = list(ds)
    assert len(rows) == 6  # 4 executed (click, type, enter, call_user) + 2 proposed, not executed
    penalised = [r for r in rows if r["intervened"]]
    assert [(r["trigger"], r["executed"], r["reward"]) for r in penalised] == [
        ("human_input", False, -1.0), ("refused_app", False, -1.0)]
    assert all(r["reward"] == 0.0 for r in rows if not r["intervened"])


def test_hf_export_keeps_the_source(run, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "hf"
    workprint("export", run["session"], "--format", "hf", "--out", str(out), "--quiet", env=run["env"])
    ds = load_dataset("parquet", data_files={"train": str(out / "data" / "train" / "*.parquet")})["train"]
    by_type = [(r["source"], r["action_type"]) for r in ds if r["action_type"] not in ("done", "fail")]
    assert by_type == [(a["source"], a["type"]) for a in run["actions"]]


def test_replay_report_marks_agent_steps_and_interventions(run, tmp_path):
    out = tmp_path / "replay.html"
    workprint("report", run["session"], "--out", str(out), "--quiet", env=run["env"])
    errors: list[str] = []
    with page_in_chromium(out, errors) as page:
        assert page.inner_text("#who").startswith("by the agent (scripted-model)")
        assert page.locator("#timeline .tick.agent").count() == 5  # with the closing done
        assert page.locator("#timeline .tick.human").count() == 4
        assert page.locator("#timeline .iv").count() == 3
        card = page.inner_text("#interventions")
        assert MISTAKE in card and "(not executed)" in card and "[EMAIL]" in card
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # step 3: the person's click, the takeover
        who = page.inner_text("#who")
        assert who.startswith("by a person") and "Intervention" in who and MISTAKE in who
    assert not errors, errors

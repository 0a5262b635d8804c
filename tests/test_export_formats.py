"""Each export loads in the tool its users run: OpenCUA's CoT generator and AgentNetBench, OpenAI
fine-tuning (SFT and preference), TRL and LLaMA-Factory. Checked on a real recording, against
validators written from each consumer's documentation (tests/export_validators.py)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import actions_json, workprint
from tests.export_validators import Invalid, is_mouse_step, openai_chat_line, openai_preference_line, parse_code

SECRET_FRAGMENTS = ("jane.doe", "example.com", "XTERMSECRET")
MOUSE_TYPES = {"click", "double_click", "right_click", "middle_click", "drag", "scroll"}


def _export(recorded, fmt, out, *extra, check=True):
    return workprint("export", recorded["session"], "--format", fmt, "--out", str(out), "--quiet", *extra,
                     env=recorded["env"], check=check)


@pytest.fixture(scope="module")
def actions(recorded):
    return actions_json(recorded["env"], recorded["session"])


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.suffix in (".json", ".jsonl",
                                                                                                ".md"))


# --- opencua -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def opencua_dir(recorded, tmp_path_factory):
    out = tmp_path_factory.mktemp("opencua")
    _export(recorded, "opencua", out, "--allow-empty-instruction")
    return out


def test_opencua_is_agentnet_jsonl_with_relative_keyword_code(opencua_dir, actions):
    trajs = _lines(opencua_dir / "train.jsonl")  # one JSON object per line, as gen_cot.py reads it
    steps = [s for t in trajs for s in t["traj"]]
    assert len(steps) == len(actions)
    assert all(set(t) >= {"task_id", "instruction", "traj"} for t in trajs)
    for traj in trajs:
        assert [s["index"] for s in traj["traj"]] == list(range(len(traj["traj"])))
    for step, action in zip(steps, actions):
        assert (opencua_dir / "images" / step["image"]).is_file(), "every step has its screenshot (no image: null)"
        calls = parse_code(step["value"]["code"])
        assert is_mouse_step(step["value"]["code"]) == (action["type"] in MOUSE_TYPES), step["value"]["code"]
        if action["type"] in ("click", "double_click"):
            kw = calls[0][2]
            assert abs(kw["x"] - action["x"] / 1920) < 1e-4 and abs(kw["y"] - action["y"] / 1080) < 1e-4
        if action["type"] == "type":
            assert calls == [("pyautogui.write", [], {"message": action["text"]})]
    kinds = {a["type"] for a in actions}
    assert {"drag", "scroll", "type", "click"} <= kinds, "the recording covers the conventions checked here"
    drag = next(s for s, a in zip(steps, actions) if a["type"] == "drag")
    assert drag["value"]["code"].split("\n")[1].startswith("pyautogui.dragTo(")
    # No reasoning is invented: a plain recording has no observation/thought/reflection/action text.
    assert all(set(s["value"]) == {"code"} for s in steps)
    assert Image.open(opencua_dir / "images" / steps[0]["image"]).size == (1920, 1080)
    assert not any(s in _all_text(opencua_dir) for s in SECRET_FRAGMENTS)
    card = (opencua_dir / "README.md").read_text()
    assert "gen_cot.py" in card and "| click |" in card


def test_opencua_reexport_is_incremental_and_keeps_the_combined_file(recorded, opencua_dir):
    before = (opencua_dir / "train.jsonl").read_bytes()
    again = _export(recorded, "opencua", opencua_dir, "--allow-empty-instruction")
    assert "0 written, 1 unchanged" in again.stderr
    assert (opencua_dir / "train.jsonl").read_bytes() == before


def test_opencua_leaves_out_episodes_without_instruction_and_says_so(recorded, tmp_path):
    run = _export(recorded, "opencua", tmp_path / "cua")
    assert run.returncode == 0
    assert "without an instruction" in run.stderr and "--allow-empty-instruction" in run.stderr
    assert not (tmp_path / "cua" / "train.jsonl").exists()
    assert "without an instruction" in (tmp_path / "cua" / "README.md").read_text()


def test_opencua_carries_annotations_only_where_a_step_has_them(tmp_path):
    from workprint.export.formats import ExportOptions
    from workprint.export.opencua import FORMAT, finish

    png = _png()
    steps = _steps([{"type": "click", "x": 10, "y": 20, "observation": "A dialog is open.",
                     "thought": "I should confirm.", "description": "Click OK.", "quality": "mistake"},
                    {"type": "key", "keys": ["enter"]}], png, instruction="Confirm the dialog")
    written = FORMAT.write_session(_Session(), steps, tmp_path, ExportOptions())
    finish(tmp_path)
    (traj,) = _lines(tmp_path / "train.jsonl")
    first, second = (s["value"] for s in traj["traj"])
    assert first == {"code": "pyautogui.click(x=0.0052, y=0.0185)", "observation": "A dialog is open.",
                     "thought": "I should confirm.", "action": "Click OK."}
    # The previous step was judged a mistake: the next step says so, as AgentNet's labels do.
    assert second == {"code": "pyautogui.press(keys=['enter'])", "last_step_correct": False,
                      "last_step_redundant": False}
    assert "parts/train/s-1.jsonl" in written.files


# --- agentnetbench --------------------------------------------------------------------------------------

def test_agentnetbench_ground_truth_matches_the_code_and_the_target_boxes(recorded, actions, tmp_path):
    _export(recorded, "agentnetbench", tmp_path / "anb", "--allow-empty-instruction")
    files = list((tmp_path / "anb" / "train").glob("*.json"))
    assert files, "run.py --data reads the split folder"
    assert not list((tmp_path / "anb").glob("*.json")) or all(
        p.name == "workprint-manifest.json" for p in (tmp_path / "anb").glob("*.json"))
    steps = [s for f in files for s in json.loads(f.read_text())["steps"]]
    assert len(steps) == len(actions)
    boxed = 0
    for step in steps:
        assert (tmp_path / "anb" / "images" / step["image"]).is_file()
        calls = parse_code(step["action"])
        gold = step["ground_truth_actions"]
        # The gold action is the code, call by call: a perfect prediction matches it type by type.
        assert [g["type"] for g in gold] == [name.split(".")[-1] for name, _, _ in calls]
        for g, (_, args, kw) in zip(gold, calls):
            if "position" in g["params"]:
                assert g["params"]["position"] == {"x": kw["x"], "y": kw["y"]}
            if g["type"] == "write":
                assert g["params"]["content"] == kw["message"]
            if g["type"] in ("press", "hotkey"):
                assert g["params"]["keys"] == kw["keys"]
            for box in g["metadata"]["bboxes"]:
                x, y, w, h = box["rel_bbox"]
                px, py = g["params"]["position"]["x"], g["params"]["position"]["y"]
                assert x <= px <= x + w and y <= py <= y + h, "the gold point lies in its target box"
                boxed += 1
    assert boxed > 0, "recorded targets (menu items) become rel_bbox"


def test_agentnetbench_terminate_and_navigate_ground_truth():
    from workprint.export.agentnetbench import ground_truth

    screen = {"w": 1920, "h": 1080}
    assert ground_truth({"type": "done", "screen": screen}) == [
        {"type": "terminate", "params": {"status": "success"}, "metadata": {"bboxes": []}}]
    assert ground_truth({"type": "fail", "screen": screen})[0]["params"] == {"status": "failure"}
    nav = ground_truth({"type": "navigate", "url": "https://example.org/a", "screen": screen})
    assert [(g["type"], g["params"]) for g in nav] == [("hotkey", {"keys": ["ctrl", "l"]}),
                                                      ("write", {"content": "https://example.org/a"}),
                                                      ("press", {"keys": ["enter"]})]


# --- chat (OpenAI) --------------------------------------------------------------------------------------

def test_chat_is_valid_openai_fine_tuning_with_inline_images(recorded, actions, tmp_path):
    _export(recorded, "chat", tmp_path / "chat")
    lines = _lines(tmp_path / "chat" / "train" / f"{recorded['session']}.jsonl")
    meta = _lines(tmp_path / "chat" / "meta" / "train" / f"{recorded['session']}.jsonl")
    assert len(lines) == len(meta) == len(actions)
    for line in lines:
        openai_chat_line(line)
        parse_code(line["messages"][2]["content"])
    assert set(lines[0]) == {"messages"}
    url = lines[0]["messages"][1]["content"][1]["image_url"]["url"]
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (1920, 1080)
    assert "Previous actions:\n(none)" in lines[0]["messages"][1]["content"][0]["text"]
    assert lines[0]["messages"][2]["content"] in lines[1]["messages"][1]["content"][0]["text"]
    assert {m["source"] for m in meta} == {"human"} and meta[3]["step"] == 3
    assert not any(s in _all_text(tmp_path / "chat") for s in SECRET_FRAGMENTS)


def test_chat_with_an_image_base_url(recorded, tmp_path):
    out = tmp_path / "chat"
    _export(recorded, "chat", out, "--image-base-url", "https://data.example.org/run1/")
    line = _lines(next((out / "train").glob("*.jsonl")))[0]
    openai_chat_line(line)
    url = line["messages"][1]["content"][1]["image_url"]["url"]
    assert url.startswith("https://data.example.org/run1/") and url.endswith(".png")
    assert Image.open(out / "images" / url.rsplit("/", 1)[1]).size == (1920, 1080)
    bad = _export(recorded, "chat", tmp_path / "bad", "--image-base-url", "images/", check=False)
    assert bad.returncode == 2 and "http" in bad.stderr and "Traceback" not in bad.stderr


def test_the_openai_validator_rejects_what_openai_rejects():
    good = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {
        "type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(_png()).decode()}}]},
        {"role": "assistant", "content": "pyautogui.click(x=0.5, y=0.5)"}]}
    openai_chat_line(good)
    with pytest.raises(Invalid, match="top-level"):
        openai_chat_line({**good, "split": "train"})
    path = json.loads(json.dumps(good))
    path["messages"][0]["content"][1]["image_url"]["url"] = "images/a.png"
    with pytest.raises(Invalid, match="neither http"):
        openai_chat_line(path)


# --- chat-preference (OpenAI DPO) -----------------------------------------------------------------------

def test_preference_pairs_in_openai_shape(tmp_path):
    from workprint.export.chat_preference import FORMAT, pair
    from workprint.export.formats import ExportOptions

    screen = {"w": 1920, "h": 1080}
    prompt_messages = [{"role": "system", "content": "You are a computer-use agent."},
                       {"role": "user", "content": [{"type": "text", "text": "Task: save the file"}]}]
    record = pair(prompt_messages, {"type": "hotkey", "keys": ["ctrl", "s"], "screen": screen},
                  {"type": "click", "x": 960, "y": 540})
    openai_preference_line(record)
    assert record["preferred_output"][0]["content"] == "pyautogui.hotkey(keys=['ctrl', 's'])"
    assert record["non_preferred_output"][0]["content"] == "pyautogui.click(x=0.5, y=0.5)"

    png = _png()
    steps = _steps([{"type": "click", "x": 10, "y": 20},
                    {"type": "type", "text": "Friday", "rejected": {"type": "type", "text": "Fridya"}}],
                   png, instruction="Book a room")
    written = FORMAT.write_session(_Session(), steps, tmp_path, ExportOptions())
    lines = _lines(tmp_path / "train" / "s-1.jsonl")
    assert len(lines) == 1, "only the corrected step makes a pair"
    openai_preference_line(lines[0])
    assert lines[0]["non_preferred_output"][0]["content"] == "pyautogui.write(message='Fridya')"
    assert "pyautogui.click(x=0.0052, y=0.0185)" in lines[0]["input"]["messages"][1]["content"][0]["text"]
    assert written.left_out == {"no rejected action (not an intervention)": 1}


# --- trl and sharegpt (loaded with datasets) ------------------------------------------------------------

def test_trl_loads_with_datasets_as_messages_and_images(recorded, actions, tmp_path):
    from datasets import load_dataset

    _export(recorded, "trl", tmp_path / "trl")
    ds = load_dataset("parquet", data_files={"train": str(tmp_path / "trl" / "data" / "train" / "*.parquet")})["train"]
    assert set(ds.column_names) == {"messages", "images"} and len(ds) == len(actions)
    row = ds[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    user = row["messages"][1]["content"]
    assert sum(part["type"] == "image" for part in user) == len(row["images"]) == 1
    assert isinstance(row["images"][0], Image.Image) and row["images"][0].size == (1920, 1080)
    parse_code(row["messages"][2]["content"][0]["text"])


def test_sharegpt_loads_with_datasets_one_image_token_per_image(recorded, actions, tmp_path):
    from datasets import load_dataset

    out = tmp_path / "sg"
    _export(recorded, "sharegpt", out)
    info = json.loads((out / "dataset_info.json").read_text())
    entry = info["workprint_train"]
    assert entry["formatting"] == "sharegpt" and entry["columns"]["messages"] == "conversations"
    ds = load_dataset("json", data_files={"train": str(out / entry["file_name"] / "*.jsonl")})["train"]
    assert {"conversations", "images", "system"} <= set(ds.column_names) and len(ds) == len(actions)
    for row in ds:
        turns = row["conversations"]
        assert [t["from"] for t in turns] == ["human", "gpt"]
        tokens = sum(t["value"].count("<image>") for t in turns)
        assert tokens == len(row["images"]) == 1
        assert (out / row["images"][0]).is_file()
        parse_code(turns[1]["value"])


# --- the code generator ---------------------------------------------------------------------------------

@pytest.mark.parametrize("action, code", [
    ({"type": "click", "x": 628, "y": 291}, "pyautogui.click(x=0.3271, y=0.2694)"),
    ({"type": "drag", "x": 10, "y": 20, "x2": 300, "y2": 400},
     "pyautogui.moveTo(x=0.0052, y=0.0185)\npyautogui.dragTo(x=0.1562, y=0.3704, button='left')"),
    ({"type": "scroll", "x": 960, "y": 540, "dx": 0, "dy": -3}, "pyautogui.moveTo(x=0.5, y=0.5)\npyautogui.scroll(-3)"),
    ({"type": "type", "text": "it's"}, "pyautogui.write(message=\"it's\")"),
    ({"type": "done"}, "computer.terminate(status='success')"),
    ({"type": "fail"}, "computer.terminate(status='failure')"),
    ({"type": "select", "label": "Friday", "value": "fri"}, "browser.select_option(label='Friday', value='fri')"),
    ({"type": "navigate", "url": "https://example.org/"},
     "pyautogui.hotkey(keys=['ctrl', 'l'])\npyautogui.write(message='https://example.org/')\n"
     "pyautogui.press(keys=['enter'])"),
])
def test_opencua_code_conventions(action, code):
    from workprint.process.pyautogui_code import to_code

    assert to_code({**action, "screen": {"w": 1920, "h": 1080}}, relative=True) == code
    parse_code(code)


# --- helpers: steps built by hand for the parts a plain recording cannot show ---------------------------

class _Session:
    id = "s-1"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), "white").save(buf, format="PNG")
    return buf.getvalue()


def _steps(actions: list[dict], png: bytes, instruction: str):
    from workprint.export.steps import Step
    from workprint.process.episodes import Episode

    episode = Episode("ep-1", "s-1", instruction, "contributor")
    screen = {"w": 1920, "h": 1080, "scale": 1}
    return [Step(episode, i, {**a, "screen": screen, "source": "human"}, "train", f"frame{i}", png)
            for i, a in enumerate(actions)]

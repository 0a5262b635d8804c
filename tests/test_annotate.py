"""`workprint annotate` against a real scripted OpenAI-compatible server on 127.0.0.1, on a real recording."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import page_in_chromium, Recording, has_event, has_frame_after, wait_logged, workprint
from workprint.demo.model_server import Scripted, ScriptedModelServer, request_images

EMAIL = "marta.kowalski@example.org"
PERSON_TASK = "Write the order note"


def _step_answer(n: int) -> dict:
    return {"observation": f"A text editor is open (step {n}).", "thought": "Typing continues the note.",
            "description": f"Type line {n}", "quality": "redundant" if n == 2 else "good"}


class Script:
    """Step answers in JSON; the first one malformed (told back once), one timing out, episodes summarised."""

    def __init__(self) -> None:
        self.steps = 0
        self.lock = threading.Lock()
        self.timeout_key: str | None = None

    def __call__(self, request: dict):
        system = request["messages"][0]["content"]
        if "write the task" in system:
            return json.dumps({"instruction": "Note down how an order was placed"})
        text = request["messages"][1]["content"][0]["text"]
        with self.lock:
            self.steps += 1
            n = self.steps
            if n == 3 and self.timeout_key is None:
                self.timeout_key = text
        if self.timeout_key == text:
            return Scripted(content="{}", delay=4.0)
        if n == 1:
            return "Sure! Here is what I see: an editor."
        return "```json\n" + json.dumps(_step_answer(n)) + "\n```"


@pytest.fixture(scope="module")
def annotated_recording(tmp_path_factory):
    from workprint.demo.desktop import VirtualDesktop

    home = tmp_path_factory.mktemp("home")
    with VirtualDesktop() as desk:
        desk.spawn(["mousepad"])
        wid = desk.wait_window("mousepad")
        time.sleep(1.0)
        rec = Recording(desk, home)
        desk.activate(wid)
        workprint("task", "start", PERSON_TASK, env=rec.env)
        wait_logged(home, rec.session, has_event("task_start"), "the task start")
        desk.xdotool("type", "--delay", 40, f"Order via {EMAIL}")
        wait_logged(home, rec.session, has_event("typed"), "the typing run")
        desk.xdotool("key", "Return")
        wait_logged(home, rec.session, has_event("key_down", key="enter"), "enter")
        workprint("task", "end", env=rec.env)
        wait_logged(home, rec.session, has_event("task_end"), "the task end")
        desk.xdotool("type", "--delay", 40, "second line")
        wait_logged(home, rec.session, has_event("typed", text="second line"), "the second typing run")
        desk.xdotool("key", "ctrl+Home")

        wait_logged(home, rec.session, has_frame_after("key_down", key="home"), "ctrl+home and the frame after it")
        code, out, err = rec.stop()
        assert code == 0, err
    return rec.env, out.strip().splitlines()[-1]


def test_annotate_stores_flags_and_exports_model_text_and_sends_only_redacted_content(annotated_recording, tmp_path):
    from datasets import load_dataset

    from workprint.privacy.frames import FrameRedactor

    env, session = annotated_recording
    script = Script()
    with ScriptedModelServer(script, model_name="annotator-1") as server:
        run = workprint("annotate", session, "--model", server.url, "--concurrency", "4", "--timeout", "2",
                        "--retries", "0", "--quiet", env=env)
        requests = list(server.requests)
    assert "1 failed" in run.stderr and "could not be used" not in run.stderr.split("annotated")[-1]
    assert "timed out" in run.stderr or "no answer" in run.stderr, run.stderr

    # Only redacted content went out: no e-mail in any text, none in any image (OCR on every image).
    assert requests, "the server was asked"
    assert all(EMAIL not in json.dumps(r) and "kowalski" not in json.dumps(r).lower() for r in requests)
    images = [img for r in requests for img in request_images(r)]
    assert images, "steps were sent with their frames"
    ocr = FrameRedactor()
    for png in dict.fromkeys(images):
        seen = " ".join(b.text for b in ocr.text_boxes(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))))
        assert "kowalski" not in seen.replace(" ", "").lower(), "a frame sent to the model shows the e-mail"

    out = tmp_path / "ds"
    workprint("export", session, "--format", "hf", "--out", str(out), "--quiet", env=env)
    ds = load_dataset("parquet", data_files={"train": str(out / "data" / "train" / "*.parquet")})["train"]
    rows = ds.remove_columns("image").to_list()
    person = [r for r in rows if r["instruction_source"] == "contributor"]
    model = [r for r in rows if r["instruction_source"] == "model"]
    assert person and model, [(r["instruction"], r["instruction_source"]) for r in rows]
    # The person's task text is kept; the model's sits beside it, never over it.
    assert {r["instruction"] for r in person} == {"Write the order note"}
    assert {r["model_instruction"] for r in person} == {"Note down how an order was placed"}
    assert {r["instruction"] for r in model} == {"Note down how an order was placed"}
    # Which model wrote the task text travels with it, for the model's episode and beside the person's.
    assert {r["instruction_model"] for r in person + model} == {"annotator-1"}
    annotated = [r for r in rows if r["description"]]
    assert len(annotated) == len(rows) - 1, "every step but the timed-out one is annotated"
    assert {r["annotation_model"] for r in annotated} == {"annotator-1"}
    assert "redundant" in {r["quality"] for r in annotated}, "quality labels are kept, steps are not deleted"
    assert all(r["observation"] and r["thought"] for r in annotated)

    # The formats that carry reasoning: opencua fills its CoT fields, chat --reasoning puts the thought first.
    workprint("export", session, "--format", "opencua", "--out", str(tmp_path / "oc"), "--quiet", env=env)
    trajectories = [json.loads(line) for line in (tmp_path / "oc" / "train.jsonl").read_text().splitlines()]
    values = [step["value"] for t in trajectories for step in t["traj"]]
    assert sum("thought" in v and "observation" in v and "action" in v for v in values) == len(annotated)
    by_source = {t["instruction_source"]: t for t in trajectories}
    assert by_source["model"]["instruction_model"] == "annotator-1"
    assert by_source["contributor"]["instruction"] == PERSON_TASK
    assert by_source["contributor"]["model_instruction"] == "Note down how an order was placed"
    workprint("export", session, "--format", "chat", "--reasoning", "--out", str(tmp_path / "chat"), "--quiet",
              env=env)
    answers = [json.loads(line)["messages"][-1]["content"]
               for path in (tmp_path / "chat").glob("train/*.jsonl") for line in path.read_text().splitlines()]
    assert sum(a.startswith("Thought: Typing continues the note.\nAction:\n") for a in answers) \
        == len(annotated)
    # The OpenAI lines take no extra keys: the model's text for each line sits in meta/, line by line.
    meta = [json.loads(line) for path in (tmp_path / "chat").glob("meta/train/*.jsonl")
            for line in path.read_text().splitlines()]
    assert len(meta) == len(answers)
    assert sum(m.get("description", "").startswith("Type line") for m in meta) == len(annotated)
    assert {m.get("annotation_model") for m in meta if "description" in m} == {"annotator-1"}
    assert {m["instruction_model"] for m in meta if m["instruction_source"] == "model"} == {"annotator-1"}

    # The replay report shows the model's text under each step, marked as written by a model.
    report = tmp_path / "replay.html"
    workprint("report", session, "--out", str(report), "--quiet", env=env)
    shown = _report_model_cards(report, len(rows))
    assert sum(card.startswith("Written by a model (annotator-1)") and "Type line" in card for card in shown) \
        == len(annotated)
    assert any("Task as the model reads it (the person's own is kept): Note down how an order was placed" in card
               for card in shown)
    assert any("Task (model-written, no instruction from the person)" in card for card in shown)

    # Cached by content: a second run asks only the step that failed (and the episode it belongs to).
    script.timeout_key = "none any more"
    with ScriptedModelServer(script, model_name="annotator-1") as server:
        again = workprint("annotate", session, "--model", server.url, "--quiet", env=env)
        second = list(server.requests)
    step_requests = [r for r in second if "write the task" not in r["messages"][0]["content"]]
    assert len(step_requests) == 1, again.stderr
    assert "0 failed" in again.stderr


def _report_model_cards(report, steps: int) -> list[str]:
    """The text of the report's model card at each step, as a reader paging through sees it."""
    cards = []
    with page_in_chromium(report) as page:
        for _ in range(steps):
            cards.append(page.inner_text("#model") if page.is_visible("#model") else "")
            page.keyboard.press("ArrowRight")
    return cards


def test_dry_run_prices_the_run_and_sends_nothing(annotated_recording):
    env, session = annotated_recording
    out = workprint("annotate", session, "--dry-run", "--json", env=env)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and all(line["estimated_tokens"] > 85 for line in lines if line["kind"] == "step")
    assert "nothing was sent" in out.stderr
    # The requests themselves are shown, as they would go: the text (redacted) and each image's size.
    steps = [line for line in lines if line["kind"] == "step"]
    user = [m for m in steps[0]["messages"] if m["role"] == "user"][0]["content"]
    assert any(part["type"] == "text" and "This step" in part["text"] for part in user)
    assert any(part["type"] == "image" and part["size"] == [1920, 1080] for part in user)
    assert "base64" not in out.stdout and EMAIL not in out.stdout and "[EMAIL]" in out.stdout


def test_an_unreachable_server_is_said_once_not_once_per_step(annotated_recording):
    env, session = annotated_recording
    out = workprint("annotate", session, "--model", "http://127.0.0.1:9/v1", "--retries", "0", "--quiet",
                    env=env, check=False)
    assert out.returncode == 2 and "no annotation could be made" in out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("workprint: warning:")]
    assert len(warnings) == 1 and "cannot reach http://127.0.0.1:9/v1" in warnings[0], out.stderr
    failed = int(out.stderr.split(" failed")[0].rsplit(" ", 1)[-1])
    assert failed > 2 and f"and {failed - 1} more with the same problem" in warnings[0]


def test_annotate_without_a_model_says_what_to_give(annotated_recording):
    env, session = annotated_recording
    out = workprint("annotate", session, env=env, check=False)
    assert out.returncode == 2 and "--model http" in out.stderr

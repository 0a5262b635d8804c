"""The model client, prompt and reply parser against a real scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from workprint.demo.model_server import ScriptedModelServer, Scripted, request_images
from workprint.model import (ChatClient, ImageFit, ModelError, ReplyError, build_messages, encode_png, parse_code,
                             parse_reply, parse_tool_calls)

FIT = ImageFit.for_screen(1920, 1080, "1280")


def test_client_sends_task_history_and_resized_image_and_gets_reply():
    screen = Image.new("RGB", (1920, 1080), "white")
    png = encode_png(screen, FIT)
    with ScriptedModelServer(["Thought.\n```python\npyautogui.click(x=0.5, y=0.25)\n```"]) as server:
        with ChatClient(server.url) as client:
            reply = client.complete(build_messages("Save the file", ["pyautogui.click(x=1, y=2)"], png, fit=FIT))
        (request,) = server.requests
    assert client.model_name == "scripted-model" and request["model"] == "scripted-model"
    text = request["messages"][1]["content"][0]["text"]
    assert "Save the file" in text and "pyautogui.click(x=1, y=2)" in text
    (image,) = request_images(request)
    assert Image.open(io.BytesIO(image)).size == (1280, 720)
    assert parse_reply(reply.text, FIT) == [{"type": "click", "x": 960, "y": 270, "button": "left"}]


def test_failing_endpoint_is_retried_a_bounded_number_of_times_then_a_clear_error():
    with ScriptedModelServer([Scripted(status=503)]) as server:
        with ChatClient(server.url, retries=2, backoff=0.01) as client, pytest.raises(ModelError) as err:
            client.complete([{"role": "user", "content": "hi"}])
        assert len(server.requests) == 3
    assert "503" in str(err.value) and "tried 3 times" in str(err.value)


def test_unreachable_endpoint_says_what_to_do():
    with ScriptedModelServer(["x"]) as server:
        url = server.url
    with ChatClient(url, retries=1, backoff=0.01) as client, pytest.raises(ModelError) as err:
        client.complete([{"role": "user", "content": "hi"}])
    assert "cannot reach" in str(err.value) and "--model" in str(err.value)


def test_pixel_coordinates_of_a_resized_image_map_back_to_the_screen():
    assert parse_code("pyautogui.click(640, 360)", FIT) == [{"type": "click", "x": 960, "y": 540, "button": "left"}]
    assert parse_code("pyautogui.moveTo(x=0.1, y=0.1)\npyautogui.dragTo(x=0.2, y=0.3, button='left')", FIT) == [
        {"type": "drag", "x": 192, "y": 108, "x2": 384, "y2": 324, "button": "left"}]


@pytest.mark.parametrize("code,expected", [
    ("pyautogui.doubleClick(x=0.5, y=0.5)", "double_click"),
    ("pyautogui.click(x=0.5, y=0.5, button='right')", "right_click"),
    ("pyautogui.write(message='hello')", "type"),
    ("pyautogui.press('enter')", "key"),
    ("pyautogui.hotkey('ctrl', 'a')", "hotkey"),
    ("pyautogui.scroll(-5)", "scroll"),
    ("computer.terminate(status='success')", "done"),
    ("computer.terminate(status='failure')", "fail"),
    ("call_user(message='Which file?')", "call_user"),
    ("computer.wait()", "wait"),
])
def test_each_call_becomes_its_action_type(code, expected):
    (action,) = parse_code(code, FIT)
    assert action["type"] == expected


@pytest.mark.parametrize("reply,why", [
    ("I think we are done here.", "no action found"),
    ("```python\nimport os\nos.system('rm -rf /')\n```", "unknown call os.system"),
    ("```python\npyautogui.click(x=5000, y=10)\n```", "outside the screenshot"),
    ("```python\npyautogui.click(x=\n```", "not valid Python"),
    ("```python\npyautogui.click(x=foo, y=1)\n```", "literal arguments"),
])
def test_malformed_replies_give_a_message_the_model_can_act_on(reply, why):
    with pytest.raises(ReplyError) as err:
        parse_reply(reply, FIT)
    assert why in str(err.value)


def test_tool_calls_use_the_vocabulary():
    calls = [{"function": {"name": "hotkey", "arguments": '{"keys": ["Control", "S"]}'}}]
    assert parse_tool_calls(calls, FIT) == [{"type": "hotkey", "keys": ["ctrl", "s"]}]
    with pytest.raises(ReplyError, match="unknown tool"):
        parse_tool_calls([{"function": {"name": "rm", "arguments": "{}"}}], FIT)

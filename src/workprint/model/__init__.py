"""Talking to a vision-language model: one client, one prompt, one reply parser.

``workprint agent``, ``workprint eval run`` and ``workprint annotate`` all speak to any
OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp, Ollama, a hosted API)
through this package, so a model that works for one works for all three.

* ``client``: the HTTP client (bounded retries, clear errors, bearer key from
  ``WORKPRINT_MODEL_KEY``).
* ``prompt``: what a model is shown for one step (task, previous actions as pyautogui code,
  the screenshot as a PNG data URL, resized for the model).
* ``parse``: what it answered, as actions in the vocabulary of DESIGN.md (pyautogui code in a
  ``python`` block, OpenCUA's ``computer.terminate``, or OpenAI tool calls).
"""

from workprint.model.client import ChatClient, ModelError, Reply
from workprint.model.parse import ReplyError, parse_code, parse_reply, parse_tool_calls
from workprint.model.prompt import TOOLS, ImageFit, build_messages, encode_png

__all__ = ["TOOLS", "ChatClient", "ImageFit", "ModelError", "Reply", "ReplyError", "build_messages",
           "encode_png", "parse_code", "parse_reply", "parse_tool_calls"]

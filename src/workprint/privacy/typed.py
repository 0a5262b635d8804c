"""How a typing run is written to the log: redacted as a whole, keystrokes kept only as timings
when it held a secret.

Shared by the recorder (when a run ends) and by crash recovery (``store.session.recover_held_runs``,
for the run a killed recorder had sealed under ``pending/``), so both apply the same rule.
Needs no display: recovery can run anywhere.
"""

from __future__ import annotations

from typing import Any, Callable

from workprint.privacy.redact import redact

Append = Callable[[dict[str, Any]], int]


def typed_text(keystrokes: list[dict[str, Any]]) -> str:
    """The text a run's key-down events produce, backspaces applied."""
    text: list[str] = []
    for event in keystrokes:
        if event.get("kind") != "key_down":
            continue
        if event.get("key") == "backspace":
            if text:
                text.pop()
        elif event.get("char"):
            text.append(event["char"])
    return "".join(text)


def write_typing_run(header: dict[str, Any], keystrokes: list[dict[str, Any]], append: Append) -> list[int]:
    """One typing run as written to the log: its keystrokes, then a ``typed`` event with the redacted text.

    A run that held a secret keeps only its key timings. Used when a run ends, and after a crash
    for the run a killed recorder had sealed under ``pending/`` (``recover_held_runs``).
    """
    result = redact(typed_text(keystrokes))
    ids = []
    for event in keystrokes:
        if result.changed and "char" in event:
            event = {k: v for k, v in event.items() if k not in ("char", "key")} | {"key": None, "masked": True}
        ids.append(append(event))
    t_end = header.get("t_end", keystrokes[-1]["t"] if keystrokes else header["t"])
    typed = {"kind": "typed", "t": header["t"], "t_end": t_end, "text": result.text, "app": header.get("app"),
             "raw": [ids[0], ids[-1]] if ids else None, "run": header.get("run")}
    if result.changed:
        typed["redacted"] = result.kinds
    if header.get("recovered"):
        typed["recovered"] = True
    append(typed)
    return ids


def recovered_run(header: dict[str, Any], keystrokes: list[dict[str, Any]], append: Append) -> None:
    """``write_typing_run`` for a run recovered after a crash (its ``typed`` event says so)."""
    write_typing_run({**header, "recovered": True}, keystrokes, append)

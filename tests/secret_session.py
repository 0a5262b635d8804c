"""A real mousepad session with secrets typed early and much typed after them, for the tests that
check screenshot redaction over whole sequences (not one frame after a change)."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
from PIL import Image

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.recording import Recording
from workprint.demo.scenario import MousepadScript
from workprint.store import SessionReader

EMAIL = "olga.petrenko@quarkmail.net"
PASSWORD = "Zebra7Kumquat91"
CARD = "4539 1488 0343 6467"  # Luhn-valid
# What OCR of a leaked frame would show, after `normalise`: distinctive pieces of each secret.
LEAK_MARKERS = {
    "email": ["olgapetrenko", "petrenko", "quarkmail"],
    "password": ["zebra7kumquat", "zebra7", "kumquat91"],
    "card": ["4539148803436467", "45391488", "03436467"],
}


def normalise(text: str) -> str:
    """OCR text in lower case without spaces and punctuation, with the usual confusions folded."""
    text = text.lower().translate(str.maketrans({"o": "o", "|": "l"}))
    return re.sub(r"[^a-z0-9]", "", text)


def leaks(text: str) -> list[str]:
    """The secrets whose markers appear in OCR'd ``text``."""
    flat = normalise(text)
    return [kind for kind, markers in LEAK_MARKERS.items() if any(m in flat for m in markers)]


def play_secret_session(desk: VirtualDesktop, wid: int, more_lines: int = 12) -> None:
    """Type the three secrets, then more lines, click around, scroll, open a menu over the text,
    switch to another window and back."""
    script = MousepadScript(desk, wid, pace=0.6)
    desk.activate(wid)
    cx, cy = script.text_area()
    script.click(cx, cy)
    for line in (f"Order via {EMAIL}", f"password: {PASSWORD}", f"card {CARD} exp 09/29"):
        desk.xdotool("type", "--delay", 25, line)
        desk.xdotool("key", "Return")
        time.sleep(0.5)
    for i in range(more_lines):
        desk.xdotool("type", "--delay", 8, f"note {i}: the weekly report is due on friday")
        desk.xdotool("key", "Return")
        time.sleep(0.35)
    script.click(cx + 100, cy - 120)
    script.click(cx - 200, cy + 40)
    desk.xdotool("key", "ctrl+Home")
    time.sleep(0.5)
    script.scroll(cx, cy, 3)
    desk.xdotool("click", "--repeat", 2, "--delay", 60, 4)  # and back up
    time.sleep(0.8)
    script.menu("Edit", "Select All")
    script.click(cx, cy)
    script.pause(0.5)


def record_secret_session(desk: VirtualDesktop, home: Path, more_lines: int = 12) -> tuple[dict, str]:
    """Record ``play_secret_session`` with the real recorder; (environment, session id)."""
    policy = home / "policy.toml"
    policy.write_text('[apps]\nallow = ["mousepad", "xterm"]\n')
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    desk.xdotool("windowsize", pad, 1000, 380)  # shorter than the text: typing and the wheel scroll it
    desk.spawn(["xterm", "-geometry", "70x12+600+500", "-title", "scratch terminal"])
    term = desk.wait_window("xterm")
    time.sleep(1.0)
    rec = Recording(desk, home, policy)
    play_secret_session(desk, pad, more_lines)
    desk.activate(term)  # a window switch: the terminal comes over the text
    desk.xdotool("type", "--delay", 20, "ls\n")
    time.sleep(0.8)
    # The terminal moved over the start of the lines: it hides "password:", not the value after it
    # (read on its own the value is a plain word; it must stay masked from the frames before).
    x, y, _, _ = desk.geometry(pad)
    _, _, term_w, _ = desk.geometry(term)
    desk.xdotool("windowmove", term, x + 40 - term_w, y + 40)
    time.sleep(1.0)
    desk.xdotool("type", "--delay", 20, "pwd\n")
    time.sleep(0.8)
    desk.activate(pad)
    time.sleep(1.0)
    code, out, err = rec.stop()
    assert code == 0, err
    return rec.env, out.strip().splitlines()[-1]


def frames_in_order(home: Path, session: str) -> list[np.ndarray]:
    """Every stored frame of a session as RGB, in the order it was recorded (as exports feed them)."""
    reader = SessionReader(home, session)
    ids = [e["frame"] for e in sorted((e for e in reader.events() if e["kind"] == "frame"), key=lambda e: e["t"])]
    return [np.asarray(Image.open(io.BytesIO(reader.frame(f))).convert("RGB")) for f in dict.fromkeys(ids)]

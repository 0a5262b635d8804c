"""Shared fixtures: a private WORKPRINT_HOME, a real virtual desktop, a real recorder process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.recording import Recording, free_port
from workprint.demo.scenario import MousepadScript

XTERM_SECRET = "XTERMSECRET4242"
# The real servers' session fixtures (PostgreSQL, SeaweedFS) are registered once for the whole run:
# imported into each test module instead, every module got its own session-wide server, and a
# second `weed mini` beside the first answered with the wrong credentials.
pytest_plugins = ["tests.servers"]

T = TypeVar("T")


_free_port = free_port


def workprint(*args: str, env: dict[str, str], check: bool = True, input: str | None = None
              ) -> subprocess.CompletedProcess:
    """Run the real `workprint` command line."""
    out = subprocess.run([sys.executable, "-m", "workprint", *args], env=env, capture_output=True, text=True,
                         input=input, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"workprint {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out


def wait_until(check: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """Poll ``check`` until it returns something truthy and return that; fail saying ``what`` did not
    happen within ``timeout`` seconds. For waiting on a condition instead of sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def session_events(home: Path, session: str) -> list[dict]:
    """The events a (running or stopped) recorder has flushed so far."""
    from workprint.store import SessionReader

    return SessionReader(home, session).events()


def wait_logged(home: Path, session: str, check: Callable[[list[dict]], bool], what: str,
                timeout: float = 20.0) -> list[dict]:
    """Wait until the events the running recorder has flushed pass ``check``; returns them."""

    def events() -> list[dict] | None:
        found = session_events(home, session)
        return found if check(found) else None

    return wait_until(events, timeout, what)


def has_event(kind: str, **fields) -> Callable[[list[dict]], bool]:
    """A ``wait_logged`` check: an event of ``kind`` with these field values was written."""
    return lambda events: any(e["kind"] == kind and all(e.get(k) == v for k, v in fields.items()) for e in events)


def has_frame_after(kind: str, **fields) -> Callable[[list[dict]], bool]:
    """A ``wait_logged`` check: such an event was written, and a frame grabbed after it (frames are
    stored in the order they were kept, so the frame before that event is stored too)."""
    def check(events: list[dict]) -> bool:
        at = [e["t"] for e in events if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items())]
        return bool(at) and any(e["kind"] == "frame" and e["t"] > at[0] for e in events)

    return check


@contextmanager
def page_in_chromium(path: Path, errors: list[str] | None = None) -> Iterator:
    """A self-contained page (a replay or eval report) opened in Debian's Chromium, as a reader
    sees it (1400×900); page errors are collected into ``errors`` when given."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            if errors is not None:
                page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri())
            yield page
        finally:
            browser.close()


def actions_json(env: dict[str, str], session: str = "latest") -> list[dict]:
    return [json.loads(line) for line in workprint("actions", session, "--json", env=env).stdout.splitlines()]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {**os.environ, "WORKPRINT_HOME": str(home)}


@pytest.fixture(scope="module")
def desk():
    with VirtualDesktop() as desktop:
        yield desktop


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """One real recording shared by the tests that read it: the mousepad demonstration
    (allowed) and a typed-into xterm (outside the policy)."""
    with VirtualDesktop() as desk:
        return _record_demo(desk, tmp_path_factory)


def _record_demo(desk, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    policy = home / "policy.toml"
    policy.write_text('[apps]\nallow = ["mousepad"]\n')
    desk.spawn(["mousepad"])
    pad = desk.wait_window("mousepad")
    desk.spawn(["xterm", "-geometry", "60x10+30+40", "-title", "scratch terminal"])
    term = desk.wait_window("xterm")
    time.sleep(1.0)
    rec = Recording(desk, home, policy)
    script = MousepadScript(desk, pad)
    expected = script.play()
    # The denied app: typed into, clicked and scrolled; none of it may be recorded.
    desk.activate(term)
    tx, ty, tw, th = desk.geometry(term)
    desk.xdotool("mousemove", tx + tw // 2, ty + th // 2)
    desk.xdotool("click", 1)
    desk.xdotool("type", "--delay", 40, f"echo {XTERM_SECRET}\n")
    desk.xdotool("click", 4)
    time.sleep(1.5)
    desk.activate(pad)
    time.sleep(1.0)
    code, out, err = rec.stop()
    assert code == 0, err
    return {"env": rec.env, "home": home, "expected": expected, "session": out.strip().splitlines()[-1],
            "xterm_rect": desk.geometry(term), "stderr": err}

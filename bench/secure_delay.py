"""How late the page's "secure field" event reaches the recorder (issue #14, finding 13).

Keystrokes reach the recorder from the desktop's input hook at once; the page's event that a
password field took focus travels content script → service worker → native messaging host →
Unix socket. The recorder drops a held typing run that ends at most ``SECURE_OVERLAP_S`` before
that event's own time stamp, and writes a run Enter or Tab ended in a browser that much later, so
the event must arrive within it. This measures the delay in Debian's Chromium with the real
extension and native host (headless): the arrival time at the recorder's socket minus the page's
time stamp, with the native host running ("warm") and right after its process ended ("cold":
Chromium starts a new host, as after the browser starts; an open native port keeps the
extension's service worker running, so this is the slow path).

    .venv/bin/python bench/secure_delay.py --rounds 40 --cold 10
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from workprint.capture.browser import BrowserBridge, install
from workprint.recorder.runs import SECURE_OVERLAP_S

PAGE = """<!doctype html><meta charset=utf-8><title>Sign in</title>
<p><input id=user autocomplete=username> <input id=pw type=password></p>"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def end_host(home: Path) -> None:
    """End the native host process Chromium started for this bench (found by its WORKPRINT_HOME)."""
    import os
    import signal

    mark = f"WORKPRINT_HOME={home.resolve()}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if b"native_host.py" in (proc / "cmdline").read_bytes() and mark in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGTERM)
                return
        except (OSError, ValueError):
            continue
    raise SystemExit("the native host process was not found")


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="focus changes with the worker running")
    parser.add_argument("--cold", type=int, default=10, help="focus changes right after the host process ended")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="workprint-bench-secure-"))
    site = home / "site"
    site.mkdir()
    (site / "login.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = home / "profile"
    extension, _ = install(home, [profile])
    delays: list[float] = []
    arrived = threading.Event()

    def deliver(_t: float, event: dict) -> None:
        if event.get("type") == "secure" and event.get("state") == "focus":
            delays.append(time.time() * 1000 - event["ts"])
            arrived.set()

    bridge = BrowserBridge(home, deliver)
    bridge.start()
    warm: list[float] = []
    cold: list[float] = []
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(profile), executable_path="/usr/bin/chromium", headless=True,
                args=["--headless=new", f"--disable-extensions-except={extension}", f"--load-extension={extension}",
                      "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            if not context.service_workers:
                context.wait_for_event("serviceworker", timeout=15000)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/login.html")
            def focus_password(into: list[float], cold_host: bool = False) -> None:
                page.focus("#user")  # the password field's blur is sent now
                time.sleep(0.2)
                if cold_host:  # after that blur, so the focus below is what starts the new host
                    end_host(home)
                    time.sleep(0.5)
                arrived.clear()
                before = len(delays)
                page.focus("#pw")
                if not arrived.wait(10):
                    raise SystemExit("the secure-field event never reached the recorder's socket")
                into.extend(delays[before:])

            focus_password(cold)  # the first one starts the host
            for _ in range(args.rounds):
                focus_password(warm)
                time.sleep(0.1)
            for _ in range(args.cold - 1):
                focus_password(cold, cold_host=True)
            context.close()
    finally:
        bridge.stop()
        server.shutdown()
        shutil.rmtree(home, ignore_errors=True)
    for name, values in (("warm", warm), ("cold", cold)):
        if values:
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            print(f"{name}: n={len(values)} median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, "
                  f"worst {max(values):.1f} ms")
    print(f"allowed by the recorder (SECURE_OVERLAP_S): {SECURE_OVERLAP_S * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The browser extension in Debian's Chromium (headed, under Xvfb) with `workprint record`
running: targets, dropdowns (native, Choices.js, Tom Select, an ARIA menu), one `type` per
field, navigations; secure fields and denied pages leave nothing."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Recording, _free_port, actions_json, workprint
from workprint.store import SessionReader

PAGES = Path(__file__).with_name("pages")
EMAIL = "jane.doe@example.com"
PASSWORD = "Hunter2-PLAYWRIGHT"
XDOTOOL_PASSWORD = "XDOTOOLPW77"
CARD = "4111 1111 1111 1111"
URL_TOKEN = "Z9xQ7mKp2LwR8vT4nY6bH3jD5fG1sA0c"
PRIVATE = "PRIVATE-SECRET-31"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site():
    handler = functools.partial(QuietHandler, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browsed(desk, site, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("home")
    policy = home / "policy.toml"
    policy.write_text('[urls]\ndeny = ["http://127.0.0.1:*/private/*"]\n')
    desk.env["WORKPRINT_BRIDGE_PORT"] = str(_free_port())
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    extension = workprint("extension", "path", env=env).stdout.strip()
    rec = Recording(desk, home, policy)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path="/usr/bin/chromium", headless=False,
            env=desk.env, viewport={"width": 1200, "height": 800},
            args=[f"--disable-extensions-except={extension}", f"--load-extension={extension}", "--no-sandbox",
                  "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-position=0,0"])
        if not context.service_workers:  # the extension is loaded before the first page, as for a user
            context.wait_for_event("serviceworker", timeout=15000)
        page = context.new_page()
        page.goto(f"{site}/form.html?session={URL_TOKEN}&contact={EMAIL}")
        time.sleep(1.0)
        page.click("#email")
        page.keyboard.type(EMAIL, delay=30)
        page.click("#pw")
        page.keyboard.type(PASSWORD, delay=30)
        page.click("#card")
        page.keyboard.type(CARD, delay=30)
        page.click("#note")
        page.keyboard.type("leave at the door", delay=30)
        page.select_option("#size", "l")
        page.click("text=Place order")
        # A real click from the X server on the same button: one action, with the page's target.
        desk.activate(int(desk.xdotool("search", "--onlyvisible", "--class", "chromium").splitlines()[-1]))
        page.evaluate("addEventListener('mousemove', e => window.__origin = [e.screenX - e.clientX, e.screenY - e.clientY])")
        desk.xdotool("mousemove", 300, 300)
        time.sleep(0.3)
        desk.xdotool("mousemove", 320, 310)
        time.sleep(0.3)
        x, y = page.evaluate("""() => { const r = document.querySelector('button[type=submit]').getBoundingClientRect();
            const [ox, oy] = window.__origin;
            return [Math.round((ox + r.left + r.width / 2) * devicePixelRatio),
                    Math.round((oy + r.top + r.height / 2) * devicePixelRatio)]; }""")
        desk.xdotool("mousemove", x, y)
        time.sleep(0.3)
        desk.xdotool("click", 1)
        time.sleep(0.8)
        # Real X keystrokes into the password field: the desktop hook must keep none of them.
        page.focus("#pw")
        time.sleep(0.5)
        desk.activate(int(desk.xdotool("search", "--onlyvisible", "--class", "chromium").splitlines()[-1]))
        page.focus("#pw")
        time.sleep(0.5)
        desk.xdotool("type", "--delay", 60, XDOTOOL_PASSWORD)
        time.sleep(0.5)
        page.click("#note")
        time.sleep(0.5)

        page.goto(f"{site}/widgets.html")
        time.sleep(1.0)
        page.click(".choices")
        page.click(".choices__list--dropdown .choices__item >> text=Banana")
        page.click("#city-ts-control")
        page.click(".ts-dropdown .option >> text=Paris")
        page.click("#actions")
        page.click("[role=menuitem] >> text=Archive")
        page.click("#settings-link")
        time.sleep(0.5)

        page.goto(f"{site}/private/secret.html")
        time.sleep(0.8)
        page.click("#q")
        page.keyboard.type(PRIVATE, delay=30)
        page.click("#go")
        time.sleep(0.5)
        page.goto(f"{site}/form.html")
        time.sleep(2.5)  # the service worker flushes its batch
        context.close()
    code, out, err = rec.stop()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    return {"env": env, "home": home, "session": session, "actions": actions_json(env, session), "site": site,
            "real_click": (x, y)}


def test_selects_from_every_kind_of_dropdown(browsed):
    selects = {a["label"]: a for a in browsed["actions"] if a["type"] == "select"}
    assert {"Large", "Banana", "Paris", "Archive"} <= set(selects), selects.keys()
    assert selects["Large"]["value"] == "l"
    assert selects["Archive"]["target"]["role"] == "menuitem"
    assert selects["Banana"]["url"].endswith("/widgets.html")
    assert list(selects).count("Banana") == 1


def test_clicks_name_their_target(browsed):
    clicks = [a for a in browsed["actions"] if a["type"] == "click" and a.get("target")]
    names = {(a["target"]["role"], a["target"]["name"]) for a in clicks}
    assert ("button", "Place order") in names
    assert ("button", "Actions") in names
    order = next(a for a in clicks if a["target"]["name"] == "Place order")
    assert order["target"]["selector"] and order["url"].split("?")[0].endswith("/form.html")
    assert order["x"] is not None and order["target"]["bbox"][2] > 0


def test_one_type_per_field_with_redacted_text(browsed):
    typed = [a for a in browsed["actions"] if a["type"] == "type"]
    by_field = {a.get("target", {}).get("name"): a for a in typed}
    assert by_field["Email"]["text"] == "[EMAIL]" and by_field["Email"]["redacted"] == ["email"]
    assert by_field["Delivery note"]["text"] == "leave at the door"
    assert "Password" not in by_field and "Card number" not in by_field
    assert len([a for a in typed if a.get("target", {}).get("name") == "Delivery note"]) >= 1


def test_a_real_click_is_joined_with_its_page_target(browsed):
    x, y = browsed["real_click"]
    near = [a for a in browsed["actions"] if a["type"] == "click" and a.get("x") is not None
            and abs(a["x"] - x) <= 3 and abs(a["y"] - y) <= 3]
    desktop = [a for a in near if a["app"] == "chromium"]
    assert len(desktop) == 1, near
    click = desktop[0]
    twins = [a for a in near if a is not click and abs(a["t"] - click["t"]) <= 0.6]
    assert not twins, "the page's event for the same click is joined, not a second action"
    assert click["target"]["name"] == "Place order" and click["url"].split("?")[0].endswith("/form.html")
    bx, by, bw, bh = click["target"]["bbox"]
    assert bx - 3 <= x <= bx + bw + 3 and by - 3 <= y <= by + bh + 3, "page boxes are in screen pixels"


def test_navigations_include_single_page_app_routes(browsed):
    urls = [a["url"] for a in browsed["actions"] if a["type"] == "navigate"]
    assert any(u.endswith("/form.html") for u in urls)
    assert any("session=[SECRET]" in u and "contact=[EMAIL]" in u for u in urls), urls
    assert any(u.endswith("/app/settings") for u in urls), urls


def test_secrets_and_denied_pages_appear_nowhere(browsed, tmp_path):
    env, home, session = browsed["env"], browsed["home"], browsed["session"]
    out = tmp_path / "export"
    workprint("export", session, "--format", "chat", "--out", str(out), "--quiet", env=env)
    everything = "\n".join([json.dumps(SessionReader(home, session).events()), json.dumps(browsed["actions"])]
                           + [p.read_text() for p in out.rglob("*.jsonl")])
    for secret in (EMAIL, URL_TOKEN, PASSWORD, XDOTOOL_PASSWORD, CARD, CARD.replace(" ", ""), PRIVATE, "PRIVATEBUTTON",
                   "secret.html", "Payroll"):
        at = everything.find(secret)
        assert at < 0, f"{secret} found: ...{everything[max(0, at - 400):at + 100]}..."
    kinds = [e["kind"] for e in SessionReader(home, session).events()]
    assert "dom_click" in kinds and "secure_input" in kinds


def test_bridge_refuses_requests_without_the_token(home, monkeypatch):
    import httpx

    monkeypatch.setenv("WORKPRINT_BRIDGE_PORT", str(_free_port()))
    from workprint.capture.browser import BrowserBridge, bridge_config

    received = []
    bridge = BrowserBridge(home, lambda t, e: received.append(e))
    bridge.start()
    try:
        url = f"http://127.0.0.1:{bridge.port}/events"
        event = {"events": [{"type": "click", "ts": time.time() * 1000, "url": "http://x/"}]}
        assert httpx.post(url, json=event).status_code == 401
        assert httpx.post(url, json=event, headers={"X-Workprint-Token": "guess"}).status_code == 401
        token = {"X-Workprint-Token": bridge_config(home)["token"]}
        assert httpx.post(url, content=b"{not json", headers=token).status_code == 400
        assert httpx.post(url, json=event, headers=token).status_code == 200
        assert len(received) == 1
    finally:
        bridge.stop()
    assert (home / "bridge.json").stat().st_mode & 0o077 == 0


def test_headless_chromium_records_too(desk, site, home):
    from playwright.sync_api import sync_playwright

    env = {**desk.env, "WORKPRINT_HOME": str(home), "WORKPRINT_BRIDGE_PORT": str(_free_port())}
    extension = workprint("extension", "path", env=env).stdout.strip()
    desk.env["WORKPRINT_BRIDGE_PORT"] = env["WORKPRINT_BRIDGE_PORT"]
    rec = Recording(desk, home)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(home / "profile"), executable_path="/usr/bin/chromium", headless=True, env=desk.env,
            args=["--headless=new", f"--disable-extensions-except={extension}", f"--load-extension={extension}",
                  "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        if not context.service_workers:  # the extension is loaded before the first page, as for a user
            context.wait_for_event("serviceworker", timeout=15000)
        page = context.new_page()
        page.goto(f"{site}/form.html")
        time.sleep(1.0)
        page.select_option("#size", "m")
        time.sleep(2.5)
        context.close()
    code, out, err = rec.stop()
    assert code == 0, err
    actions = actions_json(rec.env, out.strip().splitlines()[-1])
    assert any(a["type"] == "select" and a["label"] == "Medium" for a in actions)

"""The browser extension in Debian's Chromium (headed, under Xvfb) with `workprint record`
running: targets, dropdowns (native, Choices.js, Tom Select, an ARIA menu), one `type` per
field, navigations; secure fields and denied pages leave nothing. Events travel through Chrome
native messaging and a Unix socket: a process squatting the old loopback port receives nothing."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Recording, actions_json, workprint
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


OLD_BRIDGE_PORT = 47631  # the fixed loopback port the extension used to post to


class Squatter:
    """A local process that took the browser channel's old fixed port first: it records whatever arrives."""

    def __init__(self, port: int = OLD_BRIDGE_PORT):
        self.received: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", port))
        except OSError:  # someone else holds it (e.g. an older recorder): the other tests still run
            self.bound = False
            self.sock.close()
            return
        self.bound = True
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1.0)
            try:
                self.received.append(conn.recv(65536))
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        if self.bound:
            self._stop.set()
            self._thread.join(timeout=2)
            self.sock.close()


def install_extension(env: dict, profile: Path) -> str:
    """`workprint extension install` for a browser started with --user-data-dir=profile."""
    return workprint("extension", "install", "--browser-dir", str(profile), env=env).stdout.strip()


def wait_for_channel(context, page, url: str, timeout: float = 30) -> None:
    """Open an allowed page and wait until the extension holds the recorder's policy: what a person
    browses right after starting the browser is then recorded (and filtered) like the rest."""
    page.goto(url)
    worker = context.service_workers[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if worker.evaluate("policy !== null"):
                return
        except Exception:  # the worker restarted; ask again
            worker = context.service_workers[0] if context.service_workers else worker
        page.mouse.click(5, 5)  # an event to send makes the extension ask for the policy
        time.sleep(0.3)
    raise AssertionError("the extension never received the recorder's policy")


@pytest.fixture(scope="module")
def browsed(desk, site, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    squatter = Squatter()
    home = tmp_path_factory.mktemp("home")
    policy = home / "policy.toml"
    policy.write_text('[urls]\ndeny = ["http://127.0.0.1:*/private/*"]\n')
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    profile = tmp_path_factory.mktemp("profile")
    extension = install_extension(env, profile)
    rec = Recording(desk, home, policy)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path="/usr/bin/chromium", headless=False,
            env=desk.env, viewport={"width": 1200, "height": 800},
            args=[f"--disable-extensions-except={extension}", f"--load-extension={extension}", "--no-sandbox",
                  "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-position=0,0"])
        if not context.service_workers:  # the extension is loaded before the first page, as for a user
            context.wait_for_event("serviceworker", timeout=15000)
        page = context.new_page()
        wait_for_channel(context, page, f"{site}/widgets.html")
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
    squatter.close()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    return {"env": env, "home": home, "session": session, "actions": actions_json(env, session), "site": site,
            "real_click": (x, y), "squatter": squatter}


def test_a_process_on_the_old_port_receives_nothing(browsed):
    squatter = browsed["squatter"]
    if not squatter.bound:
        pytest.skip(f"port {OLD_BRIDGE_PORT} was taken by another process before this test could squat it")
    assert squatter.connections == 0 and not any(squatter.received), squatter.received
    kinds = {e["kind"] for e in SessionReader(browsed["home"], browsed["session"]).events()}
    assert {"dom_click", "dom_navigate", "dom_input"} <= kinds, "the recorder received the page events"


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


def _bridge_conn(home: Path) -> tuple[socket.socket, object]:
    from workprint.capture.browser import socket_path

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)
    conn.connect(str(socket_path(home)))
    return conn, conn.makefile("rb")


def test_bridge_is_a_private_unix_socket_that_answers_bad_input_without_tracebacks(home, capfd):
    from workprint.capture.browser import MAX_LINE, BrowserBridge, socket_path
    from workprint.privacy.policy import Policy

    received = []
    policy = Policy(deny_urls=("http://127.0.0.1:*/private/*",))
    bridge = BrowserBridge(home, lambda t, e: received.append(e), policy)
    bridge.start()
    try:
        assert (socket_path(home).parent.stat().st_mode & 0o777) == 0o700
        assert (socket_path(home).stat().st_mode & 0o077) == 0
        conn, reader = _bridge_conn(home)
        hello = json.loads(reader.readline())
        assert hello["policy"]["deny"] == ["http://127.0.0.1:*/private/*"], "the extension learns the URL policy"
        event = {"type": "click", "ts": time.time() * 1000, "url": "http://x/"}
        for bad in (b"{not json\n", '{"events": "été 😀"}\n'.encode(), b"\xff\xfe\n",
                    b'{"events": [1, "x", {"ts": "soon"}]}\n'):
            conn.sendall(bad)
            answer = json.loads(reader.readline())
            assert "error" in answer or answer == {"accepted": 0}, answer
        conn.sendall(json.dumps({"events": [event]}).encode() + b"\n")
        assert json.loads(reader.readline()) == {"accepted": 1}
        # A page can put lone UTF-16 surrogates in its labels; JSON carries them as escapes. Kept, they
        # would break every later reader that writes UTF-8 (`actions --json`, exports, the upload).
        lone = {"type": "click", "ts": time.time() * 1000, "url": "http://x/", "name": "Pay \ud800now",
                "target": {"\udfff": ["ok \ud83d\ude00"]}}
        conn.sendall(json.dumps({"events": [lone]}).encode() + b"\n")
        assert json.loads(reader.readline()) == {"accepted": 1}
        kept = json.dumps(received[-1], ensure_ascii=False).encode("utf-8")  # raised before
        assert "Pay \ufffdnow".encode() in kept and "ok \U0001f600".encode() in kept
        conn.sendall(b"x" * (MAX_LINE + 10) + b"\n")
        assert "error" in json.loads(reader.readline())
        conn.close()
        conn, reader = _bridge_conn(home)  # a bad client does not stop the bridge
        reader.readline()
        conn.sendall(json.dumps({"events": [event]}).encode() + b"\n")
        assert json.loads(reader.readline()) == {"accepted": 1}
        conn.close()
    finally:
        bridge.stop()
    assert len(received) == 3
    assert "Traceback" not in capfd.readouterr().err


def test_each_person_has_their_own_bridge_and_a_second_recorder_is_refused(tmp_path):
    from workprint.capture.browser import BridgeError, BrowserBridge

    alice, bob = tmp_path / "alice", tmp_path / "bob"
    got = {"alice": [], "bob": []}
    first = BrowserBridge(alice, lambda t, e: got["alice"].append(e))
    second = BrowserBridge(bob, lambda t, e: got["bob"].append(e))
    first.start()
    second.start()
    try:
        with pytest.raises(BridgeError, match="another workprint recorder"):
            BrowserBridge(alice, lambda t, e: None)
        conn, reader = _bridge_conn(bob)
        reader.readline()
        conn.sendall(json.dumps({"events": [{"type": "click", "ts": 1.0}]}).encode() + b"\n")
        assert json.loads(reader.readline()) == {"accepted": 1}
        conn.close()
    finally:
        first.stop()
        second.stop()
    assert len(got["bob"]) == 1 and not got["alice"]
    # A recorder killed with its socket left behind does not block the next one.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    from workprint.capture.browser import socket_path

    stale.bind(str(socket_path(alice)))
    stale.close()
    again = BrowserBridge(alice, lambda t, e: None)
    again.start()
    again.stop()


def test_native_host_relays_and_says_when_the_recorder_is_not_running(home, tmp_path):
    import struct
    import subprocess

    from workprint.capture.browser import BrowserBridge, install

    _, manifests = install(home, [tmp_path / "browser"])
    manifest = json.loads(manifests[0].read_text())
    assert manifest["allowed_origins"] == ["chrome-extension://ogppokacnkagjgjlellcobgnionfooae/"]

    def talk(*messages: dict) -> list[dict]:
        data = b"".join(struct.pack("=I", len(m)) + m for m in (json.dumps(x).encode() for x in messages))
        out = subprocess.run([manifest["path"], "chrome-extension://ogppokacnkagjgjlellcobgnionfooae/"], input=data,
                             capture_output=True, timeout=30, env={"PATH": os.environ["PATH"]}).stdout
        replies = []
        while out:
            (n,) = struct.unpack("=I", out[:4])
            replies.append(json.loads(out[4:4 + n]))
            out = out[4 + n:]
        return replies

    down = talk({"op": "hello"}, {"op": "events", "events": [{"type": "click", "ts": 1.0}]})
    assert all("not running" in r["error"] or "not connected" in r["error"] for r in down), down
    received = []
    bridge = BrowserBridge(home, lambda t, e: received.append(e))
    bridge.start()
    try:
        up = talk({"op": "hello"}, {"op": "events", "events": [{"type": "click", "ts": 1.0}]})
    finally:
        bridge.stop()
    assert up[0]["hello"] == "workprint" and up[1] == {"accepted": 1} and len(received) == 1


def test_headless_chromium_records_too(desk, site, home):
    from playwright.sync_api import sync_playwright

    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    extension = install_extension(env, home / "profile")
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


def test_the_extension_applies_the_url_policy_before_sending(desk, site, home):
    """The recorder's end is replaced by a bare bridge that keeps everything it receives:
    nothing from a denied page may arrive at all, only that the browser showed one."""
    from playwright.sync_api import sync_playwright

    from workprint.capture.browser import BrowserBridge
    from workprint.privacy.policy import Policy

    received: list[dict] = []
    bridge = BrowserBridge(home, lambda t, e: received.append(e), Policy(deny_urls=("http://127.0.0.1:*/private/*",)))
    bridge.start()
    env = {**desk.env, "WORKPRINT_HOME": str(home)}
    extension = install_extension(env, home / "profile")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(home / "profile"), executable_path="/usr/bin/chromium", headless=True, env=desk.env,
                args=["--headless=new", f"--disable-extensions-except={extension}", f"--load-extension={extension}",
                      "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            if not context.service_workers:
                context.wait_for_event("serviceworker", timeout=15000)
            page = context.new_page()
            wait_for_channel(context, page, f"{site}/widgets.html")
            page.goto(f"{site}/private/secret.html?token={URL_TOKEN}")
            time.sleep(0.8)
            page.click("#q")
            page.keyboard.type(PRIVATE, delay=20)
            page.click("#go")
            page.goto(f"{site}/form.html")
            time.sleep(0.8)
            page.select_option("#size", "m")
            deadline = time.monotonic() + 30  # the service worker sends in batches; a loaded machine is slow
            while time.monotonic() < deadline and not (
                    "select" in {e.get("type") for e in received} and any(e.get("denied") for e in received)):
                time.sleep(0.2)
            time.sleep(0.5)  # anything sent after those would have come with them
            context.close()
    finally:
        bridge.stop()
    dump = json.dumps(received)
    assert "select" in {e.get("type") for e in received}, "allowed pages still arrive"
    for secret in ("private", "secret.html", PRIVATE, URL_TOKEN, "PRIVATEBUTTON"):
        assert secret not in dump, f"{secret} left the browser"
    assert any(e.get("denied") for e in received), "the recorder learns that a denied page was shown"


def test_starting_the_bridge_never_narrows_what_other_threads_create(home, monkeypatch):
    """The recorder's other threads keep creating folders while the bridge starts; a process-wide
    umask set around the socket's creation made such a folder 0600, which nobody can enter."""
    from workprint import files
    from workprint.capture.browser import BrowserBridge

    made: list[int] = []
    real_bind = files._PrivateServer.server_bind

    def bind_while_another_thread_makes_a_folder(server) -> None:
        worker = threading.Thread(target=lambda: made.append(files.private_dir(home / "frames-of-a-session").stat().st_mode))
        worker.start()
        worker.join()
        real_bind(server)

    monkeypatch.setattr(files._PrivateServer, "server_bind", bind_while_another_thread_makes_a_folder)
    bridge = BrowserBridge(home, lambda t, e: None)
    bridge.start()
    try:
        from workprint.capture.browser import socket_path

        assert (socket_path(home).stat().st_mode & 0o077) == 0 and (socket_path(home).parent.stat().st_mode & 0o777) == 0o700
    finally:
        bridge.stop()
    assert made and made[0] & 0o777 == 0o700, oct(made[0])


SQUATTER_SOCKET = """
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(4)
print("listening", flush=True)
conn, _ = server.accept()
conn.sendall(b'{"hello": "workprint", "policy": {"allow": null, "deny": []}}\\n')
got = conn.makefile("rb").readline()
open(sys.argv[2], "wb").write(got)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a second local user to play the squatter")
def test_the_native_host_sends_nothing_to_a_socket_another_user_planted(tmp_path):
    """A WORKPRINT_HOME in a shared folder whose run/ another local user made first: that user's
    socket answers like a recorder. The host checks who is at the other end before it sends."""
    import pwd
    import struct
    import subprocess
    import tempfile

    from workprint.capture.browser import install, socket_path

    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix="workprint-shared-"))
    shared.chmod(0o755)
    home = shared / "home"
    home.mkdir(mode=0o755)
    run = socket_path(home).parent
    run.mkdir(mode=0o700)
    os.chown(run, nobody.pw_uid, nobody.pw_gid)
    loot = shared / "loot"
    loot.touch()
    os.chown(loot, nobody.pw_uid, nobody.pw_gid)
    squatter = subprocess.Popen(["/usr/bin/python3", "-c", SQUATTER_SOCKET, str(socket_path(home)), str(loot)],
                                user=nobody.pw_uid, group=nobody.pw_gid, stdout=subprocess.PIPE, text=True)
    try:
        assert squatter.stdout.readline().strip() == "listening"
        _, manifests = install(home, [tmp_path / "browser"])
        launcher = json.loads(manifests[0].read_text())["path"]
        messages = [{"op": "hello"}, {"op": "events", "events": [{"type": "input", "text": "SQUATTED", "ts": 1.0}]}]
        data = b"".join(struct.pack("=I", len(m)) + m for m in (json.dumps(x).encode() for x in messages))
        out = subprocess.run([launcher, "chrome-extension://ogppokacnkagjgjlellcobgnionfooae/"], input=data,
                             capture_output=True, timeout=30).stdout
        replies = []
        while out:
            (n,) = struct.unpack("=I", out[:4])
            replies.append(json.loads(out[4:4 + n]))
            out = out[4 + n:]
        assert all("error" in r for r in replies), replies
        assert b"SQUATTED" not in loot.read_bytes()
    finally:
        squatter.kill()
        squatter.wait()
        import shutil

        shutil.rmtree(shared, ignore_errors=True)

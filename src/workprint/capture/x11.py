"""Linux/X11 backend: pynput (XRecord) hooks, python-xlib window lookups, mss grabs + DAMAGE,
XTEST injection, AT-SPI accessibility, zenity prompts and notify-send notifications.

Each inspector and grabber opens its own X connection, because python-xlib connections
must not be shared between threads. Importing this module needs no display (``APPS`` is
read by the policy on any machine); pynput, which probes the display when imported, is
imported when the hooks are made.
"""

from __future__ import annotations

import importlib
import os
import select
import shutil
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from Xlib import X, Xatom, display, error
from Xlib.ext import damage

from workprint.capture.base import (Accessibility, Backend, BackendUnavailable, Enqueue, Injector, OnTarget,
                                    PlatformApps, Screen, ScreenGrabber, Stroke, Window, WindowInspector)
from workprint.capture.grab import BandedGrabber
from workprint.capture.keys import Key

# App ids are WM_CLASS instance and class names.
APPS = PlatformApps(
    deny=(
        "keepass*", "keepassxc", "1password", "bitwarden", "lastpass", "enpass", "dashlane",
        "seahorse", "gnome-keyring*", "kwalletmanager*", "kwalletd*", "ksecretd",
        "pinentry*", "gcr-prompter", "polkit-gnome-authentication-agent-1", "polkit-kde-*",
        "lxpolkit", "lxqt-policykit*", "mate-polkit", "xfce-polkit", "ssh-askpass*", "x11-ssh-askpass",
        "ksshaskpass", "lxqt-openssh-askpass", "sudo", "gksu*", "kdesu*", "pkexec",
    ),
    browsers=frozenset({"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
                        "firefox", "firefox-esr", "microsoft-edge", "brave-browser", "navigator"}),
)

# X keysyms pynput reports as bare key codes.
_KEYSYM_KEYS = {0xFF0A: "enter", 0xFF8D: "enter", 0xFF09: "tab", 0xFE20: "tab"}


def open_backend() -> "X11Backend":
    """The X11 backend for the display in DISPLAY, or why there is none."""
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            raise BackendUnavailable(
                "this is a Wayland session without X11: workprint records X11 (or XWayland) only for now"
            )
        raise BackendUnavailable(
            "no display: DISPLAY is not set. Run workprint inside a desktop session, or try "
            "`make demo`, which starts a virtual display"
        )
    try:
        importlib.import_module("pynput.keyboard")  # probes the display when imported
    except ImportError as exc:
        raise BackendUnavailable(
            f"cannot use the X display {os.environ['DISPLAY']!r}: {exc}. Is the X server running?"
        ) from None
    return X11Backend()


def _open_display() -> display.Display:
    try:
        return display.Display()
    except (error.DisplayError, ConnectionError, OSError) as exc:
        raise BackendUnavailable(f"cannot open the X display: {exc}. Is DISPLAY right and the X server running?") from exc


class X11InputHooks:
    """pynput listeners; every callback only timestamps and enqueues."""

    def __init__(self, enqueue: Enqueue):
        from pynput import keyboard, mouse

        from workprint.capture.pynput_keys import key_of

        now = time.monotonic
        self._mouse = mouse.Listener(
            on_move=lambda x, y: enqueue(("move", now(), x, y)),
            on_click=lambda x, y, b, pressed: enqueue(("press" if pressed else "release", now(), x, y, b.name)),
            on_scroll=lambda x, y, dx, dy: enqueue(("wheel", now(), x, y, dx, dy)),
        )
        # Naming a key is a dictionary lookup: cheap enough for the hook.
        self._keyboard = keyboard.Listener(
            on_press=lambda k: enqueue(("key_down", now(), key_of(k, _KEYSYM_KEYS))),
            on_release=lambda k: enqueue(("key_up", now(), key_of(k, _KEYSYM_KEYS))),
        )

    def start(self) -> None:
        self._mouse.start()
        self._keyboard.start()
        self._mouse.wait()
        self._keyboard.wait()

    def stop(self) -> None:
        self._mouse.stop()
        self._keyboard.stop()


class X11WindowInspector:
    def __init__(self) -> None:
        self._d = _open_display()
        self._root = self._d.screen().root
        self._atom = {n: self._d.intern_atom(n) for n in (
            "_NET_ACTIVE_WINDOW", "_NET_WM_NAME", "UTF8_STRING", "WM_STATE")}
        self._class_cache: dict[int, tuple[str, ...]] = {}
        # Top-level window id -> its client window (None: it has none), and when that was found.
        self._client_of: dict[int, tuple[float, Any | None]] = {}
        # The focused window is cached and re-read when X says it may have changed (the WM
        # changed _NET_ACTIVE_WINDOW, or the window its title), or after ACTIVE_MAX_AGE_S.
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._d.flush()
        self._focus_atoms = {self._atom["_NET_ACTIVE_WINDOW"], self._atom["_NET_WM_NAME"], Xatom.WM_NAME}
        self._ewmh = False  # without a window manager's _NET_ACTIVE_WINDOW, focus is never cached
        self._active: Window | None = None
        self._active_at = -1e9
        self._watched: Any = None

    ACTIVE_MAX_AGE_S = 1.0

    def close(self) -> None:
        self._d.close()

    def _focus_events(self) -> bool:
        """Drain pending events; True if focus or the focused window's title may have changed."""
        changed = False
        while self._d.pending_events():
            event = self._d.next_event()
            if event.type == X.PropertyNotify and event.atom in self._focus_atoms:
                changed = True
        return changed

    def _app_ids(self, win: Any) -> tuple[str, ...] | None:
        wid = win.id
        if wid not in self._class_cache:
            cls = win.get_wm_class()
            if not cls:
                return None
            self._class_cache[wid] = tuple(dict.fromkeys(c.lower() for c in cls if c))
        return self._class_cache[wid]

    def _title(self, win: Any) -> str:
        prop = win.get_full_property(self._atom["_NET_WM_NAME"], self._atom["UTF8_STRING"])
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = win.get_wm_name()
        if isinstance(name, bytes):
            return name.decode("latin-1", "replace")
        return name or ""

    def _client(self, win: Any, depth: int = 2) -> Any | None:
        """The window carrying WM_CLASS at or below ``win`` (window managers wrap clients in frames)."""
        if self._app_ids(win) is not None:
            return win
        if depth == 0:
            return None
        for child in win.query_tree().children:
            found = self._client(child, depth - 1)
            if found is not None:
                return found
        return None

    # A top-level window with no client may still get one (a client mapping in); look again
    # after this long. A found client stays the top-level's for its life (the frame is destroyed
    # with it), so that answer is kept.
    NO_CLIENT_RECHECK_S = 5.0

    def _top_client(self, top: Any, now: float) -> Any | None:
        """``_client(top)``, remembered: walking a tree costs dozens of X round trips."""
        cached = self._client_of.get(top.id)
        if cached is not None and (cached[1] is not None or now - cached[0] < self.NO_CLIENT_RECHECK_S):
            return cached[1]
        client = self._client(top)
        self._client_of[top.id] = (now, client)
        return client

    def _rect(self, win: Any) -> tuple[int, int, int, int]:
        geo = win.get_geometry()
        pos = win.translate_coords(self._root, 0, 0)
        return -pos.x, -pos.y, geo.width, geo.height

    def _window_of(self, client: Any, outer: Any | None = None) -> Window:
        return Window(
            wid=client.id,
            app_ids=self._app_ids(client) or (),
            title=self._title(client),
            rect=self._rect(outer or client),
        )

    def active_window(self) -> Window | None:
        now = time.monotonic()
        changed = self._focus_events()
        if (not changed and self._ewmh and self._watched is not None
                and now - self._active_at < self.ACTIVE_MAX_AGE_S):
            return self._active
        window = self._read_active_window()
        self._active, self._active_at = window, now
        if window is not None and (self._watched is None or self._watched.id != window.wid):
            try:
                self._watched = self._d.create_resource_object("window", window.wid)
                self._watched.change_attributes(event_mask=X.PropertyChangeMask)
                self._d.flush()
            except error.XError:
                self._watched = None
        return window

    def _read_active_window(self) -> Window | None:
        try:
            win = None
            prop = self._root.get_full_property(self._atom["_NET_ACTIVE_WINDOW"], Xatom.WINDOW)
            self._ewmh = prop is not None
            if prop is not None and prop.value and prop.value[0]:
                win = self._d.create_resource_object("window", prop.value[0])
            else:
                focus = self._d.get_input_focus().focus
                if isinstance(focus, int) or focus is None or focus == self._root:
                    return None
                win = focus
            # Walk up from the focused window to the one carrying WM_CLASS.
            probe = win
            for _ in range(8):
                if self._app_ids(probe) is not None:
                    return self._window_of(probe)
                parent = probe.query_tree().parent
                if parent is None or parent == self._root or parent.id == self._root.id:
                    break
                probe = parent
            client = self._client(win)
            return self._window_of(client) if client is not None else None
        except (error.XError, error.BadWindow, error.BadDrawable, error.BadMatch):
            return None

    def windows(self) -> list[Window]:
        """Viewable top-level windows, bottom to top, each with its client's app ids."""
        out: list[Window] = []
        now = time.monotonic()
        try:
            children = self._root.query_tree().children
        except error.XError:
            return out
        alive = {top.id for top in children}
        self._client_of = {wid: v for wid, v in self._client_of.items() if wid in alive}
        for top in children:
            try:
                if top.get_attributes().map_state != X.IsViewable:
                    continue
                client = self._top_client(top, now)
                if client is None:
                    geo = top.get_geometry()
                    out.append(Window(top.id, (), "", (geo.x, geo.y, geo.width, geo.height)))
                else:
                    out.append(self._window_of(client, outer=top))
            except (error.XError, error.BadWindow, error.BadDrawable, error.BadMatch):
                continue  # the window went away while we looked
        return out


class X11ScreenGrabber(BandedGrabber):
    """mss grabs; X DAMAGE says when and where anything was drawn.

    Only the damaged bounding box is read from the server and patched into the full-screen
    buffer (``BandedGrabber``): typing in an editor damages a few hundred pixels, not two million.
    """

    def __init__(self) -> None:
        import mss

        super().__init__()
        self._mss = mss.MSS()
        self._monitor = self._mss.monitors[0]
        self._d = _open_display()
        self._damage = None
        if self._d.has_extension("DAMAGE"):
            self._d.damage_query_version()
            self._damage = self._d.screen().root.damage_create(damage.DamageReportBoundingBox)
            # python-xlib clones extension event classes per display: compare codes, not classes.
            self._damage_code = self._d.extension_event.DamageNotify
        # Window maps, moves, restacking and focus changes: the sampler re-reads the window list.
        self._d.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask | X.PropertyChangeMask)
        self._d.flush()

    def _screen_size(self) -> tuple[int, int]:
        return self._monitor["width"], self._monitor["height"]

    def _grab_impl(self, x: int, y: int, w: int, h: int) -> bytes | bytearray:
        mon = self._monitor
        return self._mss.grab({"left": mon["left"] + x, "top": mon["top"] + y, "width": w, "height": h}).raw

    def wait_change(self, timeout: float) -> bool:
        if self._damage is None:  # no DAMAGE: poll by comparing full grabs
            time.sleep(timeout)
            before = self.last_bands()
            self.invalidate()
            return self.grab()[2] != before
        changed = False
        deadline = time.monotonic() + timeout
        while True:
            while pending := self._d.pending_events():
                for _ in range(pending):  # one read of the socket per batch, not per event
                    event = self._d.next_event()
                    if event.type == self._damage_code:
                        area = event.area
                        self.add_dirty(area.x, area.y, area.width, area.height)
                        changed = True
                    else:
                        self.windows_changed = True
            if changed:
                self._d.damage_subtract(self._damage)
                self._d.flush()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            select.select([self._d.fileno()], [], [], remaining)

    def close(self) -> None:
        self._mss.close()
        self._d.close()


class X11Backend:
    name = "x11"
    apps = APPS

    def __init__(self) -> None:
        d = _open_display()
        try:
            self._root_geometry = d.screen().root.get_geometry()
            self._dpi = 96.0
            resources = d.screen().root.get_full_property(d.intern_atom("RESOURCE_MANAGER"), Xatom.STRING)
            if resources is not None:
                for line in resources.value.decode("latin-1", "replace").splitlines():
                    if line.startswith("Xft.dpi:"):
                        try:
                            self._dpi = float(line.split(":", 1)[1])
                        except ValueError:
                            pass
        finally:
            d.close()

    def screen(self) -> Screen:
        return Screen(self._root_geometry.width, self._root_geometry.height, round(self._dpi / 96.0, 3))

    def input_hooks(self, enqueue: Enqueue) -> X11InputHooks:
        return X11InputHooks(enqueue)

    def window_inspector(self) -> X11WindowInspector:
        return X11WindowInspector()

    def screen_grabber(self) -> X11ScreenGrabber:
        return X11ScreenGrabber()

    def injector(self) -> "X11Injector":
        return X11Injector()

    def accessibility(self, on_target: OnTarget) -> Accessibility:
        from workprint.capture.atspi.targets import AccessibilityWorker

        return AccessibilityWorker(on_target)

    def ask_text(self, title: str, prompt: str) -> str | None:
        try:
            out = subprocess.run(["zenity", "--entry", "--title", title, "--text", prompt],
                                 capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = out.stdout.strip()
        return text if out.returncode == 0 and text else None

    def notify(self, summary: str, body: str = "") -> None:
        command = shutil.which("notify-send")
        if not command:
            return

        def send() -> None:
            try:
                subprocess.run([command, "-a", "workprint", "-t", "4000", summary, body],
                               timeout=3, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass

        threading.Thread(target=send, daemon=True).start()


_BUTTONS = {"left": 1, "middle": 2, "right": 3}

# pyautogui key names -> X keysyms (Xlib.XK names).
_KEYSYM_NAMES = {
    "enter": "Return", "return": "Return", "tab": "Tab", "esc": "Escape", "escape": "Escape",
    "backspace": "BackSpace", "delete": "Delete", "del": "Delete", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "Prior", "pagedown": "Next", "up": "Up", "down": "Down", "left": "Left",
    "right": "Right", "space": "space", "ctrl": "Control_L", "alt": "Alt_L", "shift": "Shift_L",
    "win": "Super_L", "altgr": "ISO_Level3_Shift", "capslock": "Caps_Lock", "apps": "Menu",
    "printscreen": "Print", "numlock": "Num_Lock", "scrolllock": "Scroll_Lock", "pause": "Pause",
    **{f"f{n}": f"F{n}" for n in range(1, 21)},
}
# pyautogui's other spellings -> the name the input hooks report.
_HOOK_NAME = {"return": "enter", "escape": "esc", "del": "delete"}


def keysym(key: str) -> int:
    """The X keysym for a pyautogui key name or one character."""
    from Xlib import XK

    if key in _KEYSYM_NAMES:
        return XK.string_to_keysym(_KEYSYM_NAMES[key])
    if len(key) == 1:
        code = ord(key)
        return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 + code
    value = XK.string_to_keysym(key)
    if not value:
        raise ValueError(f"unknown key {key!r}")
    return value


class X11Injector:
    """Synthetic input through the XTEST extension (python-xlib, no extra tool or process).

    One X connection, used from one thread (the agent's). Characters that have no key in the
    current keyboard map are typed by binding their keysym to a spare key code for the
    moment, the way xdotool does, and the map is restored on ``close``.
    """

    def __init__(self) -> None:
        from Xlib.ext import xtest

        self._xtest = xtest
        self._d = _open_display()
        if not self._d.has_extension("XTEST"):
            self._d.close()
            raise BackendUnavailable("the X server has no XTEST extension, so an agent cannot act on it")
        self._remapped: dict[int, int] = {}  # keycode -> keysym bound for unmapped characters
        first = self._d.display.info.min_keycode
        count = self._d.display.info.max_keycode - first + 1
        mapping = self._d.get_keyboard_mapping(first, count)
        self._spare = [first + i for i, syms in enumerate(mapping) if not any(syms)]

    def _sync(self) -> None:
        self._d.sync()

    def move(self, x: int, y: int) -> None:
        self._xtest.fake_input(self._d, X.MotionNotify, x=int(x), y=int(y))
        self._sync()

    def button(self, button: str, down: bool) -> None:
        self._xtest.fake_input(self._d, X.ButtonPress if down else X.ButtonRelease, _BUTTONS.get(button, 1))
        self._sync()

    def wheel(self, dx: int, dy: int) -> None:
        """One wheel click: dy > 0 up (button 4), dy < 0 down (5), dx < 0 left (6), dx > 0 right (7)."""
        number = 4 if dy > 0 else 5 if dy < 0 else 7 if dx > 0 else 6
        self._xtest.fake_input(self._d, X.ButtonPress, number)
        self._xtest.fake_input(self._d, X.ButtonRelease, number)
        self._sync()

    def _keycode(self, sym: int) -> tuple[int, bool]:
        """(key code, shift needed) for a keysym, binding a spare key code if none has it."""
        for code, index in self._d.keysym_to_keycodes(sym):
            if index in (0, 1):
                return code, index == 1
        for code, bound in self._remapped.items():
            if bound == sym:
                return code, False
        if not self._spare:
            raise ValueError(f"no key can type keysym {sym:#x}")
        code = self._spare.pop()
        self._d.change_keyboard_mapping(code, [(sym, sym)])
        self._d.sync()
        self._remapped[code] = sym
        time.sleep(0.02)  # clients learn of the new map through MappingNotify
        return code, False

    def stroke(self, key: str) -> Stroke:
        sym = keysym(key)
        code, shift = self._keycode(sym)
        # The hooks report the keysym as the key's code (pynput's vk).
        hook = Key.typing(key, sym) if len(key) == 1 else Key(_HOOK_NAME.get(key, key), None, sym)
        return Stroke(hook, shift, code in self._remapped)

    def key(self, key: str, down: bool) -> None:
        code, _ = self._keycode(keysym(key))
        self._xtest.fake_input(self._d, X.KeyPress if down else X.KeyRelease, code)
        self._sync()

    def close(self) -> None:
        try:
            for code in self._remapped:
                self._d.change_keyboard_mapping(code, [(0, 0)])
            self._d.sync()
        finally:
            self._d.close()


if TYPE_CHECKING:  # mypy checks that this module implements the interface in capture.base
    _backend: Backend = X11Backend()
    _injector: Injector = X11Injector()
    _grabber: ScreenGrabber = X11ScreenGrabber()
    _inspector: WindowInspector = X11WindowInspector()

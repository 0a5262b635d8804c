"""Linux/X11 backend: pynput (XRecord) hooks, python-xlib window lookups, mss grabs + DAMAGE.

Each inspector and grabber opens its own X connection, because python-xlib connections
must not be shared between threads.
"""

from __future__ import annotations

import select
import time
from typing import Any

from pynput import keyboard, mouse
from Xlib import X, Xatom, display, error
from Xlib.ext import damage

from workprint.capture.base import BackendUnavailable, Enqueue, Screen, Window


def _open_display() -> display.Display:
    try:
        return display.Display()
    except (error.DisplayError, ConnectionError, OSError) as exc:
        raise BackendUnavailable(f"cannot open the X display: {exc}. Is DISPLAY right and the X server running?") from exc


class X11InputHooks:
    """pynput listeners; every callback only timestamps and enqueues."""

    def __init__(self, enqueue: Enqueue):
        now = time.monotonic
        self._mouse = mouse.Listener(
            on_move=lambda x, y: enqueue(("move", now(), x, y)),
            on_click=lambda x, y, b, pressed: enqueue(("press" if pressed else "release", now(), x, y, b.name)),
            on_scroll=lambda x, y, dx, dy: enqueue(("wheel", now(), x, y, dx, dy)),
        )
        self._keyboard = keyboard.Listener(
            on_press=lambda k: enqueue(("key_down", now(), k)),
            on_release=lambda k: enqueue(("key_up", now(), k)),
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

    def close(self) -> None:
        self._d.close()

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

    def _rect(self, win: Any) -> tuple[int, int, int, int]:
        geo = win.get_geometry()
        pos = win.translate_coords(self._root, 0, 0)
        return -pos.x, -pos.y, geo.width, geo.height

    def _describe(self, client: Any, outer: Any | None = None) -> Window:
        return Window(
            wid=client.id,
            app_ids=self._app_ids(client) or (),
            title=self._title(client),
            rect=self._rect(outer or client),
        )

    def active_window(self) -> Window | None:
        try:
            win = None
            prop = self._root.get_full_property(self._atom["_NET_ACTIVE_WINDOW"], Xatom.WINDOW)
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
                    return self._describe(probe)
                parent = probe.query_tree().parent
                if parent is None or parent == self._root or parent.id == self._root.id:
                    break
                probe = parent
            client = self._client(win)
            return self._describe(client) if client is not None else None
        except (error.XError, error.BadWindow, error.BadDrawable, error.BadMatch):
            return None

    def windows(self) -> list[Window]:
        """Viewable top-level windows, bottom to top, each with its client's app ids."""
        out: list[Window] = []
        try:
            children = self._root.query_tree().children
        except error.XError:
            return out
        for top in children:
            try:
                if top.get_attributes().map_state != X.IsViewable:
                    continue
                client = self._client(top)
                if client is None:
                    geo = top.get_geometry()
                    out.append(Window(top.id, (), "", (geo.x, geo.y, geo.width, geo.height)))
                else:
                    out.append(self._describe(client, outer=top))
            except (error.XError, error.BadWindow, error.BadDrawable, error.BadMatch):
                continue  # the window went away while we looked
        return out


class X11ScreenGrabber:
    """mss grabs of the whole screen; X DAMAGE says when anything was drawn."""

    def __init__(self) -> None:
        import mss

        self._mss = mss.MSS()
        self._monitor = self._mss.monitors[0]
        self._d = _open_display()
        self._damage = None
        if self._d.has_extension("DAMAGE"):
            self._d.damage_query_version()
            self._damage = self._d.screen().root.damage_create(damage.DamageReportNonEmpty)
            # python-xlib clones extension event classes per display: compare codes, not classes.
            self._damage_code = self._d.extension_event.DamageNotify
            self._d.flush()
        self._last: bytes | None = None

    def wait_change(self, timeout: float) -> bool:
        if self._damage is None:  # no DAMAGE: poll by comparing grabs
            time.sleep(timeout)
            _, _, pixels = self.grab()
            changed, self._last = pixels != self._last, pixels
            return changed
        changed = False
        deadline = time.monotonic() + timeout
        while True:
            while self._d.pending_events():
                event = self._d.next_event()
                if event.type == self._damage_code:
                    changed = True
            if changed:
                self._d.damage_subtract(self._damage)
                self._d.flush()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            select.select([self._d.fileno()], [], [], remaining)

    def grab(self) -> tuple[int, int, bytes]:
        shot = self._mss.grab(self._monitor)
        return shot.width, shot.height, bytes(shot.raw)

    def close(self) -> None:
        self._mss.close()
        self._d.close()


class X11Backend:
    name = "x11"

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

"""Targets from the accessibility bus (AT-SPI over D-Bus): what is under a point.

Spoken with jeepney (pure-Python D-Bus) because the official bindings (pyatspi, PyGObject)
are not installable from PyPI without compiling against system libraries. Only four calls
are needed: the registry's applications, their windows' extents, GetAccessibleAtPoint and
the role and name of what it returns. Queries run on the recorder's accessibility worker,
never in an input hook.
"""

from __future__ import annotations

import os
import queue
from collections import deque
import threading
import time
from typing import Any, Callable, Mapping

from jeepney import DBusAddress, HeaderFields, MatchRule, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from workprint.errors import WorkprintError
from workprint.vocabulary import Rect

_NULL = "/org/a11y/atspi/null"
_ACC = "org.a11y.atspi.Accessible"
_COMP = "org.a11y.atspi.Component"
_SCREEN = 0  # ATSPI_COORD_TYPE_SCREEN
# Popups (menus, combo lists) sit above the app's main window and win ties.
_POPUP_ROLES = {"window", "menu", "popup menu", "combo box", "list", "tool tip"}
_STATE_SHOWING = 25
_LAYOUT_ROLES = {"filler", "panel", "scroll pane", "viewport", "layered pane", "unknown", "redundant object",
                 "section", "split pane", "glass pane", "root pane", "option pane", "internal frame"}

_CONTAINER_ROLES = _LAYOUT_ROLES | {"page tab list", "page tab", "frame", "window", "dialog", "tool bar"}


class AccessibilityUnavailable(WorkprintError):
    pass


def _bus_address(timeout: float, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    address = env.get("AT_SPI_BUS_ADDRESS")
    if address:
        return address
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        raise AccessibilityUnavailable("no D-Bus session bus")
    try:
        session = open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"])
        try:
            bus = DBusAddress("/org/a11y/bus", bus_name="org.a11y.Bus", interface="org.a11y.Bus")
            return session.send_and_get_reply(new_method_call(bus, "GetAddress"), timeout=timeout).body[0]
        finally:
            session.close()
    except Exception as exc:
        raise AccessibilityUnavailable(f"accessibility bus not reachable: {exc}") from exc


class AtspiClient:
    """One connection to the accessibility bus. Not thread-safe: use one per thread."""

    def __init__(self, timeout: float = 0.5, env: Mapping[str, str] | None = None):
        """``env``: the environment whose session bus to use (default: this process's)."""
        self._timeout = timeout
        try:
            self._conn: DBusConnection = open_dbus_connection(bus=_bus_address(timeout, env))
        except AccessibilityUnavailable:
            raise
        except Exception as exc:
            raise AccessibilityUnavailable(f"accessibility bus not reachable: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def _call(self, ref: tuple[str, str], iface: str, method: str, sig: str | None = None, body: tuple = ()) -> Any:
        msg = new_method_call(DBusAddress(ref[1], bus_name=ref[0], interface=iface), method, sig, body)
        reply = self._conn.send_and_get_reply(msg, timeout=self._timeout)
        if reply.header.message_type.name == "error":
            raise RuntimeError(f"{iface}.{method}: {reply.body}")
        return reply.body

    def _name(self, ref: tuple[str, str]) -> str:
        body = self._call(ref, "org.freedesktop.DBus.Properties", "Get", "ss", (_ACC, "Name"))
        return str(body[0][1]).strip()  # GTK pads menu items with spaces for the accelerator

    def _role(self, ref: tuple[str, str]) -> str:
        return str(self._call(ref, _ACC, "GetRoleName")[0])

    def _extents(self, ref: tuple[str, str]) -> tuple[int, int, int, int]:
        return tuple(self._call(ref, _COMP, "GetExtents", "u", (_SCREEN,))[0])  # type: ignore[return-value]

    def _showing(self, ref: tuple[str, str]) -> bool:
        words = self._call(ref, _ACC, "GetState")[0]
        return bool(words[_STATE_SHOWING // 32] & (1 << (_STATE_SHOWING % 32)))

    def _children(self, ref: tuple[str, str]) -> list[tuple[str, str]]:
        return [tuple(c) for c in self._call(ref, _ACC, "GetChildren")[0]]  # type: ignore[misc]

    def find(self, app_name: str, role: str, name: str, max_nodes: int = 5000) -> list[int] | None:
        """Screen bbox of the first showing accessible with this role and name in an app.

        For scripted demonstrations and tests, which need to know where a menu item is.
        """
        registry = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root")
        for app in self._children(registry):
            try:
                if self._name(app).lower() != app_name.lower():
                    continue
            except Exception:
                continue
            todo, seen = list(self._children(app)), 0
            while todo and seen < max_nodes:
                ref = todo.pop(0)
                seen += 1
                try:
                    if self._name(ref) == name and self._role(ref) == role and self._showing(ref):
                        return list(self._extents(ref))
                    todo.extend(self._children(ref))
                except Exception:
                    continue
        return None

    def target_of(self, ref: tuple[str, str]) -> dict | None:
        """{role, name, bbox} of one accessible, or None if it has no name or went away."""
        try:
            name = self._name(ref)
            if not name:
                return None
            return {"role": self._role(ref), "name": name, "bbox": list(self._extents(ref))}
        except Exception:
            return None

    def _child_at(self, ref: tuple[str, str], x: int, y: int, max_nodes: int = 64) -> tuple[str, str] | None:
        """The smallest showing descendant containing (x, y), looking through descendants that
        report no geometry (extents -1 or off-screen); None when no descendant contains it."""
        best, best_area = None, None
        todo, seen = [(c, 0) for c in self._children(ref)], 0
        while todo and seen < max_nodes:
            child, depth = todo.pop(0)
            seen += 1
            try:
                ex = self._extents(child)
            except Exception:
                continue
            if ex[2] <= 0 or ex[3] <= 0 or ex[0] < -100_000 or ex[1] < -100_000:
                if depth < 3:  # no geometry of its own: what it holds may have some
                    try:
                        todo.extend((c, depth + 1) for c in self._children(child))
                    except Exception:
                        pass
                continue
            if ex[0] <= x < ex[0] + ex[2] and ex[1] <= y < ex[1] + ex[3]:
                try:
                    if not self._showing(child):
                        continue
                except Exception:
                    continue
                if best_area is None or ex[2] * ex[3] < best_area:
                    best, best_area = child, ex[2] * ex[3]
        return best

    def target_at(self, x: int, y: int) -> dict | None:
        """{role, name, bbox, app} of the deepest named accessible at screen point (x, y)."""
        candidates = []
        for app in self._children((("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root"))):
            try:
                app_name = self._name(app)
                for top in self._children(app):
                    ex = self._extents(top)
                    if not (ex[0] <= x < ex[0] + ex[2] and ex[1] <= y < ex[1] + ex[3]):
                        continue
                    if not self._showing(top):
                        continue
                    role = self._role(top)
                    candidates.append((role not in _POPUP_ROLES, ex[2] * ex[3], top, app_name))
            except Exception:
                continue  # an app that went away or does not answer
        if not candidates:
            return None
        candidates.sort(key=lambda c: (c[0], c[1]))
        _, _, ref, app_name = candidates[0]
        chain = [ref]
        for _ in range(32):
            try:
                found = tuple(self._call(ref, _COMP, "GetAccessibleAtPoint", "iiu", (x, y, _SCREEN))[0])
            except Exception:
                break
            if found[1] == _NULL or found == ref:
                # Toolkits stop where a child reports no geometry: a GTK notebook's page tab
                # has extents -1, so the text view inside it is never returned at a point.
                # Only containers are looked through (a menu's hidden items are not).
                try:
                    container = self._role(ref) in _CONTAINER_ROLES
                except Exception:
                    container = False
                inner = self._child_at(ref, x, y) if container else None
                if inner is None:
                    break
                found = inner
            ref = found  # type: ignore[assignment]
            chain.append(ref)
        # The deepest accessible that means something: skip layout containers, and take the
        # name from the nearest named ancestor when the control itself has none.
        described = []
        for ref in chain:
            try:
                described.append((self._role(ref), self._name(ref), ref))
            except Exception:
                continue
        meaningful = [d for d in described if d[0] not in _LAYOUT_ROLES] or described
        if not meaningful:
            return None
        role, name, ref = meaningful[-1]
        if not name:
            name = next((n for _, n, _ in reversed(described) if n), "")
        try:
            bbox = list(self._extents(ref))
        except Exception:
            return None
        return {"role": role, "name": name, "bbox": bbox, "app": app_name}

# Roles whose selection (hover or keyboard) tells what a click or Enter chose.
_CHOICE_ROLES = {"menu item", "check menu item", "radio menu item", "menu", "list item", "table cell",
                 "tree item", "page tab", "combo box"}
_SECURE_ROLES = {"password text"}
STATE_GRACE_S = 0.05
LATE_STATE_S = 0.6  # how long after a click its item's "selected" event is still accepted
MENU_ACTIVE_S = 10.0
_ITEM_ROLES = {"menu item", "check menu item", "radio menu item", "list item", "tree item"}


class AccessibilityWorker(threading.Thread):
    """Names what a click or a key chose, off the input path.

    Two sources: AT-SPI state events (an item becomes *selected* when the pointer hovers it or
    the keyboard moves to it; GTK menus close before a query after the click could see them),
    and GetAccessibleAtPoint for everything else. ``secure_focus`` is True while a password
    field has keyboard focus, so the recorder can drop keystrokes.
    """

    def __init__(self, on_target: Callable[[int, float, dict], None]):
        super().__init__(name="workprint-a11y", daemon=True)
        self._on_target = on_target
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self.available = False
        self.why_not = ""
        self.secure_focus = False
        self.secure_box: Rect | None = None  # the focused password field
        # Items selected recently, newest last: [time on, description, ref, time off or None].
        # A menu and its item can both be selected; the click point tells which was chosen.
        self._selected: deque[list] = deque(maxlen=16)
        self._later: list = []  # requests set aside while waiting for late state events
        self._stopping = threading.Event()
        # Set once the state-change listener is subscribed (or has given up): before that, a menu
        # choice would go unnamed, so the recorder says it is ready only after this.
        self.listening = threading.Event()

    def pointer(self, event_id: int, t: float, x: int, y: int) -> None:
        self._requests.put(("pointer", event_id, t, x, y))

    def key(self, event_id: int, t: float) -> None:
        self._requests.put(("key", event_id, t))

    def stop(self) -> None:
        self._stopping.set()
        self._requests.put(None)

    def _listen(self, address: str) -> None:
        """Receives state-change signals; runs on its own connection and thread."""
        try:
            conn = open_dbus_connection(bus=address)
            registry = DBusAddress("/org/a11y/atspi/registry", bus_name="org.a11y.atspi.Registry",
                                   interface="org.a11y.atspi.Registry")
            for event in ("object:state-changed:selected", "object:state-changed:focused"):
                conn.send_and_get_reply(new_method_call(registry, "RegisterEvent", "s", (event,)), timeout=1)
            bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
            # Filtered by the bus on the state's name: a toolkit sends many other state changes
            # (showing, visible, sensitive...) that would each wake this thread.
            for state in ("selected", "focused"):
                rule = MatchRule(type="signal", interface="org.a11y.atspi.Event.Object", member="StateChanged")
                rule.add_arg_condition(0, state)
                conn.send_and_get_reply(new_method_call(bus, "AddMatch", "s", (rule.serialise(),)), timeout=1)
        except Exception:
            self.listening.set()
            return
        self.listening.set()
        while not self._stopping.is_set():
            try:
                msg = conn.receive(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:
                break
            fields = msg.header.fields
            if fields.get(HeaderFields.member) != "StateChanged" or not msg.body:
                continue
            detail, value = msg.body[0], msg.body[1]
            if detail in ("selected", "focused"):
                ref = (fields.get(HeaderFields.sender), fields.get(HeaderFields.path))
                self._requests.put(("state", time.monotonic(), detail, bool(value), ref))
        conn.close()

    def run(self) -> None:
        try:
            address = _bus_address(0.5)
            client = AtspiClient()
        except AccessibilityUnavailable as exc:
            self.why_not = str(exc)
            self.listening.set()
            while self._requests.get() is not None:
                pass  # drain until stopped
            return
        self.available = True
        threading.Thread(target=self._listen, args=(address,), name="workprint-a11y-events", daemon=True).start()
        backlog: deque = deque()
        while True:
            item = backlog.popleft() if backlog else self._requests.get()
            if item is None:
                break
            if item[0] != "state":
                # State events can trail the click that follows them by a few milliseconds:
                # let them arrive, and handle them first.
                backlog.extend(self._drain_state(client, until=item[2] + STATE_GRACE_S))
            self._safe_handle(client, item)
            backlog.extend(self._later)
            self._later.clear()
        client.close()

    def _safe_handle(self, client: AtspiClient, item: tuple) -> None:
        try:
            self._handle(client, item)
        except Exception:
            pass  # an app that went away or did not answer: no target, recording goes on

    def _handle(self, client: AtspiClient, item: tuple) -> None:
        kind = item[0]
        if kind == "state":
            _, t, detail, on, ref = item
            if detail == "focused" and on:
                role = client._role(ref)
                self.secure_focus = role in _SECURE_ROLES
                self.secure_box = Rect.from_xywh(*client._extents(ref)) if self.secure_focus else None
            if detail == "selected" and on:
                described = client.target_of(ref)
                if described and described["role"] in _CHOICE_ROLES:
                    self._selected.append([t, described, ref, None])
            elif detail == "selected":
                for entry in self._selected:
                    if entry[2] == ref and entry[3] is None:
                        entry[3] = t
            return
        t = item[2]
        if kind == "key":
            selected = [e[1] for e in self._selected if e[0] <= t and (e[3] is None or e[3] >= t)]
            if selected:
                self._on_target(item[1], t, selected[-1])
            return
        _, event_id, t, x, y = item
        chosen = self._chosen_item(t, x, y)
        if chosen is None and self._selected and self._selected[-1][0] > t - MENU_ACTIVE_S:
            # Menus are in use: under load the item's "selected" event can trail the click.
            self._later.extend(self._drain_state(client, until=t + LATE_STATE_S))
            chosen = self._chosen_item(t, x, y)
        if chosen is None:
            chosen = client.target_at(x, y)
        if chosen:
            self._on_target(event_id, t, chosen)

    def _chosen_item(self, t: float, x: int, y: int) -> dict | None:
        """The selected item a click at (x, y) chose, if any."""
        live = [e for e in self._selected
                if e[0] <= t + LATE_STATE_S and (e[3] is None or e[3] >= t - 0.05)]
        for on_t, target, _, _ in reversed(live):
            bx, by, bw, bh = target["bbox"]
            if bx <= x < bx + bw and by <= y < by + bh:
                return target
        for on_t, target, _, _ in reversed(live):
            # Described only after its menu closed (no geometry left): the newest item selected
            # just before the click is the one under the pointer.
            if target["bbox"][0] < -1_000_000 and target["role"] in _ITEM_ROLES and on_t >= t - 3.0:
                return target
        return None

    def _drain_state(self, client: AtspiClient, until: float) -> list:
        """Handle state events arriving until ``until``; returns the other requests, in order."""
        others: list[Any] = []
        while True:
            remaining = until - time.monotonic()
            try:
                queued = self._requests.get(timeout=remaining) if remaining > 0 else self._requests.get_nowait()
            except queue.Empty:
                return others
            if queued is not None and queued[0] == "state":
                self._safe_handle(client, queued)
            else:
                others.append(queued)

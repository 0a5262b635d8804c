"""The AT-SPI bus client: the D-Bus calls, nothing about what they mean for a recording.

Spoken with jeepney (pure-Python D-Bus) because the official bindings (pyatspi, PyGObject)
are not installable from PyPI without compiling against system libraries. Only a few calls
are needed: the registry's applications, an accessible's children, role, name, state and
extents, GetAccessibleAtPoint, and the state-change signals.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Mapping

from jeepney import DBusAddress, HeaderFields, MatchRule, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from workprint.errors import WorkprintError

# An accessible: (bus name, object path).
Ref = tuple[str, str]

NULL_PATH = "/org/a11y/atspi/null"
REGISTRY: Ref = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root")
_ACC = "org.a11y.atspi.Accessible"
_COMP = "org.a11y.atspi.Component"
_SCREEN = 0  # ATSPI_COORD_TYPE_SCREEN
_STATE_SHOWING = 25


class AccessibilityUnavailable(WorkprintError):
    pass


def bus_address(timeout: float, env: Mapping[str, str] | None = None) -> str:
    """The accessibility bus's address, asked of the session bus unless the environment says."""
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


class AtspiBus:
    """One connection to the accessibility bus. Not thread-safe: use one per thread.

    Every call raises when the app went away or did not answer in ``timeout`` seconds.
    """

    def __init__(self, timeout: float = 0.5, env: Mapping[str, str] | None = None):
        """``env``: the environment whose session bus to use (default: this process's)."""
        self._timeout = timeout
        try:
            self._conn: DBusConnection = open_dbus_connection(bus=bus_address(timeout, env))
        except AccessibilityUnavailable:
            raise
        except Exception as exc:
            raise AccessibilityUnavailable(f"accessibility bus not reachable: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def _call(self, ref: Ref, iface: str, method: str, sig: str | None = None, body: tuple = ()) -> Any:
        msg = new_method_call(DBusAddress(ref[1], bus_name=ref[0], interface=iface), method, sig, body)
        reply = self._conn.send_and_get_reply(msg, timeout=self._timeout)
        if reply.header.message_type.name == "error":
            raise RuntimeError(f"{iface}.{method}: {reply.body}")
        return reply.body

    def name(self, ref: Ref) -> str:
        body = self._call(ref, "org.freedesktop.DBus.Properties", "Get", "ss", (_ACC, "Name"))
        return str(body[0][1]).strip()  # GTK pads menu items with spaces for the accelerator

    def role(self, ref: Ref) -> str:
        return str(self._call(ref, _ACC, "GetRoleName")[0])

    def extents(self, ref: Ref) -> tuple[int, int, int, int]:
        """x, y, w, h in screen pixels."""
        return tuple(self._call(ref, _COMP, "GetExtents", "u", (_SCREEN,))[0])  # type: ignore[return-value]

    def showing(self, ref: Ref) -> bool:
        words = self._call(ref, _ACC, "GetState")[0]
        return bool(words[_STATE_SHOWING // 32] & (1 << (_STATE_SHOWING % 32)))

    def children(self, ref: Ref) -> list[Ref]:
        return [tuple(c) for c in self._call(ref, _ACC, "GetChildren")[0]]  # type: ignore[misc]

    def applications(self) -> list[Ref]:
        return self.children(REGISTRY)

    def accessible_at_point(self, ref: Ref, x: int, y: int) -> Ref | None:
        """The child of ``ref`` at screen point (x, y) as the toolkit answers; None if none."""
        found = tuple(self._call(ref, _COMP, "GetAccessibleAtPoint", "iiu", (x, y, _SCREEN))[0])
        return None if found[1] == NULL_PATH else found  # type: ignore[return-value]


def listen_states(address: str, states: tuple[str, ...], on_change: Callable[[str, bool, Ref], None],
                  stopping: threading.Event, subscribed: threading.Event) -> None:
    """Call ``on_change(state, on, ref)`` for each StateChanged signal of ``states`` until
    ``stopping``; runs on its own connection (and the caller's thread). ``subscribed`` is set
    once the bus sends the signals, or when subscribing failed (then it returns at once)."""
    try:
        conn = open_dbus_connection(bus=address)
        registry = DBusAddress("/org/a11y/atspi/registry", bus_name="org.a11y.atspi.Registry",
                               interface="org.a11y.atspi.Registry")
        for state in states:
            conn.send_and_get_reply(new_method_call(registry, "RegisterEvent", "s",
                                                    (f"object:state-changed:{state}",)), timeout=1)
        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
        # Filtered by the bus on the state's name: a toolkit sends many other state changes
        # (showing, visible, sensitive...) that would each wake this thread.
        for state in states:
            rule = MatchRule(type="signal", interface="org.a11y.atspi.Event.Object", member="StateChanged")
            rule.add_arg_condition(0, state)
            conn.send_and_get_reply(new_method_call(bus, "AddMatch", "s", (rule.serialise(),)), timeout=1)
    except Exception:
        subscribed.set()
        return
    subscribed.set()
    while not stopping.is_set():
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
        if detail in states:
            on_change(detail, bool(value), (fields.get(HeaderFields.sender), fields.get(HeaderFields.path)))
    conn.close()

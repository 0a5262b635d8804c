"""What a click or a key chose, from the accessibility bus: the targeting heuristics.

The bus client (``bus.py``) answers what the toolkits say; this module decides what it
means: which accessible under a point is the control a person acted on (popups over main
windows, layout containers looked through, names taken from the nearest named ancestor),
which menu or list item a click or Enter chose (from *selected* state events, since GTK
menus close before a query after the click could see them), and whether a password field
has focus. Queries run on the accessibility worker's thread, never in an input hook.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from workprint.capture.atspi.bus import AccessibilityUnavailable, AtspiBus, Ref, bus_address, listen_states
from workprint.capture.base import OnTarget
from workprint.vocabulary import Rect

# Popups (menus, combo lists) sit above the app's main window and win ties.
_POPUP_ROLES = {"window", "menu", "popup menu", "combo box", "list", "tool tip"}
_LAYOUT_ROLES = {"filler", "panel", "scroll pane", "viewport", "layered pane", "unknown", "redundant object",
                 "section", "split pane", "glass pane", "root pane", "option pane", "internal frame"}

_CONTAINER_ROLES = _LAYOUT_ROLES | {"page tab list", "page tab", "frame", "window", "dialog", "tool bar"}


def target_of(bus: AtspiBus, ref: Ref) -> dict | None:
    """{role, name, bbox} of one accessible, or None if it has no name or went away."""
    try:
        name = bus.name(ref)
        if not name:
            return None
        return {"role": bus.role(ref), "name": name, "bbox": list(bus.extents(ref))}
    except Exception:
        return None


def _child_at(bus: AtspiBus, ref: Ref, x: int, y: int, max_nodes: int = 64) -> Ref | None:
    """The smallest showing descendant containing (x, y), looking through descendants that
    report no geometry (extents -1 or off-screen); None when no descendant contains it."""
    best, best_area = None, None
    todo, seen = [(c, 0) for c in bus.children(ref)], 0
    while todo and seen < max_nodes:
        child, depth = todo.pop(0)
        seen += 1
        try:
            ex = bus.extents(child)
        except Exception:
            continue
        if ex[2] <= 0 or ex[3] <= 0 or ex[0] < -100_000 or ex[1] < -100_000:
            if depth < 3:  # no geometry of its own: what it holds may have some
                try:
                    todo.extend((c, depth + 1) for c in bus.children(child))
                except Exception:
                    pass
            continue
        if ex[0] <= x < ex[0] + ex[2] and ex[1] <= y < ex[1] + ex[3]:
            try:
                if not bus.showing(child):
                    continue
            except Exception:
                continue
            if best_area is None or ex[2] * ex[3] < best_area:
                best, best_area = child, ex[2] * ex[3]
    return best


def target_at(bus: AtspiBus, x: int, y: int) -> dict | None:
    """{role, name, bbox, app} of the deepest named accessible at screen point (x, y)."""
    candidates = []
    for app in bus.applications():
        try:
            app_name = bus.name(app)
            for top in bus.children(app):
                ex = bus.extents(top)
                if not (ex[0] <= x < ex[0] + ex[2] and ex[1] <= y < ex[1] + ex[3]):
                    continue
                if not bus.showing(top):
                    continue
                role = bus.role(top)
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
            found = bus.accessible_at_point(ref, x, y)
        except Exception:
            break
        if found is None or found == ref:
            # Toolkits stop where a child reports no geometry: a GTK notebook's page tab
            # has extents -1, so the text view inside it is never returned at a point.
            # Only containers are looked through (a menu's hidden items are not).
            try:
                container = bus.role(ref) in _CONTAINER_ROLES
            except Exception:
                container = False
            found = _child_at(bus, ref, x, y) if container else None
            if found is None:
                break
        ref = found
        chain.append(ref)
    # The deepest accessible that means something: skip layout containers, and take the
    # name from the nearest named ancestor when the control itself has none.
    described = []
    for ref in chain:
        try:
            described.append((bus.role(ref), bus.name(ref), ref))
        except Exception:
            continue
    meaningful = [d for d in described if d[0] not in _LAYOUT_ROLES] or described
    if not meaningful:
        return None
    role, name, ref = meaningful[-1]
    if not name:
        name = next((n for _, n, _ in reversed(described) if n), "")
    try:
        bbox = list(bus.extents(ref))
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


@dataclass
class Selection:
    """An item that was selected (hovered or moved to with the keyboard) for a while."""

    on: float  # monotonic time it became selected
    target: dict  # {role, name, bbox}, described when it became selected
    ref: Ref
    off: float | None = None  # when it stopped being selected; None: still selected

    def live_at(self, t: float) -> bool:
        return self.on <= t and (self.off is None or self.off >= t)


def chosen_item(selections: list[Selection], t: float, x: int, y: int) -> dict | None:
    """The selected item a click at (x, y) at time ``t`` chose, if any (newest first)."""
    live = [s for s in selections if s.on <= t + LATE_STATE_S and (s.off is None or s.off >= t - 0.05)]
    for s in reversed(live):
        bx, by, bw, bh = s.target["bbox"]
        if bx <= x < bx + bw and by <= y < by + bh:
            return s.target
    for s in reversed(live):
        # Described only after its menu closed (no geometry left): the newest item selected
        # just before the click is the one under the pointer.
        if s.target["bbox"][0] < -1_000_000 and s.target["role"] in _ITEM_ROLES and s.on >= t - 3.0:
            return s.target
    return None


class AccessibilityWorker(threading.Thread):
    """Names what a click or a key chose, off the input path (``capture.base.Accessibility``).

    Two sources: AT-SPI state events (an item becomes *selected* when the pointer hovers it or
    the keyboard moves to it; GTK menus close before a query after the click could see them),
    and GetAccessibleAtPoint for everything else. ``secure_focus`` is True while a password
    field has keyboard focus, so the recorder can drop keystrokes.
    """

    def __init__(self, on_target: OnTarget):
        super().__init__(name="workprint-a11y", daemon=True)
        self._on_target = on_target
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self.available = False
        self.why_not = ""
        self.secure_focus = False
        self.secure_box: Rect | None = None  # the focused password field
        # Items selected recently, newest last. A menu and its item can both be selected; the
        # click point tells which was chosen.
        self._selected: deque[Selection] = deque(maxlen=16)
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

    def _state_changed(self, state: str, on: bool, ref: Ref) -> None:
        self._requests.put(("state", time.monotonic(), state, on, ref))

    def run(self) -> None:
        try:
            address = bus_address(0.5)
            bus = AtspiBus()
        except AccessibilityUnavailable as exc:
            self.why_not = str(exc)
            self.listening.set()
            while self._requests.get() is not None:
                pass  # drain until stopped
            return
        self.available = True
        threading.Thread(target=listen_states, name="workprint-a11y-events", daemon=True,
                         args=(address, ("selected", "focused"), self._state_changed,
                               self._stopping, self.listening)).start()
        backlog: deque = deque()
        while True:
            item = backlog.popleft() if backlog else self._requests.get()
            if item is None:
                break
            if item[0] != "state":
                # State events can trail the click that follows them by a few milliseconds:
                # let them arrive, and handle them first.
                backlog.extend(self._drain_state(bus, until=item[2] + STATE_GRACE_S))
            self._safe_handle(bus, item)
            backlog.extend(self._later)
            self._later.clear()
        bus.close()

    def _safe_handle(self, bus: AtspiBus, item: tuple) -> None:
        try:
            self._handle(bus, item)
        except Exception:
            pass  # an app that went away or did not answer: no target, recording goes on

    def _handle(self, bus: AtspiBus, item: tuple) -> None:
        kind = item[0]
        if kind == "state":
            _, t, detail, on, ref = item
            if detail == "focused" and on:
                role = bus.role(ref)
                self.secure_focus = role in _SECURE_ROLES
                self.secure_box = Rect.from_xywh(*bus.extents(ref)) if self.secure_focus else None
            if detail == "selected" and on:
                described = target_of(bus, ref)
                if described and described["role"] in _CHOICE_ROLES:
                    self._selected.append(Selection(t, described, ref))
            elif detail == "selected":
                for selection in self._selected:
                    if selection.ref == ref and selection.off is None:
                        selection.off = t
            return
        t = item[2]
        if kind == "key":
            live = [s.target for s in self._selected if s.live_at(t)]
            if live:
                self._on_target(item[1], t, live[-1])
            return
        _, event_id, t, x, y = item
        chosen = chosen_item(list(self._selected), t, x, y)
        if chosen is None and self._selected and self._selected[-1].on > t - MENU_ACTIVE_S:
            # Menus are in use: under load the item's "selected" event can trail the click.
            self._later.extend(self._drain_state(bus, until=t + LATE_STATE_S))
            chosen = chosen_item(list(self._selected), t, x, y)
        if chosen is None:
            chosen = target_at(bus, x, y)
        if chosen:
            self._on_target(event_id, t, chosen)

    def _drain_state(self, bus: AtspiBus, until: float) -> list:
        """Handle state events arriving until ``until``; returns the other requests, in order."""
        others: list = []
        while True:
            remaining = until - time.monotonic()
            try:
                queued = self._requests.get(timeout=remaining) if remaining > 0 else self._requests.get_nowait()
            except queue.Empty:
                return others
            if queued is not None and queued[0] == "state":
                self._safe_handle(bus, queued)
            else:
                others.append(queued)

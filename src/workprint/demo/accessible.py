"""Where a control is on screen, from the accessibility bus: for scripted demonstrations and
tests, which need to know where a menu item is before they click it (the recorder never
searches the tree; it asks what is under a point, ``capture.atspi.targets``)."""

from __future__ import annotations

from workprint.capture.atspi.bus import AtspiBus


def find(bus: AtspiBus, app_name: str, role: str, name: str, max_nodes: int = 5000) -> list[int] | None:
    """Screen bbox [x, y, w, h] of the first showing accessible with this role and name in an app."""
    for app in bus.applications():
        try:
            if bus.name(app).lower() != app_name.lower():
                continue
        except Exception:
            continue
        todo, seen = list(bus.children(app)), 0
        while todo and seen < max_nodes:
            ref = todo.pop(0)
            seen += 1
            try:
                if bus.name(ref) == name and bus.role(ref) == role and bus.showing(ref):
                    return list(bus.extents(ref))
                todo.extend(bus.children(ref))
            except Exception:
                continue
    return None

"""Browser events (from the extension) joined with desktop actions.

The desktop hooks see a click at a screen point; the extension sees which element it hit.
They are joined by time into one action with a ``target`` and ``url``. What only the page
knows becomes actions of its own: ``select`` (native selects and ARIA options, menu items,
tabs), ``navigate`` (loads and single-page-app route changes), and one ``type`` per field
visit, which replaces the desktop keystrokes typed into that field.
"""

from __future__ import annotations

import bisect
from typing import Any, cast

from workprint.vocabulary import CLICK_TYPES, Action, ActionType, Event, Rect, ScreenInfo, Target, rect_of_bbox

from workprint.capture import known_browser_apps

BROWSER_APPS = known_browser_apps()  # per platform, from the capture backends
JOIN_S = 0.6


def _target(event: Event) -> Target | None:
    target = event.get("target")
    if not target:
        return None
    fields: dict[str, Any] = dict(target)
    return cast(Target, {k: fields[k] for k in ("role", "name", "bbox", "selector", "tag")
                         if fields.get(k) is not None})


def _base(event: Event, kind: ActionType) -> Action:
    action: Action = {"type": kind, "t": event["t"], "t_end": event.get("t_end", event["t"]),
                              "raw": [event["id"], event["id"]], "source": "human", "app": "browser",
                              "url": event.get("url")}
    target = _target(event)
    if target:
        action["target"] = target
    return action


def merge_browser_events(actions: list[Action], ordered: list[Event], screen: ScreenInfo | None) -> list[Action]:
    dom = [e for e in ordered if e["kind"].startswith("dom_")]
    if not dom:
        return actions
    navs = [(e["t"], e["url"]) for e in dom if e["kind"] == "dom_navigate" and e.get("url")]
    nav_t = [n[0] for n in navs]
    out = list(actions)
    inputs = [e for e in dom if e["kind"] == "dom_input"]

    def in_browser(action: Action) -> bool:
        return (action.get("app") or "") in BROWSER_APPS or action.get("app") == "browser"

    # Keystrokes typed into a field the page reported are replaced by the page's one `type`.
    out = [a for a in out if not (a["type"] == "type" and in_browser(a) and any(
        e["t"] - 0.5 <= a["t"] <= e["t_end"] + 0.5 for e in inputs))]
    for action in out:
        if in_browser(action) and navs:
            i = bisect.bisect_right(nav_t, action["t"]) - 1
            if i >= 0:
                action["url"] = navs[i][1]
    last_nav: tuple[float, str] | None = None
    desktop_clicks = [a for a in out if a["type"] in CLICK_TYPES and in_browser(a)]
    joined: set[int] = set()
    for e in dom:
        kind = e["kind"]
        if kind == "dom_click":
            near = [a for a in desktop_clicks if id(a) not in joined and abs(a["t"] - e["t"]) <= JOIN_S]
            if near:
                best = min(near, key=lambda a: abs(a["t"] - e["t"]))
                joined.add(id(best))
                target = _target(e)
                if target:
                    best["target"] = target
                best["url"] = e.get("url")
            elif e.get("x") is not None:
                out.append({**_base(e, "click"), "x": e["x"], "y": e["y"], "button": "left"})
        elif kind in ("dom_choose", "dom_select"):
            if any(a["type"] == "select" and a.get("label") == e.get("label") and abs(a["t"] - e["t"]) <= 1.0
                   for a in out):
                continue  # a widget's option click and its hidden <select> changing: one choice
            out.append({**_base(e, "select"), "value": e.get("value"), "label": e.get("label")})
        elif kind == "dom_navigate":
            if last_nav and last_nav[1] == e["url"] and e["t"] - last_nav[0] < 1.0:
                continue
            last_nav = (e["t"], e["url"] or "")
            out.append({**_base(e, "navigate"), "url": e["url"]})
        elif kind == "dom_input":
            action = {**_base(e, "type"), "text": e.get("text", "")}
            if e.get("redacted"):
                action["redacted"] = e["redacted"]
            out.append(action)
        elif kind == "dom_scroll":
            if any(a["type"] == "scroll" and in_browser(a) and abs(a["t"] - e["t"]) <= 0.8 for a in out):
                continue
            box = rect_of_bbox((e.get("target") or {}).get("bbox")) or Rect(0, 0, 0, 0)
            clicks = -round(e.get("dy_px", 0) / 100) or (-1 if e.get("dy_px", 0) > 0 else 1)
            x, y = box.centre
            out.append({**_base(e, "scroll"), "x": x, "y": y, "dx": 0, "dy": clicks})
    for action in out:
        action.setdefault("screen", screen)
        action.setdefault("trace", [])
        action.setdefault("window", None)
    return out

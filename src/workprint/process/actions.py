"""Raw events -> actions in the vocabulary of DESIGN.md (pyautogui names).

Derivation is a pure function of a session's event log and the settings recorded with it,
so it can be run again whenever this logic improves.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Callable, Iterable, cast

from workprint.process.browser import merge_browser_events
from workprint.process.interventions import attribute, mark_rejected
from workprint.settings import Settings
from workprint.vocabulary import CLICK_OF_BUTTON, Action, ActionType, Event, Target, action_shape

MODIFIER_ORDER = ("ctrl", "alt", "shift", "win", "altgr")
MODIFIERS = set(MODIFIER_ORDER)


def simplify(points: list[tuple[float, int, int]], tolerance: float) -> list[tuple[float, int, int]]:
    """Ramer-Douglas-Peucker on (t, x, y) points, by pixel distance; keeps first and last."""
    if len(points) <= 2:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (_, ax, ay), (_, bx, by) = points[a], points[b]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5
        best, best_d = -1, tolerance
        for i in range(a + 1, b):
            _, px, py = points[i]
            d = abs(dy * (px - ax) - dx * (py - ay)) / norm if norm else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            if d > best_d:
                best, best_d = i, d
        if best >= 0:
            keep[best] = True
            stack += [(a, best), (best, b)]
    return [p for p, k in zip(points, keep) if k]


@dataclass
class _Frames:
    """Kept frames by time, to pair each action with the screen before and after it."""

    times: list[float]
    ids: list[str]
    stable: list[bool]

    @classmethod
    def of(cls, events: Iterable[Event]) -> "_Frames":
        frames = sorted((e["t"], e["frame"], e.get("stable", True)) for e in events if e["kind"] == "frame")
        return cls([f[0] for f in frames], [f[1] for f in frames], [f[2] for f in frames])

    def before(self, t: float) -> str | None:
        """The last stable frame at or before t (else the last frame at all)."""
        i = bisect.bisect_right(self.times, t) - 1
        fallback = self.ids[i] if i >= 0 else None
        while i >= 0:
            if self.stable[i]:
                return self.ids[i]
            i -= 1
        return fallback

    def after(self, t_end: float, until: float | None) -> str | None:
        """The first stable frame after t_end (and not after ``until``), else the latest state known."""
        limit = float("inf") if until is None else until
        i = bisect.bisect_right(self.times, t_end)
        while i < len(self.times) and self.times[i] <= limit:
            if self.stable[i]:
                return self.ids[i]
            i += 1
        return self.before(limit) if until is not None else self.before(float("inf"))


def derive_actions(events: list[Event], settings: Settings | None = None) -> list[Action]:
    """The actions of one session, in time order."""
    meta = next((e for e in events if e["kind"] == "session"), Event(kind="session", t=0.0))
    s = settings or Settings.from_dict(meta.get("settings", {}))
    screen = meta.get("screen")
    ordered = sorted((e for e in events if e["kind"] != "session"), key=lambda e: (e["t"], e["id"]))
    frames = _Frames.of(ordered)
    targets = {e["of"]: e for e in ordered if e["kind"] == "target"}
    by_id = {e["id"]: e for e in ordered}
    focus = [e for e in ordered if e["kind"] == "focus"]
    focus_t = [e["t"] for e in focus]
    in_typing: set[int] = set()
    for e in ordered:
        run = e.get("raw")
        if e["kind"] == "typed" and run:
            in_typing.update(range(run[0], run[1] + 1))

    actions: list[Action] = []
    moves: list[tuple[float, int, int]] = []
    pressed: dict[str, tuple[Event, int]] = {}
    mods: list[str] = []

    def window_at(t: float, app: str | None) -> str | None:
        i = bisect.bisect_right(focus_t, t + 0.3) - 1
        while i >= 0:
            f = focus[i]
            if app is None or f.get("app") == app:
                return f.get("window")
            i -= 1
        return None

    def emit(kind: ActionType, first: Event, last: Event, app: str | None, **fields: Any) -> Action:
        trace = simplify(moves, s.trace_tolerance_px)
        moves.clear()
        action = cast(Action, {"type": kind, **fields, "t": first["t"], "t_end": last.get("t_end", last["t"]),
                               "raw": [first["id"], last["id"]], "source": "human", "app": app,
                               "window": window_at(first["t"], app), "screen": screen,
                               "trace": [[round(t, 3), x, y] for t, x, y in trace]})
        actions.append(action)
        return action

    for e in ordered:
        kind = e["kind"]
        if kind == "move":
            moves.append((e["t"], e["x"], e["y"]))
        elif kind == "press":
            moves.append((e["t"], e["x"], e["y"]))
            pressed[e["button"]] = (e, len(actions))
        elif kind == "release":
            if e["button"] not in pressed:
                continue
            press, _ = pressed.pop(e["button"])
            moves.append((e["t"], e["x"], e["y"]))
            button = press["button"]
            app = press.get("app")
            travel = max(abs(e["x"] - press["x"]), abs(e["y"] - press["y"]))
            target = targets.get(press["id"])
            if travel > s.drag_px:
                action = emit("drag", press, e, app, x=press["x"], y=press["y"], x2=e["x"], y2=e["y"], button=button)
            else:
                prev = actions[-1] if actions else None
                if (prev is not None and prev["type"] == "click" and button == "left" and prev["button"] == "left"
                        and by_id[_raw(prev)[0]].get("agent") == press.get("agent")  # not two agent steps
                        and press["t"] - prev["t_end"] <= s.double_click_s
                        and max(abs(prev["x"] - press["x"]), abs(prev["y"] - press["y"])) <= s.double_click_px):
                    prev["type"] = "double_click"
                    prev["t_end"] = e["t"]
                    _raw(prev)[1] = e["id"]
                    moves.clear()
                    continue
                action = emit(CLICK_OF_BUTTON.get(button, "click"), press, e, app, x=press["x"], y=press["y"],
                              button=button)
            if target:
                action["target"] = target_of(target)
        elif kind == "wheel":
            prev = actions[-1] if actions else None
            if (prev is not None and prev["type"] == "scroll" and e["t"] - prev["t_end"] <= s.scroll_merge_gap_s
                    and prev.get("app") == e.get("app") and not moves):
                prev["dx"] += e["dx"]
                prev["dy"] += e["dy"]
                prev["t_end"] = e["t"]
                _raw(prev)[1] = e["id"]
                continue
            emit("scroll", e, e, e.get("app"), x=e["x"], y=e["y"], dx=e["dx"], dy=e["dy"])
        elif kind == "key_down":
            name = e.get("key")
            if name in MODIFIERS:
                if name not in mods:
                    mods.append(name)
                continue
            if e["id"] in in_typing or name is None:
                continue
            held = [m for m in MODIFIER_ORDER if m in mods]
            if any(m in held for m in ("ctrl", "alt", "win")) or (held == ["shift"] and len(name) > 1):
                emit("hotkey", e, e, e.get("app"), keys=held + [name])
            else:
                emit("key", e, e, e.get("app"), keys=[name])
        elif kind == "key_up":
            released = e.get("key")
            if released is not None and released in mods:
                mods.remove(released)
        elif kind == "typed":
            if not e.get("text"):
                continue
            fields: dict[str, Any] = {"text": e["text"]}
            if e.get("redacted"):
                fields["redacted"] = e["redacted"]
            raw = e.get("raw") or [e["id"], e["id"]]
            emit("type", Event(id=raw[0], kind="typed", t=e["t"]), Event(id=raw[1], kind="typed", t=e["t_end"]),
                 e.get("app"), **fields)

    actions = merge_browser_events(actions, ordered, screen)
    actions = attribute(actions, ordered, screen)  # source: agent where the agent made it (agent runs)
    actions.sort(key=lambda a: a["t"])
    for i, action in enumerate(actions):
        action["id"] = i
        nxt = actions[i + 1]["t"] if i + 1 < len(actions) else None
        action["frame"] = frames.before(action["t"])
        action["frame_after"] = frames.after(action["t_end"], nxt)
    if any(e["kind"] == "agent_start" for e in ordered):
        mark_rejected(actions, ordered)  # a correction carries the agent action it replaced
    return [_ordered(a) for a in actions]


def _raw(action: Action) -> list[int]:
    """The raw event ids of an action made here (only an episode's closing ``done`` has none)."""
    raw = action["raw"]
    assert raw is not None
    return raw


def target_of(event: Event) -> Target:
    """An accessibility ``target`` event as the action's ``target``."""
    target = Target()
    if "role" in event:
        target["role"] = event["role"]
    if "name" in event:
        target["name"] = event["name"]
    if "bbox" in event:
        target["bbox"] = event["bbox"]
    return target


_FIELD_ORDER = ("id", "type", "x", "y", "x2", "y2", "button", "dx", "dy", "text", "redacted", "keys",
                "value", "label", "url", "message", "t", "t_end", "source", "model", "app", "window", "target", "screen",
                "frame", "frame_after", "raw", "trace")


def _ordered(action: Action) -> Action:
    fields: dict[str, Any] = dict(action)
    out = {k: fields[k] for k in _FIELD_ORDER if k in fields}
    out.update({k: v for k, v in fields.items() if k not in out})
    return cast(Action, out)


def _point_line(a: Action) -> str:
    return f"{a['type']} at ({a['x']}, {a['y']})"


def _drag_line(a: Action) -> str:
    return f"drag ({a['x']}, {a['y']}) -> ({a['x2']}, {a['y2']})"


def _scroll_line(a: Action) -> str:
    return f"scroll dx={a.get('dx', 0)} dy={a.get('dy', 0)} at ({a['x']}, {a['y']})"  # a model's scroll may give one


def _control_line(a: Action) -> str:
    return f"call_user {a.get('message', '')!r}" if a["type"] == "call_user" else a["type"]


_LINES: dict[str, Callable[[Action], str]] = {
    "point": _point_line, "drag": _drag_line, "scroll": _scroll_line,
    "text": lambda a: f"type {a['text']!r}",
    "keys": lambda a: f"{a['type']} {'+'.join(a['keys'])}",
    "choice": lambda a: f"select {a.get('label')!r}",
    "url": lambda a: "navigate",
    "control": _control_line,
}


def action_summary(action: Action) -> str:
    """What the action did, in words: ``click at (10, 20) on push button 'OK'``."""
    try:
        what = _LINES[action_shape(action["type"])](action)
    except ValueError:  # a type this version does not know (a newer log)
        what = str(action["type"])
    target = action.get("target")
    if target:
        what += f" on {target.get('role')} {target.get('name')!r}"
    return what


def action_line(action: Action) -> str:
    """One human-readable line for ``workprint actions``: time, what, app, frame, who."""
    where = action.get("app") or "?"
    frame = (action.get("frame") or "-")[:8]
    by = "  by the agent" if action.get("source") == "agent" else ""
    return f"{action['t']:8.2f}s  {action_summary(action)}  [{where}]  frame {frame}{by}"

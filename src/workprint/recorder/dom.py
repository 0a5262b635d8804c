"""Events from the browser extension: the URL policy, secure fields, redaction, then the log.

The extension drops events on pages the policy denies and reports such a navigation with
``denied`` and no address; the policy is applied here again all the same. Whether the page
in the browser is allowed also decides whether the browser window's desktop input is kept
(the gate asks ``url_allowed``).
"""

from __future__ import annotations

from typing import Any, Callable

from workprint.privacy.policy import Policy
from workprint.privacy.redact import redact
from workprint.vocabulary import Rect, rect_of_bbox

Event = dict[str, Any]


def redacted_target(target: Any) -> dict[str, Any] | None:
    """The element an event was on, as stored: role, tag and box as they are, name and selector redacted."""
    if not isinstance(target, dict):
        return None
    out = {k: target.get(k) for k in ("role", "tag", "bbox") if target.get(k) is not None}
    for key in ("name", "selector"):
        if target.get(key):
            out[key] = redact(str(target[key])).text
    return out


class DomEvents:
    """The page's side of the gate (gate thread only).

    ``append`` writes an event; ``rel(t)`` is session time; ``paused()`` whether recording is
    paused; ``on_secure_focus(t)`` is called when a secure field took focus at ``t`` (the held
    typing run may be the password, typed before the page's event arrived).
    """

    def __init__(self, policy: Policy, append: Callable[[Event], int], rel: Callable[[float], float],
                 paused: Callable[[], bool], on_secure_focus: Callable[[float], None]):
        self._policy = policy
        self._append = append
        self._rel = rel
        self._paused = paused
        self._on_secure_focus = on_secure_focus
        self.url_allowed: bool | None = None  # the top page's address is allowed (None: no page seen)
        self.secure = False  # a password or card field in the page has focus
        self.secure_box: Rect | None = None  # its box on screen, when the page said

    def handle(self, t: float, event: dict[str, Any]) -> None:
        kind = event.get("type")
        url = str(event.get("url") or "")
        allowed = not event.get("denied") and (self._policy.url_allowed(url) if url else True)
        if kind in ("navigate", "tab") and event.get("frame", "top") == "top":
            self.url_allowed = allowed
        if kind == "secure":
            self.secure = event.get("state") == "focus"
            bbox = (event.get("target") or {}).get("bbox")
            self.secure_box = rect_of_bbox(bbox) if self.secure else None
            if self.secure:
                self._on_secure_focus(t)
            return
        if self._paused() or not allowed or self._rel(t) < 0:
            # Paused, a page the policy denies, or held by the extension from before this recording
            # started (it keeps what happens while no recorder runs): never written.
            return
        base: Event = {"t": self._rel(t), "url": redact(url).text}
        target = redacted_target(event.get("target"))
        if target:
            base["target"] = target
        if kind in ("navigate", "tab"):
            if url.startswith(("http:", "https:", "file:")):  # not the browser's own pages (new tab)
                self._append({"kind": "dom_navigate", **base, "how": event.get("how", "tab")})
        elif kind == "click":
            self._append({"kind": "dom_click", **base, "x": event.get("x"), "y": event.get("y")})
        elif kind in ("choose", "select"):
            label, value = redact(str(event.get("label") or "")), redact(str(event.get("value") or ""))
            record = {"kind": f"dom_{kind}", **base, "label": label.text, "value": value.text}
            if label.changed or value.changed:
                record["redacted"] = sorted(set(label.kinds) | set(value.kinds))
            self._append(record)
        elif kind == "input":
            text = redact(str(event.get("text") or ""))
            start = t - max(0.0, (event.get("ts", 0) - event.get("ts_start", event.get("ts", 0))) / 1000.0)
            record = {"kind": "dom_input", **base, "t": self._rel(start), "t_end": self._rel(t), "text": text.text}
            if text.changed:
                record["redacted"] = text.kinds
            self._append(record)
        elif kind == "scroll":
            self._append({"kind": "dom_scroll", **base, "dy_px": int(event.get("dy_px") or 0)})
        elif kind == "submit":
            self._append({"kind": "dom_submit", **base})

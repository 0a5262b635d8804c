"""Capture sources behind one interface, one module per platform (like pynput and mss).

``open_backend()`` returns the backend for this machine. A backend gives the recorder:

* input hooks that only enqueue (nothing slow runs inside an OS input hook),
* a window inspector (focused window, visible windows, app ids, titles),
* a screen grabber that can wait for the screen to change.
"""

from __future__ import annotations

import os
import sys

from workprint.capture.base import Backend, BackendUnavailable, CapturedFrame, Screen, Window


def open_backend() -> Backend:
    if sys.platform.startswith("linux"):
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
            from workprint.capture.x11 import X11Backend
        except ImportError as exc:  # pynput probes the display when imported
            raise BackendUnavailable(
                f"cannot use the X display {os.environ['DISPLAY']!r}: {exc}. Is the X server running?"
            ) from None
        return X11Backend()
    raise BackendUnavailable(f"no capture backend for {sys.platform} yet (Linux/X11 is supported)")


__all__ = ["Backend", "BackendUnavailable", "CapturedFrame", "Screen", "Window", "open_backend"]

"""Capture sources behind one interface, one module per platform (like pynput and mss).

``open_backend()`` returns the backend for this machine. A backend gives the recorder:

* input hooks that only enqueue (nothing slow runs inside an OS input hook),
* a window inspector (focused window, visible windows, app ids, titles),
* a screen grabber that can wait for the screen to change,
* an accessibility source, an injector for agent runs, a prompt and notifications.

Adding a platform is writing the module named for it in ``PLATFORM_MODULES``: it defines
``APPS`` and ``open_backend()`` and implements the protocols in ``capture.base``. Nothing
else names a platform.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from workprint.capture.base import Backend, BackendUnavailable, CapturedFrame, PlatformApps, Screen, Window

# sys.platform prefix -> the module of ``workprint.capture`` that implements it.
PLATFORM_MODULES = {"linux": "x11", "darwin": "macos", "win32": "windows"}


def _platform_module(platform: str | None = None) -> ModuleType | None:
    platform = sys.platform if platform is None else platform
    for prefix, name in PLATFORM_MODULES.items():
        if platform.startswith(prefix):
            try:
                return importlib.import_module(f"workprint.capture.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"workprint.capture.{name}":
                    raise  # the module is there; something it needs is not
                return None
    return None


def platform_apps(platform: str | None = None) -> PlatformApps:
    """This platform's app lists (built-in deny-list, browsers); empty where there is no backend."""
    module = _platform_module(platform)
    return module.APPS if module is not None else PlatformApps()


def known_browser_apps() -> frozenset[str]:
    """Browser app ids of every platform with a backend: a session may be processed on
    another platform than it was recorded on."""
    apps: set[str] = set()
    for platform in PLATFORM_MODULES:
        try:
            apps |= platform_apps(platform).browsers
        except ImportError:  # another platform's module that needs that platform's libraries
            continue
    return frozenset(apps)


def open_backend() -> Backend:
    module = _platform_module()
    if module is None:
        name = next((n for p, n in PLATFORM_MODULES.items() if sys.platform.startswith(p)), None)
        where = f" (it would be workprint/capture/{name}.py)" if name else ""
        raise BackendUnavailable(f"no capture backend for {sys.platform} yet{where}; Linux/X11 is supported")
    return module.open_backend()


__all__ = ["Backend", "BackendUnavailable", "CapturedFrame", "PlatformApps", "Screen", "Window",
           "known_browser_apps", "open_backend", "platform_apps"]

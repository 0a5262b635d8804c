"""The recording policy: which apps (and later URLs) may be recorded.

A policy file is TOML (DESIGN.md)::

    [apps]
    allow = ["mousepad", "chromium"]   # absent: every app not denied
    deny  = ["keepassxc"]              # added to the built-in deny-list, never removed from it

The built-in deny-list covers password managers, credential prompts and private browser
windows. A policy can extend it but not shrink it: listing a built-in app under ``allow``
does not allow it.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workprint.capture import platform_apps
from workprint.errors import WorkprintError

# App ids (WM_CLASS instance or class, bundle id, exe name), matched case-insensitively as globs:
# this platform's, from its capture backend (``PlatformApps.deny``).
BUILTIN_DENY_APPS: tuple[str, ...] = platform_apps().deny

# Window titles that mark a private window or a credential prompt in any app, on any platform.
BUILTIN_DENY_TITLES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bincognito\b", r"\bprivate browsing\b", r"\(private\)$", r"\binprivate\b",
        r"\bauthentication required\b", r"\bunlock (login )?keyring\b", r"\bpassphrase\b",
        r"^\[sudo\] password", r"\bpassword for\b", r"\benter password\b", r"\btype your password\b",
        r"^workprint:",  # workprint's own dialogs (the task prompt) are never recorded
    )
)


class PolicyError(WorkprintError):
    """The policy file cannot be used; the message says where and why."""


def _globs(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where} must be a list of strings, e.g. [\"mousepad\", \"chromium\"]")
    return tuple(v.strip().lower() for v in value if v.strip())


def _match(name: str, patterns: tuple[str, ...]) -> bool:
    name = name.lower()
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True)
class Policy:
    allow_apps: tuple[str, ...] | None = None  # None: all apps not denied
    deny_apps: tuple[str, ...] = ()
    allow_urls: tuple[str, ...] | None = None
    deny_urls: tuple[str, ...] = ()
    source: str = "built-in default"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path | str | None) -> "Policy":
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PolicyError(f"policy file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
        unknown = set(data) - {"apps", "urls", "recording", "retention", "collector"}
        if unknown:
            raise PolicyError(f"policy file {path}: unknown section(s) {sorted(unknown)}; known: [apps], [urls]")
        apps, urls = data.get("apps", {}), data.get("urls", {})
        return cls(
            allow_apps=_globs(apps["allow"], f"{path}: [apps] allow") if "allow" in apps else None,
            deny_apps=_globs(apps.get("deny"), f"{path}: [apps] deny"),
            allow_urls=_globs(urls["allow"], f"{path}: [urls] allow") if "allow" in urls else None,
            deny_urls=_globs(urls.get("deny"), f"{path}: [urls] deny"),
            source=path.name,
            extra={k: v for k, v in data.items() if k not in ("apps", "urls")},
        )

    def app_allowed(self, app_ids: tuple[str, ...] | list[str] | str | None, title: str = "") -> bool:
        """May events from this app (any of its ids: WM_CLASS instance and class) be recorded?

        An unknown app (no id) is recorded only when the policy has no allow-list.
        """
        if isinstance(app_ids, str):
            app_ids = (app_ids,)
        ids = [a for a in (app_ids or ()) if a]
        if any(p.search(title or "") for p in BUILTIN_DENY_TITLES):
            return False
        if any(_match(a, BUILTIN_DENY_APPS) or _match(a, self.deny_apps) for a in ids):
            return False
        if self.allow_apps is None:
            return True
        return any(_match(a, self.allow_apps) for a in ids)

    def url_allowed(self, url: str) -> bool:
        if _match(url, self.deny_urls):
            return False
        return self.allow_urls is None or _match(url, self.allow_urls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "apps": {"allow": list(self.allow_apps) if self.allow_apps is not None else None,
                     "deny": list(self.deny_apps), "builtin_deny": list(BUILTIN_DENY_APPS)},
            "urls": {"allow": list(self.allow_urls) if self.allow_urls is not None else None,
                     "deny": list(self.deny_urls)},
        }

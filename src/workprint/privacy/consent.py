"""Consent you can show: the notice, the agreement kept on the device, and what "wider" means.

GDPR Art. 7 asks that consent can be demonstrated and withdrawn as easily as it was given.
So the notice is generated from what actually governs recording (the policy, the built-in
deny-list, the enrolment), the agreement is a record on the device (notice version and hash,
policy hash, the scope agreed to, the time), and ``workprint record`` checks it before it
touches the screen.

**Widening.** A policy B *widens* an agreed policy A when some app, URL or window that A never
records could be recorded under B. Concretely, B widens A when:

* A had an allow-list and B has none (everything not denied is then allowed);
* B allows an app or URL pattern that names something A's allow-list did not, and B does not
  deny it all (``x*`` after ``xterm``: wider; ``https://docs.example.com/*`` after
  ``https://*.example.com/*``: not);
* an entry of A's deny-list (built-in or the policy's) is dropped and something it named could
  now be recorded: B denies not all of it and, for a site, allows some of it; for an app, B
  allows anything at all, since a window goes by two names (WM_CLASS instance and class) and is
  recorded when either is allowed and neither denied;
* a built-in window-title rule (private windows, password prompts) is missing in B.

Anything else is as narrow or narrower and needs no new agreement. Globs of ``*`` and ``?`` are
compared exactly (as automata); a character class ``[...]`` counts as widening, because asking
again is the safe mistake. A new notice version (what workprint captures changed) also needs a
new agreement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workprint.errors import WorkprintError
from workprint.files import atomic_write
from workprint.privacy.policy import BUILTIN_DENY_APPS, BUILTIN_DENY_TITLES, Policy

# Bump when what workprint captures, or what the notice promises, changes: every agreement
# made to an older version stops being current.
NOTICE_VERSION = 2  # 2: says where an agent run's screenshots go (the model server the person names)

CONSENT_FILE = "consent.json"

ROLE_RIGHTS: tuple[tuple[str, str], ...] = (
    ("contributor", "you, from this device: your own sessions only"),
    ("curator", "checks uploaded sessions for anything the redaction missed, and quarantines them; "
                "sees sessions without your pseudonym"),
    ("trainer", "de-identified steps (actions and redacted screenshots) for training; no pseudonym, "
                "no quarantined sessions"),
    ("auditor", "the tamper-evident audit log of every read, deletion and refusal; not the recordings"),
    ("admin", "enrolment, access tokens, retention and erasure; not the recordings"),
)


class ConsentError(WorkprintError):
    """The consent record cannot be read or written; the message says why and what to do."""


# ---------------------------------------------------------------------------- scope and widening

@dataclass(frozen=True)
class Scope:
    """What a policy lets workprint record, as agreed: the policy's lists plus the built-in ones."""

    allow_apps: tuple[str, ...] | None
    deny_apps: tuple[str, ...]
    allow_urls: tuple[str, ...] | None
    deny_urls: tuple[str, ...]
    builtin_deny_apps: tuple[str, ...]
    builtin_deny_titles: tuple[str, ...]

    @classmethod
    def of(cls, policy: Policy) -> "Scope":
        return cls(
            allow_apps=tuple(sorted(policy.allow_apps)) if policy.allow_apps is not None else None,
            deny_apps=tuple(sorted(policy.deny_apps)),
            allow_urls=tuple(sorted(policy.allow_urls)) if policy.allow_urls is not None else None,
            deny_urls=tuple(sorted(policy.deny_urls)),
            builtin_deny_apps=tuple(BUILTIN_DENY_APPS),
            builtin_deny_titles=tuple(p.pattern for p in BUILTIN_DENY_TITLES),
        )

    def to_dict(self) -> dict[str, Any]:
        def lst(v):
            return list(v) if v is not None else None

        return {"allow_apps": lst(self.allow_apps), "deny_apps": list(self.deny_apps),
                "allow_urls": lst(self.allow_urls), "deny_urls": list(self.deny_urls),
                "builtin_deny_apps": list(self.builtin_deny_apps),
                "builtin_deny_titles": list(self.builtin_deny_titles)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Scope":
        def tup(v):
            return tuple(v) if v is not None else None

        return cls(allow_apps=tup(data["allow_apps"]), deny_apps=tuple(data["deny_apps"]),
                   allow_urls=tup(data["allow_urls"]), deny_urls=tuple(data["deny_urls"]),
                   builtin_deny_apps=tuple(data["builtin_deny_apps"]),
                   builtin_deny_titles=tuple(data["builtin_deny_titles"]))

    def digest(self) -> str:
        """The policy hash kept with the agreement: SHA-256 of the canonical scope."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


# Work one comparison of two policies may take (automaton positions stepped); past it every answer
# still open is "yes, something new could be recorded" (asking again is the safe mistake). Real
# policies take a few tens of thousands (milliseconds); a pathological one (a dozen patterns of
# five `*` each) would otherwise take minutes.
MAX_STEPS = 200_000


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps


def _closure(patterns: tuple[str, ...], states: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """States (pattern, position) of a set of globs, with each ``*`` also matching nothing."""
    out, stack = set(states), list(states)
    while stack:
        k, i = stack.pop()
        if i < len(patterns[k]) and patterns[k][i] == "*" and (k, i + 1) not in out:
            out.add((k, i + 1))
            stack.append((k, i + 1))
    return frozenset(out)


def _step(patterns: tuple[str, ...], states: frozenset[tuple[int, int]], char: str) -> frozenset[tuple[int, int]]:
    moved = set()
    for k, i in states:
        if i < len(patterns[k]):
            token = patterns[k][i]
            if token == "*":
                moved.add((k, i))
            elif token == "?" or token == char:
                moved.add((k, i + 1))
    return _closure(patterns, moved)


def _ends(patterns: tuple[str, ...], states: frozenset[tuple[int, int]]) -> bool:
    return any(i == len(patterns[k]) for k, i in states)


def _absorbs(patterns: tuple[str, ...], states: frozenset[tuple[int, int]]) -> bool:
    """Whatever follows, some pattern matches: one is at a tail of nothing but ``*``."""
    return any(i < len(patterns[k]) and patterns[k][i:].strip("*") == "" for k, i in states)


def _exists(require: list[tuple[str, ...]], forbid: list[tuple[str, ...]], budget: _Budget) -> bool:
    """Is there a name matched by some pattern of every list in ``require`` and by none in ``forbid``?

    Exact for fnmatch globs of ``*`` and ``?`` (what policies use): the lists run side by side as
    automata over the characters the patterns name plus one standing for every other character.
    A character class (``[...]``) makes it answer yes, the safe answer for a consent check.
    """
    lists = list(require) + list(forbid)
    if any("[" in p for patterns in lists for p in patterns):
        return True
    if any(len(patterns) == 1 and patterns[0] in barred for patterns in require for barred in forbid):
        return False  # the same pattern on both sides (an entry kept as it was)
    chars = {c for patterns in lists for p in patterns for c in p} - {"*", "?"}
    other = next(chr(n) for n in itertools.count(1) if chr(n) not in chars)
    alphabet = sorted(chars) + [other]
    n = len(require)
    start = tuple(_closure(patterns, {(k, 0) for k in range(len(patterns))}) for patterns in lists)
    seen, queue = {start}, [start]
    while queue:
        state = queue.pop()
        ends = [_ends(patterns, states) for patterns, states in zip(lists, state)]
        if all(ends[:n]) and not any(ends[n:]):
            return True
        for char in alphabet:
            budget.left -= len(lists) + sum(map(len, state))  # the work of one step of every automaton
            if budget.left < 0:
                return True
            following = tuple(_step(patterns, states, char) for patterns, states in zip(lists, state))
            if (following in seen or any(not states for states in following[:n])
                    or any(_absorbs(patterns, states) for patterns, states in zip(forbid, following[n:]))):
                continue  # explored, or no name down this way: a required list cannot match, a forbidden one must
            seen.add(following)
            queue.append(following)
    return False


def _list_widenings(kind: str, old_allow: tuple[str, ...] | None, old_deny: tuple[str, ...],
                    new_allow: tuple[str, ...] | None, new_deny: tuple[str, ...], budget: _Budget,
                    several_names: bool = False) -> list[str]:
    """One reason per new allow pattern or dropped deny entry that lets something be recorded which
    the agreed lists did not record (exact: see ``_exists``).

    ``several_names``: one thing goes by several names, any of which the allow-list may match and
    none of which may be denied (a window's WM_CLASS instance and class: ``Policy.app_allowed``).
    Then a dropped deny entry widens whenever something it named is no longer denied and anything
    at all is allowed: a window named by it and by an allowed name was kept out, and no longer is.
    """
    reasons = []
    if old_allow is not None and new_allow is None:
        reasons.append(f"the {kind} allow-list was removed, so every {kind} not denied would be recorded")
    elif old_allow is not None and new_allow is not None:
        for pattern in new_allow:
            if _exists([(pattern,)], [new_deny, old_allow], budget):
                reasons.append(f"new {kind} allowed: {pattern}")
    allowed_now = [new_allow] if new_allow is not None else []
    for entry in old_deny:
        if entry in new_deny:
            continue
        if several_names:
            wider = _exists([(entry,)], [new_deny], budget) and _exists(allowed_now, [new_deny], budget)
        else:
            wider = _exists([(entry,), *allowed_now], [new_deny], budget)
        if wider:
            reasons.append(f"{kind} no longer denied: {entry}")
    return reasons


def widenings(agreed: Scope, proposed: Scope) -> list[str]:
    """Why ``proposed`` records more than ``agreed`` (empty: it does not; see the module docstring)."""
    old_deny_apps = tuple(agreed.deny_apps) + tuple(agreed.builtin_deny_apps)
    new_deny_apps = tuple(proposed.deny_apps) + tuple(proposed.builtin_deny_apps)
    budget = _Budget(MAX_STEPS)
    reasons = _list_widenings("app", agreed.allow_apps, old_deny_apps, proposed.allow_apps, new_deny_apps, budget,
                              several_names=True)
    reasons += _list_widenings("site", agreed.allow_urls, tuple(agreed.deny_urls),
                               proposed.allow_urls, tuple(proposed.deny_urls), budget)
    for rule in agreed.builtin_deny_titles:
        if rule not in proposed.builtin_deny_titles:
            reasons.append(f"windows titled like {rule!r} are no longer kept out")
    return list(dict.fromkeys(reasons))


# ---------------------------------------------------------------------------- the notice

@dataclass(frozen=True)
class Destination:
    """Where recordings go: nowhere (``url`` None) or an enrolled collector, with its terms."""

    url: str | None = None
    pseudonym: str | None = None
    retention_days: int | None = None
    terms_known: bool = True  # False: enrolled, but the collector did not answer when asked


@dataclass(frozen=True)
class Notice:
    version: int
    sections: tuple[tuple[str, tuple[str, ...]], ...]

    def text(self) -> str:
        out = [f"workprint recording notice (version {self.version})", ""]
        for title, lines in self.sections:
            out.append(title)
            out += [f"  {line}" for line in lines]
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def digest(self) -> str:
        """The notice hash kept with the agreement: SHA-256 of the text shown in the terminal."""
        return hashlib.sha256(self.text().encode()).hexdigest()

    def html(self) -> str:
        parts = [f"<section><h2>{html.escape(title)}</h2><ul>"
                 + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul></section>"
                 for title, lines in self.sections]
        return ("<!doctype html><html lang=en><meta charset=utf-8><title>workprint recording notice</title>"
                "<meta name=viewport content='width=device-width'>"
                "<style>body{font:16px/1.5 system-ui;max-width:46em;margin:2em auto;padding:0 1em}"
                "h2{font-size:1.1em;margin-top:1.6em}code{background:#eee;padding:0 .2em}</style>"
                f"<h1>workprint recording notice</h1><p>Version {self.version}. "
                f"Notice hash <code>{self.digest()[:16]}</code>.</p>" + "".join(parts) + "</html>\n")


def _names(patterns) -> str:
    return ", ".join(patterns) if patterns else "none"


def build_notice(policy: Policy, destination: Destination) -> Notice:
    """The notice in plain words, from the policy and the enrolment. Same inputs, same text."""
    scope = Scope.of(policy)
    apps = (f"Only these apps: {_names(scope.allow_apps)}." if scope.allow_apps is not None
            else "Every app, except those listed below as never recorded.")
    sites = (f"In the browser, only these sites: {_names(scope.allow_urls)}." if scope.allow_urls is not None
             else "In the browser, every site, except those listed below as never recorded.")
    what = [apps, sites, f"Policy: {policy.source} (policy hash {scope.digest()[:16]})."]
    never = [
        "Password managers, keyrings and credential prompts, whatever the policy says: "
        + _names(scope.builtin_deny_apps) + ".",
        "Private and incognito browser windows, password and passphrase prompts (recognised by window title), "
        "and workprint's own dialogs.",
        "Password fields in any app: no keystroke is kept, and the field is blacked out in screenshots.",
    ]
    if scope.deny_apps:
        never.append(f"Apps this policy adds to the list: {_names(scope.deny_apps)}.")
    if scope.deny_urls:
        never.append(f"Sites this policy excludes: {_names(scope.deny_urls)}.")
    captured = [
        "In recorded apps: pointer movements, clicks, scrolling, keystrokes, menu choices, the active app "
        "and window title, and screenshots of the screen.",
        "Windows of apps that are not recorded are blacked out in screenshots; while one has focus, no "
        "screenshot is kept at all.",
        "Removed on this device, before anything is written: passwords, keys and tokens, e-mail addresses, "
        "phone numbers, card and bank account numbers and other personal data you type (replaced by "
        "placeholders such as [EMAIL]).",
        "Screenshots are read by text recognition and such text is blacked out before they are exported "
        "or uploaded.",
        "Everything is stored encrypted on this device. No login or computer name is recorded.",
    ]
    if destination.url is None:
        where = ["Recordings stay on this device: it is not enrolled with a collector. If it is enrolled later, "
                 "you will be asked to agree again before anything is sent."]
        who = ["Only you, on this device."]
    else:
        where = [f"Sessions you approve in `workprint review` (or that you have not reviewed 24 hours after "
                 f"recording) are uploaded to the collector at {destination.url}, under the pseudonym "
                 f"{destination.pseudonym}, never your name.",
                 "Only redacted actions and redacted screenshots are sent."]
        who = [f"{role}: {rights}." for role, rights in ROLE_RIGHTS]
        who.append("Every read, deletion and refusal at the collector is written to a tamper-evident audit log.")
    keep = ["On this device: until you delete it."]
    if destination.url is not None:
        if not destination.terms_known:
            keep.append("At the collector: unknown (it did not answer); ask your admin.")
        elif destination.retention_days:
            keep.append(f"At the collector: deleted automatically {destination.retention_days} days after upload.")
        else:
            keep.append("At the collector: no automatic expiry is set; kept until you or an admin delete it.")
    where.append("When you start an agent yourself (`workprint agent run --model URL`), the screenshots it works "
                 "from go to that model server, with windows of apps that are not recorded blacked out and "
                 "flagged text masked (unless you turn that off with --no-screen-redaction).")
    use = ["To build and evaluate software agents that operate computers.",
           "Never to assess, rank, score or monitor you or anyone else: the collector has no function that "
           "summarises a person, and this notice is part of what you agree to."]
    controls = [
        "Pause and resume at any moment: `workprint pause` / `workprint resume` (or ctrl+alt+p).",
        "Review what was recorded: `workprint sessions`, `workprint report latest`, `workprint review`.",
        "Delete a session or a time range before it leaves: `workprint review`.",
        "Withdraw: `workprint consent withdraw` stops recording for good on this device; "
        "`workprint consent withdraw --erase` also deletes your sessions here and at the collector.",
    ]
    return Notice(NOTICE_VERSION, (
        ("What is recorded", tuple(what)),
        ("Never recorded", tuple(never)),
        ("What is captured, and what is removed on this device", tuple(captured)),
        ("Where it goes", tuple(where)),
        ("Who can read it", tuple(who)),
        ("How long it is kept", tuple(keep)),
        ("What it is used for", tuple(use)),
        ("Your controls", tuple(controls)),
    ))


# ---------------------------------------------------------------------------- the record on the device

@dataclass(frozen=True)
class Agreement:
    """One agreement: what was shown, to which policy, when, and where data was to go."""

    notice_version: int
    notice_hash: str
    policy_hash: str
    scope: Scope
    accepted_at: str
    collector: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"notice_version": self.notice_version, "notice_hash": self.notice_hash,
                "policy_hash": self.policy_hash, "scope": self.scope.to_dict(),
                "accepted_at": self.accepted_at, "collector": self.collector}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Agreement":
        return cls(notice_version=int(data["notice_version"]), notice_hash=data["notice_hash"],
                   policy_hash=data["policy_hash"], scope=Scope.from_dict(data["scope"]),
                   accepted_at=data["accepted_at"], collector=data.get("collector"))


@dataclass(frozen=True)
class Status:
    """Is there a current agreement for this policy? ``reasons`` say why not."""

    current: bool
    agreement: Agreement | None
    withdrawn_at: str | None
    reasons: tuple[str, ...]


def _path(home: Path) -> Path:
    return home / CONSENT_FILE


def _read(home: Path) -> dict[str, Any]:
    path = _path(home)
    if not path.exists():
        return {"current": None, "withdrawn_at": None, "history": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("current") is not None:
            Agreement.from_dict(data["current"])
        return data
    except (ValueError, KeyError, TypeError) as exc:
        raise ConsentError(f"the consent record {path} is damaged ({exc}); agree again with "
                           "`workprint consent accept`") from None


def _write(home: Path, data: dict[str, Any]) -> None:
    """Durable and atomic, and private from its first byte: a crash leaves the old record or the new one."""
    atomic_write(_path(home), json.dumps(data, indent=1, sort_keys=True))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def status(home: Path, policy: Policy) -> Status:
    """Reads only: never creates ``home`` or anything in it (a refused `record` writes nothing)."""
    data = _read(home)
    if data.get("current") is None:
        if data.get("withdrawn_at"):
            return Status(False, None, data["withdrawn_at"],
                          (f"consent was withdrawn on {data['withdrawn_at']}",))
        return Status(False, None, None, ("nobody has agreed to recording on this device yet",))
    agreement = Agreement.from_dict(data["current"])
    reasons = []
    if agreement.notice_version != NOTICE_VERSION:
        reasons.append(f"the notice changed (version {agreement.notice_version} was agreed, "
                       f"this is version {NOTICE_VERSION})")
    wider = widenings(agreement.scope, Scope.of(policy))
    if wider:
        reasons.append(f"this policy records more than what was agreed on {agreement.accepted_at}: "
                       + "; ".join(wider))
    return Status(not reasons, agreement, None, tuple(reasons))


def agreed(home: Path) -> bool:
    """Is an agreement in force on this device (whatever the policy)? Uploads need one."""
    try:
        return _read(home).get("current") is not None
    except ConsentError:
        return False


def accept(home: Path, policy: Policy, notice: Notice, collector: str | None) -> Agreement:
    agreement = Agreement(notice_version=notice.version, notice_hash=notice.digest(),
                          policy_hash=Scope.of(policy).digest(), scope=Scope.of(policy),
                          accepted_at=_now(), collector=collector)
    try:
        data = _read(home)
    except ConsentError:
        data = {"history": []}
    data["current"] = agreement.to_dict()
    data["withdrawn_at"] = None
    data.setdefault("history", []).append({"event": "accepted", "at": agreement.accepted_at,
                                           "notice_hash": agreement.notice_hash,
                                           "policy_hash": agreement.policy_hash})
    _write(home, data)
    return agreement


def withdraw(home: Path, erase: bool) -> str:
    """Marks the agreement withdrawn (kept in the history); returns the time."""
    try:
        data = _read(home)
    except ConsentError:
        data = {"history": []}
    when = _now()
    data["current"] = None
    data["withdrawn_at"] = when
    data.setdefault("history", []).append({"event": "withdrawn", "at": when, "erase": erase})
    _write(home, data)
    return when


def mark_erasure_pending(home: Path, pending: bool) -> None:
    """An erasure the collector has not confirmed yet; `withdraw --erase` retries it."""
    data = _read(home)
    data["erasure_pending"] = pending
    _write(home, data)


def erasure_pending(home: Path) -> bool:
    """Did `withdraw --erase` fail to reach the collector (and has not been run again since)?"""
    try:
        return bool(_read(home).get("erasure_pending"))
    except ConsentError:  # a damaged record: `accept` starts a new one, `withdraw --erase` can be run again
        return False

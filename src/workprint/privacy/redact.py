"""Text redaction for secrets and personal data, run on the device before anything is stored.

Every detector proposes spans on the original text; overlapping spans are resolved in favour
of the earlier detector in ``_DETECTORS`` (most specific first), then of the longer span.
Each span becomes a typed placeholder such as ``[EMAIL]``.

Written by hand rather than with Presidio because it must run inside the recorder on every
typing run and window title at a fraction of a millisecond, must validate (Luhn, IBAN mod-97,
SSN ranges, IP ranges) to keep task tokens such as order numbers and versions, and must not
load any model. ``bench/redaction.py`` compares it with Presidio.

What is deliberately kept: ticket ids (``ABC-123``), dates, date-times, times, versions, commit
hashes and other hex digests, UUIDs, prices, order numbers (``tasktokens``: number detectors
never take them). Phones and national ids live in ``phones`` (libphonenumber's plans), names in
``names`` (a compiled names-dataset dictionary and context), addresses in ``addresses``.
``fakercorpus`` is the outside corpus they are measured on.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from workprint.privacy.addresses import addresses
from workprint.privacy.names import names
from workprint.privacy.phones import national_ids, phones
from workprint.privacy.tasktokens import masked, protected_spans

Span = tuple[int, int, str]  # start, end, kind


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: list[str] = field(default_factory=list)  # sorted, unique, lowercase kind names

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "").upper()
    if not (12 <= len(s) <= 34):
        return False
    rearranged = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def _entropy(s: str) -> float:
    counts: dict[str, int] = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _regex(kind: str, pattern: str, flags: int = 0, group: int = 0,
           check: Callable[[re.Match[str]], bool] | None = None, needs: Callable[[str], bool] | None = None):
    """A detector from a pattern; ``needs`` is a cheap test a line must pass before the pattern
    scans it (most lines have no ``@``, no ``://``, no ``=``): this keeps redaction fast."""
    rx = re.compile(pattern, flags)

    def detect(text: str) -> Iterator[Span]:
        if needs is not None and not needs(text):
            return
        for m in rx.finditer(text):
            if check is None or check(m):
                yield m.start(group), m.end(group), kind
    return detect


_LONG_RUN = re.compile(r"[\w.\-]{15}")
_PEM = _regex("private_key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[\s\S]*)", needs=lambda t: "-----BEGIN" in t)
_JWT = _regex("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", needs=lambda t: "eyJ" in t)
_KNOWN_KEYS = _regex(
    "api_key",
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}"  # AWS key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub
    r"|glpat-[A-Za-z0-9_\-]{20,}|gl(?:ptt|dt|rt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|xox[abposrce]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,}"  # Slack
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}"  # Stripe
    r"|AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{20,}"  # Google
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"  # OpenAI, Anthropic
    r"|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_\-]{50,}|hf_[A-Za-z0-9]{30,}"  # npm, PyPI, Hugging Face
    r"|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}|dop_v1_[a-f0-9]{64}|shpat_[a-fA-F0-9]{32}"
    r"|(?:AC|SK)[0-9a-f]{32}"  # Twilio
    r")(?![A-Za-z0-9])",
    needs=lambda t: _LONG_RUN.search(t) is not None,  # every key above is 15 characters or more
)
_SLACK_HOOK = _regex("api_key", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+", needs=lambda t: "hooks.slack" in t)
_BEARER = _regex("api_key", r"(?i)\b(?:bearer|token|basic)\s+([A-Za-z0-9._~+/=-]{16,})", group=1,
                 check=lambda m: _entropy(m.group(1)) > 3.0,
                 needs=lambda t: any(w in t.lower() for w in ("bearer", "token", "basic")))
_URL_CREDENTIALS = _regex("password", r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@]+:([^\s/@]+)@", group=1, needs=lambda t: "@" in t and "://" in t)
_QUERY_SECRET = _regex(
    "api_key",
    r"(?i)[?&;#](?:access_token|refresh_token|id_token|token|api_?key|apikey|key|secret|client_secret"
    r"|sig|signature|session_?id|session|auth|code|x-amz-signature|x-amz-credential)=([^&#\s]{6,})",
    group=1,
    needs=lambda t: "=" in t,
)
_QUERY_PASSWORD = _regex("password", r"(?i)[?&;](?:password|passwd|pwd|pass|pw)=([^&#\s]+)", group=1, needs=lambda t: "=" in t)
_PASSWORD_CONTEXT = _regex(
    "password",
    r"(?i)\b(?:password|passwd|passwort|mot de passe|contraseña|pwd|pw|pass(?:code|phrase|word)?|pin)"
    r"(?:\s+is)?\s*[:=]\s*[\"']?([^\s\"',;]{2,})",
    group=1,
    needs=lambda t: ":" in t or "=" in t,
)
_PASSWORD_PHRASE = _regex("password", r"(?i)\bmy (?:password|passcode|pin) is\s+[\"']?([^\s\"',;]{2,})", group=1,
                          needs=lambda t: "my " in t.lower())
_SECRET_CONTEXT = _regex(
    "api_key",
    r"(?i)\b(?:api[_ -]?key|apikey|secret(?:[_ -]?key)?|access[_ -]?key(?:[_ -]?id)?|client[_ -]?secret"
    r"|auth[_ -]?token|access[_ -]?token|private[_ -]?key|token|aws_secret_access_key)"
    r"\s*[:=]\s*[\"']?([A-Za-z0-9+/_.=\-]{8,})",
    group=1,
    check=lambda m: _entropy(m.group(1)) > 2.5 and not m.group(1).isdigit(),
    needs=lambda t: ":" in t or "=" in t,
)
_EMAIL = _regex("email", r"(?i)(?<![\w.+-])[\w.%+-]+@(?:[\w-]+\.)+[a-z]{2,24}(?![\w-])",  # local parts may be Unicode
                needs=lambda t: "@" in t)
_IBAN = _regex(
    "iban",
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
    check=lambda m: iban_ok(m.group(0)),
)
_CARD = _regex(
    "card",
    r"(?<![\w+-])(?:\d[ -]?){11,18}\d(?![\w-])",  # not after +: a phone number
    # 12 digits only for Maestro (50, 56-69), whose numbers start at 12 digits
    check=lambda m: (lambda d: (13 <= len(d) <= 19 or (len(d) == 12 and d[0] in "56")) and luhn_ok(d)
                     and len(set(d)) > 1)(re.sub(r"\D", "", m.group(0))) and not _inside_task_token(m),
)


def _inside_task_token(m: re.Match[str]) -> bool:
    """Whether a task token covers the whole match: an epoch or order number after its cue word
    (``epoch 1744052815331``) passes the Luhn check one time in ten, and is not a card."""
    return any(s <= m.start() and m.end() <= e for s, e in protected_spans(m.string))


def _ssn_ok(m: re.Match[str]) -> bool:
    area, group, serial = m.group(1), m.group(2), m.group(3)
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


_SSN = _regex("ssn", r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])", check=_ssn_ok, needs=lambda t: "-" in t)
_SSN_CONTEXT = _regex("ssn", r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*[:#]?\s*((\d{3})[ ]?(\d{2})[ ]?(\d{4}))\b",
                      group=1, needs=lambda t: "ssn" in t.lower() or "social" in t.lower())

def _phones(text: str) -> Iterator[Span]:
    blanked, digits = masked(text)
    return phones(blanked, protected_spans(text)) if digits >= 7 else iter(())


def _addresses(text: str) -> Iterator[Span]:
    """Street addresses, cut short of any task token they ran into (a date after the town)."""
    if not masked(text)[1]:
        return  # no house number outside the task tokens
    protected = protected_spans(text)
    for start, end, kind in addresses(text):
        inside = [s for s, e in protected if start < e and s < end]
        if inside:
            end = min(inside)
            while end > start and not text[end - 1].isalnum():
                end -= 1
        if end - start >= 4:
            yield start, end, kind


def _national_ids(text: str) -> Iterator[Span]:
    blanked, digits = masked(text)
    return national_ids(blanked, protected_spans(text)) if digits >= 6 else iter(())


_VERSION_CUE = re.compile(r"(?i)\b(?:version|release|build|ver\.?|rev\.?)\s*$")


def _ipv4_ok(m: re.Match[str]) -> bool:
    if _VERSION_CUE.search(m.string[max(0, m.start() - 16):m.start()]):
        return False  # "version 1.2.3.4" is a version, not an address
    parts = m.group(0).split(".")
    if parts[0] == "127" or m.group(0) == "0.0.0.0":
        return False  # loopback says nothing about anyone
    # 1.2.6.016 is a version: addresses are not written with leading zeros
    return all(0 <= int(part) <= 255 and (part == "0" or not part.startswith("0")) for part in parts)


IPV4 = _regex("ip", r"(?<![\w.-])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)", check=_ipv4_ok, needs=lambda t: "." in t)


def _ipv6_ok(m: re.Match[str]) -> bool:
    s = m.group(0)
    if "::" not in s and s.count(":") != 7:
        return False
    try:
        address = ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return not address.is_loopback and not address.is_unspecified


IPV6 = _regex("ip", r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])", check=_ipv6_ok, needs=lambda t: ":" in t)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _high_entropy(text: str) -> Iterator[Span]:
    """Long random-looking tokens (not hex digests, not UUIDs, not words) are treated as secrets."""
    for m in re.finditer(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{32,}(?![A-Za-z0-9+/_=-])", text):
        tok = m.group(0)
        if re.fullmatch(r"[0-9a-fA-F-]+", tok) or _UUID.match(tok):
            continue
        classes = sum(bool(re.search(p, tok)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
        if classes == 3 and _entropy(tok) >= 4.2:
            yield m.start(), m.end(), "api_key"


# Common given names: screenshot OCR (privacy/frames.py) capitalises these when OCR read
# them in lower case. Names themselves are found by ``workprint.privacy.names``.
GIVEN_NAMES = frozenset(
    """james mary robert patricia john jennifer michael linda david elizabeth william barbara richard
    susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty
    anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle
    kenneth carol kevin amanda brian dorothy george melissa timothy deborah ronald stephanie edward
    rebecca jason sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas angela eric
    shirley jonathan anna stephen brenda larry pamela justin emma scott nicole brandon helen benjamin
    samantha samuel katherine gregory christine alexander debra frank rachel patrick carolyn raymond
    janet jack catherine dennis maria jerry heather tyler diane aaron ruth jose julie adam olivia
    nathan joyce henry virginia douglas victoria zachary kelly peter lauren kyle christina noah joan
    ethan evelyn jeremy judith walter megan christian andrea keith cheryl roger hannah terry jacqueline
    austin martha sean gloria gerald teresa carl ann harold sara dylan madison arthur frances lawrence
    kathryn jordan janice jesse jean bryan abigail billy alice bruce julia gabriel judy joe sophia
    logan grace albert denise willie amber alan doris eugene marilyn russell danielle vincent beverly
    philip isabella bobby theresa johnny diana bradley natalie roy brittany ralph charlotte juan
    marie wayne kayla louis alexis mohammed muhammad ahmed ali fatima wei li chen yuki hiroshi
    priya raj anil sunita hans klaus jurgen anna lena lukas sofia mateo lucia pierre marie jean
    francois giulia marco luca carlos mateo diego ana carmen""".split()
)


def _names(text: str) -> Iterator[Span]:
    """Personal names: ``workprint.privacy.names`` (dictionary and context)."""
    return names(text)


_DETECTORS = (
    _PEM, _JWT, _KNOWN_KEYS, _SLACK_HOOK, _URL_CREDENTIALS, _QUERY_PASSWORD, _QUERY_SECRET,
    _PASSWORD_PHRASE, _PASSWORD_CONTEXT, _BEARER, _SECRET_CONTEXT, _EMAIL, _IBAN, _CARD,
    _SSN_CONTEXT, _SSN, IPV6, IPV4, _addresses, _phones, _national_ids, _high_entropy, _names,
)

PLACEHOLDERS = {
    "private_key": "[PRIVATE_KEY]", "jwt": "[JWT]", "api_key": "[SECRET]", "password": "[PASSWORD]",
    "email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "ssn": "[SSN]", "phone": "[PHONE]",
    "ip": "[IP]", "name": "[NAME]", "national_id": "[ID]", "address": "[ADDRESS]",
}


def find_spans(text: str) -> list[Span]:
    """Non-overlapping sensitive spans of ``text``, in text order."""
    chosen: list[Span] = []
    for detector in _DETECTORS:
        for start, end, kind in detector(text):
            if start >= end:
                continue
            if any(start < e and s < end for s, e, _ in chosen):
                continue
            chosen.append((start, end, kind))
    chosen.sort()
    return chosen


def redact(text: str) -> Redaction:
    """``text`` with every sensitive span replaced by its placeholder, and the kinds removed."""
    if not text:
        return Redaction(text or "", [])
    spans = find_spans(text)
    if not spans:
        return Redaction(text, [])
    out, pos = [], 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return Redaction("".join(out), sorted({k for _, _, k in spans}))

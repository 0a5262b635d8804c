"""A labelled redaction corpus, generated: templates × realistic values, plus hard negatives.

Used by the tests and by ``bench/redaction.py`` so both measure the same thing. Every value is
generated with a seeded RNG (valid checksums where the kind has one: Luhn, IBAN mod-97, SSN
ranges), and every line also carries task tokens that must survive redaction.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

FIRST = ["Maria", "James", "Priya", "Wei", "Fatima", "Lukas", "Sofia", "Ahmed", "Emma", "Hiroshi", "Olivia",
         "Daniel", "Anna", "Mohammed", "Julia", "Kevin", "Laura", "Carlos"]
LAST = ["Garcia", "Smith", "Patel", "Chen", "Khan", "Muller", "Rossi", "Hassan", "Johnson", "Tanaka", "Brown",
        "Novak", "Kowalski", "Okafor", "Silva", "Nguyen", "Lindqvist", "Moreau"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "uni.example.edu", "example.de"]


@dataclass
class Line:
    text: str
    secrets: list[tuple[str, str]]  # (kind, value) that must not survive
    keep: list[str]  # task tokens that must survive verbatim


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)])
    number = _luhn_complete(prefix, length, rng)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return number
    groups = [number[:4], number[4:10], number[10:]] if length == 15 else [number[i:i + 4] for i in range(0, 16, 4)]
    return (" " if style == "space" else "-").join(groups)


def iban(rng: random.Random) -> str:
    country, length = rng.choice([("DE", 22), ("GB", 22), ("FR", 27), ("NL", 18), ("ES", 24)])
    if country == "GB":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
            rng.choice(string.digits) for _ in range(14))
    elif country == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
            rng.choice(string.digits) for _ in range(10))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(length - 4))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        value = " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: random.Random) -> str:
    n = lambda k: "".join(rng.choice(string.digits) for _ in range(k))  # noqa: E731
    return rng.choice([
        f"+1 ({rng.randint(201, 989)}) {n(3)}-{n(4)}", f"({rng.randint(201, 989)}) {n(3)}-{n(4)}",
        f"{rng.randint(201, 989)}-{n(3)}-{n(4)}", f"+44 20 {n(4)} {n(4)}", f"+49 30 {n(8)}",
        f"+33 1 {n(2)} {n(2)} {n(2)} {n(2)}", f"+91 {rng.randint(70, 99)}{n(3)} {n(5)}", f"+1-{rng.randint(201, 989)}-{n(3)}-{n(4)}",
        f"{rng.randint(201, 989)}.{n(3)}.{n(4)}",
    ])


def email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower()
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}",
                        f"{first}+{rng.choice(['work', 'news'])}"])
    return f"{local}@{rng.choice(DOMAINS)}"


def ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 65535):x}" for _ in range(8)]
    return rng.choice([":".join(groups), f"2001:db8::{groups[0]}:{groups[1]}", f"fe80::{groups[2]}:{groups[3]}"])


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def api_key(rng: random.Random) -> str:
    return rng.choice([
        "AKIA" + _rand(rng, 16, string.ascii_uppercase + string.digits),
        "ghp_" + _rand(rng, 36), "github_pat_" + _rand(rng, 22) + "_" + _rand(rng, 59),
        "glpat-" + _rand(rng, 20), "xoxb-" + _rand(rng, 12, string.digits) + "-" + _rand(rng, 24),
        "sk_live_" + _rand(rng, 24), "AIza" + _rand(rng, 35), "sk-proj-" + _rand(rng, 40),
        "sk-ant-api03-" + _rand(rng, 40), "npm_" + _rand(rng, 36), "hf_" + _rand(rng, 34),
    ])


def jwt(rng: random.Random) -> str:
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': _rand(rng, 8), 'iat': rng.randint(10**9, 2 * 10**9)})}.{_rand(rng, 43, string.ascii_letters + string.digits + '-_')}"


def password(rng: random.Random) -> str:
    return _rand(rng, rng.randint(8, 16), string.ascii_letters + string.digits + "!#%&*?")


def name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


TEMPLATES: dict[str, list[str]] = {
    "email": ["please reply to {v} before {date}", "From: {v}", "cc {v} on {ticket}"],
    "phone": ["call me at {v} about {ticket}", "Phone: {v}", "support line {v} (open until {time})"],
    "card": ["card number {v} for order #{order}", "paid with {v} total {price}", "{v}"],
    "ssn": ["SSN {v} for payroll", "social security number: {v}", "employee {ticket} ssn {v}"],
    "iban": ["IBAN {v} for invoice {ticket}", "transfer {price} to {v}", "account: {v}"],
    "ip": ["ssh admin@{v} after deploy of {version}", "server {v} is down since {time}", "allowlist {v}"],
    "api_key": ["export API_KEY={v}", "token {v} for {ticket}", "use {v} in the header", "config key: {v}"],
    "jwt": ["Authorization: Bearer {v}", "session token {v}", "jwt={v}"],
    "password": ["password: {v}", "my password is {v}", "login with pw={v} for {ticket}",
                 "https://deploy:{v}@git.example.com/repo.git"],
    "name": ["Dear {v}, the build {version} is ready", "Assignee: {v}", "thanks {v} for fixing {ticket}",
             "Regards, {v}"],
}
GENERATORS = {"email": email, "phone": phone, "card": card, "ssn": ssn, "iban": iban, "ip": ip,
              "api_key": api_key, "jwt": jwt, "password": password, "name": name}


def _task_tokens(rng: random.Random) -> dict[str, str]:
    return {
        "ticket": f"{rng.choice(['ABC', 'OPS', 'JIRA', 'WEB'])}-{rng.randint(10, 99999)}",
        "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "version": f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "order": str(rng.randint(100000, 99999999)),
        "price": f"${rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
    }


NEGATIVE_TEMPLATES = [
    "commit {hash} fixes {ticket} in {version}",
    "release {version} ships on {date} at {time}",
    "order #{order} total {price}",
    "request id {uuid} returned 503",
    "see {ticket} and {ticket2}; build {build} passed",
    "checksum sha256 {sha} verified",
]


def generate(n_per_kind: int = 200, n_negative: int = 400, seed: int = 0) -> list[Line]:
    rng = random.Random(seed)
    lines: list[Line] = []
    for kind, templates in TEMPLATES.items():
        for i in range(n_per_kind):
            value = GENERATORS[kind](rng)
            tokens = _task_tokens(rng)
            template = templates[i % len(templates)]
            text = template.format(v=value, **tokens)
            keep = [t for k, t in tokens.items() if "{" + k + "}" in template]
            lines.append(Line(text, [(kind, value)], keep))
    for i in range(n_negative):
        tokens = _task_tokens(rng)
        extra = {"hash": _rand(rng, 40, "0123456789abcdef")[: rng.choice([7, 12, 40])],
                 "uuid": "-".join(_rand(rng, k, "0123456789abcdef") for k in (8, 4, 4, 4, 12)),
                 "ticket2": f"PRJ-{rng.randint(1, 9999)}", "build": str(rng.randint(1000, 99999)),
                 "sha": _rand(rng, 64, "0123456789abcdef")}
        template = NEGATIVE_TEMPLATES[i % len(NEGATIVE_TEMPLATES)]
        text = template.format(**tokens, **extra)
        keep = [v for k, v in {**tokens, **extra}.items() if "{" + k + "}" in template]
        lines.append(Line(text, [], keep))
    return lines

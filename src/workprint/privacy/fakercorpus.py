"""An outside redaction corpus: values from Faker across many locales, not from our own lists.

``workprint.privacy.corpus`` is written by the same hands as the patterns, so it can only
confirm what they already know. This corpus takes its personal data from Faker (pinned in
the ``test`` and ``bench`` extras), which knows the names, phone plans, addresses, IBANs and
national ids of dozens of locales: each line plants one value in a sentence a person might
type or see, beside task tokens that must survive (ISO dates and date-times, times,
versions, ticket ids, hashes, prices, order numbers) and hard negatives (ordinary capitalised
words: product names, places, menu labels, months and weekdays in the locale's language).

Two splits from different seeds: ``tune`` (look at it, tune on it) and ``holdout`` (only ever
report it). Faker is imported lazily: it is not needed to use workprint.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

TUNE_SEED = 1
HOLDOUT_SEED = 7_000_001
SPLITS = {"tune": TUNE_SEED, "holdout": HOLDOUT_SEED}

# Latin, Cyrillic, Greek and other scripts; several locales fall back to en_US for some providers.
LOCALES = [
    "en_US", "en_GB", "en_IE", "en_AU", "en_CA", "en_NZ", "en_IN", "en_PH", "en_NG", "de_DE", "de_AT", "de_CH",
    "fr_FR", "fr_CH", "fr_BE", "fr_CA", "es_ES", "es_MX", "es_AR", "es_CO", "es_CL", "it_IT", "pt_PT", "pt_BR",
    "nl_NL", "nl_BE", "sv_SE", "da_DK", "no_NO", "fi_FI", "pl_PL", "cs_CZ", "sk_SK", "sl_SI", "hr_HR", "hu_HU",
    "ro_RO", "bg_BG", "lt_LT", "lv_LV", "et_EE", "tr_TR", "el_GR", "ru_RU", "uk_UA", "he_IL", "id_ID", "vi_VN",
    "ja_JP", "zh_CN", "zh_TW", "ko_KR", "hi_IN", "th_TH", "fa_IR", "ar_AE", "yo_NG", "zu_ZA", "ga_IE", "is_IS",
]

KINDS = ["name", "email", "phone", "address", "iban", "card", "national_id", "api_key", "ip"]
PATTERN_KINDS = [k for k in KINDS if k not in ("name", "address")]
# Kept fields that are ordinary capitalised words rather than task tokens.
HARD_NEGATIVES = frozenset({"product", "menu", "menu2", "place", "month", "weekday"})

# Hard negatives that are not Faker's (Faker has no products or menus).
PRODUCTS = ["Visual Studio Code", "Google Chrome", "Microsoft Excel", "Adobe Photoshop", "Mozilla Firefox",
            "LibreOffice Calc", "Slack", "Figma", "Notion", "Zoom", "Jira Software", "Apple Music", "Google Drive",
            "Microsoft Teams", "Amazon Web Services", "Safari", "Spotify Premium", "GitHub Actions", "Outlook",
            "PowerPoint", "Android Studio", "Xcode", "Windows Terminal", "Docker Desktop", "Grafana Cloud"]
MENU = ["File", "Edit", "View", "Insert", "Format", "Tools", "Help", "Save As", "Find and Replace", "Preferences",
        "Settings", "Page Setup", "Select All", "Print Preview", "New Window", "Open Recent", "Export as PDF",
        "Check for Updates", "Sign Out", "Account Settings", "Privacy Policy", "Terms of Service"]
PLACES = ["New York", "San Francisco", "Los Angeles", "London", "Berlin", "Paris", "Madrid", "Rome", "Tokyo",
          "Toronto", "Sydney", "Amsterdam", "Warsaw", "Prague", "Vienna", "Zurich", "Dublin", "Lisbon", "Stockholm",
          "Buenos Aires", "Mexico City", "Hong Kong", "Cape Town", "Kuala Lumpur", "Rio de Janeiro", "Salt Lake City"]

NAME_TEMPLATES = [
    "Meeting with {v} moved to {datetime}",
    "{v} <{email}> wrote on {date}:",
    "From: {v} <{email}> re {ticket}",
    "cc {v} on {ticket} before {time}",
    "Assigned to {v} in {version}",
    "Thanks, {v}",
    "Best regards, {v} ({product})",
    "{v} approved {ticket} at {time}",
    "Call with {v} about order #{order} on {weekday}",
    "Ask {v} for the {price} refund",
    "Dear {v}, your build {version} is ready",
    "Reviewer: {v}; hash {hash}",
    "{v} changed the status of {ticket} to Done",
    "lunch in {place} with {v} on {weekday}",
    "to {v}, subject: {month} report",
]
TEMPLATES: dict[str, list[str]] = {
    "name": NAME_TEMPLATES,
    "email": ["please reply to {v} before {date}", "From: {v}", "cc {v} on {ticket}", "invite {v} to {product} on {weekday}",
              "{v} opened {ticket} at {datetime}"],
    "phone": ["call me at {v} about {ticket}", "Phone: {v}", "support line {v} (open until {time})",
              "mobile {v}, order #{order}", "ring {v} on {weekday} at {time}", "{v} left a voicemail at {datetime}",
              "WhatsApp {v} re {version}"],
    "address": ["ship to {v} by {date}", "Address: {v}", "new office at {v} opens in {month}",
                "deliver order #{order} to {v}", "billing address {v} ({price})"],
    "iban": ["IBAN {v} for invoice {ticket}", "transfer {price} to {v}", "account: {v}", "pay {v} by {date}"],
    "card": ["card number {v} for order #{order}", "paid with {v} total {price}", "{v} exp {month}",
             "charge {v} on {date}"],
    "national_id": ["national id {v} for payroll", "ID number: {v}", "employee {ticket} id {v}",
                    "tax number {v} filed {date}", "{v} verified at {datetime}"],
    "api_key": ["export API_KEY={v}", "token {v} for {ticket}", "use {v} in the header", "config key: {v}",
                "rotated {v} in {version}"],
    "ip": ["ssh admin@{v} after deploy of {version}", "server {v} is down since {time}", "allowlist {v}",
           "{v} - - [{date}] GET /api {ticket}"],
}
NEGATIVE_TEMPLATES = [
    "commit {hash} fixes {ticket} in {version}",
    "release {version} ships on {datetime}",
    "order #{order} total {price} on {date}",
    "request id {uuid} returned 503 at {isotime}",
    "open {product} > {menu} and pick {menu2}",
    "standup moved to {weekday} {date} at {time} in {place}",
    "{month} invoice {invoice} for {price}",
    "build {build} of {product} passed on {weekday}",
    "see {ticket} and {ticket2}; deployed {version} to {place}",
    "{menu} > {menu2} in {product} ({version})",
    "{weekday}, {month} {day}: sprint review for {ticket}",
    "uploaded {filename} at {datetime}",
]


@dataclass
class Line:
    text: str
    secrets: list[tuple[str, str]]  # (kind, value) that must not survive
    keep: list[str]  # task tokens and hard negatives that must survive verbatim
    locale: str = ""
    keep_kinds: list[str] = field(default_factory=list)  # the field each kept token came from


_AFFIXES = frozenset("Mr Mrs Ms Miss Dr Prof Sir Madam Jr Sr II III IV MD PhD DDS DVM MBA Esq".split())


def name_parts(name: str) -> list[str]:
    """The words of a name that identify someone: not titles, affixes or lower-case particles."""
    words = [w.strip(",()") for w in name.split()]
    return [w for w in words if len(w) > 1 and "." not in w and w not in _AFFIXES
            and not w.islower() and not w.isdigit()]


def _fakers(seed: int):
    from faker import Faker

    fakers: dict[str, Any] = {}
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed + len(fakers))
        fakers[locale] = fake
    return fakers


def _groups(value: str, rng: random.Random, size: int = 4) -> str:
    return " ".join(value[i:i + size] for i in range(0, len(value), size)) if rng.random() < 0.5 else value


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _value(kind: str, fake, rng: random.Random) -> str:
    if kind == "name":
        return fake.name() if rng.random() < 0.6 else f"{fake.first_name()} {fake.last_name()}"
    if kind == "email":
        return fake.email() if rng.random() < 0.5 else fake.free_email()
    if kind == "phone":
        choice = rng.random()
        if choice < 0.15:
            return "+" + fake.msisdn().lstrip("0")  # a country code then unseparated digits
        if choice < 0.25:
            return f"{fake.country_calling_code()}{rng.randint(2, 9)}{_rand(rng, rng.randint(7, 9), string.digits)}"
        return fake.phone_number()
    if kind == "address":
        return ", ".join(part.strip() for part in fake.address().splitlines() if part.strip()) \
            if rng.random() < 0.6 else fake.street_address()
    if kind == "iban":
        return _groups(fake.iban(), rng)
    if kind == "card":
        number = fake.credit_card_number()
        return _groups(number, rng) if len(number) == 16 else number
    if kind == "national_id":
        for provider in ("ssn", "nino", "nif", "rut", "cpf", "vat_id"):
            if hasattr(fake, provider):
                try:
                    return str(getattr(fake, provider)())
                except (AttributeError, TypeError):
                    continue
        return fake.ssn()
    if kind == "api_key":
        return rng.choice([
            "AKIA" + _rand(rng, 16, string.ascii_uppercase + string.digits), "ghp_" + _rand(rng, 36),
            "glpat-" + _rand(rng, 20), "xoxb-" + _rand(rng, 12, string.digits) + "-" + _rand(rng, 24),
            "sk_live_" + _rand(rng, 24), "AIza" + _rand(rng, 35), "sk-proj-" + _rand(rng, 40),
            "hf_" + _rand(rng, 34), "npm_" + _rand(rng, 36),
        ])
    if kind == "ip":
        return fake.ipv4_public() if rng.random() < 0.7 else fake.ipv6()
    raise ValueError(kind)


def _tokens(fake, rng: random.Random) -> dict[str, str]:
    """Task tokens (and hard negatives) for one line, keyed by their template field."""
    from datetime import datetime

    when = fake.date_time_between(start_date=datetime(2024, 1, 1), end_date=datetime(2027, 12, 31))
    return {
        "date": when.strftime("%Y-%m-%d"),
        "datetime": when.strftime(rng.choice(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])),
        "isotime": when.strftime("%Y-%m-%dT%H:%M:%S") + rng.choice(["Z", "+02:00", ".123Z"]),
        "time": when.strftime(rng.choice(["%H:%M", "%H:%M:%S"])),
        "version": rng.choice(["v", "", "release-"]) + fake.numerify(rng.choice(["#.#.#", "#.##.#", "##.#.##", "#.#.#.###"])),
        "ticket": f"{rng.choice(['JIRA', 'OPS', 'WEB', 'PAY', 'SEC', 'DATA'])}-{rng.randint(1, 99999)}",
        "ticket2": f"{fake.lexify('???').upper()}-{rng.randint(1, 9999)}",
        "hash": fake.sha1()[: rng.choice([7, 8, 12, 40])],
        "uuid": fake.uuid4(),
        "price": rng.choice(["${:,}.{:02d}", "€{:,}.{:02d}", "{:,}.{:02d} EUR", "£{:,}.{:02d}"]).format(
            rng.randint(1, 99999), rng.randint(0, 99)),
        "order": str(rng.randint(10_000, 999_999_999)),
        "invoice": f"INV-{when.year}-{rng.randint(1, 99999):05d}",
        "build": str(rng.randint(100, 99999)),
        "filename": f"report_{when:%Y%m%d}_{rng.randint(1, 99)}.pdf",
        "product": rng.choice(PRODUCTS),
        "menu": rng.choice(MENU),
        "menu2": rng.choice(MENU),
        "place": rng.choice(PLACES) if rng.random() < 0.7 else fake.country(),
        "month": fake.month_name(),
        "weekday": fake.day_of_week(),
        "day": str(when.day),
    }


def generate(n_per_kind: int = 200, n_negative: int = 400, split: str = "tune") -> list[Line]:
    """``n_per_kind`` lines per kind and ``n_negative`` lines with nothing to redact, from ``split``'s seed."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # a provider prints a notice about its numbers
        return _generate(n_per_kind, n_negative, SPLITS[split])


def _generate(n_per_kind: int, n_negative: int, seed: int) -> list[Line]:
    rng = random.Random(seed)
    fakers = _fakers(seed)
    lines: list[Line] = []
    for kind in KINDS:
        for _ in range(n_per_kind):
            locale = rng.choice(LOCALES)
            fake = fakers[locale]
            try:
                value = _value(kind, fake, rng)
            except AttributeError:  # a locale without that provider: its en_US fallback
                value = _value(kind, fakers["en_US"], rng)
            tokens = _tokens(fake, rng)
            template = rng.choice(TEMPLATES[kind])
            secrets = [(kind, value)]
            if "{email}" in template:  # a display name: the address repeats the name
                parts = [w for w in name_parts(value) if w.isascii()] or [fake.user_name(), fake.user_name()]
                first, last = parts[0], parts[-1]
                local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}"]).lower()
                tokens["email"] = f"{local}@{fake.free_email_domain()}"
                secrets.append(("email", tokens["email"]))
            text = template.format(v=value, **tokens)
            fields = [k for k in tokens if "{" + k + "}" in template and k != "email"]
            lines.append(Line(text, secrets, [tokens[k] for k in fields], locale, fields))
    for _ in range(n_negative):
        locale = rng.choice(LOCALES)
        tokens = _tokens(fakers[locale], rng)
        template = rng.choice(NEGATIVE_TEMPLATES)
        fields = [k for k in tokens if "{" + k + "}" in template]
        lines.append(Line(template.format(**tokens), [], [tokens[k] for k in fields], locale, fields))
    return lines

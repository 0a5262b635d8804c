"""Phone numbers and national ids: broad candidates, validated by libphonenumber, not by hand patterns.

A candidate is a run of digits with the separators people write (spaces, dots, dashes,
slashes, brackets), an optional ``+`` or ``00`` country prefix and an optional extension.
``phonenumbers`` (the libphonenumber port) decides: with a country code, the number must be
possible for that country's plan; without one, for one of the regions in ``REGIONS``.
Task tokens (``tasktokens``) are never candidates. National ids are matched by the shapes
the common ones have (US SSN, Italian codice fiscale, UK NINO, Spanish NIF/NIE, Nordic
personal numbers, Swiss AHV) and, after an id cue, by any digit-heavy token.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator, Sequence

from workprint.privacy.tasktokens import overlaps

Span = tuple[int, int, str]

# Regions tried for a number written without its country code: the plans of the places
# workprint is used in, most of them outside North America and Europe too.
REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "CZ", "SE", "NO", "DK", "FI", "PT",
           "IE", "HU", "RO", "GR", "TR", "RU", "UA", "IN", "AU", "NZ", "BR", "MX", "AR", "CO", "CL", "JP", "CN",
           "KR", "TW", "ID", "PH", "VN", "TH", "MY", "SG", "ZA", "NG", "KE", "EG", "IL", "AE", "SA", "IR", "PK")

_CANDIDATE = re.compile(
    r"(?=[\d+(])(?<![\w+.,/-])(?<!\d:)"
    r"(?:\+\s?\(?\d{1,4}\)?|00\d{1,3}|\(\d{1,5}\)|\d)"  # country code, area code in brackets, or a digit
    r"(?:[\s./-]{0,2}\(?\d+\)?){0,7}"
    r"(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?"
    r"(?![\w]|[.,:-]\d)"
)
_PHONE_CUE = re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|call|ring|fax|whatsapp|sms|text|dial|contact|"
                        r"reach|landline|hotline|line|number|nr|no)\b\.?\s*[:#]?\s*(?:me\s+)?(?:at|on)?\s*$")
_NOT_PHONE_CUE = re.compile(r"(?i)\b(?:order|invoice|build|request|ref|ticket|issue|version|ver|release|rev|"
                            r"commit|port|pid|job|run|case|item|sku|page|row|line\s+\d+|timestamp|epoch|ts|id|uid|gid|"
                            r"tid|seq|offset|size|bytes|count|total|isbn|issn|ean|gtin|upc|asin|serial|sn)\s*[:#]?\s*$")


@lru_cache(maxsize=1)
def _national_lengths() -> frozenset[int]:
    """National number lengths possible in one of ``REGIONS``, from libphonenumber's metadata."""
    import phonenumbers

    lengths: set[int] = set()
    for region in REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.general_desc is not None:
            lengths.update(metadata.general_desc.possible_length or ())
    return frozenset(lengths)


@lru_cache(maxsize=4096)
def _possible(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith(("+", "00")):
        import phonenumbers

        number = "+" + candidate.lstrip("+0 ") if candidate.startswith("00") else candidate
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(number, None)):
                return True
        except phonenumbers.NumberParseException:
            pass
        return 8 <= len(digits) <= 15  # E.164 shape, even for a plan libphonenumber does not know
    # Without a country code: the length a national number has in one of the plans (its trunk
    # prefix 0 dropped), which is what phonenumbers.is_possible_number checks region by region.
    national = digits[1:] if digits.startswith("0") else digits
    return len(national) in _national_lengths() or len(digits) in _national_lengths()


def phones(text: str, protected) -> Iterator[Span]:
    for m in _CANDIDATE.finditer(text):
        raw = m.group(0)
        if sum(c.isdigit() for c in raw) < 7:
            continue  # most candidates: a date, a time, a price, a version
        raw = raw.rstrip(" ./-")
        start, end = m.start(), m.start() + len(raw)
        if overlaps(start, end, protected):
            continue
        core = _EXTENSION.split(raw)[0]
        digits = sum(c.isdigit() for c in core)
        if digits < 7 or digits > 15:
            continue
        before = text[max(0, start - 24):start]
        if _NOT_PHONE_CUE.search(before):
            continue
        international = core.startswith(("+", "00"))
        if not international and not _SEPARATED.search(core) and not core.startswith("0") and digits < 10 \
                and not _PHONE_CUE.search(before):
            continue  # a short plain digit run: an amount, a count, an id
        if "." in core and not international and digits < 10:
            continue  # 1.234.567 is an amount
        if not international and _VERSION_SHAPE.fullmatch(core):
            continue  # 113.0.6324.66, 10.0.19045.3803: a version (phone groups have two digits or more)
        if _possible(core.replace("(0)", "")):
            yield start, end, "phone"


_EXTENSION = re.compile(r"\s?(?:x|ext\.?|#)\s?\d")
_SEPARATED = re.compile(r"[\s().\-/]")
_VERSION_SHAPE = re.compile(r"\d+(?:\.\d+)*\.\d(?:\.\d+)+|\d+(?:\.\d+)+\.\d")  # dotted, a one-digit group after the first


_ID_SHAPES = re.compile(
    r"(?=[\dA-Z])(?<![\w-])(?:"  # the lookahead skips most positions before the alternation
    r"\d{3}-\d{2}-\d{4}"  # US SSN
    r"|[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]"  # Italian codice fiscale
    r"|[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]|[A-Z]{2} \d{2} \d{2} \d{2} [A-Z]"  # UK NINO
    r"|ZZ ?\d{6} ?[A-Z]"  # the NINO prefix kept for examples and test data (Faker's en_GB)
    r"|[XYZ]?\d{7,8}-?[A-Z]|[A-Z]\d{7}[A-Z0-9]"  # Spanish NIF / NIE / CIF
    r"|\d{6}[-+A]\d{3}[0-9A-Y]"  # Finnish henkilötunnus
    r"|\d{6,8}[-+]\d{4}"  # Swedish / Danish / Norwegian personal numbers
    r"|756\.\d{4}\.\d{4}\.\d{2}"  # Swiss AHV
    r"|\d{17}[\dX]"  # Chinese resident id
    r"|\d{3}\.\d{3}\.\d{3}-\d{2}"  # Brazilian CPF
    r"|\d{2}\.\d{3}\.\d{3}[-/]\d{1,4}(?:-\d{2})?"  # CNPJ, Chilean RUT
    r"|\d{1,2}\.\d{3}\.\d{3}-[\dkK]"  # Chilean RUT
    # Mexican CURP and RFC: letters of the name, the birth date (YYMMDD), then letters and digits
    r"|[A-Z]{4}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[HMX][A-Z]{5}[A-Z0-9]\d|[A-Z0-9]{3})"
    r"|[A-Z&Ñ]{3}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[A-Z0-9]{3}"
    r"|\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-[1-8]\d{6}"  # Korean resident registration number
    r")(?![\w-])"
)
_ID_CUE = re.compile(
    r"(?i)\b(?:national\s+id|id\s+(?:number|no\.?|card)|identity|personal\s+(?:number|id|code)|tax\s+(?:number|id|code)"
    r"|tin|ssn|social\s+security|passport|nin|nino|nif|nie|dni|cpf|cnpj|rut|pesel|bsn|cnp|oib|egn|amka|tckn|"
    r"personnummer|henkilötunnus|fødselsnummer|cpr|ahv|steuer-?id|codice\s+fiscale|insee|nir|employee\s+\S+\s+id|"
    r"curp|rfc|aadhaa?r|ni\s+(?:number|no\.?)|national\s+insurance(?:\s+number)?|sin|(?:tc\s+)?kimlik(?:\s+no)?|"
    r"isikukood|asmens\s+kodas|rodné\s+číslo|sozialversicherungsnummer|svnr|taj|nric|nik|cuil|cuit|"
    r"id)\s*[:#]?\s*$"
)
_AFTER_ID_CUE = re.compile(_ID_CUE.pattern.replace(r"\s*$", r"\s*(?:is\s+)?([A-Za-z0-9][A-Za-z0-9.\-/]*(?: \d[A-Za-z0-9.\-/]*)*)"))
# Every cue of _ID_CUE starts a word with one of these: most lines have none, and skip the big alternation.
_ID_CUE_WORD = re.compile(r"(?i)\b(?:id\b|ssn|tax|tin\b|social|passport|ni[nef]|dni|cpf|cnpj|rut\b|pesel|bsn|cnp\b|oib|egn|amka|"
                          r"tckn|personnummer|henkil|fødsel|cpr|ahv|steuer|codice|insee|nir\b|identity|personal|"
                          r"curp|rfc|aadhaa?r|ni\s|insurance|sin\b|kimlik|isikukood|kodas|číslo|sozialvers|svnr|taj\b|"
                          r"nric|nik\b|cuil|cuit)")
_NOT_ID_CUE = re.compile(r"(?i)\b(?:request|order|build|session|user|commit|trace|job|run|process|transaction)\s+id\s*[:#]?\s*$")
_LONG_DIGITS = re.compile(r"(?<![\w.,/:#-])\d{9,15}(?![\w.,/:-])")


def _after_id_cues(text: str) -> Iterator[re.Match[str]]:
    """The matches of _AFTER_ID_CUE, looked for only near its cue words: scanning a whole line
    with that alternation costs more than the rest of the id detector."""
    pos = 0
    for cue in _ID_CUE_WORD.finditer(text):
        if cue.end() <= pos:
            continue
        # a cue starts at most a few words before its last word ('employee 4411 id'); an id is short
        m = _AFTER_ID_CUE.search(text, max(pos, cue.start() - 40), min(len(text), cue.end() + 80))
        if m:
            yield m
            pos = m.end()


def national_ids(text: str, protected: Sequence[tuple[int, int]]) -> Iterator[Span]:
    for m in _ID_SHAPES.finditer(text):
        if not overlaps(*m.span(), protected):
            yield m.start(), m.end(), "national_id"
    for m in _after_id_cues(text):
        token = m.group(1)
        if sum(c.isdigit() for c in token) >= 6 and not overlaps(m.start(1), m.end(1), protected) \
                and not _NOT_ID_CUE.search(text[max(0, m.start() - 16):m.end(1) - len(token)]):
            yield m.start(1), m.end(1), "national_id"
    # A bare run of nine or more digits is somebody's number (phone, id, account) unless a cue
    # says it is an order, a build or the like (those are task tokens, protected above).
    for m in _LONG_DIGITS.finditer(text):
        if not overlaps(*m.span(), protected) and not _NOT_PHONE_CUE.search(text[max(0, m.start() - 24):m.start()]):
            yield m.start(), m.end(), "national_id"

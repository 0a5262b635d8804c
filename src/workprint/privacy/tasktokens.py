"""Task tokens: the parts of a line an agent needs, which no number-shaped detector may take.

Dates, date-times, times, versions, ticket ids, UUIDs, hex digests, prices, order and
invoice numbers and file names are found first; a phone, card, id or IP candidate that
overlaps one of them is dropped. This is what keeps ``2026-03-14 09:30`` from being read
as a phone number with its digits and separators.
"""

from __future__ import annotations

import re
from functools import lru_cache

# A month's name or abbreviation in the languages of Western Europe (by its first letters).
_MONTH = r"(?i:jan|feb|f[eé]v|m[aä]r|apr|avr|abr|ma[iy]|mei|jun|jui|giu|jul|lug|aug|ao[uû]|ago|sep|set|o[kc]t|ott|out|nov|d[eé][cz]|dic)[^\W\d_]{0,7}"
_PROTECTED = re.compile(
    r"(?:(?<!\w)(?=[\w#])|(?=[$€£¥]))(?:"  # a token starts a word (most positions are inside one)
    r"(?<![\w.])\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w])"  # ISO
    r"|(?<![\w.:])\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?[AaPp]\.?[Mm]\.?)?(?![\w:])"  # times
    r"|(?<![\w.])\d{1,2}[./]\d{1,2}[./](?:19|20)\d{2}(?![\w.])"  # 14.03.2026, 03/14/2026
    r"|(?<![\w.])(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:T?(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d)?)?(?![\w.])"  # 20260314, 20260314T093000
    r"|(?<![\w.])(?:19|20)\d{2}[./]\d{1,2}[./]\d{1,2}(?![\w.])"  # 2026/03/14
    # 14 Mar 2026, 14. März 2026, 14 de marzo de 2026, Mar 14, 2026: a day, a month word, a year
    r"|(?<![\w.])\d{1,2}\.?\s(?:de\s)?" + _MONTH + r"\.?,?\s(?:de\s)?(?:19|20)\d{2}(?!\w)"
    r"|(?<!\w)(?=[A-Z])" + _MONTH + r"\.?\s\d{1,2}(?:st|nd|rd|th)?,\s(?:19|20)\d{2}(?!\w)"
    # 2026-0042 (a year and a sequence), 2026-03; not after an area code (81 2022-3303 is a phone)
    r"|(?<![\w.+-])(?<!\d )(?<!\) )(?:19|20)\d{2}-\d{2,6}(?![\w-]|[ .]\d)"
    r"|(?<![\w.])(?:[vV]|release-|rel-)\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?(?![\w])"  # v1.2.3, release-1.2.3.4
    r"|(?<![\w-])[A-Z][A-Z0-9]{1,9}(?:-\d{1,7}){1,3}(?![\w-])"  # JIRA-1234, PO-2026-0042
    r"|(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"  # UUID
    r"|(?<![\w])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,64}(?![\w])"  # hex digests (with a letter)
    r"|(?:[$€£¥]|\b(?:USD|EUR|GBP|CHF)\s?)\d[\d,.]*\d"  # prices
    r"|(?<![\w.])\d[\d,.]*\d\s?(?:USD|EUR|GBP|CHF|€|\$)(?!\w)"
    # after a cue word, with the separators of prose and of key=value logs (ts=1775884502)
    r"|(?i:\b(?:order|invoice|build|request|ref|reference|ticket|issue|pr|run|job|case|ts|timestamp|epoch)"
    r"\s*(?:id|no\.?|number)?\s*[:#=]?\s*#?)\d[\d-]*"
    r"|(?<![\w])#\d+"  # #123456
    r"|(?<![\w])(?i:version|ver\.?|build|rev\.?)\s+\d+(?:\.\d+)+"  # version 1.2.3.4
    r"|\b[\w-]+\.(?:pdf|png|jpe?g|csv|xlsx?|docx?|txt|zip|json|log|py|md|html?)\b"  # file names
    r")"
)


@lru_cache(maxsize=256)
def protected_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of every task token in ``text`` (cached: several detectors ask for the same line)."""
    return tuple(m.span() for m in _PROTECTED.finditer(text))


def overlaps(start: int, end: int, spans) -> bool:
    return any(start < e and s < end for s, e in spans)


_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=256)
def masked(text: str) -> tuple[str, int]:
    """``text`` with its task tokens blanked out (same length, so offsets hold), and how many
    digits are left: most lines' only digits are dates and times, and number detectors can
    skip them without running."""
    spans = protected_spans(text)
    if spans:
        chars = list(text)
        for start, end in spans:
            chars[start:end] = " " * (end - start)
        text = "".join(chars)
    return text, len(_DIGIT.findall(text))

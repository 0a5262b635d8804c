"""Personal names, offline: a first/last-name dictionary from names-dataset combined with context.

A *run* is a sequence of capitalised words (any cased script, diacritics included), words of
scripts without case (Chinese, Japanese, Korean, Arabic, Hebrew, Devanagari, Thai) and name
particles between them (``van der``, ``de la``, ``bin``). A run is a name when:

- a strong cue precedes it (``Dear``, ``Hi``, ``Thanks,``, ``Regards,``, ``Mr``, ``Dr``,
  ``From:``, ``Reviewer:``, ``my name is``), or it is a display name (``Name Surname <addr>``);
- a weak cue precedes it (``with``, ``to``, ``cc``, ``by``, ``ask``, ``added``, ``1:1``, a
  short label such as ``Interview:`` or ``Approved —``, a name just before: ``from Name to``),
  it is a chat line's speaker (``[09:41] Name:``) or a signature (``Name — Title``, ``Name,
  Title``), or a person's verb follows it (``replied``, ``says``, ``reports``); and it has two
  words or more, and is in a non-Latin script or has letters outside ASCII, or has a particle
  inside (``van``, ``bin``), or one word the dictionary knows as a name, or (not after a label)
  two or three capitalised words the dictionary lacks and no ordinary English word;
- anywhere, its first word is a known first name and a later one a known last name;
- one of its words repeats an e-mail address's local part in the same line.

Ordinary capitalised words (months, weekdays, menu labels, product words, common words) are
never names; nor are common English words far more often a word than a name (``Budget``,
``Rapids``: a bit of the dictionary, from wordfreq), multi-word place names (countries and
regions from pycountry, large cities), or brands and places named after people (``Morgan
Stanley``, ``Washington Square``: ``notnames``). The dictionary (from names-dataset's ~55 MB of pickles) ships compiled and
compressed (``names.sqlite.xz``); on first use it is unpacked into an SQLite file in the user
cache dir (``WORKPRINT_CACHE`` overrides it) and queried per word, never loaded whole, so
``workprint redact`` starts fast.
"""

from __future__ import annotations

import gzip
import lzma
import os
import pickle
import re
import shutil
import sqlite3
import threading
import unicodedata
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from workprint.files import atomic_write
from workprint.privacy.notnames import EPONYMS, PLACE_HEADS

Span = tuple[int, int, str]

# Names ranked this high in at least one country. Beyond it the dataset is mostly noise
# (ordinary words people typed into a name field).
FIRST_MAX_RANK = 5000
LAST_MAX_RANK = 5000
_CACHE_VERSION = 5

_STOP = frozenset("""
a an the and or of in on at to for with from by via as is are was be it its this that these those
i we you he she they me us him her them my our your his their who what when where which why how all any
new old next last first best good great big small top bottom left right up down out over back home main
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
january february march april may june july august september october november december jan feb mar apr
jun jul aug sep sept oct nov dec today tomorrow yesterday morning afternoon evening night week month year
montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli oktober
dezember lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril juin juillet août
septembre octobre novembre décembre lunes martes miércoles jueves viernes sábado domingo enero febrero
marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre lunedì martedì mercoledì
giovedì venerdì sabato gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre
file edit view insert format tools help window settings preferences options save open close quit exit
print export import share copy paste cut undo redo select find replace search filter sort delete remove
add new update upgrade install download upload sign log login logout account profile privacy policy
terms service services security page setup preview recent updates check account notifications inbox
draft drafts sent outbox archive spam trash folder folders project projects team teams board boards
dashboard report reports invoice order orders ticket tickets issue issues task tasks status done todo
pending approved rejected review reviewer assignee owner assigned release notes version build deploy
meeting meetings call calls chat message messages mail email subject re fwd fw cc bcc attn to from
dear hi hello hey thanks thank regards best cheers sincerely kind warm yours love ask tell ping
name contact phone mobile address street city country state zip code company department office
customer client support sales admin user users guest everyone all team staff hr it ops dev qa
google chrome microsoft apple adobe amazon mozilla firefox safari slack figma notion zoom jira github gitlab
docker android windows linux ubuntu mac macos ios office excel word powerpoint outlook teams visual studio
code photoshop spotify premium drive cloud music web services actions terminal desktop grafana xcode
calc libreoffice writer server database api app apps application browser editor console
north south east west central upper lower saint st san santa los las el la le de del des di da
city town village county province region district island islands lake river mount port fort cape bay
hong kong york angeles buenos aires janeiro salt lumpur kuala
tokyo london paris berlin madrid rome sydney toronto amsterdam warsaw prague vienna zurich dublin lisbon
stockholm mexico
ok yes no not none null true false test demo example sample untitled document documents notes note
files data hidden show hide clear browsing history cache cookies downloads bookmarks extensions tabs tab
sale sales cart checkout wishlist coupon discount offer deal deals shop store shopping
samsung galaxy pixel iphone ipad macbook airpods kindle alexa playstation xbox nintendo netflix youtube
instagram whatsapp facebook twitter linkedin tiktok snapchat uber airbnb paypal mastercard ikea starbucks
walmart costco intel nvidia oracle salesforce cisco lenovo huawei xiaomi oneplus motorola nokia canon nikon
coca cola pepsi nike adidas hyundai volkswagen nissan bmw audi heineken nestle unilever
please welcome thank good morning happy birthday congratulations urgent important reminder fyi
""".split())

_PARTICLES = frozenset("van der den de del della di da das do dos du la le von zu ten ter bin binti ibn al el "
                       "y e mac af av und an".split())
# A particle in lower case inside a run of capitalised words: a person's name.
_INNER_PARTICLE = re.compile(r" (?:van|von|der|den|de|del|della|di|da|das|dos|du|zu|ten|ter|bin|binti|ibn|mac|an) ")
_STRONG_CUE = re.compile(
    r"(?:\b(?i:dear|hi|hello|hey|thanks|thank you|regards|best regards|kind regards|cheers|sincerely|best|"
    r"signed by|my name is|i am|i'm|attn|attention)\s*[,:]?\s*"
    r"|\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Madam|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Sig|Sig\.ra|pan|pani|Pan|Pani)\.?\s+"
    r"|\b(?i:name|full name|contact|from|to|cc|bcc|reviewer|reviewed by|assignee|assigned to|owner|author|"
    r"reporter|approver|requester|sender|recipient|signed|attendee|attendees|organizer|host|guest|"
    r"patient|employee|customer|client|user)\s*:\s*)$"
)
_WEAK_CUE = re.compile(
    r"(?i)\b(?:with|to|cc|bcc|by|for|and|ask|asked|call|called|ping|tell|told|meet|met|from|invite|"
    r"assigned to|approved by|reviewed by|created by|sent by|thanks to|via|of|like|per|email|message|"
    r"remind|contact|see|let|cheers|regards|thanks|welcome|congrats|congratulations|added|invited|mentioned|"
    r"assigned|messaged|emailed|hired|promoted|introduced|notified|reminded|texted|1:1|"
    r"thanks again|thank you again|thanks so much)\s*[,!]?\s*$"
    r"|\bw/\s*$"  # 'meeting w/ Name': with, abbreviated
)
# A short label that opens the line ('Interview: Name', 'Out of office: Name', 'Approved — Name'):
# a cue for names in letters outside ASCII, and for ASCII ones with a word the dictionary knows
# and no ordinary word ('Location: Grand Rapids' reads the same).
_LABEL_CUE = re.compile(r"^\s*[A-Z][\w'’ -]{0,24}(?::|\s[—–])\s*$")
# Labels whose values are places and things, not people ('Location: Kota Kinabalu').
_THING_LABEL = re.compile(r"(?i)^\s*(?:location|city|town|venue|office|site|address|destination|region|country|place|"
                          r"where|room|campus|building|branch|hq|product|app|application|tool|project|team|channel|"
                          r"company|organi[sz]ation|org|vendor|supplier|brand|model|plan|item|service|category|tag|"
                          r"label|status|stage|priority|type|department|dept|language|time ?zone|subject|title)\b")
# Letters, and the combining marks of Indic, Thai, Arabic and Hebrew script (not \w in re).
_MARKS = "\u0300-\u036F\u0483-\u0489\u0591-\u05C7\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0900-\u0DFF\u0E31-\u0E4E\u3099\u309A"
_WORD = re.compile(rf"(?:[^\W\d_]|[{_MARKS}])(?:[^\W\d_]|[{_MARKS}]|[-'’.](?=[^\W\d_]))*")
_EMAIL = re.compile(r"([\w.+%-]+)@[\w-]+(?:\.[\w-]+)+")
_DISPLAY_AFTER = re.compile(r"[\"'”»]?\s*,?\s*[<(\[]\s*[\w.+%-]+@")  # Name <addr>, "Name" <addr>
# "Name replied", "Name — Title", "Name, Title" (a signature)
_AFTER_LINE_START = re.compile(r"\s+[a-z]|\s+[—–|]\s|,\s(?:[A-Z][\w&/-]*\s?){1,4}(?:\s*[—–|]\s|\s+at\s|$)")
_DATE_AFTER = re.compile(r",\s*\d")
# Nothing but a time stamp before: a chat line's speaker ('[09:41] Name: ...').
_SPEAKER_BEFORE = re.compile(r"^\s*(?:\[[^\]]{1,24}\]\s*)?$")
# Verbs only a person is the subject of: "Fuzayl Abdurahmonov replied", even outside the dictionary.
_PERSON_VERB = re.compile(r"\s+(?:replied|wrote|said|says|asked|asks|reports|reported|commented|joined|mentioned|"
                          r"reacted|invited|accepted|declined|thanked|signed|added|shared|posted|approved|requested|"
                          r"assigned|changed|opened|merged|is typing|was invited|has joined|has left)\b")


def _script(word: str) -> str:
    """'latin', 'cased' (Cyrillic, Greek, Armenian...) or 'uncased' (CJK, Arabic, Hebrew, Indic, Thai)."""
    return _char_script(word[0])


@lru_cache(maxsize=4096)
def _char_script(ch: str) -> str:
    if ch < "\u0250" and ch not in "µªº" and (ch.isupper() or ch.islower()):
        return "latin"  # ASCII, Latin-1 and Latin Extended: no name lookup
    if "\u10a0" <= ch <= "\u10ff" or "\u1c90" <= ch <= "\u1cbf":
        return "uncased"  # Georgian: its everyday letters are lower case, names are not capitalised
    if ch.isupper() or ch.islower():
        return "latin" if "LATIN" in unicodedata.name(ch, "") else "cased"
    return "uncased"


def _cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("WORKPRINT_CACHE") or user_cache_dir("workprint")) / \
        f"names-v{_CACHE_VERSION}-{FIRST_MAX_RANK}-{LAST_MAX_RANK}.sqlite"


def _compile(path: Path) -> None:
    """First and last names from names-dataset (lower case), ranked within the limits somewhere,
    into an SQLite table: opened in a millisecond and queried per word, never loaded whole."""
    import names_dataset

    base = Path(names_dataset.__file__).parent / "v3"
    flags: dict[str, int] = {}
    best: dict[str, int] = {}  # each name's best rank in any country
    for bit, filename, max_rank in ((1, "first_names.pkl.gz", FIRST_MAX_RANK), (2, "last_names.pkl.gz", LAST_MAX_RANK)):
        with gzip.open(base / filename, "rb") as f:
            table = pickle.load(f)
        for name, info in table.items():
            if info.get("rank") and " " not in name:
                key, rank = name.lower(), min(info["rank"].values())
                best[key] = min(best.get(key, rank), rank)
                if rank <= max_rank:
                    flags[key] = flags.get(key, 0) | bit
        del table
    for place in _places():
        flags[place] = flags.get(place, 0) | PLACE
    for word in _ordinary_words(best):
        flags[word] = flags.get(word, 0) | ORDINARY
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE names (name TEXT PRIMARY KEY, kind INTEGER NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO names VALUES (?, ?)", sorted(flags.items()))
    db.commit()
    atomic_write(path, db.serialize(), mode=0o644)  # a public word list, no one's data
    db.close()


# The compiled dictionary ships with workprint (2 MB, xz): unpacking it into the cache dir takes
# a fraction of a second, where compiling names-dataset takes ~20 s and 2 GB of memory.
# Regenerate it with `python -m workprint.privacy.names` (needs the bench extra's names-dataset
# and pycountry), and bump _CACHE_VERSION when it changes. Derived from names-dataset
# (philipperemy/name-dataset; its licence, Apache-2.0 in the wheel, applies).
PACKAGED = Path(__file__).with_name("names.sqlite.xz")


def _unpack(path: Path) -> None:
    atomic_write(path, lzma.decompress(PACKAGED.read_bytes()), mode=0o644)  # 7 MB, once per install


def build_packaged() -> None:
    """Compile names-dataset afresh into the packaged, compressed dictionary."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "names.sqlite"
        _compile(db)
        sqlite3.connect(db).execute("VACUUM").connection.close()
        with open(db, "rb") as src, lzma.open(PACKAGED, "wb", preset=9) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


_LOCK = threading.Lock()
_LOCAL = threading.local()
_MISSING = False


def _connection() -> sqlite3.Connection | None:
    """This thread's read-only connection to the compiled dictionary (compiled the first time)."""
    global _MISSING
    db = getattr(_LOCAL, "db", None)
    if db is not None or _MISSING:
        return db
    path = _cache_path()
    with _LOCK:
        if not path.exists():
            try:
                if PACKAGED.exists():
                    _unpack(path)
                else:
                    _compile(path)
            except (ImportError, OSError, MemoryError, sqlite3.Error, lzma.LZMAError) as exc:
                # Without the dictionary, names are still found by context (cues, display names);
                # say so rather than stop the recorder.
                warnings.warn(f"workprint: name dictionary unavailable ({exc}); names are found by context only",
                              RuntimeWarning, stacklevel=2)
                _MISSING = True
                return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    _LOCAL.db = db
    return db


FIRST, LAST, PLACE, ORDINARY = 1, 2, 4, 8


@lru_cache(maxsize=65536)
def name_kind(word: str) -> int:
    """Bits: FIRST (a known first name), LAST (a known last name), PLACE (a multi-word place,
    as written), ORDINARY (a common English word, far more often a word than a name); 0 when
    unknown. Names are looked up in lower case."""
    db = _connection()
    if db is None:
        return 0
    row = db.execute("SELECT kind FROM names WHERE name = ?", (word,)).fetchone()
    return row[0] if row else 0


def _ordinary_words(best_rank: dict[str, int]) -> Iterator[str]:
    """Common English words ('budget', 'period', 'rapids') that are far more often a word than a
    name: the more frequent the word, the higher its best rank as a name in any country must be
    for it to count as a name (Grace, Rose, Mark, Park and Brown stay names; Daily, Focus and Sad
    do not). Read from wordfreq when the dictionary is compiled."""
    from wordfreq import top_n_list, zipf_frequency

    for word in top_n_list("en", 40000):
        zipf = zipf_frequency(word, "en")
        if zipf < 3.0:
            break
        if word.isalpha() and best_rank.get(word, 10**9) > 10 ** (7 - zipf):
            yield word


def _places() -> frozenset[str]:
    """Multi-word place names (countries, regions, large cities): capitalised pairs that are not
    people. Read from pycountry when the dictionary is compiled, not at run time (slow to load)."""
    try:
        import pycountry
    except ImportError:
        return frozenset()
    names = {c.name for c in pycountry.countries} | {getattr(c, "common_name", "") for c in pycountry.countries}
    names |= {s.name for s in pycountry.subdivisions}
    return frozenset(n for n in names | _CITIES if " " in n)


# Large cities whose names read like a first name and a surname.
_CITIES = frozenset("""San Diego|San Jose|San Antonio|São Paulo|Sao Paulo|San Francisco|Las Vegas|New Delhi|Tel Aviv
|Abu Dhabi|Ho Chi Minh|Santa Clara|Santa Monica|Santa Barbara|Santa Cruz|Santiago de Chile|Dar es Salaam|Addis Ababa
|Phnom Penh|Costa Rica|Sri Lanka|El Salvador|Puerto Rico|Palo Alto|Mountain View|Salt Lake|St Louis|Kansas City
|Oklahoma City|Quebec City|Panama City|Guatemala City|Carson City|Jersey City|Virginia Beach|Long Beach|Fort Worth
|Colorado Springs|Baton Rouge|Des Moines|Tel Aviv|Rio Grande|Porto Alegre|Belo Horizonte|Monte Carlo|Frankfurt am Main
|Den Haag|Milton Keynes|Newcastle upon Tyne""".replace("\n", "").split("|"))


# Names written as one word: Chinese (a family name of one character, then one or two) and
# Korean (a family syllable, then one to three).
_HAN_FAMILY = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
                        "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
                        "陳張劉楊黃趙吳孫馬鄭謝許韓馮鄧蕭葉蘇呂盧鍾譚陸賈萬錢嚴湯龔鄒顧賴洪歐簡游柯翁蔣鄭邢常康安易柳")
_HANGUL_FAMILY = frozenset("김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구나민진지엄채원천방공"
                           "현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용")


_HAN_DATE = re.compile(r"^(?:[一二三四五六七八九十\d]+[月日年]|星期.|.曜日?|周.|礼拜.)$")


def _single_name(word: str) -> bool:
    first = word[0]
    if "\u4e00" <= first <= "\u9fff":
        return 2 <= len(word) <= 4 and first in _HAN_FAMILY and not _HAN_DATE.match(word)
    if "\uac00" <= first <= "\ud7a3":
        return 2 <= len(word) <= 4 and first in _HANGUL_FAMILY and not word.endswith(("요일", "월"))
    return False


def _known(word: str, bit: int) -> bool:
    w = word.lower()
    if w.endswith(("'s", "’s")):
        w = w[:-2]  # a possessive: Garcia's
    return bool(name_kind(w) & bit) or ("-" in w and all(name_kind(part) & bit for part in w.split("-") if part))


def _comma_pair(text: str, m: re.Match[str]) -> bool:
    """'Surname, Given' (as Baltic lists write names): exactly one capitalised word after the comma."""
    nxt = _NEXT_WORD.match(text, m.end())
    return not (nxt and nxt.group(1)[0].isupper())


_NEXT_WORD = re.compile(r"\s+([^\W\d_]\S*)")


# Ordinary words that are also common given or family names ('Sun Li', 'Jan Novák', 'Nguyễn
# Văn An'): names only right beside another name-like word.
_NAME_STOPS = frozenset("sun jan may june april an".split())
_NEXT_NAME = re.compile(r"[ \u00a0]([^\W\d_][^\W\d_'’-]*)")


def _beside_name(text: str, m: re.Match[str], run: list[re.Match[str]]) -> bool:
    if run and text[run[-1].end():m.start()] in (" ", "\u00a0") and run[-1].group(0).lower() not in _STOP:
        return True
    nxt = _NEXT_NAME.match(text, m.end())
    if nxt is None:
        return False
    word = nxt.group(1)
    return word[0].isupper() and not word.isupper() and word.lower() not in _STOP


def _surname_after_given(text: str, m: re.Match[str], run: list[re.Match[str]]) -> bool:
    """A listed word that is also a surname ('David Paris', 'Emma London') right after a given
    name; not before a number ('Jordan Chrome 120.0.6654.33' is a product and its version)."""
    return len(run) == 1 and text[run[0].end():m.start()] == " " and m.group(0)[1:].islower() \
        and not _NUMBER_NEXT.match(text, m.end()) and _given(run[0].group(0), FIRST) and _given(m.group(0), LAST)


_NUMBER_NEXT = re.compile(r"\s*\d")


def _runs(text: str) -> Iterator[tuple[int, int, list[re.Match[str]]]]:
    """Maximal runs of name-like words separated by single spaces (particles only inside)."""
    run: list[re.Match[str]] = []

    def close():
        while run and run[-1].group(0).lower() in _PARTICLES and not (
                run[-1].group(0)[0].isupper() and run[-1].group(0).lower() in _NAME_STOPS):  # 'Nguyễn Văn An'
            run.pop()
        if run:
            yield run[0].start(), run[-1].end(), list(run)
        run.clear()

    for m in _WORD.finditer(text):
        word = m.group(0)
        if not run and word[0].islower() and word[0] < "\u0250":
            continue  # a lower-case Latin word outside a run (most words): neither a name nor a particle
        lower = word.lower()
        name_like = ((word[0].isupper() and not (len(word) > 1 and word.isupper())) or _script(word) == "uncased") \
            and (lower not in _STOP or (lower in _NAME_STOPS and _beside_name(text, m, run))
                 or (bool(run) and _surname_after_given(text, m, run)))
        particle = lower in _PARTICLES and bool(run)
        gap = text[run[-1].end():m.start()] if run else ""
        joined = bool(run) and (gap in (" ", "\u00a0") or (gap == ". " and len(run[-1].group(0)) == 1)
                                or (gap == ", " and len(run) == 1 and word[0].isupper() and _script(word) != "uncased"
                                    and _comma_pair(text, m)))
        if run and not joined:
            yield from close()
        if name_like or particle:
            run.append(m)
        else:
            yield from close()
    yield from close()


def _is_name(text: str, start: int, end: int, tokens: list[str], after_name: bool = False) -> bool:
    """Whether the run ``tokens`` at ``text[start:end]`` is a person's name (see the module doc);
    ``after_name``: it follows a name found just before ('from Name to Name', 'Name and Name')."""
    before, after = text[max(0, start - 32):start], text[end:end + 48]
    if _DISPLAY_AFTER.match(after):
        return True
    if len(tokens) >= 2 and _eponym(tokens):
        return False
    if _STRONG_CUE.search(before):
        return True
    if len(tokens) < 2:
        # one word: only a Chinese or Korean name written as one word, after a weak cue
        return _single_name(tokens[0]) and bool(_WEAK_CUE.search(before) or _LABEL_CUE.match(before)
                                                or not before.strip())
    # Two words or more: the dictionary is consulted only now (most lines never get here).
    phrase = text[start:end]
    if name_kind(phrase) & PLACE:
        return False
    if "," not in phrase and _given(tokens[0], FIRST) and any(_given(t, LAST) for t in tokens[1:]):
        return True  # 'Surname, Given' only where a cue says it is a person
    if _foreign_script(text, tokens, phrase):
        return True
    label = bool(_LABEL_CUE.match(before)) and not _THING_LABEL.match(before)
    if not (label or _WEAK_CUE.search(before) or after_name
            or (len(tokens) <= 4 and _PERSON_VERB.match(after))
            or (before.endswith("(") and _DATE_AFTER.match(after))  # '(Name, 13 Sep 2026)' in a calendar
            or (_SPEAKER_BEFORE.match(before) and (after.startswith(":") or _AFTER_LINE_START.match(after)))):
        return False
    if any(_script(t) != "latin" for t in tokens) or not phrase.isascii():
        return True
    if _INNER_PARTICLE.search(phrase):
        return True  # a particle inside ('Ties van Stralen', 'Naomi Mac an Mhilidh'): a person's name
    # A word the dictionary knows as a name and that is no ordinary English word ('Budget
    # Approval' is not a name); or two or three capitalised words, fewer than half of them
    # ordinary words ('meeting w/ Swala Kahinu', 'Asatira Obama Kipruto').
    if any(_given(t, FIRST | LAST) for t in tokens):
        return True
    return sum(_ordinary(t) for t in tokens) * 2 < len(tokens) \
        and len(tokens) <= 3 and all(len(t) >= 3 and t[1:].islower() for t in tokens)


def _bare(word: str) -> str:
    w = word.lower()
    return w[:-2] if w.endswith(("'s", "’s")) else w


def _eponym(tokens: list[str]) -> bool:
    """A brand, firm or place named after a person ('Morgan Stanley', 'Washington Square')."""
    words = [_bare(t) for t in tokens]
    return words[-1] in PLACE_HEADS or " ".join(words) in EPONYMS or \
        any(f"{a} {b}" in EPONYMS for a, b in zip(words, words[1:]))


def _given(word: str, bits: int) -> bool:
    """A word the dictionary knows as a name (``bits``: FIRST, LAST) that is no ordinary word."""
    return _known(word, bits) and not _ordinary(word)


def _ordinary(word: str) -> bool:
    """An ordinary English word ('Notebook', 'Rapids', 'Budget'), far more often a word than a name."""
    return bool(name_kind(_bare(word)) & ORDINARY)


def _foreign_script(text: str, tokens: list[str], phrase: str) -> bool:
    """Two words or more of one non-Latin script in a line written in Latin letters: a name as
    its owner writes it (a place would be in the dictionary's places)."""
    scripts = {_script(t) for t in tokens}
    if "," in phrase or "latin" in scripts or not all(_script(t) == "uncased" or t[0].isupper() for t in tokens):
        return False
    rest = text.replace(phrase, " ")
    latin = sum(1 for c in rest if c.isascii() and c.isalpha())
    return latin >= 8 and latin > sum(1 for c in rest if c.isalpha() and not c.isascii())


_HAS_DIGIT = re.compile(r"\d")
_BETWEEN_NAMES = re.compile(r"(?:'s|’s)?\s*(?:,|and|&|or|to|/)\s*")
_IDENTIFIER = re.compile(r"(?<![\w+/=.-])(?=[\w+/=.-]{16})(?=[\w+/=.-]*\d)(?=[\w+/=.-]*[A-Za-z])[\w+/=.-]+")


def names(text: str) -> Iterator[Span]:
    if text == text.lower() and text.isascii():  # no capital letter: no name in Latin script
        return
    local_parts = {part for m in _EMAIL.finditer(text)
                   for part in re.split(r"[._+%\d-]+", m.group(1).lower()) if len(part) >= 3} if "@" in text else set()
    # Keys, hashes, ids and the like (a long token of letters and digits) hold no name: blanked
    # (offsets kept) so their capitalised fragments are not looked at one by one.
    scan = _IDENTIFIER.sub(lambda m: " " * len(m.group(0)), text) if _HAS_DIGIT.search(text) else text
    last_end = -1
    for start, end, words in _runs(scan):
        tokens = [w.group(0) for w in words if w.group(0).lower() not in _PARTICLES]
        if not tokens:
            continue
        if _is_name(text, start, end, tokens, last_end >= 0 and bool(_BETWEEN_NAMES.fullmatch(text, last_end, start))):
            last_end = end
            yield start, end, "name"
        elif local_parts:  # an address whose local part repeats a word of the run
            for w in words:
                if w.group(0).lower() in local_parts:
                    yield w.start(), w.end(), "name"


if __name__ == "__main__":
    build_packaged()
    print(f"wrote {PACKAGED} ({PACKAGED.stat().st_size / 1e6:.1f} MB)")

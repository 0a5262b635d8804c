"""Street addresses: a house number next to a street word, then the postcode and town after it.

Three shapes cover most of the world's street lines:

- number first, street type last (``12 Baker Street``, ``290 boulevard Alexis``);
- street type first, number last (``Calle Mayor 5``, ``ul. Kwiatowa 12/3``, ``наб. Курчатова, д. 8``);
- the type glued to the name, number last (``Müllerstraße 12``, ``Kerkstraat 4``, ``Ringgatan 1``);

plus East Asian addresses (prefecture, city, ward, block and number in one run). The span
then grows over the parts that follow it (``Apt. 4``, ``, 75001 Paris``, ``, Springfield, IL
62704``), and after an address cue (``Address:``, ``ship to``, ``deliver to``) over the
whole phrase when it holds a number.
"""

from __future__ import annotations

import re
from typing import Iterator

Span = tuple[int, int, str]


class _Lazy:
    """A regex compiled on first use: these alternations take ~0.1 s to compile, which
    `workprint redact` should not pay before it reads a line that needs them."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._rx: re.Pattern[str] | None = None

    def __getattr__(self, name: str):
        if self._rx is None:
            self._rx = re.compile(*self._args)
        return getattr(self._rx, name)

# Street types written after the name (English, as the USPS lists them, and a few others).
_SUFFIX_TYPES = (
    "street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|court|ct|boulevard|blvd|way|place|pl|square|sq|terrace|ter"
    "|crescent|cres|close|parkway|pkwy|highway|hwy|freeway|expressway|expy|alley|row|walk|walkway|path|trail|trl"
    "|circle|cir|loop|grove|gardens|gdns|green|greens|park|view|vista|ridge|heights|hts|hill|hills|mews|wharf|quay"
    "|crossing|xing|junction|jct|pass|passage|pike|plaza|point|pt|port|ports|harbor|harbour|haven|landing|lodge"
    "|manor|meadow|meadows|mill|mills|mission|motorway|mount|mountain|orchard|oval|overpass|underpass|pines|plain|plains"
    "|prairie|radial|ramp|ranch|rapid|rapids|rest|run|shoal|shoals|shore|shores|skyway|spring|springs|spur|spurs"
    "|station|stravenue|stream|summit|throughway|trace|track|trafficway|tunnel|turnpike|union|unions|valley|valleys"
    "|viaduct|villa|village|villages|ville|vista|wall|walks|ways|well|wells|cape|causeway|center|centre|cliff|cliffs"
    "|club|common|commons|corner|corners|course|courts|cove|coves|creek|crest|curve|dale|dam|divide|drives|estate"
    "|estates|extension|extensions|falls|ferry|field|fields|flat|flats|ford|fords|forest|forge|forges|fork|forks"
    "|fort|freeway|garden|gateway|glen|glens|harbors|heights|hollow|inlet|island|islands|isle|key|keys|knoll"
    "|knolls|lake|lakes|light|lights|locks|lock|mall|neck|parks|parkways|pine|plaza|points|ports|ridges|river"
    "|road|roads|route|shore|squares|stream|streets|burgs|burg|bypass|byu|camp|canyon|branch|brook|brooks|bluff"
    "|bluffs|bottom|bend|beach|arcade|anex|annex|alley|nagar|marg|chowk|gali|strand|esplanade|parade|promenade"
    "|quadrant|alleyway|byway|concourse|crossway|cul-de-sac|rise|chase|gate|gardens|approach|nook"
)
# Street types written before the name.
_PREFIX_TYPES = (
    "rue|avenue|av|boulevard|bd|bld|chemin|ch|impasse|imp|place|pl|allée|allee|quai|route|rte|cours|square|passage"
    "|calle|c|avenida|avda|paseo|plaza|camino|carrera|cra|cr|carretera|callejón|callejon|ronda|pasaje|glorieta|travesía"
    "|cañada|canada|acceso|alameda|bulevar|urbanización|urbanizacion|vía|via|viale|piazza|piazzale|corso|vicolo|strada"
    "|borgo|contrada|canale|largo|lungomare|rotonda|stretto|rua|travessa|praça|praca|estrada|rodovia|aeroporto"
    "|aleja|al|ulica|ul|plac|pl|os|osiedle|jl|jalan|gang|gg|đường|duong|phố|pho|số|so|ngõ|ngo|hẻm|hem"
    "|drumul|strada|str|calea|soseaua|șoseaua|bulevardul|bd|aleea|splaiul|piața|piata|intrarea|str"
    "|tr|cl|dg|kr|diagonal|transversal|circular|ruta|pasadizo|sector|barrio|manzana|colonia|col"
    "|ул|улица|пр|просп|проспект|наб|пер|переулок|бул|бульвар|шоссе|шосе|пл|площадь|вул|вулиця|провулок|майдан|сквер|узвіз"
    "|к|г|с|пос|д|буд|odos|οδός|οδος|λεωφ|λεωφόρος|unit|flat|apt|apartment|suite|po box|psc|h\\.no|house no"
    "|peatonal|privada|cerrada|andador|nám|náměstí|námestie|trg|rr|rruga|sokak|sok|cadde|cad|mahallesi|mah"
)
# Street types glued to the end of the name (German, Dutch, Nordic, Slavic, Baltic, Hungarian, Finnish).
_GLUED_TYPES = (
    "straße|strasse|str|weg|gasse|platz|allee|ring|damm|ufer|chaussee|pfad|steig|stieg|markt|graben|hof"
    "|straat|laan|plein|gracht|singel|kade|dijk|dreef|pad|steeg|markt|baan|wal|hof|park"
    "|gatan|gata|vägen|vagen|väg|gränd|grand|stigen|stig|torget|backen|gade|vej|allé|alle|plads|stræde|veien|veg"
    "|vegen|gata|gaten|kollen|bakken|stubben|ekra|lia|haugen|svingen|tunet|jordet|katu|tie|kuja|polku|bulevardi"
    "|väylä|rinne|ranta|tori|aukio|utca|út|tér|körút|ucca|iela|gatvė|gatve|prospektas|tee|põik|maantee|ulica|ulice"
    "|cesta|trg|ská|ská ulica|ová|ovo|ovа|nábřeží|náměstí|námestie"
)
_NUMBER = r"\d{1,6}(?:[A-Za-z]|\s?[a-zA-Z](?![a-zA-Z]))?(?:\s?[/-]\s?\d{1,5}[A-Za-z]?)?"
_NAME_WORD = r"(?:\d{1,3}(?:st|nd|rd|th|ª|º|°)?|[^\W\d_][\w'’.-]*)"
_UNIT = r"(?:,?\s+(?:apt\.?|apartment|suite|ste\.?|unit|flat|fl\.?|floor|piso|puerta|appartamento|piano|dpto\.?|depto\.?|oficina|interior|int\.?|lote|edif\.?|bl\.?|sc\.?|ap\.?|et\.?|кв\.?|стр\.?|корп\.?|д\.|буд\.|#|no\.?|nr\.?|n°|nº)\s*[\w/-]{1,6}){0,4}"

_NUMBER_FIRST = _Lazy(
    rf"(?i)(?<![\w/.-])(?:(?:unit|flat|apt\.?|suite)\s+\d+[A-Za-z]?,?\s+)?{_NUMBER},?\s+(?:{_NAME_WORD}\s+){{0,4}}"
    rf"(?:{_SUFFIX_TYPES})\.?(?![\w-]){_UNIT}"
)
_TYPE_FIRST = _Lazy(
    rf"(?i)(?<![\w-])(?:{_PREFIX_TYPES})\.?\s+(?:(?:{_NAME_WORD}|de|del|la|las|los|des|du|di|della|von|van)[\s,]+){{0,6}}?"
    rf"(?:(?:n[°º]|no\.?|nr\.?|#|д\.|буд\.|d\.)\s*)?{_NUMBER}(?![\w-]){_UNIT}"
)
_GLUED = _Lazy(rf"(?i)(?<![\w-])([^\W\d_][\w'’-]{{2,}})\.?,?\s+{_NUMBER}(?![\w-]){_UNIT}")
_GLUED_ENDINGS = tuple(_GLUED_TYPES.split("|"))
_PREFIX_SET = frozenset(_PREFIX_TYPES.replace("\\", "").split("|"))
_SUFFIX_SET = frozenset(_SUFFIX_TYPES.split("|"))
_TOKENS = re.compile(r"[^\W\d_][\w'’-]*")
_DIGIT = re.compile(r"\d")
_NUMBER_START = re.compile(r"(?<![\w/.-])\d")
# A word every cue of _CUE holds (in lower case): lines without one skip it, in one regex search.
_CUE_WORDS = re.compile("addr|adres|ship|deliver|lives|located|office|send it|mail it|return|pick|direcci|endere|"
                        "indirizzo|osoite|cím|διεύθυνση|адрес|כתובת|ที่อยู่|住所|地址|주소|venue|billing")
# Street name then number (Nordic, Slavic, Hebrew...) after an address cue only: too loose alone.
_EAST_ASIAN = _Lazy(
    r"(?:\d{3,7}\s*)?[\u3040-\u30ff\u4e00-\u9fff]+(?:都|道|府|県|省|市|区|區|县|縣|町|村|街|路|郡)[\u3040-\u30ff\u4e00-\u9fff\w\-－]*\d[\u3040-\u30ff\u4e00-\u9fff\w\-－]*"
    r"(?:\s[\u3040-\u30ff\u4e00-\u9fff\w]+\d*)?(?:\s\d{5,7})?"
    r"|(?:[\uac00-\ud7a3]+(?:시|도|구|군)\s)+[\uac00-\ud7a3\d\s]*(?:로|길|거리|동)\s?\d+(?:-\d+)?"
    # Thai: house number, village (หมู่), then road (ถนน, ถ.) or lane (ซอย, ซ.) and the places after it
    r"|\d{1,5}(?:/\d{1,5})?\s(?:หมู่(?:ที่)?\s?\d{1,3}\s)?(?:ถนน|ถ\.|ซอย|ซ\.)\s?[\u0e00-\u0e7f]+(?:\s[\u0e00-\u0e7f.]+)*(?:\s\d{5})?"
)
# What follows a street line: unit, postcode and town, region and its code.
_UPPER = "A-ZÀ-ÖØ-ÞĀ-ſ\u0386-\u03AB\u0400-\u042F\u0531-\u0556"
_TOWN = rf"[{_UPPER}][\w'’.-]*(?:(?:[ -]|[ -](?:am|an|der|nad|sur|la|le|de|del|di|im|bei|upon|on|en|op|aan|sul) )[{_UPPER}(][\w'’.)-]*){{0,4}}"
# Street name and house number with no street type (Slavic, Hungarian, Hebrew, Spanish lines):
# too loose alone, an address when a postcode and a town, or a unit, follow it.
_UNIT_WORD = r"(?i:piso|apt\.?|apartment|suite|flat|floor|dpto\.?|depto\.?|interior|int\.|oficina|puerta)"
_NAME_NUMBER_TAIL = _Lazy(
    rf"(?<![\w-])[{_UPPER}][\w'’.-]+(?: (?:[{_UPPER}][\w'’.-]*|de|del|la|las|los|da|do|dos|van|der|utca|út|tér|pot"
    rf"|cesta|ulica|ulice|iela|gatvė|tee|katu|tie)){{0,3}} {_NUMBER}\.?(?:"
    rf",\s*(?:[A-Z]{{1,2}}-)?(?!(?:19|20)\d\d\b)(?:\d{{4,6}}|\d{{3}} \d{{2}}),?\s+{_TOWN}"  # , 23408 Ozalj; not a year
    rf"|(?=,?\s+{_UNIT_WORD}\s*\w)(?i:{_UNIT}))(?![\w-])"  # Las Rosas 5091 Piso 5
)
_NAME_NUMBER_GATE = re.compile(rf",\s*(?:[A-Z]{{1,2}}-)?(?:\d{{4,6}}|\d{{3}} \d{{2}})\b|\d\.?,?\s+{_UNIT_WORD}")
_TAIL_PART = _Lazy(
    r",?\s*(?:"
    rf"\d{{4,6}}(?:[ -]\d{{2,4}})?(?:\s?[A-Z]{{2}})?(?:,?\s+{_TOWN})?"  # 75001 Paris
    r"|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"  # UK postcode
    r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"  # Canadian postcode
    rf"|{_TOWN},?\s+(?:[A-Z]{{2}}\s+)?(?:\d{{4,6}}(?:-\d{{4}})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}})"  # Springfield, IL 62704
    r"|\([A-Z]{2}\)"
    r")(?![\w-])"
)
_CUE = re.compile(
    r"(?i)\b(?:address|addr|ship(?:ping)?\s+to|deliver(?:y)?(?:\s+\S+){0,3}?\s+to|billing\s+address|shipping\s+address"
    r"|lives\s+at|located\s+at|office\s+(?:at|is)|send\s+it\s+to|mail\s+it\s+to|return\s+to|pick\s*up\s+at|home\s+address"
    # the word for address in other languages, alone or ending a compound (Lieferadresse, Rechnungsadresse)
    r"|\w*adresse|\w*adres|adresa|adress|direcci[oó]n|endere[cç]o|indirizzo|osoite|cím|διεύθυνση|адрес|כתובת|ที่อยู่|住所|地址|주소"
    r"|(?:venue|billing|shipping|pickup\s+point|pick-up\s+point)(?=\s*[:\-—–]))"
    r"(?![\w])\s*[:\-—–]?\s*"  # a whole word: 'addressed to' is no cue
)
# After a cue: everything up to a phrase that is not part of an address.
_CUE_TAIL = re.compile(r"[^\n;()]*?(?=\s+(?:by|opens|before|after|on|at|until|for|from|and then|today|tomorrow|in\s+\d)\b"
                       r"|\s*[;(\n]|\s*$|(?<=[a-z]{4})\.\s)")  # a sentence ends, not an abbreviation (Nám. Barikád)


def _grow(text: str, end: int) -> int:
    """Extend an address over the town, postcode and region parts that follow it."""
    for _ in range(4):
        m = _TAIL_PART.match(text, end)
        if not m or m.end() == end:
            break
        end = m.end()
    return end


def addresses(text: str) -> Iterator[Span]:
    if not _DIGIT.search(text):
        return
    # The big alternations are slow to try at every position: run each only when a word of
    # its kind is on the line.
    lower = text.lower()
    words = set(_TOKENS.findall(lower))
    starts: list[tuple[int, _Lazy]] = []
    suffix, prefix = words & _SUFFIX_SET, words & _PREFIX_SET
    if suffix or prefix:
        tokens = [(m.start(), m.group(0)) for m in _TOKENS.finditer(lower)]
        if suffix:  # number first: try from each number and each unit word
            starts += [(m.start(), _NUMBER_FIRST) for m in _NUMBER_START.finditer(text)]
            starts += [(pos, _NUMBER_FIRST) for pos, w in tokens if w in ("unit", "flat", "apt", "suite")]
        if prefix:  # type first: try from each street-type word
            starts += [(pos, _TYPE_FIRST) for pos, w in tokens if w in prefix]
    for pos, rx in starts:
        m = rx.match(text, pos)
        if m:
            yield m.start(), _grow(text, m.end()), "address"
    if any(w.endswith(_GLUED_ENDINGS) for w in words):
        for m in _GLUED.finditer(text):
            if m.group(1)[0].isupper() and m.group(1).lower().endswith(_GLUED_ENDINGS):
                yield m.start(), _grow(text, m.end()), "address"
    if _NAME_NUMBER_GATE.search(text):
        for m in _NAME_NUMBER_TAIL.finditer(text):
            yield m.start(), _grow(text, m.end()), "address"
    if not text.isascii():
        for m in _EAST_ASIAN.finditer(text):
            yield m.start(), _grow(text, m.end()), "address"
    if not _CUE_WORDS.search(lower):
        return
    for m in _CUE.finditer(text):
        tail = _CUE_TAIL.match(text, m.end())
        if tail and any(c.isdigit() for c in tail.group(0)) and 4 <= len(tail.group(0).strip()) <= 160:
            yield m.end(), tail.end(), "address"

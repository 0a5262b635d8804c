"""Screenshot redaction on the device: text that OCR finds and the text redactor flags is masked.

OCR is rapidocr-onnxruntime, which ships its models (nothing is downloaded). OCR is the
expensive part, so only the needed work is done: a whole frame is read only where text can
be (rows with many sharp transitions), and between consecutive frames only the lines that
overlap changed rows are read again; every other line keeps its reading. Masks are drawn over
the sensitive span of a text line (its share of the line's box, with a margin), not the whole
line, so the rest of the screen stays useful."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import weakref
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from workprint.privacy.names import names
from workprint.privacy.redact import GIVEN_NAMES, IPV4, IPV6, find_spans, iban_ok, luhn_ok
from workprint.imaging import changed_pixels, changed_rows, runs
from workprint.vocabulary import Rect

# OCR drops the spaces between words ("replytojane@example.combefore") and splits long tokens,
# so screen text gets a second, boundary-free look for what the text redactor anchors on words.
# It also puts spaces inside words ("examp le.com", "pas sword") and reads capitals as lower
# case ("Es84 6738 ..."), so these patterns allow one stray space and either case.
_OCR_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]+(?: [^\s@.]+)?\.[^\s@]{2,}")
_OCR_IBAN = re.compile(r"[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}")
# A card number with a stray space next to a dash ("3774-232939 -43014"): Luhn decides.
_OCR_CARD = re.compile(r"(?<!\d)\d(?:[ -]{0,2}\d){12,18}(?!\d)")
# Hex groups of an IPv6 address with 1 read as l or I, 0 as O or o ("ade1" as "adel").
_OCR_HEX_TOKEN = re.compile(r"[\w:]*:[\w:]*:[\w:]*")
_OCR_HEX_DIGITS = str.maketrans("lIOo", "1100")
# A key after its name, split by OCR ("API_KEY=glpat -9QLYz..."): the piece after the space
# is taken when it is long and key-like.
_OCR_SECRET = re.compile(r"(?i)\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?key|token)\s*[:=]\s*"
                         r"(\S+(?: [-_]?[A-Za-z0-9][\w-]{7,})?)")
# A Google API key with a space OCR put inside it ("...qv8s f53h..."): 35 characters after AIza.
_OCR_GOOGLE_KEY = re.compile(r"AIza(?:[\w-] ?){34}[\w-]")
# Countries that use IBANs: an IBAN-shaped run whose checksum OCR broke (a letter read as a
# digit) is still masked when it starts with one of these in capitals.
_IBAN_COUNTRIES = frozenset("AD AE AL AT AZ BA BE BG BH BR CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR "
                            "GT HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV MC MD ME MK MR MT MU NL NO PK "
                            "PL PS PT QA RO RS SA SC SE SI SK SM TL TN TR UA VA VG XK".split())
# user:password@host in a URL, with a space OCR put inside the password.
_OCR_URL_PASSWORD = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*: ?//[^\s/:@]+:([^\s/@]+(?: [^\s/@]+)?)@")
_OCR_PASSWORD = re.compile(r"(?i)p ?a ?s ?s ?(?:w ?o ?r ?d|w ?d|p ?h ?r ?a ?s ?e)(?: is)? ?[:=] *(\S{2,})")
# A JWT whose segments OCR broke with spaces or misread characters ("U@c" for "U0c"): header
# and payload run to their dots; the signature's later pieces must look like base64 (an
# upper-case letter, digit, - or _), so the plain words after a token are not swallowed.
_OCR_JWT = re.compile(r"eyJ[^.\n]+? ?\. ?eyJ[^.\n]+? ?\. ?[\w-]+(?: [\w-]*[A-Z0-9_-][\w-]*)*")


# OCR misreads a capital at a word's start: "Okafor" as "0kafor", "Olivia" as "olivia".
_OCR_CAPITALS = {"0": "O", "1": "I", "5": "S"}


def _restore_capitals(text: str) -> str:
    """Undo those misreadings where a name could hide (same length, so offsets still hold)."""
    def fix(m: re.Match) -> str:
        word = m.group(0)
        if word[0] in _OCR_CAPITALS and len(word) > 2 and word[1:].isalpha() and word[1:].islower():
            return _OCR_CAPITALS[word[0]] + word[1:]
        if word.islower() and word in GIVEN_NAMES:
            return word.capitalize()
        return word
    return re.sub(r"\b\w+\b", fix, text)


def ocr_spans(text: str) -> list[tuple[int, int, str]]:
    """Spans the text redactor finds, plus what only shows up in OCR'd text."""
    spans = list(find_spans(text))
    spans += list(names(_restore_capitals(text)))
    spans += [(m.start(), m.end(), "email") for m in _OCR_EMAIL.finditer(text)]
    spans += [(m.start(), m.end(), "jwt") for m in _OCR_JWT.finditer(text)]
    spans += [(m.start(1), m.end(1), "password") for m in _OCR_PASSWORD.finditer(text)]
    spans += [(m.start(1), m.end(1), "password") for m in _OCR_URL_PASSWORD.finditer(text)]
    for m in _OCR_CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
            spans.append((m.start(), m.end(), "card"))
    hex_fixed = _OCR_HEX_TOKEN.sub(lambda m: m.group(0).translate(_OCR_HEX_DIGITS), text)  # same length
    if hex_fixed != text:
        spans += list(IPV6(hex_fixed)) + list(IPV4(hex_fixed))
    spans += [(m.start(1), m.end(1), "api_key") for m in _OCR_SECRET.finditer(text)]
    spans += [(m.start(), m.end(), "api_key") for m in _OCR_GOOGLE_KEY.finditer(text)]
    for m in _OCR_IBAN.finditer(text):
        for end in range(m.end(), m.start() + 14, -1):  # the longest prefix with a valid checksum
            if text[end - 1] != " " and iban_ok(text[m.start():end]):
                spans.append((m.start(), end, "iban"))
                break
        else:
            compact = m.group(0).replace(" ", "")
            if m.group(0)[0].isupper() and compact[:2].upper() in _IBAN_COUNTRIES \
                    and sum(c.isdigit() for c in compact) >= 10:
                last_digit = max(i for i, c in enumerate(m.group(0)) if c.isdigit())
                spans.append((m.start(), m.start() + last_digit + 1, "iban"))  # not the words after it
    return list(dict.fromkeys(spans))

# Rows around a change that are read again; the band then grows over every line it touches.
BAND_MARGIN_PX = 6
MASK_MARGIN_PX = 3
DETECT_PAD_PX = 16
REC_MIN_HEIGHT_PX = 32
# Where text can be: a row holds text only if it has this many sharp horizontal transitions
# (colour steps above EDGE_CONTRAST); such rows closer than REGION_GAP_PX form one region.
EDGE_CONTRAST = 16
MIN_EDGES_PER_TEXT_ROW = 6
REGION_GAP_PX = 8
REGION_MARGIN_PX = 8
# Columns of text closer than this belong together when a band is read again (a word gap is less).
COLUMN_GAP_PX = 48


# When more than this share of the frame's rows must be read again (a scroll, a window switch),
# the frame is read whole: the previous readings are not trusted to line up with it.
WHOLE_READ_SHARE = 0.5
# The frame is read whole too when this many distinct rows of what changed were on other rows
# before: text scrolled, a window moved, however few rows that is. (A caret moving a line down
# repeats one row; a scrolled line of text brings a dozen distinct ones.)
MOVED_ROWS = 6
# A part of an earlier mask narrower or shorter than this (about a character) is not kept.
MIN_SHOWN_PX = 4

# Bumped on every change to what redaction masks: a redaction made by an older version (cached,
# exported, uploaded) is never reused, the frames are redacted again. ``redactor_key`` adds a
# digest of the code, data and OCR release that decide the masks, so a change nobody bumped this
# for (a new secret pattern in the text redactor, another name list, another rapidocr) re-keys too.
REDACTOR_VERSION = 2
# What decides a frame's masks, relative to the workprint package, and the distributions it reads with.
MASK_SOURCES = ("privacy/frames.py", "privacy/redact.py", "privacy/names.py", "privacy/notnames.py",
                "privacy/names.sqlite.xz", "privacy/phones.py", "privacy/addresses.py", "privacy/tasktokens.py",
                "imaging.py")
MASK_DISTRIBUTIONS = ("rapidocr-onnxruntime", "onnxruntime", "phonenumbers")


@lru_cache(maxsize=1)
def redactor_key() -> str:
    """What cached masks, exports and uploads are keyed by: REDACTOR_VERSION, the workprint release,
    and ``code_digest`` of this installation. Masks kept under another key are never handed out;
    the frames are read again."""
    from workprint import __version__

    return f"{REDACTOR_VERSION}-{__version__}-{code_digest(Path(__file__).resolve().parent.parent)}"


def code_digest(package: Path) -> str:
    """A digest of MASK_SOURCES in the workprint package at ``package`` and of the versions of
    MASK_DISTRIBUTIONS installed."""
    from importlib import metadata

    digest = hashlib.blake2b(digest_size=8)
    for name in MASK_SOURCES:
        try:
            content = (package / name).read_bytes()
        except OSError:  # not shipped as a file (a zip, bytecode only): the release still keys it
            content = b"absent"
        digest.update(f"{name}\0{len(content)}\0".encode() + content)
    for dist in MASK_DISTRIBUTIONS:
        try:
            digest.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{dist}=absent\0".encode())
    return digest.hexdigest()


def _moved(rgb: np.ndarray, prev: np.ndarray, rows: np.ndarray) -> int | None:
    """How far content moved down (pixels, negative: up) when at least MOVED_ROWS distinct rows
    of what changed (between the changed columns) show what another changed row showed before;
    None when nothing moved."""
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(changed_pixels(rgb[r0:r1], prev[r0:r1]).any(axis=0))
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    now, before = rgb[rows, c0:c1], prev[rows, c0:c1]
    busy = (now != now[:, :1]).any(axis=(1, 2))  # rows of one colour match anywhere: not evidence
    was = {row.tobytes(): int(y) for y, row in zip(rows, before)}
    # A changed row never matches its own place, so every match is a move.
    moved = {row.tobytes(): int(y) - was[row.tobytes()] for y, row, b in zip(rows, now, busy)
             if b and row.tobytes() in was}
    if len(moved) < MOVED_ROWS:
        return None
    return Counter(moved.values()).most_common(1)[0][0]


def _still_shown(rgb: np.ndarray, prev: np.ndarray, box: Rect, dy: int) -> list[Rect]:
    """The parts of ``box`` on ``prev`` that ``rgb`` still shows, moved down by ``dy``: all of it
    when its pixels are the same; else its columns (a menu over one end of a line) or rows (the
    window's edge across it after a scroll) whose pixels are the same, where they hold text."""
    h = rgb.shape[0]
    x0, y0, x1, y1 = box
    a0, a1 = max(y0, -dy, 0), min(y1, h - dy, h)
    if a1 <= a0 or x1 <= x0:
        return []
    old, new = prev[a0:a1, x0:x1], rgb[a0 + dy:a1 + dy, x0:x1]
    if not (old != old[0, 0]).any():
        return []  # one colour: no text there to keep hidden
    same = (old == new).all(axis=2)
    if same.all():
        return [Rect(x0, a0 + dy, x1, a1 + dy)]
    out = [Rect(x0 + c0, a0 + dy, x0 + c1, a1 + dy) for c0, c1 in runs(np.flatnonzero(same.all(axis=0)), 1)
           if c1 - c0 >= MIN_SHOWN_PX and (old[:, c0:c1] != old[0, c0]).any()]
    out += [Rect(x0, a0 + r0 + dy, x1, a0 + r1 + dy) for r0, r1 in runs(np.flatnonzero(same.all(axis=1)), 1)
            if r1 - r0 >= MIN_SHOWN_PX and (old[r0:r1] != old[r0, 0]).any()]
    return out


@dataclass(frozen=True)
class TextBox:
    x0: int
    y0: int
    x1: int
    y1: int
    text: str


def _same_place(a: TextBox, b: Rect) -> bool:
    """Whether detected box ``b`` is line ``a`` found again (each edge within 4 pixels)."""
    return all(abs(p - q) <= 4 for p, q in zip((a.x0, a.y0, a.x1, a.y1), b))


def _covers(b: Rect, a: TextBox) -> bool:
    """Whether box ``b`` is a new reading of the whole of line ``a`` (its full width, most of its height)."""
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return b.x0 <= a.x0 + 4 and b.x1 >= a.x1 - 4 and h >= 0.5 * (a.y1 - a.y0)


@dataclass
class FrameMask:
    box: Rect
    kind: str


def _engine():
    import os

    from rapidocr_onnxruntime import RapidOCR

    # "max" keeps a narrow band at its size; the default ("min", 736) would blow a 60-pixel
    # band up to 736 pixels high. width_height_ratio=-1 turns off rapidocr's letterbox, which
    # pads any image wider than 8:1 to a quarter of its width in height: a 1920×60 band would
    # be read as 1920×480, eight times the work. One thread per core this process may use.
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else -1
    return RapidOCR(det_limit_type="max", det_limit_side_len=1920, width_height_ratio=-1,
                    intra_op_num_threads=threads, inter_op_num_threads=1)


class FrameRedactor:
    """Redacts a sequence of frames; feed consecutive frames of a session in order.

    Between consecutive frames only what changed is read again: text detection runs on the
    band of rows that changed (grown over the lines it touches, so a line is never cut in
    two), and recognition only on the lines that overlap changed rows. Every other line keeps
    its previous reading, because its pixels are the same.
    """

    def __init__(self) -> None:
        self._ocr = _engine()
        self._prev: np.ndarray | None = None
        self._prev_boxes: list[TextBox] = []
        self._prev_masked: np.ndarray | None = None  # the frame ``_prev_masks`` were drawn on
        self._prev_masks: list[FrameMask] = []
        self.ocr_pixels = 0  # pixels text detection actually read, to measure what reuse saves
        self.whole_reads = 0  # frames read whole (the first, and those that could not be matched)

    def _detect(self, image: np.ndarray, y_offset: int) -> list[Rect]:
        """Boxes of text lines in ``image``, shifted down by ``y_offset``."""
        # Edge rows above and below: the detector misses text that touches the image's border.
        # Padded up to multiples of 32 too, which the detector would otherwise resize to,
        # squashing a thin band's text (45 rows read as 32) and losing parts of its lines.
        h, w = image.shape[:2]
        extra_h = -(h + 2 * DETECT_PAD_PX) % 32
        top = DETECT_PAD_PX + extra_h // 2
        padded = np.pad(image, ((top, DETECT_PAD_PX + extra_h - extra_h // 2), (0, -w % 32), (0, 0)), mode="edge")
        self.ocr_pixels += padded.shape[0] * padded.shape[1]
        found, _ = self._ocr(padded, use_det=True, use_cls=False, use_rec=False)
        boxes = []
        for points in found or []:
            xs = [min(p[0], w) for p in points]
            ys = [p[1] - top for p in points]
            y0 = max(0, int(min(ys)))
            y1 = min(image.shape[0], int(max(ys)) + 1)
            if y1 > y0:
                boxes.append(Rect(max(0, int(min(xs))), y0 + y_offset, int(max(xs)) + 1, y1 + y_offset))
        return boxes

    def _detect_regions(self, rgb: np.ndarray) -> list[Rect]:
        """Text line boxes of a whole frame, detecting only where text can be.

        Text is made of many sharp horizontal transitions; rows with almost none (empty space,
        window borders, flat toolbars) cannot hold a line of text. The frame is cut into bands
        of rows that can, each narrowed to its columns with transitions, and the detector reads
        only those. A sparse screen (an empty editor) costs a fraction of a full read; a dense
        one costs about the same as before.
        """
        edges = np.abs(np.diff(rgb.astype(np.int16), axis=1)).max(axis=2) > EDGE_CONTRAST
        rows = np.flatnonzero(edges.sum(axis=1) >= MIN_EDGES_PER_TEXT_ROW)
        boxes = []
        for r0, r1 in runs(rows, REGION_GAP_PX):
            y0, y1 = max(0, r0 - REGION_MARGIN_PX), min(rgb.shape[0], r1 + REGION_MARGIN_PX)
            cols = np.flatnonzero(edges[r0:r1].any(axis=0))
            x0, x1 = max(0, int(cols[0]) - REGION_MARGIN_PX), min(rgb.shape[1], int(cols[-1]) + 2 + REGION_MARGIN_PX)
            boxes += [Rect(b.x0 + x0, b.y0, b.x1 + x0, b.y1) for b in self._detect(rgb[y0:y1, x0:x1], y0)]
        return boxes

    def _recognise(self, rgb: np.ndarray, boxes: list[Rect]) -> list[TextBox]:
        """Read each line box (screen text is upright, so no angle classifier)."""
        if not boxes:
            return []
        crops = []
        for x0, y0, x1, y1 in boxes:
            crop = rgb[y0:y1, x0:x1]
            # The recogniser scales every line to 48 pixels high, and its cost grows with the
            # scaled width. A tight 20-pixel line would be scaled 2.4×; padding it to
            # REC_MIN_HEIGHT_PX rows of its own edge colour reads the same text for less.
            pad = max(0, REC_MIN_HEIGHT_PX - crop.shape[0])
            if pad:
                crop = np.pad(crop, ((pad // 2, pad - pad // 2), (0, 0), (0, 0)), mode="edge")
            crops.append(np.ascontiguousarray(crop))
        results, _ = self._ocr.text_rec(crops)
        # NFKC: OCR may return full-width punctuation ("，") that the text redactor does not expect.
        return [TextBox(*box, unicodedata.normalize("NFKC", text))
                for box, (text, *_rest) in zip(boxes, results) if text]

    def _text_rows(self, rgb: np.ndarray, y0: int, y1: int) -> np.ndarray:
        """For rows y0..y1: whether each can hold text (the same test ``_detect_regions`` uses)."""
        edges = np.abs(np.diff(rgb[y0:y1].astype(np.int16), axis=1)).max(axis=2) > EDGE_CONTRAST
        return edges.sum(axis=1) >= MIN_EDGES_PER_TEXT_ROW

    def _band(self, rgb: np.ndarray, r0: int, r1: int) -> tuple[int, int]:
        """Rows to read again around changed rows r0..r1: with a margin, over every earlier line
        they touch, and out to rows that hold no text, so no line is cut in two."""
        h = rgb.shape[0]
        y0, y1 = max(0, r0 - BAND_MARGIN_PX), min(h, r1 + BAND_MARGIN_PX)
        touched = [b for b in self._prev_boxes if b.y0 < y1 and b.y1 > y0]
        y0 = max(0, min([y0] + [b.y0 - 2 for b in touched]))
        y1 = min(h, max([y1] + [b.y1 + 2 for b in touched]))
        while y0 > 0:
            step = min(y0, 16)
            text = self._text_rows(rgb, y0 - step, y0)
            blank = np.flatnonzero(~text)
            if blank.size:
                y0 = y0 - step + int(blank[-1])
                break
            y0 -= step
        while y1 < h:
            step = min(h - y1, 16)
            text = self._text_rows(rgb, y1, y1 + step)
            blank = np.flatnonzero(~text)
            if blank.size:
                y1 = y1 + int(blank[0]) + 1
                break
            y1 += step
        return y0, y1

    def _read_band(self, rgb: np.ndarray, prev: np.ndarray, y0: int, y1: int) -> list[Rect]:
        """Line boxes of rows y0..y1 around what changed in them. The columns read are the
        changed ones and the earlier lines that changed, widened over the text next to them on
        those lines (runs of columns with sharp transitions, gaps under COLUMN_GAP_PX): a line
        is read whole, its label with its value, not only where it changed."""
        diff = changed_pixels(rgb[y0:y1], prev[y0:y1])
        rows = np.flatnonzero(diff.any(axis=1))
        if not rows.size:
            return []
        changed = np.flatnonzero(diff.any(axis=0))
        c0, c1 = y0 + int(rows[0]), y0 + int(rows[-1]) + 1
        edited = [b for b in self._prev_boxes if b.y0 < c1 and b.y1 > c0]
        x0 = min([int(changed[0])] + [b.x0 for b in edited])
        x1 = max([int(changed[-1]) + 1] + [b.x1 for b in edited])
        l0 = max(y0, min([c0] + [b.y0 for b in edited]))
        l1 = min(y1, max([c1] + [b.y1 for b in edited]))
        edges = np.abs(np.diff(rgb[l0:l1].astype(np.int16), axis=1)).max(axis=2) > EDGE_CONTRAST
        for r0, r1 in runs(np.flatnonzero(edges.any(axis=0)), COLUMN_GAP_PX):
            if r0 < x1 and r1 > x0:
                x0, x1 = min(x0, r0), max(x1, r1)
        x0, x1 = max(0, x0 - REGION_MARGIN_PX), min(rgb.shape[1], x1 + REGION_MARGIN_PX)
        return [Rect(b.x0 + x0, b.y0, b.x1 + x0, b.y1) for b in self._detect(rgb[y0:y1, x0:x1], y0)]

    def read_whole(self, rgb: np.ndarray) -> list[TextBox]:
        """Every text line of a frame, read whole as a fresh redactor reads a first frame; the
        state kept between frames is left alone (for checks that compare against it)."""
        return self._recognise(rgb, self._detect_regions(rgb))

    def _whole(self, rgb: np.ndarray) -> list[TextBox]:
        """Read the frame whole and make it the one the next frame is matched against."""
        boxes = self._recognise(rgb, self._detect_regions(rgb))
        self._prev, self._prev_boxes = rgb, boxes
        self.whole_reads += 1
        return boxes

    def text_boxes(self, rgb: np.ndarray) -> list[TextBox]:
        """OCR text boxes of a frame, reusing the previous frame's where nothing changed.

        What holds, whatever the frames: a line whose pixels changed is read again, whole; a
        line keeps an earlier reading only while none of its pixels changed; and when the
        frames cannot be matched (another size, content that moved: a scroll, a moved window,
        or most rows changed: a window switch) the frame is read whole, as a fresh redactor would.
        """
        prev = self._prev
        if prev is None or prev.shape != rgb.shape:
            return self._whole(rgb)
        rows = changed_rows(rgb, prev)
        if not rows.size:
            boxes = list(self._prev_boxes)
            self._prev, self._prev_boxes = rgb, boxes
            return boxes
        if _moved(rgb, prev, rows) is not None:
            return self._whole(rgb)
        bands: list[list[int]] = []
        for r0, r1 in runs(rows, 2 * BAND_MARGIN_PX):
            y0, y1 = self._band(rgb, r0, r1)
            if bands and y0 <= bands[-1][1]:
                bands[-1][1] = max(bands[-1][1], y1)
            else:
                bands.append([y0, y1])
        if sum(y1 - y0 for y0, y1 in bands) > WHOLE_READ_SHARE * rgb.shape[0]:
            return self._whole(rgb)  # most of the screen changed

        def inside(box_y0: int, box_y1: int) -> bool:
            middle = (box_y0 + box_y1) // 2
            return any(y0 <= middle < y1 for y0, y1 in bands)

        fresh = [b for y0, y1 in bands for b in self._read_band(rgb, prev, y0, y1)]
        fresh = [b for b in fresh if inside(b.y0, b.y1)]
        unchanged = [b for b in self._prev_boxes
                     if np.array_equal(rgb[b.y0:b.y1, b.x0:b.x1], prev[b.y0:b.y1, b.x0:b.x1])]
        # A line found again where it was, on the same pixels, keeps its reading (recognition is
        # the costly part); any other line is recognised.
        read, to_read = [], []
        for f in fresh:
            same = next((b for b in unchanged if _same_place(b, f) and np.array_equal(
                rgb[min(b.y0, f.y0):max(b.y1, f.y1), min(b.x0, f.x0):max(b.x1, f.x1)],
                prev[min(b.y0, f.y0):max(b.y1, f.y1), min(b.x0, f.x0):max(b.x1, f.x1)])), None)
            (read.append(same) if same else to_read.append(f))
        read += self._recognise(rgb, to_read)
        kept = []
        for b in unchanged:  # a line whose pixels changed counts only by a new reading
            if not inside(b.y0, b.y1):
                kept.append(b)
            elif b not in read and not any(_covers(f, b) for f in fresh):
                # Read again but not found again whole (the detector saw the band differently):
                # its pixels did not change, so its reading still holds. Never lose a reading.
                kept.append(b)
        boxes = kept + read
        self._prev, self._prev_boxes = rgb, boxes
        return boxes

    @staticmethod
    def masks_of(boxes: list[TextBox]) -> list[FrameMask]:
        """Masks over the sensitive spans of these lines: each span's share of its line's width,
        widened by a margin."""
        out = []
        for box in boxes:
            n = max(len(box.text), 1)
            for start, end, kind in ocr_spans(box.text):
                x0 = box.x0 + (box.x1 - box.x0) * start // n - MASK_MARGIN_PX
                x1 = box.x0 + (box.x1 - box.x0) * end // n + MASK_MARGIN_PX
                out.append(FrameMask(Rect(max(0, x0), max(0, box.y0 - MASK_MARGIN_PX), x1 + 1,
                                          box.y1 + MASK_MARGIN_PX + 1), kind))
        return out

    def carry_from(self, rgb: np.ndarray, masks: list[FrameMask]) -> None:
        """The frame before the next one and its masks, when they were kept from an earlier run
        instead of found here: the next frame keeps those of them whose pixels it shares, as if
        this redactor had just read that frame."""
        if rgb is not self._prev_masked:
            self._prev_masked, self._prev_masks = rgb, list(masks)

    def masks(self, rgb: np.ndarray) -> list[FrameMask]:
        """Masks for the next frame of the sequence."""
        prev, prev_masks = self._prev_masked, self._prev_masks
        out = self.masks_of(self.text_boxes(rgb))
        if prev is not None and prev.shape == rgb.shape and prev_masks:
            # What an earlier mask hid stays hidden while the frame still shows it: what was judged
            # secret on the last frame is still secret when a menu now covers the label that gave
            # it away, a menu covers part of it, or a scroll moved it half out of view (where OCR
            # no longer reads it).
            rows = changed_rows(rgb, prev)
            dy = _moved(rgb, prev, rows) if rows.size else None
            for mask in prev_masks:
                for shift in {0, dy or 0}:
                    out += [FrameMask(box, mask.kind) for box in _still_shown(rgb, prev, mask.box, shift)
                            if FrameMask(box, mask.kind) not in out]
        self._prev_masked, self._prev_masks = rgb, out
        return out

    def redact_image(self, image: Image.Image) -> tuple[Image.Image, list[str]]:
        """(the image with sensitive text masked, kinds masked); the same image if nothing was found."""
        image = image.convert("RGB")
        masks = self.masks(np.asarray(image))
        return apply_masks(image, masks), sorted({m.kind for m in masks})

    def redact_png(self, png: bytes) -> tuple[bytes, list[str]]:
        """(PNG with sensitive text masked, kinds masked). Returns the input if nothing was found."""
        masks = self.masks(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
        return masked_png(png, masks), sorted({m.kind for m in masks})


def apply_masks(image: Image.Image, masks: list[FrameMask]) -> Image.Image:
    """A copy of ``image`` with every mask painted black (``image`` itself when there are none)."""
    if not masks:
        return image
    image = image.convert("RGB")  # a copy, whatever the mode
    draw = ImageDraw.Draw(image)
    for mask in masks:
        x0, y0, x1, y1 = mask.box
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(0, 0, 0))  # PIL's corners are inclusive
    return image


def masked_png(png: bytes, masks: list[FrameMask]) -> bytes:
    """``png`` with ``masks`` painted black, as PNG; the input itself when there are none."""
    if not masks:
        return png
    buf = io.BytesIO()
    apply_masks(Image.open(io.BytesIO(png)), masks).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# The masks found in a session's frames are kept in a sealed sidecar of the session (see
# ``SessionReader.write_sidecar``), so the export, the replay report, the upload and the evals
# that follow a recording OCR each frame once between them, not once each. Only boxes and kinds
# are kept, no text: the sidecar reveals nothing a frame does not. A box is stored as
# [x0, y0, x1, y1, kind] with x1, y1 its last masked pixel (in memory: a Rect, end exclusive).
# Saved after this many new frames (and when the RedactedFrames goes away), so a killed export
# loses little work.
MASKS_SIDECAR = "frame-masks"
MASKS_SAVE_EVERY = 16


class _MaskCache:
    """The persistent half of ``RedactedFrames``: masks by frame id for this ``redactor_key()``."""

    def __init__(self, reader: Any):
        self._reader = reader
        self.masks: dict[str, list[FrameMask]] = {}
        self.unsaved = 0
        read = getattr(reader, "read_sidecar", None)
        document = read(MASKS_SIDECAR) if read is not None else None
        if isinstance(document, dict) and document.get("version") == redactor_key():
            for frame_id, entries in (document.get("frames") or {}).items():
                try:
                    self.masks[frame_id] = [FrameMask(Rect(int(x0), int(y0), int(x1) + 1, int(y1) + 1), str(kind))
                                            for x0, y0, x1, y1, kind in entries]  # stored: last pixel inclusive
                except (TypeError, ValueError):
                    continue  # a damaged entry: that frame is read again

    def add(self, frame_id: str, masks: list[FrameMask]) -> None:
        self.masks[frame_id] = masks
        self.unsaved += 1
        if self.unsaved >= MASKS_SAVE_EVERY:
            self.save()

    def save(self) -> None:
        write = getattr(self._reader, "write_sidecar", None)
        if not self.unsaved or write is None:
            return
        frames = {fid: [[m.box.x0, m.box.y0, m.box.x1 - 1, m.box.y1 - 1, m.kind] for m in masks]  # last pixel inclusive
                  for fid, masks in self.masks.items()}
        try:
            write(MASKS_SIDECAR, {"version": redactor_key(), "frames": frames})
            self.unsaved = 0
        except OSError:
            pass  # a read-only or full store: the cache is only an optimisation


class RedactedFrames:
    """``session`` is anything with ``reader.frame(frame_id) -> PNG bytes`` (``process.sessions.SessionData``).

    Each frame of a session OCR-redacted once, on first use: what exports, the replay report
    and uploads show. The masks found are kept with the session (``MASKS_SIDECAR``), so later
    commands paint them again instead of reading the frame again.

    A frame's masks do not depend on which frames a command asked for before it: frames are
    read in the session's time order (``session.events``), from the last one whose masks are
    known, which hands its masks on as the redactor would have (a secret masked while its label
    showed stays masked once a menu covers the label). So a report or upload that shows steps an
    export skipped masks them as a pass over the whole session would.

    Masks are keyed by ``redactor_key()`` as well as the frame: a redaction made by another
    version of the redaction logic is never handed out."""

    def __init__(self, session: Any, redactor: FrameRedactor | None = None):
        self._session = session
        self._redactor = redactor
        self._known = _MaskCache(session.reader)
        self._finalizer = weakref.finalize(self, self._known.save)
        self._cache: dict[str, tuple[bytes, list[str]]] = {}
        self._order: dict[str, int] | None = None  # frame id -> place in time order
        self._last: tuple[str, bytes, np.ndarray] | None = None  # the frame last fed to the redactor: id, PNG, pixels
        self.frames_read = 0  # frames OCR-read by this instance (the others' masks were kept)

    def __call__(self, frame_id: str) -> tuple[bytes, list[str]]:
        """(redacted PNG, kinds masked)."""
        if frame_id not in self._cache:
            masks = self._masks(frame_id)
            png = self._last[1] if self._last is not None and self._last[0] == frame_id \
                else self._session.reader.frame(frame_id)
            self._cache[frame_id] = (masked_png(png, masks), sorted({m.kind for m in masks}))
        return self._cache[frame_id]

    def _in_order(self) -> dict[str, int]:
        """Each frame id of the session -> its place in the order the frames were grabbed."""
        if self._order is None:
            events = getattr(self._session, "events", None) or []
            frames = sorted((e for e in events if e.get("kind") == "frame" and e.get("frame")),
                            key=lambda e: e.get("t", 0))
            self._order = {fid: i for i, fid in enumerate(dict.fromkeys(e["frame"] for e in frames))}
        return self._order

    def _rgb(self, frame_id: str) -> np.ndarray:
        if self._last is not None and self._last[0] == frame_id:
            return self._last[2]
        png = self._session.reader.frame(frame_id)
        rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        self._last = (frame_id, png, rgb)
        return rgb

    def _masks(self, frame_id: str) -> list[FrameMask]:
        known = self._known.masks
        if frame_id in known:
            return known[frame_id]
        order = self._in_order()
        place, ids = order.get(frame_id), list(order)
        todo, before = [frame_id], None
        if place is not None:  # back to the last frame whose masks are known, then forward in time
            start = place
            while start > 0 and ids[start - 1] not in known:
                start -= 1
            todo, before = ids[start:place + 1], (ids[start - 1] if start > 0 else None)
        if self._redactor is None:
            self._redactor = FrameRedactor()  # loads the OCR models: only when a frame needs reading
        if before is not None:
            self._redactor.carry_from(self._rgb(before), known[before])
        for fid in todo:
            self._known.add(fid, self._redactor.masks(self._rgb(fid)))
            self.frames_read += 1
        return known[frame_id]

    def use(self, redacted: dict[str, tuple[bytes, list[str]]]) -> None:
        """Frames redacted elsewhere (a collector export's chunks, here or on Ray), handed out as given."""
        self._cache.update(redacted)

    def save(self) -> None:
        """Keep the masks found so far with the session (also done every few frames and at exit)."""
        self._known.save()

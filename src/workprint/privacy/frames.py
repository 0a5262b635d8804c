"""Screenshot redaction on the device: text that OCR finds and the text redactor flags is masked.

OCR is rapidocr-onnxruntime, which ships its models (nothing is downloaded). OCR is the
expensive part, so consecutive frames share work: only the band of rows that changed since
the previous frame is read again, and the previous frame's results outside that band are
kept. Masks are drawn over the sensitive span of a text line (its share of the line's box,
with a margin), not the whole line, so the rest of the screen stays useful.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from workprint.privacy.redact import _iban_ok, find_spans

# OCR drops the spaces between words ("replytojane@example.combefore") and splits long tokens,
# so screen text gets a second, boundary-free look for what the text redactor anchors on words.
_OCR_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}")
_OCR_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_OCR_JWT = re.compile(r"eyJ[\w-]+ ?\. ?eyJ[\w-]+ ?\.[\w\- ]+")


def ocr_spans(text: str) -> list[tuple[int, int, str]]:
    """Spans the text redactor finds, plus what only shows up in OCR'd text."""
    spans = list(find_spans(text))
    spans += [(m.start(), m.end(), "email") for m in _OCR_EMAIL.finditer(text)]
    spans += [(m.start(), m.end(), "jwt") for m in _OCR_JWT.finditer(text)]
    for m in _OCR_IBAN.finditer(text):
        for end in range(m.end(), m.start() + 14, -1):  # the longest prefix with a valid checksum
            if _iban_ok(text[m.start():end]):
                spans.append((m.start(), end, "iban"))
                break
    return spans

# Rows around a change that are read again; the band then grows over every line it touches.
BAND_MARGIN_PX = 6
MASK_MARGIN_PX = 3


@dataclass(frozen=True)
class TextBox:
    x0: int
    y0: int
    x1: int
    y1: int
    text: str


@dataclass
class FrameMask:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    kind: str


def _engine():
    from rapidocr_onnxruntime import RapidOCR

    # "max" keeps a narrow band at its size; the default ("min", 736) would blow a 60-pixel
    # band up to 736 pixels high and make re-reading a changed band slower than a full frame.
    return RapidOCR(det_limit_type="max", det_limit_side_len=1920)


class FrameRedactor:
    """Redacts a sequence of frames; feed consecutive frames of a session in order."""

    def __init__(self) -> None:
        self._ocr = _engine()
        self._prev: np.ndarray | None = None
        self._prev_boxes: list[TextBox] = []
        self.ocr_pixels = 0  # pixels OCR actually read, to measure what reuse saves

    def _read(self, image: np.ndarray, y_offset: int) -> list[TextBox]:
        self.ocr_pixels += image.shape[0] * image.shape[1]
        result, _ = self._ocr(image, use_cls=False)  # screen text is upright
        boxes = []
        for points, text, _score in result or []:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            # NFKC: OCR may return full-width punctuation ("，") that the text redactor does not expect.
            boxes.append(TextBox(int(min(xs)), int(min(ys)) + y_offset, int(max(xs)) + 1, int(max(ys)) + 1 + y_offset,
                                 unicodedata.normalize("NFKC", text)))
        return boxes

    def text_boxes(self, rgb: np.ndarray) -> list[TextBox]:
        """OCR text boxes of a frame, reusing the previous frame's where nothing changed."""
        prev = self._prev
        if prev is None or prev.shape != rgb.shape:
            boxes = self._read(rgb, 0)
        else:
            changed_rows = np.flatnonzero(np.any(rgb != prev, axis=(1, 2)))
            if changed_rows.size == 0:
                boxes = list(self._prev_boxes)
            else:
                y0 = max(0, int(changed_rows[0]) - BAND_MARGIN_PX)
                y1 = min(rgb.shape[0], int(changed_rows[-1]) + 1 + BAND_MARGIN_PX)
                # Never cut a line of text in two: grow the band over the lines it touches (once:
                # growing again would chain through every line of a dense page).
                touched = [b for b in self._prev_boxes if b.y0 < y1 and b.y1 > y0]
                if touched:
                    y0 = max(0, min([y0] + [b.y0 - 2 for b in touched]))
                    y1 = min(rgb.shape[0], max([y1] + [b.y1 + 2 for b in touched]))
                # A line belongs to the band if its middle is inside it: slivers of neighbouring
                # lines read at the band's edges are dropped, and those lines keep their old reading.
                inside = lambda b: y0 <= (b.y0 + b.y1) / 2 < y1  # noqa: E731
                kept = [b for b in self._prev_boxes if not inside(b)]
                boxes = kept + [b for b in self._read(rgb[y0:y1], y0) if inside(b)]
        self._prev, self._prev_boxes = rgb, boxes
        return boxes

    def masks(self, rgb: np.ndarray) -> list[FrameMask]:
        out = []
        for box in self.text_boxes(rgb):
            n = max(len(box.text), 1)
            for start, end, kind in ocr_spans(box.text):
                # The span's share of the line's width, widened by a margin.
                x0 = box.x0 + (box.x1 - box.x0) * start // n - MASK_MARGIN_PX
                x1 = box.x0 + (box.x1 - box.x0) * end // n + MASK_MARGIN_PX
                out.append(FrameMask((max(0, x0), max(0, box.y0 - MASK_MARGIN_PX), x1, box.y1 + MASK_MARGIN_PX), kind))
        return out

    def redact_png(self, png: bytes) -> tuple[bytes, list[str]]:
        """(PNG with sensitive text masked, kinds masked). Returns the input if nothing was found."""
        image = Image.open(io.BytesIO(png)).convert("RGB")
        masks = self.masks(np.asarray(image))
        if not masks:
            return png, []
        draw = ImageDraw.Draw(image)
        for mask in masks:
            draw.rectangle(mask.box, fill=(0, 0, 0))
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=1)
        return buf.getvalue(), sorted({m.kind for m in masks})

"""Screenshot redaction across consecutive frames: what changed is read again, nothing else,
and a secret stays masked in every frame it is on."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from workprint.privacy.frames import FrameRedactor

EMAIL = "jane.doe@example.com"


def _editor(lines: list[str], clock: str = "10:41") -> Image.Image:
    """A 1280×720 editor window with ``lines`` of text and a clock in a top bar."""
    font = ImageFont.load_default(size=20)
    image = Image.new("RGB", (1280, 720), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 28), fill=(40, 40, 48))
    draw.text((1180, 4), clock, fill=(255, 255, 255), font=font)
    draw.rectangle((60, 60, 1220, 680), fill=(255, 255, 255), outline=(120, 120, 120))
    for i, line in enumerate(lines):
        draw.text((80, 80 + i * 30), line, fill=(20, 20, 20), font=font)
    return image


def _email_box(lines: list[str]) -> tuple[int, int, int, int]:
    font = ImageFont.load_default(size=20)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    i = next(n for n, line in enumerate(lines) if EMAIL in line)
    start = lines[i].index(EMAIL)
    x0 = 80 + draw.textlength(lines[i][:start], font=font)
    x1 = 80 + draw.textlength(lines[i][:start + len(EMAIL)], font=font)
    return int(x0) + 2, 80 + i * 30 + 4, int(x1) - 2, 80 + i * 30 + 18


def _masked(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    region = np.asarray(image)[box[1]:box[3], box[0]:box[2]]
    return float(np.all(region < 16, axis=2).mean())


@pytest.fixture(scope="module")
def redactor() -> FrameRedactor:
    return FrameRedactor()


def test_a_typed_line_is_read_and_masked_and_the_rest_is_not_read_again(redactor):
    first = ["release notes for ABC-42 are due on friday", "version 2.3 ships next week"]
    second = first + [f"send the draft to {EMAIL} today"]
    redactor.redact_image(_editor(first))
    read_before = redactor.ocr_pixels
    out, kinds = redactor.redact_image(_editor(second))
    assert "email" in kinds
    assert _masked(out, _email_box(second)) > 0.8
    # Only the band around the new line was read, not the frame.
    assert redactor.ocr_pixels - read_before < 0.1 * 1280 * 720
    # The task text on the other lines is not masked.
    assert _masked(out, (80, 84, 300, 98)) < 0.2

    # A change elsewhere (the clock): the email keeps its reading and stays masked.
    out, kinds = redactor.redact_image(_editor(second, clock="10:42"))
    assert "email" in kinds and _masked(out, _email_box(second)) > 0.8


def test_a_fresh_redactor_reads_a_whole_frame(redactor):
    lines = ["meeting notes", f"contact {EMAIL} for access", "ticket OPS-1234 is closed"]
    out, kinds = FrameRedactor().redact_image(_editor(lines))
    assert "email" in kinds and _masked(out, _email_box(lines)) > 0.8


def test_the_redactors_key_follows_every_file_that_decides_masks(tmp_path):
    """Masks, exports and uploads are keyed by ``redactor_key``: a change to any code or data that
    decides what a frame's masks are (a secret pattern added to the text redactor, another name
    list) re-keys them, even when nobody bumped REDACTOR_VERSION, so older masks are never reused."""
    import shutil
    from pathlib import Path

    import workprint
    from workprint.privacy.frames import MASK_SOURCES, code_digest, redactor_key

    package = tmp_path / "workprint"
    shutil.copytree(Path(workprint.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(package) in redactor_key(), "an unchanged copy keys the same"
    for name in MASK_SOURCES:
        before = code_digest(package)
        with open(package / name, "ab") as f:
            f.write(b"\n")  # any change at all
        assert code_digest(package) != before, f"a change to {name} kept the redactor's key"


def test_every_module_that_decides_masks_is_in_the_key():
    """MASK_SOURCES lists every workprint module the screenshot redactor runs (the text redactor and
    what it calls): a module added to it but not to the list would change masks without re-keying."""
    import subprocess
    import sys
    from pathlib import Path

    import workprint
    from workprint.privacy.frames import MASK_SOURCES

    code = ("import sys, workprint.privacy.frames\n"
            "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('workprint.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    root = Path(workprint.__file__).parent
    deciding = {Path(f).relative_to(root).as_posix() for f in loaded
                if Path(f).parent.name == "privacy" or Path(f).name == "imaging.py"}
    # The package's __init__ and the policy gate come along with the import; they decide no mask.
    deciding -= {"privacy/__init__.py", "privacy/policy.py"}
    assert deciding, "the redactor's own modules were found (so the check means something)"
    assert deciding <= set(MASK_SOURCES), f"not in MASK_SOURCES: {sorted(deciding - set(MASK_SOURCES))}"


PASSWORD_LINE = ["meeting notes for friday", "password: Zebra7Kumquat91", "ticket OPS-1234 is closed"]


def _value_box() -> tuple[int, int, int, int]:
    """Where the password's value is drawn on ``_editor(PASSWORD_LINE)``."""
    font = ImageFont.load_default(size=20)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0 = 80 + draw.textlength("password: ", font=font)
    x1 = 80 + draw.textlength(PASSWORD_LINE[1], font=font)
    return int(x0) + 2, 110 + 4, int(x1) - 2, 110 + 18


def _menu_over_the_label(image: Image.Image) -> Image.Image:
    """A menu dropped over the start of the lines: it hides "password:", not the value after it."""
    font = ImageFont.load_default(size=16)
    image = image.copy()
    draw = ImageDraw.Draw(image)
    right = _value_box()[0] - 12
    draw.rectangle((66, 64, right, 300), fill=(242, 242, 242), outline=(150, 150, 150))
    for i, item in enumerate(["Undo", "Redo", "Cut", "Copy", "Paste"]):
        draw.text((76, 72 + i * 40), item, fill=(30, 30, 30), font=font)
    return image


def _png(image: Image.Image) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _stored_session(home, images: list[Image.Image]) -> list[str]:
    """A session in the real store holding ``images`` as its frames, one second apart; their ids."""
    from workprint.store import Catalog, SessionWriter

    writer = SessionWriter(home, "20261203-120000-abcdef", {"screen": {"w": 1280, "h": 720, "scale": 1.0}})
    ids = []
    for i, image in enumerate(images):
        fid = f"{i + 1:032x}"
        writer.put_frame(fid, _png(image))
        writer.append({"kind": "frame", "t": 1.0 + i, "frame": fid, "stable": True, "w": 1280, "h": 720})
        ids.append(fid)
    writer.flush()
    writer.close()
    catalog = Catalog(home)
    catalog.add(writer.session_id, "2026-12-03T12:00:00Z")
    catalog.update(writer.session_id, events=writer.event_count, frames=len(images), bytes=0, active_s=float(len(images)),
                   ended_at="2026-12-03T12:00:09Z")
    return ids


def test_a_secret_whose_label_a_menu_then_covers_stays_masked_whatever_was_read_before(tmp_path, redactor):
    """A password masked while its label showed stays masked once a menu covers the label (read on
    its own, "Zebra7Kumquat91" is just a word), however the frames are asked for: the frame with
    the label painted from kept masks by an earlier command, or the covered frame asked for first
    (a report or upload of steps an export skipped). Masks never depend on what a command happened
    to read before: each frame is redacted as the session's frames in time order redact it."""
    import numpy as np

    from workprint.privacy.frames import MASKS_SIDECAR, RedactedFrames
    from workprint.process.sessions import load_sessions

    shown = _editor(PASSWORD_LINE)
    covered = _menu_over_the_label(shown)
    assert "password" in redactor.redact_image(shown)[1]
    alone, _ = FrameRedactor().redact_image(covered)
    assert _masked(alone, _value_box()) < 0.2, "read on its own the value is not flagged (so the rest means something)"
    first, second = _stored_session(tmp_path, [shown, covered])

    def load():
        return load_sessions(tmp_path, [])[0]

    earlier = RedactedFrames(load())
    earlier(first)  # one command showed only the frame with the label (and kept its masks)
    earlier.save()
    later = RedactedFrames(load())
    png, kinds = later(second)
    assert later.frames_read == 1, "the earlier frame's masks were kept, only the covered frame was read"
    import io

    assert _masked(Image.open(io.BytesIO(png)).convert("RGB"), _value_box()) > 0.8, \
        "the password stays masked under the menu when the frame before it came from kept masks"

    load().reader.write_sidecar(MASKS_SIDECAR, {"version": "none kept", "frames": {}})
    alone_first = RedactedFrames(load())
    png, kinds = alone_first(second)  # asked for the covered frame before any other
    assert _masked(Image.open(io.BytesIO(png)).convert("RGB"), _value_box()) > 0.8, \
        "the password stays masked under the menu when that frame is asked for first"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(alone_first(second)[0]))), np.asarray(Image.open(io.BytesIO(png))))


def _small_window(lines: list[str], caret_line: int | None = None) -> Image.Image:
    """A 1280×720 screen with a short editor window (260 rows, far less than half the screen)
    showing ``lines`` from its top, and a static panel below it."""
    font = ImageFont.load_default(size=18)
    image = Image.new("RGB", (1280, 720), (40, 44, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 40, 900, 300), fill=(255, 255, 255), outline=(120, 120, 120))
    for i, line in enumerate(lines[:9]):
        draw.text((112, 50 + i * 27), line, fill=(20, 20, 20), font=font)
    if caret_line is not None:
        draw.line((112, 50 + caret_line * 27, 112, 50 + caret_line * 27 + 18), fill=(0, 0, 0))
    draw.text((110, 660), "panel: 3 windows open", fill=(230, 230, 230), font=font)
    return image


def test_a_scroll_or_moved_window_is_read_whole_however_few_rows_it_changes():
    """Fail closed: when what the changed rows show was on other rows before (text scrolled by a
    line, a window moved), earlier readings cannot be matched to the frame, so it is read whole,
    as a fresh redactor would, even when the change covers far less than half the screen. Typing
    on a line, or a caret moving, is still read incrementally."""
    lines = [f"note {i}: the weekly report is due on friday" for i in range(12)]
    redactor = FrameRedactor()
    redactor.masks(np.asarray(_small_window(lines)))
    assert redactor.whole_reads == 1, "a first frame is read whole"

    typed = lines[:3] + [lines[3] + " today"] + lines[4:]
    redactor.masks(np.asarray(_small_window(typed)))
    redactor.masks(np.asarray(_small_window(typed, caret_line=4)))
    redactor.masks(np.asarray(_small_window(typed, caret_line=5)))
    assert redactor.whole_reads == 1, "typing on a line and a caret moving are read incrementally"

    redactor.masks(np.asarray(_small_window(typed[1:], caret_line=4)))  # scrolled by one line
    assert redactor.whole_reads == 2, "a scroll is read whole"

    moved = Image.new("RGB", (1280, 720), (40, 44, 52))
    moved.paste(_small_window(typed[1:]).crop((100, 40, 901, 301)), (100, 80))  # the window moved down
    ImageDraw.Draw(moved).text((110, 660), "panel: 3 windows open", fill=(230, 230, 230),
                               font=ImageFont.load_default(size=18))
    redactor.masks(np.asarray(moved))
    assert redactor.whole_reads == 3, "a moved window is read whole"


def _scrolled_window(lines: list[str], offset: int) -> Image.Image:
    """``_small_window``'s editor with its text scrolled up by ``offset`` pixels: the top line
    is cut by the window's edge, as a wheel scroll leaves it."""
    font = ImageFont.load_default(size=18)
    text = Image.new("RGB", (790, 27 * len(lines) + 20), (255, 255, 255))
    draw = ImageDraw.Draw(text)
    for i, line in enumerate(lines):
        draw.text((11, 10 + i * 27), line, fill=(20, 20, 20), font=font)
    image = _small_window([])
    image.paste(text.crop((0, offset, 790, offset + 250)), (105, 45))
    return image


def test_a_secret_half_scrolled_out_of_view_stays_masked():
    """Scrolled so the window's edge cuts the e-mail's line in half: the half still showing is
    read poorly by OCR (not flagged on its own), yet it is the e-mail; its mask from the frame
    before moves with the text."""
    lines = [f"send it to {EMAIL} now"] + [f"note {i}: the weekly report is due on friday" for i in range(10)]
    full, cut = _scrolled_window(lines, 0), _scrolled_window(lines, 22)  # the line's glyphs: rows 60-76, then 38-54
    assert not FrameRedactor().redact_image(cut)[1], "read on its own the cut line is not flagged (so this means something)"
    redactor = FrameRedactor()
    assert "email" in redactor.redact_image(full)[1]
    out, _ = redactor.redact_image(cut)
    font = ImageFont.load_default(size=18)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0 = 116 + int(draw.textlength("send it to ", font=font)) + 2
    x1 = 116 + int(draw.textlength(f"send it to {EMAIL}", font=font)) - 2
    showing = (x0, 45, x1, 55)  # the rows of the line still inside the window
    assert _masked(out, showing) > 0.8, "the half of the e-mail still showing is masked"

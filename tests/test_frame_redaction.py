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


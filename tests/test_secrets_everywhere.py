"""Adversarial: secrets in a window title and on screen are in no output (store, actions, exports)."""

from __future__ import annotations

import io
import json
import time

import numpy as np
from PIL import Image

from tests.conftest import Recording, actions_json, has_event, has_frame_after, wait_logged, workprint
from workprint.store import SessionReader

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


def test_secrets_in_title_and_on_screen(desk, home, tmp_path):
    from workprint.privacy.frames import FrameRedactor

    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / f"card {CARD} for {EMAIL}.txt"
    doc.write_text(f"Send the invoice to {EMAIL} today.\n")
    desk.spawn(["mousepad", str(doc)])
    wid = desk.wait_window("mousepad")
    time.sleep(1.5)
    rec = Recording(desk, home)
    desk.activate(wid)
    desk.xdotool("key", "ctrl+End")
    wait_logged(home, rec.session, has_event("key_down", key="end"), "ctrl+end")
    desk.xdotool("type", "--delay", 60, "ok")
    wait_logged(home, rec.session, has_frame_after("typed", text="ok"), "the typing run and the frame after it")
    code, out, err = rec.stop()
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    actions = actions_json(rec.env, session)
    assert any(a.get("window", "").endswith("- Mousepad") and "[CARD]" in a["window"] for a in actions)
    export = tmp_path / "export"
    workprint("export", session, "--format", "opencua", "--out", str(export), "--quiet", "--allow-empty-instruction",
              env=rec.env)
    texts = [json.dumps(SessionReader(home, session).events()), json.dumps(actions)]
    texts += [p.read_text() for p in export.rglob("*.json*")] + [(export / "README.md").read_text()]
    assert (export / "train.jsonl").exists(), "the export holds the session (so searching it means something)"
    for text in texts:
        assert EMAIL not in text and "jane.doe" not in text
        assert CARD not in text and "4111111111111111" not in text
    reader = SessionReader(home, session)
    ocr = FrameRedactor()
    raw = Image.open(io.BytesIO(reader.frame(actions[-1]["frame"]))).convert("RGB")
    seen = " ".join(b.text for b in ocr.text_boxes(np.asarray(raw))).replace(" ", "")
    assert "jane.doe" in seen, "the stored frame shows the e-mail (so the export check below means something)"
    exported = list((export / "images").glob("*.png"))
    assert exported, "the export has screenshots to search"
    for image in exported:
        found = " ".join(b.text for b in FrameRedactor().text_boxes(np.asarray(Image.open(image).convert("RGB"))))
        assert "jane.doe" not in found.replace(" ", ""), f"{image.name} shows the e-mail"

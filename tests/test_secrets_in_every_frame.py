"""Adversarial, over whole sessions: secrets typed early in a real mousepad session stay masked
on every frame after them, in every output (hf, opencua, chat, the replay report, and what
`workprint upload` sends), not only on the frame right after they were typed.

A recording types an e-mail, `password: <value>` and a card number, then twelve more lines,
clicks, scrolls, opens a menu over the text, switches to a terminal, moves it over the labels
(`password:` hidden, its value not) and switches back. The stored
frames show the secrets (checked, so the test means something); every frame of every output
is read by OCR and none may show them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.secret_session import frames_in_order, leaks, record_secret_session
from tests.test_collector import Server
from workprint.demo.desktop import VirtualDesktop


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with VirtualDesktop() as desk:
        env, sid = record_secret_session(desk, home)
    return {"home": home, "env": env, "id": sid}


@pytest.fixture(scope="module")
def ocr():
    from workprint.privacy.frames import FrameRedactor

    return FrameRedactor()


def workprint(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real command line, given the time OCR of a whole session takes on a busy machine."""
    out = subprocess.run([sys.executable, "-m", "workprint", *args], env=env, capture_output=True, text=True,
                         timeout=1800)
    assert out.returncode == 0, f"workprint {' '.join(args)} exited {out.returncode}: {out.stderr}"
    return out


def _masked_area(masks, shape) -> np.ndarray:
    area = np.zeros(shape[:2], dtype=bool)
    for m in masks:
        x0, y0, x1, y1 = m.box
        area[max(0, y0):y1, max(0, x0):x1] = True
    return area


def test_incremental_masks_cover_a_fresh_redactors_on_every_frame(session):
    """The invariant: feeding frames in order never masks less than reading each frame afresh."""
    from workprint.privacy.frames import MASK_MARGIN_PX, FrameRedactor

    from workprint.process.sessions import load_sessions

    frames = frames_in_order(session["home"], session["id"])
    assert len(frames) >= 10
    # The recording holds the sequences the invariant must survive (their frames are among those checked).
    actions = load_sessions(session["home"], [session["id"]])[0].actions
    first_secret = next(i for i, a in enumerate(actions) if a["type"] == "type" and "[EMAIL]" in a.get("text", ""))
    cases = {
        "typing after the secrets": any(a["type"] == "type" and "note" in a.get("text", "") for a in actions[first_secret:]),
        "a scroll that moved the text": any(a["type"] == "scroll" and a.get("frame") != a.get("frame_after")
                                            for a in actions),
        "a menu opened over the text": any((a.get("target") or {}).get("role") == "menu" for a in actions),
        "a switch to another window": any(a.get("app") == "xterm" for a in actions),
    }
    assert all(cases.values()), f"missing from the recording: {[k for k, v in cases.items() if not v]}"
    incremental, fresh = FrameRedactor(), FrameRedactor()
    with_secrets = 0
    for i, rgb in enumerate(frames):
        ours = incremental.masks(rgb)
        theirs = FrameRedactor.masks_of(fresh.read_whole(rgb))
        with_secrets += bool(theirs)
        covered = _masked_area(ours, rgb.shape)
        for mask in theirs:
            # The mask's inside (its margin aside: the two readings' boxes differ by a pixel or two).
            x0, y0, x1, y1 = (v + d for v, d in zip(mask.box, (MASK_MARGIN_PX, MASK_MARGIN_PX, -MASK_MARGIN_PX,
                                                               -MASK_MARGIN_PX)))
            share = covered[max(0, y0):y1, max(0, x0):x1].mean()
            assert share >= 0.98, f"frame {i}: a fresh read masks {mask.kind} at {mask.box}, the incremental " \
                                  f"path covers {share:.0%} of it"
    assert with_secrets >= len(frames) // 2, "most frames show a secret (so the check above means something)"


def _export_images(out: Path, fmt: str) -> list[bytes]:
    """Every image an export holds: files for opencua, the parquet column for hf, inline data URLs for chat."""
    if fmt == "hf":
        import pyarrow.parquet as pq

        images = []
        for path in sorted((out / "data").rglob("*.parquet")):
            images += [cell["bytes"] for cell in pq.read_table(path, columns=["image"]).column("image").to_pylist()
                       if cell and cell.get("bytes")]
        return images
    if fmt == "chat":
        return [image for path in sorted(out.rglob("*.jsonl")) for image in _report_images(path.read_text())]
    return [p.read_bytes() for p in sorted((out / "images").glob("*.png"))]


def _report_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/\w+;base64,([A-Za-z0-9+/=]+)", html)]


def _ocr_leaks(ocr, blobs: list[bytes], seen: dict[str, list[str]]) -> list[str]:
    """The secrets OCR finds on each image (cached by content: exports share their frames)."""
    found = []
    for blob in blobs:
        digest = hashlib.sha256(blob).hexdigest()
        if digest not in seen:
            rgb = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))
            seen[digest] = leaks(" ".join(b.text for b in ocr.read_whole(rgb)))
        found += [f"{digest[:10]}: {kind}" for kind in seen[digest]]
    return found


def test_no_output_shows_the_secrets_on_any_frame(session, ocr, tmp_path):
    env, sid, home = session["env"], session["id"], session["home"]
    seen: dict[str, list[str]] = {}
    stored = [np.asarray(f) for f in frames_in_order(home, sid)]
    shown = [leaks(" ".join(b.text for b in ocr.read_whole(rgb))) for rgb in stored]
    for kind in ("email", "password", "card"):
        assert sum(kind in s for s in shown) >= 3, f"the stored frames show the {kind} (so the test means something)"

    outputs: dict[str, list[bytes]] = {}
    for fmt in ("hf", "opencua", "chat"):
        out = tmp_path / fmt
        workprint("export", sid, "--format", fmt, "--out", str(out), "--allow-empty-instruction", "--quiet", env=env)
        outputs[fmt] = _export_images(out, fmt)
    report = tmp_path / "replay.html"
    workprint("report", sid, "--out", str(report), "--quiet", env=env)
    outputs["report"] = _report_images(report.read_text())

    server = Server(tmp_path / "collector")
    server.start()
    try:
        workprint("enrol", server.url, server.code(), env=env)
        workprint("consent", "accept", "--yes", env=env)  # enrolling is not agreeing to send
        workprint("review", "--approve", sid, env=env)
        workprint("upload", sid, env=env)
        curator = server.token("curator")
        manifest = httpx.get(f"{server.url}/v1/sessions/{sid}", headers=curator).json()
        outputs["upload"] = [httpx.get(f"{server.url}/v1/blobs/{d}", headers=curator).content
                             for d in sorted(set(manifest["frames"].values()))]
    finally:
        server.kill()

    for name, blobs in outputs.items():
        assert blobs, f"{name}: no frames to check"
        found = _ocr_leaks(ocr, blobs, seen)
        assert not found, f"{name} shows secrets on {len(found)} frame(s): {found}"


def test_exports_and_uploads_made_by_an_older_redactor_are_redone(session, tmp_path):
    """A session exported or uploaded before a redaction fix is redacted again on the next run."""
    import workprint.process.sessions as steps  # where the fingerprint reads the redactor's version
    from workprint.process.sessions import load_sessions

    env, sid, home = session["env"], session["id"], session["home"]
    out = tmp_path / "opencua"
    workprint("export", sid, "--format", "opencua", "--out", str(out), "--allow-empty-instruction", "--quiet", env=env)
    again = workprint("export", sid, "--format", "opencua", "--out", str(out), "--allow-empty-instruction", "--quiet", env=env)
    assert "(0 written, 1 unchanged)" in again.stderr, "an unchanged session is skipped (so the rest means something)"

    # Rewind the export to what an older redactor wrote: its fingerprint, and a frame in clear.
    current = steps.redactor_key
    steps.redactor_key = lambda: "1-an-older-redactor"
    try:
        old_fingerprint = load_sessions(home, [sid])[0].fingerprint
    finally:
        steps.redactor_key = current
    assert old_fingerprint != load_sessions(home, [sid])[0].fingerprint
    manifest_path = out / "workprint-manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sessions"][sid]["fingerprint"] = old_fingerprint
    manifest_path.write_text(json.dumps(manifest))
    leaked = sorted((out / "images").glob("*.png"))[-1]
    from workprint.store import SessionReader

    clear = SessionReader(home, sid).frame(leaked.stem)
    redacted = leaked.read_bytes()
    assert clear != redacted, "the frame was masked by this redactor"
    leaked.write_bytes(clear)
    redone = workprint("export", sid, "--format", "opencua", "--out", str(out), "--allow-empty-instruction", "--quiet", env=env)
    assert "(1 written, 0 unchanged)" in redone.stderr
    assert leaked.read_bytes() == redacted, "the older export's frame was redacted again"


def test_masks_kept_with_the_session_are_reused_and_an_older_redactors_are_not(session):
    """The masks OCR found are kept (sealed) with the session, so the export, report and upload
    after a recording read each frame once between them; masks kept by an older redactor are
    never reused."""
    from workprint.privacy.frames import MASKS_SIDECAR, RedactedFrames
    from workprint.process.sessions import load_sessions

    data = load_sessions(session["home"], [session["id"]])[0]
    frame_ids = list(dict.fromkeys(e["frame"] for e in data.events if e.get("kind") == "frame"))
    assert len(frame_ids) > 10
    first = RedactedFrames(data)
    masked = {fid: first(fid) for fid in frame_ids}
    first.save()
    assert any(kinds for _, kinds in masked.values()), "the secrets were found on some frames"

    again = RedactedFrames(load_sessions(session["home"], [session["id"]])[0])
    assert [again(fid) for fid in frame_ids] == [masked[fid] for fid in frame_ids]
    assert again.frames_read == 0, "the kept masks were painted again, no frame was read again"

    # An older redactor's masks (here: none at all) must not be handed out as this version's.
    data.reader.write_sidecar(MASKS_SIDECAR, {"version": "1-an-older-redactor", "frames": {f: [] for f in frame_ids}})
    redone = RedactedFrames(load_sessions(session["home"], [session["id"]])[0])
    assert [redone(fid)[1] for fid in frame_ids] == [masked[fid][1] for fid in frame_ids]
    assert redone.frames_read == len(frame_ids)


def test_masks_kept_by_a_workprint_whose_text_redactor_differs_are_not_reused(session, tmp_path):
    """The kept masks follow the code that decided them, not only REDACTOR_VERSION: a workprint
    whose text redactor differs (here by one byte; in life a new secret pattern nobody bumped the
    version for) reads every frame again instead of painting the older masks."""
    import shutil

    import workprint
    from workprint.privacy.frames import RedactedFrames
    from workprint.process.sessions import load_sessions

    data = load_sessions(session["home"], [session["id"]])[0]
    frame_ids = list(dict.fromkeys(e["frame"] for e in data.events if e.get("kind") == "frame"))[:3]
    first = RedactedFrames(data)
    [first(fid) for fid in frame_ids]
    first.save()
    again = RedactedFrames(load_sessions(session["home"], [session["id"]])[0])
    [again(fid) for fid in frame_ids]
    assert again.frames_read == 0, "this workprint reuses its own kept masks (so the rest means something)"

    other = tmp_path / "src" / "workprint"
    shutil.copytree(Path(workprint.__file__).parent, other, ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "privacy" / "redact.py", "a") as f:
        f.write("\n# a later text redactor\n")
    code = ("import sys\nfrom pathlib import Path\nfrom workprint.privacy.frames import RedactedFrames\n"
            "from workprint.process.sessions import load_sessions\n"
            "frames = RedactedFrames(load_sessions(Path(sys.argv[1]), [sys.argv[2]])[0])\n"
            "[frames(f) for f in sys.argv[3:]]\nprint(frames.frames_read)\n")
    env = {**session["env"], "PYTHONPATH": str(other.parent)}
    out = subprocess.run([sys.executable, "-c", code, str(session["home"]), session["id"], *frame_ids], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) == len(frame_ids), "the other redactor read every frame again"

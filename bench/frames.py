"""Frame storage: workprint's codec against a PNG per action and an x264 screen recording.

Replays a scripted desktop workload on a 1920×1080 virtual screen while `workprint record`
runs — typing in an editor, scrolling a long document, switching windows, a browser page —
then stores the same frames three ways and prints, per active hour: MB, encode CPU-seconds,
and legibility (OCR of stored frames against OCR of the originals, as the share of
characters recovered).

  (a) png:  one PNG per action (Pillow defaults), what simple recorders do
  (b) x264: FFmpeg libx264 at 2 fps, yuv444p, -tune stillimage, what video recorders do
  (c) workprint: the session's own frame store (default codec)

    .venv/bin/python bench/frames.py [--minutes 10]     # needs ffmpeg (apt-get install ffmpeg)
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from workprint.demo.desktop import VirtualDesktop
from workprint.demo.recording import Recording
from workprint.process import derive_actions
from workprint.store import SessionReader
from workprint.store.framecodec import CODECS

PAGE = """<!doctype html><title>Quarterly report</title><body style="font:16px sans-serif;margin:40px">
<h1>Quarterly operations report</h1>""" + "".join(
    f"<p>Section {i}: ticket OPS-{1000 + i} was resolved in {i % 7 + 1} days; the median response time "
    f"fell to {20 + i % 9} minutes and {i * 3} requests were closed.</p>" for i in range(60)) + "</body>"

PARAGRAPH = ("The release notes for version 2.4 list every change since the last sprint. "
             "Ticket ABC-{n} tracks the remaining work on the export pipeline.\n")


def workload(desk: VirtualDesktop, minutes: float, pad: int, term: int, browser: int) -> None:
    end = time.monotonic() + minutes * 60
    n = 0
    while time.monotonic() < end:
        n += 1
        desk.activate(pad)
        desk.xdotool("type", "--delay", 120, PARAGRAPH.format(n=100 + n))
        time.sleep(1.5)
        desk.xdotool("key", "ctrl+Home")
        for _ in range(6):
            desk.xdotool("click", 5)
            time.sleep(0.5)
        desk.activate(term)
        desk.xdotool("type", "--delay", 100, f"ls -la /tmp | head -{n % 9 + 3}\n")
        time.sleep(1.5)
        desk.activate(browser)
        for _ in range(5):
            desk.xdotool("click", 5)
            time.sleep(0.6)
        time.sleep(1.0)


def ocr_text(rgb: np.ndarray, engine) -> str:
    result, _ = engine(rgb, use_cls=False)
    return " ".join(r[1] for r in result or [])


def recovered(original: str, stored: str) -> float:
    if not original:
        return 1.0
    blocks = difflib.SequenceMatcher(None, original, stored, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) / len(original)


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--ocr-samples", type=int, default=12)
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        print("needs ffmpeg: apt-get install ffmpeg", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="workprint-bench-frames-"))
    home = work / "home"
    home.mkdir()
    (work / "page.html").write_text(PAGE)
    with VirtualDesktop(1920, 1080) as desk:
        desk.spawn(["mousepad"])
        pad = desk.wait_window("mousepad")
        desk.xdotool("windowsize", pad, 1300, 900)
        desk.spawn(["xterm", "-geometry", "100x30+900+500"])
        term = desk.wait_window("xterm")
        desk.spawn(["chromium", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", f"--user-data-dir={work / 'chromium'}",
                    "--window-position=100,60", "--window-size=1500,950", (work / "page.html").as_uri()])
        browser = desk.wait_window("chromium", timeout=60)
        time.sleep(3)
        rec = Recording(desk, home)
        env = rec.env
        workload(desk, args.minutes, pad, term, browser)
        _, out, _ = rec.stop()
    session = out.strip().splitlines()[-1]
    reader = SessionReader(home, session)
    events = reader.events()
    actions = derive_actions(events)
    row = json.loads(subprocess.run([sys.executable, "-m", "workprint", "sessions", "--json"], env=env,
                                    capture_output=True, text=True).stdout.splitlines()[-1])
    hours = row["active_s"] / 3600
    kept = sorted((e["t"], e["frame"]) for e in events if e["kind"] == "frame")
    originals: dict[str, np.ndarray] = {}
    for _, fid in kept:
        if fid not in originals:
            originals[fid] = np.asarray(Image.open(io.BytesIO(reader.frame(fid))).convert("RGB"))
    print(f"workload: {args.minutes:.0f} min scripted, {row['active_s']:.0f} s active, {len(actions)} actions, "
          f"{len(kept)} kept frames ({len(originals)} distinct) at 1920x1080")

    # (a) a PNG per action
    t0 = time.process_time()
    png_bytes = 0
    for action in actions:
        if action.get("frame") in originals:
            buf = io.BytesIO()
            Image.fromarray(originals[action["frame"]]).save(buf, format="PNG")
            png_bytes += buf.tell()
    png_cpu = time.process_time() - t0

    # (b) x264 at 2 fps over the session: each video frame is the screen as last kept
    fps = 2
    duration = kept[-1][0] - kept[0][0] + 1
    video = work / "screen.mp4"
    c0 = cpu_children()
    ff = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "1920x1080",
                           "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
                           "-crf", "20", "-pix_fmt", "yuv444p", str(video)], stdin=subprocess.PIPE)
    i = 0
    for k in range(int(duration * fps)):
        t = kept[0][0] + k / fps
        while i + 1 < len(kept) and kept[i + 1][0] <= t:
            i += 1
        ff.stdin.write(originals[kept[i][1]].tobytes())
    ff.stdin.close()
    ff.wait()
    x264_cpu = cpu_children() - c0
    x264_bytes = video.stat().st_size

    # (c) workprint's store: bytes on disk, and the codec's CPU re-encoding the same sequence
    ours_bytes = sum(p.stat().st_size for p in (reader.dir / "frames").glob("*.frame"))
    codec = CODECS["patch"]()
    t0 = time.process_time()
    for _, fid in kept:
        codec.encode(originals[fid])
    ours_cpu = time.process_time() - t0

    # Legibility on a sample of action frames
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(det_limit_type="max", det_limit_side_len=1920)
    sample = [a for a in actions if a.get("frame") in originals]
    sample = sample[:: max(1, len(sample) // args.ocr_samples)][: args.ocr_samples]
    x264_scores, ours_scores = [], []
    for action in sample:
        original = originals[action["frame"]]
        text = ocr_text(original, engine)
        t = max(0.0, next(tk for tk, fid in kept if fid == action["frame"]) - kept[0][0] + 0.25)
        raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True).stdout
        decoded = np.frombuffer(raw, dtype=np.uint8).reshape(1080, 1920, 3) if len(raw) == 1920 * 1080 * 3 else None
        x264_scores.append(recovered(text, ocr_text(decoded, engine)) if decoded is not None else 0.0)
        stored = np.asarray(Image.open(io.BytesIO(reader.frame(action["frame"]))).convert("RGB"))
        ours_scores.append(1.0 if np.array_equal(stored, original) else recovered(text, ocr_text(stored, engine)))

    def line(name, size, cpu, legible):
        print(f"{name:<12} {size / 1e6 / hours:>10.1f} {cpu / hours:>14.1f} {legible * 100:>13.1f}%")

    print(f"{'store':<12} {'MB/act.hr':>10} {'encode CPU-s/h':>14} {'chars recov.':>14}")
    line("(a) png", png_bytes, png_cpu, 1.0)
    line("(b) x264", x264_bytes, x264_cpu, float(np.mean(x264_scores)) if x264_scores else 0.0)
    line("(c) workprint", ours_bytes, ours_cpu, float(np.mean(ours_scores)) if ours_scores else 0.0)
    print(f"workprint vs png: {png_bytes / max(ours_bytes, 1):.1f}x smaller; encode cost "
          f"{ours_cpu / (row['active_s'] or 1) * 100:.2f}% of one core while recording")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

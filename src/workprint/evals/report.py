"""What a person reads after a run: results.json, the HTML report, and the comparison of two runs.

The report is one self-contained page (images inline, no scripts from anywhere): a bar chart
of step success per interaction type, with the thresholds it was scored under, and a gallery
of the failed steps, each frame with the gold box (green), the gold point (green cross) and
the predicted point or drag (red) drawn on it, filterable by interaction type.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, cast

from PIL import Image, ImageDraw

from workprint.evals.score import Verdict
from workprint.vocabulary import Action, rect_of_bbox

GALLERY_WIDTH = 640
RESULTS_FILE = "results.json"


def _thumb(path: Path, step: dict[str, Any], verdict: Verdict) -> str | None:
    """The frame, scaled to GALLERY_WIDTH, with gold and prediction drawn; a JPEG data URL."""
    try:
        image = Image.open(path).convert("RGB")
    except OSError:
        return None
    screen = step.get("screen") or {}
    sw = float(screen.get("w") or image.width)
    sh = float(screen.get("h") or image.height)
    scale = GALLERY_WIDTH / image.width
    image = image.resize((GALLERY_WIDTH, max(1, round(image.height * scale))), Image.Resampling.BILINEAR)
    fx, fy = image.width / sw, image.height / sh
    draw = ImageDraw.Draw(image)
    gold, pred = step["gold"], cast(dict[str, Any], verdict.predicted or {})
    box = rect_of_bbox((step.get("target") or {}).get("bbox"))
    if box:
        draw.rectangle([box.x0 * fx, box.y0 * fy, box.x1 * fx, box.y1 * fy], outline=(0, 200, 0), width=3)
    if isinstance(gold.get("x"), (int, float)):
        gx, gy = gold["x"] * fx, gold["y"] * fy
        draw.line([gx - 7, gy, gx + 7, gy], fill=(0, 200, 0), width=2)
        draw.line([gx, gy - 7, gx, gy + 7], fill=(0, 200, 0), width=2)
        if isinstance(gold.get("x2"), (int, float)):
            draw.line([gx, gy, gold["x2"] * fx, gold["y2"] * fy], fill=(0, 200, 0), width=2)
    if isinstance(pred.get("x"), (int, float)) and isinstance(pred.get("y"), (int, float)):
        px, py = pred["x"] * fx, pred["y"] * fy
        if isinstance(pred.get("x2"), (int, float)):
            draw.line([px, py, pred["x2"] * fx, pred["y2"] * fy], fill=(230, 0, 0), width=2)
        draw.ellipse([px - 6, py - 6, px + 6, py + 6], outline=(230, 0, 0), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _action_json(action: Action | None) -> str:
    if not action:
        return "(no usable prediction)"
    fields: dict[str, Any] = dict(action)
    keep = {k: fields[k] for k in ("type", "x", "y", "x2", "y2", "dx", "dy", "text", "keys", "label", "url")
            if k in fields}
    return json.dumps(keep, ensure_ascii=False)


def _bars(results: dict[str, Any]) -> str:
    rows = list(results["by_interaction"].items())
    width, bar_h, gap, left = 560, 22, 8, 120
    height = len(rows) * (bar_h + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
             'role="img" aria-label="step success per interaction">']
    for i, (kind, row) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        value = row["step_success"] or 0.0
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{html.escape(kind)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{width}" height="{bar_h}" fill="#eee"/>')
        parts.append(f'<rect class="bar" data-kind="{html.escape(kind)}" x="{left}" y="{y}" '
                     f'width="{value * width:.1f}" height="{bar_h}" fill="#3465a4"/>')
        parts.append(f'<text x="{left + width + 8}" y="{y + 16}">{value:.2f} ({row["steps"]} steps)</text>')
    parts.append(f'<text x="{left}" y="{height - 4}" fill="#666">0</text>'
                 f'<text x="{left + width}" y="{height - 4}" text-anchor="end" fill="#666">1</text></svg>')
    return "".join(parts)


def write_report(out: Path, directory: Path, steps: list[dict[str, Any]], results: dict[str, Any],
                 verdicts: list[Verdict], title: str = "workprint eval", gallery_max: int = 300) -> Path:
    by_id = {s["id"]: s for s in steps}
    failed = [v for v in verdicts if not v.success]
    cards = []
    for v in failed[:gallery_max]:
        step = by_id[v.id]
        src = _thumb(directory / step["image"], step, v)
        img = f'<img src="{src}" alt="frame of step {html.escape(v.id)}">' if src else "<p>(frame missing)</p>"
        target = step.get("target") or {}
        cards.append(
            f'<figure class="card" data-kind="{html.escape(v.interaction)}">{img}<figcaption>'
            f'<b>{html.escape(v.interaction)}</b> · step {html.escape(v.id)}'
            f'{" · corrected by a person" if v.intervention else ""}<br>'
            f'task: {html.escape(step.get("instruction") or "(none)")}<br>'
            f'gold: {html.escape(_action_json(step["gold"]))}'
            f'{" on " + html.escape(str(target.get("role"))) + " " + html.escape(repr(target.get("name"))) if target else ""}<br>'
            f'predicted: {html.escape(_action_json(v.predicted))}<br><i>{html.escape(v.why)}</i></figcaption></figure>')
    kinds = sorted({v.interaction for v in failed})
    buttons = "".join(f'<button data-kind="{html.escape(k)}">{html.escape(k)} '
                      f'({sum(v.interaction == k for v in failed)})</button>' for k in kinds)
    t = results["thresholds"]
    o = results["overall"]

    def num(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{r['steps']}</td><td>{num(r['step_success'])}</td>"
                    f"<td>{num(r['type_match'])}</td><td>{num(r['grounding_distance'])}</td></tr>"
                    for k, r in results["by_interaction"].items())
    i = results.get("interventions") or {}
    corrected = (f'<p class="regression">Where a person corrected an agent (the regression set): {i["steps"]} steps, '
                 f'step success <b>{num(i["step_success"])}</b>, type match {num(i["type_match"])}.</p>'
                 if i.get("steps") else "")
    more = (f"<p>Showing {gallery_max} of {len(failed)} failed steps.</p>" if len(failed) > gallery_max else "")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.gallery{{display:flex;flex-wrap:wrap;gap:16px}} .card{{margin:0;width:{GALLERY_WIDTH}px;border:1px solid #ccc;padding:6px}}
.card img{{width:100%;display:block}} figcaption{{font-size:12px;word-break:break-all}} button{{margin:2px}}
button.on{{background:#3465a4;color:#fff}} .thr{{background:#ffd;padding:4px 8px;display:inline-block}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="thr">Thresholds: click_radius={t['click_radius']:g} (of the screen diagonal, when a step has no target box),
text_threshold={t['text_threshold']:g} (edit similarity)</p>
<p>{o['steps']} steps, step success <b>{num(o['step_success'])}</b>, type match {num(o['type_match'])},
grounding distance {num(o['grounding_distance'])}; {o['episodes']} episodes, all steps right in {num(o['episode_success'])}.</p>
{corrected}
<h2>Step success per interaction</h2>{_bars(results)}
<table><tr><th>interaction</th><th>steps</th><th>step success</th><th>type match</th><th>grounding distance</th></tr>
{table}</table>
<h2>Failed steps ({len(failed)})</h2><p>Green: the gold target box and point. Red: the prediction.</p>
<div id="filters"><button data-kind="" class="on">all</button>{buttons}</div>{more}
<div class="gallery">{"".join(cards)}</div>
<script>
document.querySelectorAll('#filters button').forEach(b => b.addEventListener('click', () => {{
  document.querySelectorAll('#filters button').forEach(x => x.classList.toggle('on', x === b));
  const k = b.dataset.kind;
  document.querySelectorAll('.card').forEach(c => c.style.display = (!k || c.dataset.kind === k) ? '' : 'none');
}}));
</script></body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def load_results(path: Path) -> dict[str, Any]:
    file = path / RESULTS_FILE if path.is_dir() else path
    try:
        return json.loads(file.read_text())
    except FileNotFoundError:
        raise ValueError(f"{file}: no results here; give the --out folder of `workprint eval run` or `eval score`"
                         ) from None
    except ValueError as exc:
        raise ValueError(f"{file}: not a results.json ({exc})") from None


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A per-type table of B minus A, for tracking an agent across checkpoints."""
    def num(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    def diff(x: Any, y: Any) -> str:
        return "-" if x is None or y is None else f"{y - x:+.3f}"

    lines = []
    if a.get("thresholds") != b.get("thresholds"):
        lines.append(f"warning: scored with different thresholds: {a.get('thresholds')} vs {b.get('thresholds')}")
    ta = a.get("thresholds", {})
    lines.append(f"thresholds: click_radius={ta.get('click_radius')} text_threshold={ta.get('text_threshold')}")
    lines.append(f"{'interaction':<13} {'steps':>11} {'success A':>10} {'success B':>10} {'diff':>7} "
                 f"{'type A':>7} {'type B':>7} {'diff':>7}")
    kinds = list(a["by_interaction"]) + [k for k in b["by_interaction"] if k not in a["by_interaction"]]
    rows = [(k, a["by_interaction"].get(k), b["by_interaction"].get(k)) for k in kinds]
    rows.append(("overall", a["overall"], b["overall"]))
    for kind, ra, rb in rows:
        ra, rb = ra or {}, rb or {}
        steps = f"{ra.get('steps', 0)}/{rb.get('steps', 0)}"
        lines.append(f"{kind:<13} {steps:>11} {num(ra.get('step_success')):>10} {num(rb.get('step_success')):>10} "
                     f"{diff(ra.get('step_success'), rb.get('step_success')):>7} {num(ra.get('type_match')):>7} "
                     f"{num(rb.get('type_match')):>7} {diff(ra.get('type_match'), rb.get('type_match')):>7}")
    ea, eb = a["overall"].get("episode_success"), b["overall"].get("episode_success")
    lines.append(f"{'episodes':<13} {'':>11} {num(ea):>10} {num(eb):>10} {diff(ea, eb):>7}")
    return "\n".join(lines)

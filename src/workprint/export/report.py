"""The replay report: one self-contained HTML page that steps through a session.

Each step shows the frame the person acted on with the action drawn over it (click point,
drag path, scroll arrow, typed text, the target's box), a timeline to jump around, and a
per-app breakdown. Frames are the redacted ones (what an export would contain), embedded as
WebP. Keys: → / j next, ← / k previous, Home / End, a toggles the frame after the action.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from workprint.export.steps import RedactedFrames, SessionData, iter_steps

COLORS = {"click": "#e6194b", "double_click": "#f58231", "right_click": "#911eb4", "middle_click": "#911eb4",
          "drag": "#4363d8", "scroll": "#3cb44b", "type": "#000075", "hotkey": "#9a6324", "key": "#9a6324",
          "select": "#f032e6"}


def _webp(png: bytes) -> str:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="WEBP", quality=80, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode()


def build_report(session: SessionData, progress=None) -> str:
    redacted = RedactedFrames(session)
    frames: dict[str, str] = {}
    steps: list[dict[str, Any]] = []  # what the page's script reads of each step
    for step in iter_steps(session, [("train", 1.0)], 0, frames=None):
        a = step.action
        for fid in (a.get("frame"), a.get("frame_after")):
            if fid and fid not in frames:
                frames[fid] = _webp(redacted(fid)[0])
        steps.append({k: a.get(k) for k in ("id", "type", "x", "y", "x2", "y2", "dx", "dy", "text", "keys",
                                            "label", "target", "t", "t_end", "app", "window", "frame",
                                            "frame_after", "trace", "redacted", "screen", "source", "message")}
                     | {"episode": step.episode.id, "instruction": step.episode.instruction,
                        "model": (a.get("model") or {}).get("name"),
                        "instruction_source": step.episode.instruction_source,
                        "model_instruction": step.episode.model_instruction,
                        "instruction_model": step.episode.instruction_model, "annotation": step.annotation})
        if progress:
            progress(1)
    apps = Counter(s["app"] or "?" for s in steps)
    types = Counter(s["type"] for s in steps)
    meta = session.reader.meta
    screen = meta.get("screen", {"w": 1920, "h": 1080})
    interventions = intervention_marks(session, steps)
    data = json.dumps({"steps": steps, "frames": frames, "colors": COLORS, "screen": screen,
                       "interventions": interventions})
    breakdown = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in apps.most_common())
    by_type = "".join(f"<tr><td><span class=sw style='background:{COLORS.get(k, '#555')}'></span>{k}</td>"
                      f"<td>{v}</td></tr>" for k, v in types.most_common())
    duration = steps[-1]["t_end"] if steps else 0
    return _PAGE.replace("%%TITLE%%", html.escape(f"workprint replay · {session.id}")) \
        .replace("%%SESSION%%", html.escape(session.id)) \
        .replace("%%SUMMARY%%", html.escape(f"{len(steps)} actions · {duration:.0f} s · started {meta.get('started_at', '?')}")) \
        .replace("%%INTERVENTIONS%%", intervention_card(interventions)) \
        .replace("%%APPS%%", breakdown).replace("%%TYPES%%", by_type).replace("%%DATA%%", data.replace("</", "<\\/"))


def intervention_marks(session: SessionData, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Interventions for the page: when, why, the agent's proposed action beside the person's correction."""
    from workprint.process.pyautogui_code import to_code
    from workprint.process.interventions import derive_interventions

    by_id = {a["id"]: a for a in session.actions if a.get("id") is not None}
    out = []
    for record in derive_interventions(session.events, session.actions):
        proposed = record.get("proposed") or {}
        out.append({"id": record["id"], "t": record["t"], "t_end": record["t_end"], "trigger": record["trigger"],
                    "proposed": proposed.get("code", "-") + ("" if proposed.get("executed", True) else "  (not executed)"),
                    "human_actions": record["human_actions"], "handback": record["handback"],
                    "correction": [to_code(by_id[i]) for i in record["human_actions"] if i in by_id]})
    return out


def intervention_card(interventions: list[dict[str, Any]]) -> str:
    if not interventions:
        return ""
    rows = "".join(
        f"<div class='iv-row' data-t='{v['t']}'><b>#{v['id']}</b> {v['t']:.1f} s · {html.escape(v['trigger'])} · "
        f"handback {html.escape(str(v['handback']))}<code class=rej>{html.escape(v['proposed'])}</code>"
        f"<code class=ok>{html.escape(chr(10).join(v['correction']) or '(the person handed back)')}</code></div>"
        for v in interventions)
    return (f"<div class='card' id='interventions'><b>Interventions</b> (agent's proposed action "
            f"<span class=rej>struck</span>, the person's correction <span class=ok>green</span>){rows}</div>")


def write_report(session: SessionData, out: Path, progress=None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(session, progress), encoding="utf-8")
    return out


_PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%%TITLE%%</title>
<style>
 body{font:14px system-ui,sans-serif;margin:0;background:#f4f4f6;color:#222}
 header{padding:10px 16px;background:#1f2430;color:#fff} header h1{font-size:16px;margin:0}
 header .sum{opacity:.8;font-size:12px}
 main{display:flex;gap:12px;padding:12px}
 #stagewrap{flex:1;min-width:0}
 #stage{position:relative;width:100%;background:#000;line-height:0}
 #stage img{width:100%;display:block}
 #overlay{position:absolute;left:0;top:0;width:100%;height:100%}
 aside{width:300px;flex:none}
 .card{background:#fff;border-radius:6px;padding:10px;margin-bottom:10px;box-shadow:0 1px 2px #0002}
 #timeline{position:relative;height:28px;background:#fff;margin:8px 0;border-radius:4px;cursor:pointer}
 #timeline .tick{position:absolute;top:4px;width:3px;height:20px;border-radius:1px}
 #timeline .tick.on{outline:2px solid #000;top:0;height:28px}
 table{border-collapse:collapse;width:100%} td{padding:2px 4px;border-bottom:1px solid #eee}
 .sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
 #step{font-size:16px;font-weight:600} #detail{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
 .model{border-left:4px solid #7a5cff;background:#f7f5ff} #modeltext p{margin:4px 0} .q{font-weight:600}
 #timeline .tick.agent{top:2px;height:12px;border-radius:6px;border:1px solid #fff}
 #timeline .tick.human{top:14px;height:12px}
 #timeline .iv{position:absolute;top:0;height:28px;background:#e6194b33;border-left:2px solid #e6194b}
 .iv-row{cursor:pointer;border-bottom:1px solid #eee;padding:3px 0;font-size:12px}
 .iv-row code{display:block;font-size:11px;white-space:pre-wrap} .rej{color:#b00;text-decoration:line-through}
 .ok{color:#070} #who{font-size:12px;margin:2px 0}
 kbd{border:1px solid #aaa;border-radius:3px;padding:0 3px;font-size:11px}
</style></head><body>
<header><h1>Replay of session %%SESSION%%</h1><div class="sum">%%SUMMARY%% · <kbd>←</kbd><kbd>→</kbd> step · <kbd>a</kbd> frame after</div></header>
<main>
 <div id="stagewrap">
  <div id="stage"><img id="frame" alt="frame"><svg id="overlay" xmlns="http://www.w3.org/2000/svg"></svg></div>
  <div id="timeline" title="click to jump"></div>
 </div>
 <aside>
  <div class="card"><div id="step"></div><div id="who"></div><div id="which"></div><div id="detail"></div></div>
  <div class="card model" id="model" hidden><b>Written by a model</b> <span id="modelname"></span><div id="modeltext"></div></div>
  %%INTERVENTIONS%%
  <div class="card"><b>By app</b><table>%%APPS%%</table></div>
  <div class="card"><b>By action</b><table>%%TYPES%%</table></div>
  <div class="card">Redactions are shown as black boxes: text a detector flagged, and windows outside the policy.</div>
 </aside>
</main>
<script id="data" type="application/json">%%DATA%%</script>
<script>
const D = JSON.parse(document.getElementById('data').textContent);
const S = D.steps, W = D.screen.w, H = D.screen.h;
let i = 0, after = false;
const svg = document.getElementById('overlay'), img = document.getElementById('frame');
svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
const tl = document.getElementById('timeline');
const T = S.length ? S[S.length-1].t_end || 1 : 1;
const IV = D.interventions || [];
IV.forEach(v => { const d = document.createElement('div'); d.className = 'iv'; d.style.left = (100*v.t/T)+'%';
  d.style.width = Math.max(0.3, 100*((v.t_end||v.t)-v.t)/T)+'%'; d.title = `intervention ${v.id}: ${v.trigger}; agent proposed ${v.proposed}`; tl.appendChild(d); });
function stepAt(t){ let best = 0; S.forEach((s,k) => { if (Math.abs(s.t-t) < Math.abs(S[best].t-t)) best = k; }); return best; }
document.querySelectorAll('.iv-row').forEach(r => r.onclick = () => show(stepAt(+r.dataset.t)));
S.forEach((s, k) => { const d = document.createElement('div'); d.className = 'tick'; d.style.left = (100*s.t/T)+'%';
  d.style.background = D.colors[s.type] || '#555'; d.classList.add(s.source === 'agent' ? 'agent' : 'human'); d.title = `${k+1}: ${s.type}`; d.onclick = e => {e.stopPropagation(); show(k);}; tl.appendChild(d); });
function el(tag, attrs, text){ const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k,v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; svg.appendChild(e); return e; }
function label(x, y, text, color){ const t = el('text', {x: x+18, y: y-14, fill: '#fff', 'font-size': 26, 'font-family': 'sans-serif', 'paint-order': 'stroke', stroke: color, 'stroke-width': 8}, text); }
function show(k){
  if (!S.length) return;
  i = Math.max(0, Math.min(S.length-1, k)); const s = S[i]; const c = D.colors[s.type] || '#555';
  const fid = after ? (s.frame_after || s.frame) : s.frame;
  img.src = fid ? D.frames[fid] : '';
  svg.innerHTML = '';
  if (s.trace && s.trace.length > 1) el('polyline', {points: s.trace.map(p => p[1]+','+p[2]).join(' '), fill: 'none', stroke: c, 'stroke-width': 3, 'stroke-dasharray': '8 6', opacity: .7});
  if (s.target && s.target.bbox) { const b = s.target.bbox; el('rect', {x: b[0], y: b[1], width: b[2], height: b[3], fill: 'none', stroke: '#ffd400', 'stroke-width': 4, class: 'target'}); }
  if (s.x != null) {
    el('circle', {cx: s.x, cy: s.y, r: 16, fill: c, 'fill-opacity': .35, stroke: c, 'stroke-width': 4, class: 'marker ' + (s.source || 'human'), 'data-x': s.x, 'data-y': s.y, 'stroke-dasharray': s.source === 'agent' ? '6 4' : ''});
    el('circle', {cx: s.x, cy: s.y, r: 3, fill: c});
  }
  if (s.type === 'drag') { el('line', {x1: s.x, y1: s.y, x2: s.x2, y2: s.y2, stroke: c, 'stroke-width': 5}); el('circle', {cx: s.x2, cy: s.y2, r: 10, fill: c}); }
  if (s.type === 'scroll') { const dy = s.dy > 0 ? -80 : 80; el('line', {x1: s.x, y1: s.y, x2: s.x, y2: s.y+dy, stroke: c, 'stroke-width': 8, 'marker-end': ''}); el('polygon', {points: `${s.x-16},${s.y+dy-Math.sign(dy)*4} ${s.x+16},${s.y+dy-Math.sign(dy)*4} ${s.x},${s.y+dy+Math.sign(dy)*24}`, fill: c}); }
  let what = s.type;
  if (s.text != null) what += ' "' + s.text + '"'; if (s.keys) what += ' ' + s.keys.join('+'); if (s.label) what += ' ' + s.label;
  if (s.target && s.target.name) what += ` on ${s.target.role} '${s.target.name}'`;
  if (s.message) what += ' "' + s.message + '"';
  what = (s.source === 'agent' ? 'agent: ' : 'person: ') + what;
  if (s.x != null) label(s.x, s.y, what, c); else label(40, 80, what, c);
  const iv = IV.find(v => v.human_actions.includes(s.id));
  document.getElementById('who').innerHTML = '';
  const who = document.getElementById('who');
  who.textContent = s.source === 'agent' ? `by the agent (${s.model || 'model'})` : 'by a person';
  if (iv) { const p = document.createElement('div'); p.innerHTML = '<b>Intervention</b> (' + iv.trigger + '): the agent proposed <code class=rej></code>, the person did this instead';
    p.querySelector('code').textContent = iv.proposed; who.appendChild(p); }
  document.getElementById('step').textContent = `Step ${i+1} / ${S.length}: ${s.type}`;
  document.getElementById('which').textContent = after ? 'showing the frame after the action' : 'showing the frame the person acted on';
  document.getElementById('detail').textContent = JSON.stringify({t: s.t, app: s.app, window: s.window, episode: s.episode, instruction: s.instruction, redacted: s.redacted, target: s.target}, null, 1);
  const m = s.annotation, box = document.getElementById('model'), mt = document.getElementById('modeltext');
  mt.innerHTML = ''; box.hidden = !(m || s.model_instruction);
  const para = (name, text) => { if (!text) return; const p = document.createElement('p'); const b = document.createElement('span');
    b.className = 'q'; b.textContent = name + ': '; p.appendChild(b); p.appendChild(document.createTextNode(text)); mt.appendChild(p); };
  document.getElementById('modelname').textContent = '(' + ((m && m.model) || s.instruction_model || '?') + ')';
  if (s.model_instruction) para(s.instruction_source === 'model' ? 'Task (model-written, no instruction from the person)' : 'Task as the model reads it (the person\'s own is kept)', s.model_instruction);
  if (m) { para('Step', m.description); para('Observation', m.observation); para('Thought', m.thought); para('Quality', m.quality); }
  [...tl.children].forEach((d, k) => d.classList.toggle('on', k === i));
  document.body.dataset.step = i;
}
tl.onclick = e => { const f = e.offsetX / tl.clientWidth * T; let best = 0; S.forEach((s,k) => { if (Math.abs(s.t-f) < Math.abs(S[best].t-f)) best = k; }); show(best); };
document.addEventListener('keydown', e => {
  if (e.key === 'ArrowRight' || e.key === 'j') show(i+1); else if (e.key === 'ArrowLeft' || e.key === 'k') show(i-1);
  else if (e.key === 'Home') show(0); else if (e.key === 'End') show(S.length-1); else if (e.key === 'a') { after = !after; show(i); } });
show(0);
</script></body></html>
"""

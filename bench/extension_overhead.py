"""What the extension's content script adds to a page's click handling.

A page with 2,000 DOM nodes dispatches a burst of 200 clicks on a nested button and times
each dispatch (all listeners, the content script's included, run inside it). The same page is
measured in Debian's Chromium with and without the extension, in one run; the difference of
the medians is the content script's cost. Also checks that the page keeps responding (a
timer keeps firing during the burst).

    .venv/bin/python bench/extension_overhead.py
"""

from __future__ import annotations

import functools
import http.server
import statistics
import tempfile
import threading
from pathlib import Path

from workprint.capture.browser import extension_dir
from workprint.demo.desktop import VirtualDesktop

PAGE = """<!doctype html><meta charset=utf-8><title>2000 nodes</title><body>
<div id=root></div><script>
const root = document.getElementById('root');
for (let i = 0; i < 400; i++) {
  const row = document.createElement('div'); row.className = 'row';
  row.innerHTML = `<span>Item ${i}</span><a href="#i${i}">link</a><input name="f${i}"><em>x</em>`;
  root.appendChild(row);
}
const button = document.createElement('button'); button.textContent = 'Measure me'; button.id = 'target';
root.children[200].appendChild(button);
button.addEventListener('click', () => {});
</script>"""

MEASURE = """() => new Promise((resolve) => {
  const button = document.getElementById('target');
  let ticks = 0; const timer = setInterval(() => ticks++, 1);
  const times = [];
  const start = performance.now();
  for (let i = 0; i < 200; i++) { const t0 = performance.now(); button.click(); times.push(performance.now() - t0); }
  const total = performance.now() - start;
  setTimeout(() => { clearInterval(timer); resolve({times, total, ticks, nodes: document.getElementsByTagName('*').length}); }, 50);
})"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def measure(desk: VirtualDesktop, page_url: str, extension: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    if extension:
        args += [f"--disable-extensions-except={extension}", f"--load-extension={extension}"]
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(tempfile.mkdtemp(), executable_path="/usr/bin/chromium",
                                                       headless=False, env=desk.env, args=args)
        page = context.new_page()
        page.goto(page_url)
        page.wait_for_timeout(1000)
        page.evaluate(MEASURE)  # warm up
        result = page.evaluate(MEASURE)
        context.close()
    return result


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="workprint-bench-ext-"))
    (work / "page.html").write_text(PAGE)
    home = work / "home"
    home.mkdir()
    extension = extension_dir(home)
    # Content scripts do not run on file:// pages: serve the page from 127.0.0.1.
    handler = functools.partial(QuietHandler, directory=str(work))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    with VirtualDesktop() as desk:
        plain = measure(desk, url, None)
        with_ext = measure(desk, url, extension)
    server.shutdown()
    med_plain, med_ext = statistics.median(plain["times"]), statistics.median(with_ext["times"])
    print(f"page: {with_ext['nodes']} DOM nodes, burst of {len(with_ext['times'])} clicks")
    print(f"click dispatch median: {med_plain * 1000:.1f} µs without the extension, {med_ext * 1000:.1f} µs with it "
          f"(the page's clock is coarsened to 100 µs); mean over the burst: {plain['total'] / 200 * 1000:.1f} µs "
          f"without, {with_ext['total'] / 200 * 1000:.1f} µs with")
    print(f"content script adds {max(0.0, med_ext - med_plain) * 1000:.1f} µs per click (goal < 1000 µs); "
          f"p95 with it {sorted(with_ext['times'])[189] * 1000:.1f} µs")
    print(f"page timer kept firing during the burst: {with_ext['ticks']} ticks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

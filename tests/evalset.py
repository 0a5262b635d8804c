"""A small hand-made eval set with every interaction type, for scoring and run tests.

Each step's frame is one solid colour whose red/green channels encode the step's index, so
a scripted model server can tell which step it was shown from the image alone.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

SCREEN = {"w": 1000, "h": 800, "scale": 1}
DIAGONAL = (1000 ** 2 + 800 ** 2) ** 0.5


def _click(kind: str, x: int, y: int, target=None) -> dict:
    gold = {"type": kind, "x": x, "y": y, "button": {"right_click": "right", "middle_click": "middle"}.get(kind, "left")}
    if target:
        gold["target"] = target
    return gold


ITEM = {"role": "menu item", "name": "Select All", "bbox": [200, 50, 120, 24]}
OPTION = {"role": "option", "name": "Large", "bbox": [600, 300, 80, 20]}
BUTTON = {"role": "push button", "name": "Save", "bbox": [100, 100, 50, 20]}

# (episode, interaction, gold)
STEPS = [
    ("e1", "click", _click("click", 120, 110, BUTTON)),
    ("e1", "click", _click("click", 500, 400)),
    ("e1", "double_click", _click("double_click", 300, 300)),
    ("e1", "right_click", _click("right_click", 700, 200, {"role": "text", "name": "doc", "bbox": [650, 150, 200, 100]})),
    ("e1", "middle_click", _click("middle_click", 400, 600)),
    ("e1", "drag", {"type": "drag", "x": 100, "y": 100, "x2": 400, "y2": 300, "button": "left"}),
    ("e1", "scroll", {"type": "scroll", "x": 500, "y": 400, "dx": 0, "dy": -3}),
    ("e2", "type", {"type": "type", "text": "abcdefghij"}),
    ("e2", "hotkey", {"type": "hotkey", "keys": ["ctrl", "s"]}),
    ("e2", "key", {"type": "key", "keys": ["enter"]}),
    ("e2", "select", {"type": "select", "label": "Large", "value": "l", "target": OPTION}),
    ("e2", "menu", _click("click", 260, 62, ITEM)),
    ("e2", "navigate", {"type": "navigate", "url": "https://Example.com:443/a/?q=1#top"}),
    ("e2", "done", {"type": "done", "status": "done"}),
]


def colour(index: int) -> tuple[int, int, int]:
    return (index % 256, index // 256, 77)


def index_of_png(png: bytes) -> int:
    r, g, _ = Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))
    return r + 256 * g


def make_set(directory: Path, steps=STEPS, repeat: int = 1, intervention_ids: set[str] = frozenset()) -> list[dict]:
    """Write steps.jsonl and images; ``repeat`` copies the steps into more episodes."""
    (directory / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for r in range(repeat):
        history: dict[str, list[str]] = {}
        for i, (episode, interaction, gold) in enumerate(steps):
            index = len(rows)
            ep = f"{episode}-{r}"
            image = f"images/{index}.png"
            Image.new("RGB", (SCREEN["w"], SCREEN["h"]), colour(index)).save(directory / image)
            sid = f"{ep}:{len(history.setdefault(ep, []))}"
            rows.append({"id": sid, "episode": ep, "interaction": interaction, "instruction": f"task {ep}",
                         "history": list(history[ep]), "image": image, "screen": SCREEN, "gold": gold,
                         "target": {k: gold["target"][k] for k in ("bbox", "role", "name")} if "target" in gold else None,
                         "intervention": sid in intervention_ids})
            history[ep].append(f"# step {i}")
    with (directory / "steps.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows

"""A trajectory of every action type, built by workprint's agentnetbench export functions.

PYTHONPATH=src python bench/opencua_stubs/synthetic.py OUT   (OUT/train/ and OUT/images/ must exist),
then run_agentnetbench.py --data OUT/train --image_dir OUT/images ..."""
import json, sys
from PIL import Image
from workprint.export.agentnetbench import ground_truth
from workprint.process.pyautogui_code import to_code
out = sys.argv[1]
Image.new("RGB", (1920, 1080), "white").save(f"{out}/images/blank.png")
S = {"w": 1920, "h": 1080, "scale": 1}
actions = [
    {"type": "click", "x": 628, "y": 291, "target": {"bbox": [600, 280, 80, 24]}},
    {"type": "double_click", "x": 900, "y": 500},
    {"type": "right_click", "x": 100, "y": 1000},
    {"type": "middle_click", "x": 200, "y": 300},
    {"type": "drag", "x": 10, "y": 20, "x2": 300, "y2": 400},
    {"type": "scroll", "x": 960, "y": 540, "dx": 0, "dy": -3},
    {"type": "scroll", "x": 960, "y": 540, "dx": 2, "dy": 0},
    {"type": "type", "text": "Hello from workprint, ticket ABC-123."},
    {"type": "type", "text": "it's a \"quoted\" word"},
    {"type": "key", "keys": ["enter"]},
    {"type": "hotkey", "keys": ["ctrl", "home"]},
    {"type": "navigate", "url": "https://example.org/rooms?day=friday"},
    {"type": "select", "label": "Friday", "value": "fri"},
    {"type": "wait"},
    {"type": "done"},
    {"type": "fail"},
]
steps = []
for a in actions:
    a["screen"] = S
    steps.append({"image": "blank.png", "action": to_code(a, relative=True), "action_type": a["type"],
                  "ground_truth_actions": ground_truth(a)})
json.dump({"task_id": "every-type", "high_level_task_description": "every action type", "steps": steps},
          open(f"{out}/train/every-type.json", "w"), indent=1)

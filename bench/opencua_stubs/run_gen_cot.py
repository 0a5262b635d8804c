"""Run OpenCUA's gen_cot.py unchanged, with its LLM calls answered locally (scratch only).

Records, per generator call, the step's code and whether gen_cot treated it as a mouse step
(it sends a zoomed patch around the pointer, a second image, only for mouse steps)."""
import json, os, sys
HERE = os.path.join(os.environ.get("OPENCUA_DIR") or sys.exit("set OPENCUA_DIR to a checkout of xlang-ai/OpenCUA"), "data", "cot-generate")  # a checkout of xlang-ai/OpenCUA
sys.path.insert(0, HERE)
os.chdir(HERE)
os.environ.setdefault("API_KEY", "stub")
import gen_cot, module.reflector, module.reflector_with_prior_judge  # noqa: E402

LOG = []

def fake_call_llm(client, messages, model, temperature=0):
    content = messages[0]["content"]
    parts = content if isinstance(content, list) else [content]
    text = " ".join(p.get("text", "") for p in parts if isinstance(p, dict))
    images = sum(1 for p in parts if isinstance(p, dict) and p.get("type") == "image_url")
    if "alignment_score" in text or "task_completed" in text:
        return json.dumps({"task_completed": True, "alignment_score": 8, "efficiency_score": 8,
                           "task_difficulty": 3, "reason": "stub", "actual_task": "stub",
                           "natural_language_task": "stub"})
    if "last_step_correct" in text:
        return json.dumps({"last_step_correct": True, "last_step_redundant": False, "reflection": "stub"})
    code = [l for l in text.splitlines() if l.strip().startswith(("pyautogui.", "computer.", "browser."))]
    LOG.append({"images": images, "mouse": images == 2, "code_in_prompt": code[-3:]})
    return "## Observation:\nstub observation\n## Thought:\nstub thought\n## Action:\nstub action"

gen_cot.call_llm = fake_call_llm
module.reflector.call_llm = fake_call_llm
module.reflector_with_prior_judge.call_llm = fake_call_llm
try:
    gen_cot.main()
finally:
    with open(os.environ.get("STUB_LOG", "/tmp/gen_cot_stub_log.json"), "w") as fh:
        json.dump(LOG, fh, indent=1)
    print(f"generator calls: {len(LOG)}, mouse prompt (pointer marked, zoomed patch): "
          f"{sum(e['mouse'] for e in LOG)}, keyboard prompt: {sum(not e['mouse'] for e in LOG)}")

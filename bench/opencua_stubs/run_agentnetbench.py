"""Run AgentNetBench's run.py (and its eval.py scorer) unchanged, with the model answering each
step with that step's gold code (the `action` our export writes): scratch only, no network."""
import contextvars, os, sys
HERE = os.path.join(os.environ.get("OPENCUA_DIR") or sys.exit("set OPENCUA_DIR to a checkout of xlang-ai/OpenCUA"), "evaluation", "agentnetbench")  # a checkout of xlang-ai/OpenCUA
sys.path.insert(0, HERE)
import run  # noqa: E402
from agent.opencua import OpenCUA  # noqa: E402

CURRENT = contextvars.ContextVar("step")
original = OpenCUA._process_step_async

async def process_step(self, step_idx, messages, trajectory=None):
    CURRENT.set(trajectory["steps"][step_idx]["action"])
    return await original(self, step_idx, messages, trajectory)

async def predict_async(self, messages, *args, **kwargs):
    code = CURRENT.get()
    return None, f"## Thought:\nstub\n\n## Action:\nstub\n\n## Code:\n```python\n{code}\n```\n"

OpenCUA._process_step_async = process_step
OpenCUA.predict_async = predict_async
run.main()

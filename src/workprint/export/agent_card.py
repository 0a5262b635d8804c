"""The dataset card's section on agent runs: runs, agent steps, interventions and their triggers."""

from __future__ import annotations

from collections import Counter

from workprint.export.steps import SessionData, session_interventions
from workprint.process.interventions import runs_summary


def agent_section(sessions: list[SessionData]) -> str:
    runs = 0
    statuses: Counter[str] = Counter()
    triggers: Counter[str] = Counter()
    handbacks: Counter[str] = Counter()
    models: Counter[str] = Counter()
    agent_steps = human_steps = 0
    for s in sessions:
        interventions = session_interventions(s) or []
        for run in runs_summary(s.events, s.actions, interventions):
            runs += 1
            statuses[run["status"]] += 1
            models[str(run["model"])] += 1
        for a in s.actions:
            if a.get("source") == "agent":
                agent_steps += 1
            else:
                human_steps += 1
        for i in interventions:
            triggers[i["trigger"]] += 1
            handbacks[i["handback"]] += 1
    if not runs:
        return "## Agent runs\nNone: every step was made by a person (`source: human`).\n"
    return (f"## Agent runs\n{runs} run(s) (ended: {dict(statuses)}; models: {dict(models)}); "
            f"{agent_steps} agent step(s) (`source: agent`, with `model`), {human_steps} by people.\n"
            f"Interventions: {sum(triggers.values())} (by trigger: {dict(triggers) or 'none'}; "
            f"handed back by: {dict(handbacks) or 'none'}).\n")

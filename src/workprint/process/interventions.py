"""Agent runs in a session's event log -> who did each action, and the intervention records.

Pure functions of the event log (like ``process.actions``), so they can be run again when
they improve. The recorder's gate wrote:

* input events tagged ``agent: STEP`` when the agent injected them (``agent.channel``);
* ``agent_start`` (task, model), ``agent_step`` (the action about to be performed and the
  model's reply, redacted), ``agent_proposed`` (an action that was *not* performed: a
  takeover came while the model was answering, or the policy refused it), ``takeover``
  (trigger, ``n``), ``handback`` (how) and ``agent_end``.

Intervention record (DESIGN.md, "Agents at work"): ``id``, ``t``, ``t_end``, ``trigger``,
``agent_actions``, ``proposed``, ``human_actions``, ``frame``, ``frame_after``, ``handback``,
``task``, ``model``.
"""

from __future__ import annotations

import bisect
from typing import Any, cast

from workprint.process.episodes import marks_of
from workprint.vocabulary import Action, Event, ScreenInfo


def to_code(action: Action) -> str:
    from workprint.process.pyautogui_code import to_code as code  # export imports process: import late

    return code(action)

# Agent actions that are not input events but belong on the timeline.
_CONTROL_ACTIONS = ("call_user",)


def _steps_before(events: list[Event]) -> tuple[list[int], list[Event]]:
    steps = sorted((e for e in events if e["kind"] == "agent_step"), key=lambda e: e["id"])
    return [e["id"] for e in steps], steps


def _runs(events: list[Event]) -> list[Event]:
    return sorted((e for e in events if e["kind"] == "agent_start"), key=lambda e: e["id"])


def _run_of(runs: list[Event], event_id: int) -> Event | None:
    found = None
    for run in runs:
        if run["id"] <= event_id:
            found = run
    return found


def attribute(actions: list[Action], events: list[Event],
              screen: ScreenInfo | None = None) -> list[Action]:
    """Set ``source`` (``agent`` where the agent injected the action's first raw event) and
    ``model {name, reply}``; add the agent's ``call_user`` steps. Returns the actions in time order."""
    by_id = {e["id"]: e for e in events}
    step_ids, steps = _steps_before(events)
    runs = _runs(events)
    if not runs:
        return actions
    for action in actions:
        raw = action.get("raw")
        first = by_id.get(raw[0]) if raw else None
        if first is None or first.get("agent") is None:
            continue
        # The agent_step with this number written last before the raw event.
        i = bisect.bisect_left(step_ids, first["id"]) - 1
        while i >= 0 and steps[i].get("step") != first["agent"]:
            i -= 1
        action["source"] = "agent"
        if i >= 0:
            run = _run_of(runs, steps[i]["id"])
            action["model"] = {"name": run.get("model") if run else None, "reply": steps[i].get("reply", "")}
            action["agent_step"] = steps[i]["step"]
    for step in steps:
        kind = step["action"].get("type")
        if kind in _CONTROL_ACTIONS:
            run = _run_of(runs, step["id"])
            actions.append({**step["action"], "t": step["t"], "t_end": step["t"], "raw": [step["id"], step["id"]],
                            "source": "agent", "app": None, "window": None, "screen": screen,
                            "model": {"name": run.get("model") if run else None, "reply": step.get("reply")},
                            "agent_step": step["step"], "trace": []})
    return actions


def derive_interventions(events: list[Event], actions: list[Action]) -> list[dict[str, Any]]:
    """The intervention records of one session, in time order (``actions`` as derive_actions gives)."""
    from workprint.process.actions import _Frames

    ordered = sorted(events, key=lambda e: e["id"])
    frames = _Frames.of(ordered)
    out: list[dict[str, Any]] = []
    run: Event | None = None
    since = 0.0  # agent actions since the last intervention (or the run's start)
    last_step: Event | None = None
    current: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None

    def close(t_end: float, how: str) -> None:
        nonlocal current, since
        if current is None:
            return
        current["t_end"] = t_end
        current["handback"] = how
        current["human_actions"] = [a["id"] for a in actions if a.get("source") != "agent"
                                    and current["t"] <= a["t"] <= t_end and a.get("id") is not None]
        current["frame_after"] = frames.before(t_end)
        out.append(current)
        since = t_end
        current = None

    for e in ordered:
        kind = e["kind"]
        if kind == "agent_start":
            run, since, last_step, current, pending = e, e["t"], None, None, None
        elif run is None:
            continue
        elif kind == "agent_step":
            last_step, pending = e, None
        elif kind == "takeover":
            close(e["t"], "end")
            proposed, pending = pending, None
            if proposed is None and last_step is not None:
                proposed = {**last_step["action"], "code": to_code(last_step["action"]), "executed": True}
            current = {
                "id": len(out), "t": e["t"], "t_end": None, "trigger": e["trigger"],
                "agent_actions": [a["id"] for a in actions if a.get("source") == "agent"
                                  and since <= a["t"] <= e["t"] and a.get("id") is not None],
                "proposed": proposed, "human_actions": [], "frame": frames.before(e["t"]), "frame_after": None,
                "handback": None, "task": run.get("task"), "model": run.get("model")}
            for key in ("message", "app"):
                if e.get(key):
                    current[key] = e[key]
        elif kind == "agent_proposed":
            # Not performed: a takeover came while the model answered (after the takeover), or
            # the policy refused it (just before the takeover it caused).
            proposal = {**e["action"], "code": to_code(e["action"]), "executed": False}
            if current is not None:
                current["proposed"] = proposal
            else:
                pending = proposal
        elif kind == "handback":
            close(e["t"], e.get("how", "resume"))
        elif kind == "agent_end":
            close(e["t"], "end")
            run = None
    if current is not None:
        close(max(e["t"] for e in ordered), "end")
    return out


RUN_FIELDS = ("kind", "t", "task", "model", "status", "redacted")


def run_marks(events: list[Event]) -> list[Event]:
    """Where each agent run started (task, model; redacted when written) and ended (status), in
    log order, with only those fields: what an upload sends, beside the intervention records, so
    that a collector's export makes the agent-run formats as the device does (like task marks)."""
    return marks_of(sorted(events, key=lambda e: e.get("id", 0)), ("agent_start", "agent_end"), RUN_FIELDS)


def runs_summary(events: list[Event], actions: list[Action],
                 interventions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per agent run: task, model, how it ended, agent steps and interventions by trigger."""
    ordered = sorted(events, key=lambda e: e["id"])
    out = []
    for start in (e for e in ordered if e["kind"] == "agent_start"):
        end = next((e for e in ordered if e["kind"] == "agent_end" and e["id"] > start["id"]), None)
        t_end = end["t"] if end else float("inf")
        triggers: dict[str, int] = {}
        for i in interventions:
            if start["t"] <= i["t"] <= t_end:
                triggers[i["trigger"]] = triggers.get(i["trigger"], 0) + 1
        out.append({"task": start.get("task"), "model": start.get("model"), "t": start["t"],
                    "status": end.get("status") if end else "interrupted",
                    "agent_actions": sum(1 for a in actions if a.get("source") == "agent"
                                         and start["t"] <= a["t"] <= t_end),
                    "interventions": triggers})
    return out


def mark_rejected(actions: list[Action], events: list[Event]) -> None:
    """The person's first action in each intervention carries ``rejected``: the agent's proposed
    action it replaced (what preference exports pair it with)."""
    by_id = {a["id"]: a for a in actions if a.get("id") is not None}
    for record in derive_interventions(events, actions):
        proposed = record.get("proposed")
        if proposed and record["human_actions"] and record["human_actions"][0] in by_id:
            rejected = cast(Action, {k: v for k, v in proposed.items() if k not in ("code", "executed")})
            by_id[record["human_actions"][0]]["rejected"] = rejected

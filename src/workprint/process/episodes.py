"""Actions -> episodes: task-sized runs of actions, each with an instruction.

A contributor marks tasks while recording (``workprint task start "..."`` / ``task end``);
those marks become episodes with ``instruction_source: "contributor"``. Unmarked stretches
are split at long idle gaps and at app switches, and their instruction is left empty with
``instruction_source: "none"`` — never invented.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, cast

from workprint.vocabulary import Action, Event

IDLE_GAP_S = 60.0


@dataclass
class Episode:
    id: str
    session: str
    instruction: str
    instruction_source: str  # contributor | model | none
    actions: list[Action] = field(default_factory=list)
    # What a model wrote (``workprint annotate``): the instruction itself where the person wrote
    # none, else kept beside the person's, never over it.
    model_instruction: str | None = None
    instruction_model: str | None = None

    @property
    def t(self) -> float:
        return self.actions[0]["t"] if self.actions else 0.0


def _episode_id(session: str, first_action: int | None) -> str:
    return hashlib.blake2b(f"{session}:{first_action}".encode(), digest_size=6).hexdigest()


MARK_FIELDS = ("kind", "t", "instruction", "status", "by", "redacted")


def marks_of(events: list[Event], kinds: tuple[str, ...], fields: tuple[str, ...]) -> list[Event]:
    """The events of ``kinds``, in the order given, with only ``fields`` (those set): the marks an
    upload sends so that a collector rebuilds what the device derives from them."""
    marks = (cast(dict[str, Any], e) for e in events if e.get("kind") in kinds)
    return [cast(Event, {k: m[k] for k in fields if m.get(k) is not None}) for m in marks]


def task_marks(events: list[Event]) -> list[Event]:
    """The task marks among a session's events, in time order, with only the fields episodes are
    made from: what an upload sends so that the collector splits episodes as the device does."""
    return sorted(marks_of(events, ("task_start", "task_end"), MARK_FIELDS), key=lambda e: e["t"])


def split_episodes(session: str, events: list[Event], actions: list[Action],
                   idle_gap_s: float = IDLE_GAP_S) -> list[Episode]:
    """Episodes of a session from its actions and its task marks (``events`` may hold any events;
    only ``task_start``/``task_end`` are read)."""
    marks = task_marks(events)
    tasks: list[tuple[float, float, str]] = []
    ended: dict[float, str] = {}  # task start -> how the contributor ended it
    by_agent = {m["t"] for m in marks if m["kind"] == "task_start" and m.get("by") == "agent"}  # agent runs
    open_task: Event | None = None
    for mark in marks:
        if mark["kind"] == "task_start":
            if open_task is not None:
                tasks.append((open_task["t"], mark["t"], open_task.get("instruction", "")))
            open_task = mark
        elif open_task is not None:
            tasks.append((open_task["t"], mark["t"], open_task.get("instruction", "")))
            ended[open_task["t"]] = mark.get("status", "done")
            open_task = None
    if open_task is not None:
        tasks.append((open_task["t"], float("inf"), open_task.get("instruction", "")))

    episodes: list[Episode] = []
    current: Episode | None = None
    for action in actions:
        task = next((tk for tk in tasks if tk[0] <= action["t"] < tk[1]), None)
        if task is not None:
            key = ("task", task[0])
            if current is None or getattr(current, "_key", None) != key:
                current = Episode(_episode_id(session, action["id"]), session, task[2], "contributor")
                current._key = key  # type: ignore[attr-defined]
                episodes.append(current)
        else:
            prev = current.actions[-1] if current is not None and current.actions else None
            new = (current is None or getattr(current, "_key", None) != ("auto",)
                   or prev is None or action["t"] - prev["t_end"] > idle_gap_s or action.get("app") != prev.get("app"))
            if new:
                current = Episode(_episode_id(session, action["id"]), session, "", "none")
                current._key = ("auto",)  # type: ignore[attr-defined]
                episodes.append(current)
        assert current is not None
        current.actions.append(action)
    for episode in episodes:
        task_key = getattr(episode, "_key", None)
        if task_key and task_key[0] == "task" and task_key[1] in ended and episode.actions:
            # A task the contributor ended becomes an episode that ends with `done` (or `fail`).
            last = episode.actions[-1]
            status = ended[task_key[1]]
            end_t = next(tk[1] for tk in tasks if tk[0] == task_key[1])
            episode.actions.append({
                "id": None, "type": "done" if status == "done" else "fail", "status": status,
                "t": end_t, "t_end": end_t, "source": "agent" if task_key[1] in by_agent else "human",
                "app": last.get("app"), "window": last.get("window"),
                "screen": last.get("screen"), "frame": last.get("frame_after") or last.get("frame"),
                "frame_after": None, "raw": None, "trace": []})
    return episodes

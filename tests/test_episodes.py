"""Actions cut into episodes (``process.episodes.split_episodes``): task marks first, then idle
gaps and app switches; an instruction only where the contributor (or the agent's task) gave one."""

from __future__ import annotations

from typing import Any

from workprint.process.episodes import IDLE_GAP_S, split_episodes


def action(i: int, t: float, app: str = "mousepad", kind: str = "click") -> dict[str, Any]:
    return {"id": i, "type": kind, "t": t, "t_end": t + 0.2, "app": app, "window": f"{app} window",
            "screen": {"w": 800, "h": 600, "scale": 1.0}, "frame": f"f{i}", "frame_after": f"g{i}"}


def mark(kind: str, t: float, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "t": t, **fields}


def shape(episodes) -> list[tuple[str, str, list]]:
    return [(e.instruction, e.instruction_source, [a["id"] if a["id"] is not None else a["type"] for a in e.actions])
            for e in episodes]


def test_a_marked_task_is_an_episode_ending_in_done_and_the_rest_are_unmarked():
    actions = [action(1, 1.0), action(2, 5.0), action(3, 6.0), action(4, 20.0)]
    events = [mark("task_start", 4.0, instruction="Write the memo"), mark("task_end", 10.0, status="done")]
    episodes = split_episodes("s1", events, actions)
    assert shape(episodes) == [("", "none", [1]), ("Write the memo", "contributor", [2, 3, "done"]),
                               ("", "none", [4])]
    done = episodes[1].actions[-1]
    assert (done["t"], done["status"], done["source"]) == (10.0, "done", "human")
    assert done["frame"] == "g3", "done shows the screen the task ended on"


def test_a_task_ended_as_failed_or_abandoned_ends_in_fail():
    actions = [action(1, 1.0), action(2, 11.0)]
    events = [mark("task_start", 0.5, instruction="a"), mark("task_end", 2.0, status="failed"),
              mark("task_start", 10.5, instruction="b"), mark("task_end", 12.0, status="abandoned")]
    episodes = split_episodes("s1", events, actions)
    assert [(e.actions[-1]["type"], e.actions[-1]["status"]) for e in episodes] == [("fail", "failed"),
                                                                                   ("fail", "abandoned")]


def test_a_new_task_closes_the_open_one_without_a_verdict():
    actions = [action(1, 1.0), action(2, 3.0)]
    events = [mark("task_start", 0.5, instruction="first"), mark("task_start", 2.0, instruction="second")]
    assert shape(split_episodes("s1", events, actions)) == [("first", "contributor", [1]),
                                                            ("second", "contributor", [2])]


def test_unmarked_actions_split_at_long_idle_gaps_and_app_switches():
    actions = [action(1, 1.0), action(2, 2.0), action(3, 2.0 + IDLE_GAP_S + 1), action(4, 70.0, app="xterm"),
               action(5, 71.0, app="xterm")]
    episodes = split_episodes("s1", [], actions)
    assert shape(episodes) == [("", "none", [1, 2]), ("", "none", [3]), ("", "none", [4, 5])]
    assert all(e.actions[-1]["type"] != "done" for e in episodes), "no verdict is invented"


def test_a_short_pause_inside_an_app_does_not_split():
    actions = [action(1, 1.0), action(2, 1.0 + IDLE_GAP_S - 1)]
    assert shape(split_episodes("s1", [], actions)) == [("", "none", [1, 2])]


def test_the_agents_task_ends_with_the_agents_done():
    actions = [action(1, 1.0)]
    events = [mark("task_start", 0.5, instruction="Open the menu", by="agent"), mark("task_end", 3.0, status="done")]
    done = split_episodes("s1", events, actions)[0].actions[-1]
    assert (done["type"], done["source"]) == ("done", "agent")


def test_episode_ids_are_stable_and_differ_by_session_and_start():
    actions = [action(1, 1.0), action(2, 200.0)]
    first = [e.id for e in split_episodes("s1", [], actions)]
    assert first == [e.id for e in split_episodes("s1", [], actions)]
    assert len(set(first)) == 2
    assert not set(first) & {e.id for e in split_episodes("s2", [], actions)}

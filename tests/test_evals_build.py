"""What decides a step's interaction type and whether a person corrected an agent there."""

from __future__ import annotations

from workprint.evals.build import intervention_action_ids
from workprint.evals.interaction import interaction_of
from workprint.process.sessions import SessionData


def test_menu_and_dropdown_choices_are_their_own_types():
    assert interaction_of({"type": "click", "target": {"role": "menu item", "name": "Select All"}}) == "menu"
    assert interaction_of({"type": "click", "target": {"role": "menu", "name": "Edit"}}) == "menu"
    assert interaction_of({"type": "select", "label": "Archive", "target": {"role": "menuitem"}}) == "menu"
    assert interaction_of({"type": "select", "label": "Large", "target": {"role": "option"}}) == "select"
    assert interaction_of({"type": "select", "label": "Large"}) == "select"  # a native <select>
    assert interaction_of({"type": "click", "target": {"role": "list item", "name": "Large"}}) == "select"
    assert interaction_of({"type": "click", "target": {"role": "push button", "name": "Save"}}) == "click"
    assert interaction_of({"type": "click"}) == "click"
    assert interaction_of({"type": "right_click", "target": {"role": "menu item"}}) == "right_click"
    assert interaction_of({"type": "fail"}) == "done"
    assert interaction_of({"type": "wait"}) is None


def test_intervention_steps_are_the_persons_actions_in_a_takeover():
    actions = [{"id": 0, "t": 1.0, "source": "agent"}, {"id": 1, "t": 2.0, "source": "human"},
               {"id": 2, "t": 2.5, "source": "human"}, {"id": 3, "t": 4.0, "source": "agent"},
               {"id": 4, "t": 9.0, "source": "human"}, {"id": 5, "t": 12.0, "source": "human"}]
    events = [{"kind": "intervention", "t": 1.8, "t_end": 3.0, "trigger": "human_input", "human_actions": [1]},
              {"kind": "intervention", "t": 8.5, "t_end": 9.5, "trigger": "call_user"}]
    session = SessionData("s", None, events, actions, [])  # type: ignore[arg-type]
    assert intervention_action_ids(session) == {1, 2, 4}
    assert intervention_action_ids(SessionData("s", None, [], actions, [])) == set()  # type: ignore[arg-type]

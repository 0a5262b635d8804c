"""From raw events to what a person did: actions (and, later, episodes)."""

from workprint.process.actions import action_line, action_summary, derive_actions

__all__ = ["action_line", "action_summary", "derive_actions"]

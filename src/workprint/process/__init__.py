"""From raw events to what a person did: actions (and, later, episodes)."""

from workprint.process.actions import derive_actions, describe

__all__ = ["derive_actions", "describe"]

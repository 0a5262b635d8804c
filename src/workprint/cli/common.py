"""What every command module shares: the user-facing error and where the data lives."""

from __future__ import annotations

from pathlib import Path

from workprint.errors import WorkprintError


class UserError(WorkprintError):
    """Printed as `workprint: <message>` with exit code 2, no traceback.

    Say what happened and what to do next: the message is all the person sees.
    """

    exit_code = 2


class ConsentRequired(UserError):
    """No current agreement for what would be recorded (exit code 3, DESIGN.md: Consent)."""

    exit_code = 3


def home() -> Path:
    """$WORKPRINT_HOME, or the platform's user data dir."""
    from workprint.home import workprint_home

    return workprint_home()

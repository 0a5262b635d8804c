"""What every command module shares: the user-facing error and where the data lives."""

from __future__ import annotations

from pathlib import Path

from workprint.errors import WorkprintError


class UserError(WorkprintError):
    """Printed as `workprint: <message>` with exit code 2, no traceback.

    Say what happened and what to do next: the message is all the person sees.
    """


def home() -> Path:
    """$WORKPRINT_HOME, or the platform's user data dir."""
    from workprint.home import workprint_home

    return workprint_home()

"""What every command module shares: the user-facing error and where the data lives."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from workprint.errors import WorkprintError

if TYPE_CHECKING:
    from workprint.process.sessions import SessionData


class HelpFormatter(argparse.HelpFormatter):
    """`--help` with the description wrapped to the terminal and examples kept as written.

    Descriptions are prose (wrapped); an epilog that starts with "example" is command lines
    (never wrapped, so they can be copied)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class UserError(WorkprintError):
    """Printed as `workprint: <message>` with exit code 2, no traceback.

    Say what happened and what to do next: the message is all the person sees.
    """

    exit_code = 2


class ConsentRequired(UserError):
    """No current agreement for what would be recorded (exit code 3, DESIGN.md: Consent)."""

    exit_code = 3


def load_session(ref: str) -> "SessionData":
    """One session (an id, a unique prefix, or `latest`) read and processed; what the store
    reported (a torn tail, a damaged record) is printed as warnings."""
    import sys

    from workprint.process.sessions import load_sessions

    (session,) = load_sessions(home(), [ref])
    for problem in session.reader.problems:
        print(f"workprint: warning: session {session.id}: {problem}", file=sys.stderr)
    return session


def home() -> Path:
    """$WORKPRINT_HOME, or the platform's user data dir."""
    from workprint.home import workprint_home

    return workprint_home()

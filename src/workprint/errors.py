"""One base for workprint's own errors, so a caller (the CLI) can catch them all in one place.

Every error workprint raises on purpose subclasses :class:`WorkprintError`; its message says
what happened and what to do. Anything else reaching the top is a bug.
"""

from __future__ import annotations


class WorkprintError(Exception):
    """Something workprint cannot do; the message says why and what to do about it."""

    exit_code = 2  # what the command line exits with when this reaches it

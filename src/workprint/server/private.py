"""The collector's --data folder is private from the first byte: folders 0700, files 0600.

Files are *created* with their final mode (see :mod:`workprint.files`), never written first and
narrowed afterwards, so there is no moment when another local user could open them. Secrets
(pseudonym key, audit key, the first admin token) are linked into place only if absent, so two
collectors starting on the same folder agree on one value and never read a half-written one.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from workprint.files import create_exclusive


def secret_file(path: Path, legacy: str | None = None) -> str:
    """The secret in ``path``, created (random, or ``legacy`` when migrating one) if absent."""
    if not path.exists():
        create_exclusive(path, ((legacy or secrets.token_hex(32)) + "\n").encode())
    value = path.read_text().strip()
    if not value:
        raise OSError(f"{path} is empty; restore it from a backup (without it the audit trail cannot be verified)")
    return value

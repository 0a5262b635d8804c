"""The collector's --data folder is private from the first byte: folders 0700, files 0600.

Files are *created* with their final mode (``os.open(..., 0o600)``), never written first and
narrowed afterwards, so there is no moment when another local user could open them. Secrets
(pseudonym key, audit key, the first admin token) are written to a temporary name and linked
into place, so two collectors starting on the same folder agree on one value and never read a
half-written one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; narrow it if an older version left it wider."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)
    return path


def touch_private(path: Path) -> None:
    """Create an empty 0600 file if absent (SQLite then gives its -wal and -shm the same mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(FILE_MODE)


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` as 0600, atomically. ``exclusive``: keep an existing file
    (returns False) so concurrent first starts settle on the first value written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def secret_file(path: Path, legacy: str | None = None) -> str:
    """The secret in ``path``, created (random, or ``legacy`` when migrating one) if absent."""
    if not path.exists():
        write_private(path, ((legacy or secrets.token_hex(32)) + "\n").encode(), exclusive=True)
    value = path.read_text().strip()
    if not value:
        raise OSError(f"{path} is empty; restore it from a backup (without it the audit trail cannot be verified)")
    return value

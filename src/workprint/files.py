"""Durable, private files: the one way workprint writes a file that must never be seen half-written.

``atomic_write`` writes to a temporary file in the same folder, created with its final mode
(0600 by default, so there is no moment when it is readable by others), fsyncs it, renames
it over the target and fsyncs the folder, so after a crash the path holds either the old
content or the new, never a mix or nothing. ``private_dir`` creates folders 0700 from the
start and makes their creation durable.
"""

from __future__ import annotations

import os
import secrets
import socket
import socketserver
from pathlib import Path

from workprint.errors import WorkprintError


def fsync_dir(path: Path) -> None:
    """Make the entries of ``path`` (files created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path, *, narrow: bool = False) -> Path:
    """``path`` and its missing parents, created mode 0700; durable once this returns.

    ``narrow``: a folder that exists already with wider permissions (left by an older version,
    or made by hand) is narrowed to 0700. Only for folders workprint owns outright (a
    collector's data folder), never for a folder a user named as a destination."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # created by a concurrent process
        fsync_dir(folder.parent)
    if narrow and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def touch_private(path: Path, mode: int = 0o600) -> None:
    """Create an empty file with ``mode`` if absent (SQLite then gives its -wal and -shm the
    same mode); narrow it if it exists wider."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, mode)
    os.close(fd)
    if path.stat().st_mode & 0o077 & ~mode:
        path.chmod(mode)


def atomic_write(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` all at once and durably; the file is created with ``mode``."""
    if isinstance(data, str):
        data = data.encode()
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create ``path`` holding ``data`` only if it does not exist; False when it already did.

    Readers never see it empty or partial: the content is written and synced under a temporary
    name, then linked into place (``link`` fails if the target exists, unlike ``rename``).
    """
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


class _PrivateServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a peer that hung up: nothing to say
        pass


def serve_private_socket(path: Path, handler: type[socketserver.BaseRequestHandler], busy: str,
                         error: type[Exception] = WorkprintError) -> socketserver.ThreadingUnixStreamServer:
    """A Unix socket server at ``path`` that only this user can reach: its folder is 0700 before the
    socket exists, and the socket 0600. A socket left by a killed process is replaced; one that a
    live process still serves raises ``error(busy)``. The caller runs ``serve_forever``."""
    private_dir(path.parent, narrow=True)
    if len(str(path).encode()) > 100:
        raise error(f"{path} is too long for a Unix socket; use a shorter WORKPRINT_HOME")
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            raise error(busy)
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # left by a process that was killed
        finally:
            probe.close()
    # The folder (0700) keeps everyone else out from the first moment; the socket is narrowed just
    # after binding. No umask: it is process-wide and would narrow what other threads create meanwhile.
    server = _PrivateServer(str(path), handler)
    os.chmod(path, 0o600)
    fsync_dir(path.parent)
    return server

"""Keys and authenticated encryption for data at rest.

Each device has one key (``keys/device.key``, mode 0600) that never leaves it. Each session
has its own data key, stored wrapped by the device key: deleting a session's wrapped key
makes whatever copies of its segments remain unreadable.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptError(Exception):
    """A sealed blob failed authentication: truncated, corrupted, or sealed with another key."""


class Sealer:
    """AES-256-GCM with a random nonce per blob; ``aad`` binds a blob to its place."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"expected a {KEY_BYTES}-byte key, got {len(key)} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptError("blob too short")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise DecryptError("authentication failed") from exc


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def device_key(home: Path) -> bytes:
    """The device key, created on first use with file mode 0600."""
    path = home / "keys" / "device.key"
    if not path.exists():
        try:
            _write_private(path, AESGCM.generate_key(bit_length=256))
        except FileExistsError:
            pass  # another process created it first
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise DecryptError(
            f"{path} is {len(key)} bytes, not {KEY_BYTES}: the device key is damaged; "
            "restore it from a backup, or move it away to start afresh (old sessions become unreadable)"
        )
    return key


def new_session_key(home: Path, session_dir: Path, session_id: str) -> bytes:
    key = AESGCM.generate_key(bit_length=256)
    wrapped = Sealer(device_key(home)).seal(key, f"session-key:{session_id}".encode())
    _write_private(session_dir / "key.wrapped", wrapped)
    return key


def load_session_key(home: Path, session_dir: Path, session_id: str) -> bytes:
    wrapped = (session_dir / "key.wrapped").read_bytes()
    return Sealer(device_key(home)).open(wrapped, f"session-key:{session_id}".encode())

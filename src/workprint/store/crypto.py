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

from workprint.errors import WorkprintError
from workprint.files import create_exclusive

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptError(WorkprintError):
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


def device_key(home: Path) -> bytes:
    """The device key, created on first use with file mode 0600.

    Created complete under a temporary name and linked into place, so a second process starting
    at the same moment never reads it empty: it finds either no key or the whole key.
    """
    path = home / "keys" / "device.key"
    if not path.exists():
        create_exclusive(path, AESGCM.generate_key(bit_length=256))  # False: another process won; use its key
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
    if not create_exclusive(session_dir / "key.wrapped", wrapped):
        raise FileExistsError(f"{session_dir / 'key.wrapped'} exists: a session key is never replaced")
    return key


def load_session_key(home: Path, session_dir: Path, session_id: str) -> bytes:
    wrapped = (session_dir / "key.wrapped").read_bytes()
    return Sealer(device_key(home)).open(wrapped, f"session-key:{session_id}".encode())

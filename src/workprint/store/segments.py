"""Append-only segment files of sealed records, readable after a crash.

Layout of a segment: ``MAGIC`` then records, each ``u32 length`` + sealed blob. A record's
associated data is ``<stream>:<segment>:<index>``, so records cannot be reordered, dropped from
the middle or moved between segments unnoticed. A writer killed mid-record leaves a *torn
tail*: readers report it and return every complete record before it.

A segment closed properly ends with a sealed *end record* (associated data
``<stream>:<segment>:end``, payload the record count). Without it, a file cut exactly at a record
boundary would look whole; with it, readers know a segment was ``closed`` and report one that
lost its end. Segments written before the end record existed start with ``MAGIC_V1`` and are
read as before.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from workprint.files import fsync_dir
from workprint.store.crypto import DecryptError, Sealer

MAGIC_V1 = b"WPSEG1\n\x00"
MAGIC = b"WPSEG2\n\x00"
_LEN = struct.Struct("<I")
MAX_RECORD = 256 * 1024 * 1024


def _aad(stream: str, segment: int, index: int) -> bytes:
    return f"{stream}:{segment}:{index}".encode()


def _end_aad(stream: str, segment: int) -> bytes:
    return f"{stream}:{segment}:end".encode()


class SegmentWriter:
    """Appends sealed records to one segment file; ``fsync`` makes them durable."""

    def __init__(self, path: Path, sealer: Sealer, stream: str, segment: int):
        self.path = path
        self._sealer = sealer
        self._stream = stream
        self._segment = segment
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            raise FileExistsError(f"{path} exists: segments are never reopened for writing")
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, MAGIC)
        os.fsync(self._fd)
        fsync_dir(path.parent)  # the new segment's name survives a crash, not only its bytes
        self._index = 0
        self.bytes_written = len(MAGIC)

    def append(self, payload: bytes) -> None:
        blob = self._sealer.seal(payload, _aad(self._stream, self._segment, self._index))
        # One write() per record keeps a torn record at the tail, never in the middle.
        os.write(self._fd, _LEN.pack(len(blob)) + blob)
        self._index += 1
        self.bytes_written += _LEN.size + len(blob)

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            end = self._sealer.seal(json.dumps({"records": self._index}).encode(), _end_aad(self._stream, self._segment))
            os.write(self._fd, _LEN.pack(len(end)) + end)
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


@dataclass
class SegmentRead:
    records: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    closed: bool = False  # it ends with its end record (always False for version-1 segments)
    versioned: bool = True  # written with end records (``MAGIC``), so a missing one means a cut
    good_end: int = 0  # byte offset after the last intact record
    good_count: int = 0  # records (intact or skipped) before ``good_end``


def read_segment(path: Path, sealer: Sealer, stream: str, segment: int) -> SegmentRead:
    """Every intact record of a segment; damage is described in ``problems``, never raised."""
    out = SegmentRead()
    data = path.read_bytes()
    if data.startswith(MAGIC_V1):
        out.versioned = False
    elif not data.startswith(MAGIC):
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            out.problems.append(f"{path.name}: empty segment (the recorder stopped while creating it)")
        else:
            out.problems.append(f"{path.name}: not a workprint segment (bad header); skipped")
        return out
    pos, index = len(MAGIC), 0
    out.good_end = pos
    while pos < len(data):
        if pos + _LEN.size > len(data):
            out.problems.append(
                f"{path.name}: torn tail, {len(data) - pos} bytes after record {index} ignored "
                "(the recorder was probably killed while writing)"
            )
            break
        (length,) = _LEN.unpack_from(data, pos)
        end = pos + _LEN.size + length
        if length > MAX_RECORD or end > len(data):
            out.problems.append(
                f"{path.name}: torn tail, record {index} is incomplete ({len(data) - pos} bytes ignored; "
                "the recorder was probably killed while writing)"
            )
            break
        blob = data[pos + _LEN.size : end]
        try:
            out.records.append(sealer.open(blob, _aad(stream, segment, index)))
            out.good_end, out.good_count = end, index + 1
        except DecryptError:
            if out.versioned and _is_end(sealer, blob, stream, segment, index):
                out.closed = True
                if end != len(data):
                    out.problems.append(f"{path.name}: {len(data) - end} bytes after the end record ignored")
                break
            kind = "torn tail" if end == len(data) else "corrupt record"
            out.problems.append(f"{path.name}: {kind}, record {index} failed its integrity check and was skipped")
        pos, index = end, index + 1
    return out


def _is_end(sealer: Sealer, blob: bytes, stream: str, segment: int, index: int) -> bool:
    try:
        return json.loads(sealer.open(blob, _end_aad(stream, segment)))["records"] == index
    except (DecryptError, ValueError, KeyError, TypeError):
        return False


def seal_interrupted(path: Path, sealer: Sealer, stream: str, segment: int) -> None:
    """Give the last segment of a killed writer its end record (its torn tail cut off first), so a
    segment appended after it does not make it look cut."""
    read = read_segment(path, sealer, stream, segment)
    if read.closed or not read.versioned or not read.good_end:
        return
    end = sealer.seal(json.dumps({"records": read.good_count}).encode(), _end_aad(stream, segment))
    fd = os.open(path, os.O_WRONLY)
    try:
        os.truncate(fd, read.good_end)
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, _LEN.pack(len(end)) + end)
        os.fsync(fd)
    finally:
        os.close(fd)

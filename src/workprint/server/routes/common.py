"""What every route group is given: the collector's storage and its request helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workprint.server.blobs import BlobStore
from workprint.server.catalog import CollectorCatalog


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Collector:
    catalog: CollectorCatalog
    blobs: BlobStore
    actor: Callable[..., Any]  # the FastAPI dependency naming who calls
    require: Callable[..., None]  # refuses (audited) a role that may not do something
    unlink: Callable[[list[str]], None]  # deletes released blobs' bytes
    pseudonym: Callable[[str], str]
    uploads: Any  # Prometheus counters
    upload_bytes: Any
    sessions_received: Any
    enforce_retention: Callable[[], int]  # deletes what retention and abandoned uploads say must go

"""Compatibility names: the catalog now lives in :mod:`workprint.server.catalog` (SQLite and
PostgreSQL behind one interface) and blobs in :mod:`workprint.server.blobs` (folder and S3)."""

from workprint.server.blobs import BlobStore, LocalBlobStore
from workprint.server.catalog import (CollectorCatalog, Entry, Refused, Tx, entry_mac, legacy_hash, open_catalog,
                                      read_anchor_lines)
from workprint.server.private import write_private

__all__ = ["BlobStore", "CollectorCatalog", "Entry", "Refused", "LocalBlobStore", "Tx", "entry_mac", "legacy_hash",
           "open_catalog", "read_anchor_lines", "write_private"]

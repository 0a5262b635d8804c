"""The collector catalog: one interface (:mod:`.base`), two implementations: SQLite, the
embedded default, and PostgreSQL, for several replicas. ``open_catalog`` picks one from a URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from workprint.server.catalog.base import (CollectorCatalog, Entry, Refused, Tx, entry_mac, legacy_hash,
                                           read_anchor_lines)
from workprint.files import private_dir
from workprint.errors import WorkprintError
from workprint.server.private import secret_file


class CatalogURLError(WorkprintError, ValueError):
    """A --catalog URL this collector cannot use; the message says what to give instead."""


def catalog_kind(url: str | None) -> str:
    if not url:
        return "sqlite"
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise CatalogURLError(f"--catalog {url!r}: give sqlite:///PATH or postgresql://USER@HOST:PORT/DB")


def open_catalog(data_dir: Path, url: str | None = None, audit_key: str | None = None) -> CollectorCatalog:
    """The catalog of a collector --data folder (its audit key and anchor live there), in SQLite
    (``DIR/catalog.sqlite`` unless ``url`` names another file) or PostgreSQL."""
    private_dir(data_dir, narrow=True)
    key = audit_key if audit_key is not None else secret_file(data_dir / "audit.key")
    anchor = data_dir / "audit.anchor"
    if catalog_kind(url) == "postgresql":
        from workprint.server.catalog.postgres import PostgresCatalog

        return PostgresCatalog(str(url), key, anchor)
    from workprint.server.catalog.sqlite import SqliteCatalog

    path = Path(urlparse(url).path) if url else data_dir / "catalog.sqlite"
    return SqliteCatalog(path, key, anchor)


__all__ = ["CollectorCatalog", "CatalogURLError", "Entry", "Refused", "Tx", "catalog_kind", "entry_mac", "legacy_hash",
           "open_catalog", "read_anchor_lines"]

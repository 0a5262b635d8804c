"""The session store: append-only, encrypted, crash-safe segments plus a catalog.

Public API: :class:`SessionWriter`, :class:`SessionReader`, :class:`Catalog`.
"""

from workprint.store.catalog import Catalog, SessionInfo
from workprint.store.session import SessionReader, SessionWriter, StoreError

__all__ = ["Catalog", "SessionInfo", "SessionReader", "SessionWriter", "StoreError"]

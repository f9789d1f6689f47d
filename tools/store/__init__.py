"""The embedded SQLite store: one file, WAL, migrations per component, explicit transactions."""

from secaudit.tools.store.db import Store, connect_existing
from secaudit.tools.store.migrations import Migration

__all__ = ["Migration", "Store", "connect_existing"]

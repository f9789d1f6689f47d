"""The embedded SQLite store: one file, WAL, migrations per component, explicit transactions."""

from secaudit.tools.store.db import SchemaState, Store, connect_existing
from secaudit.tools.store.migrations import Migration

__all__ = ["Migration", "SchemaState", "Store", "connect_existing"]

"""The per-file result cache, in the store's `audit_cache` table.

Scanners build the key (content hash + scanner version + configuration, and anything else their
result depends on); this class only stores JSON values. Writes are buffered and flushed in batches:
one transaction per file would cost more than scanning a small file.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from secaudit.tools.findings.service import now_iso
from secaudit.tools.store import Store

__all__ = ["StoreCache"]

_FLUSH_EVERY = 500
_MAX_VALUE_CHARS = 4 * 1024 * 1024


class StoreCache:
    def __init__(self, store: Store, scanner: str, *, read: bool = True) -> None:
        self.store = store
        self.scanner = scanner
        self.read = read  # --no-cache: ignore what is stored, still store fresh results
        self.hits = 0
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        if not self.read:
            return None
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            return json.loads(pending)
        rows = self.store.query(
            "SELECT value FROM audit_cache WHERE scanner = ? AND key = ?", (self.scanner, key)
        )
        if not rows:
            return None
        try:
            value = json.loads(rows[0][0])
        except ValueError:
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        if len(text) > _MAX_VALUE_CHARS:
            return
        with self._lock:
            self._pending[key] = text
            full = len(self._pending) >= _FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            items = list(self._pending.items())
            self._pending.clear()
        if not items:
            return
        stamp = now_iso()
        with self.store.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO audit_cache (scanner, key, value, stored_at) VALUES (?, ?, ?, ?)",
                [(self.scanner, k, v, stamp) for k, v in items],
            )

"""The per-file result cache, in the store's `audit_cache` table.

Scanners build the key (content hash + scanner version + configuration, and anything else their
result depends on); this class only stores JSON values. Writes are buffered and flushed in batches:
one transaction per file would cost more than scanning a small file.

Retention: every edit of a file, and every new scanner version, leaves an entry nothing will read
again. `stored_at` is refreshed (at most once a day, so a warm re-audit still writes nothing) when
an entry is used, and `prune_cache` drops entries unused for the retention period. An entry that
is dropped by mistake costs one re-scan of that file, never a wrong result.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable
from typing import Any

from secaudit.tools.store import Store
from secaudit.tools.timefmt import iso_ms, now_ms

__all__ = ["StoreCache", "prune_cache"]

_FLUSH_EVERY = 500
_KEYS_PER_QUERY = 500  # under SQLite's smallest bound-parameter limit (999 before 3.32)
_MAX_VALUE_CHARS = 4 * 1024 * 1024
_REFRESH_AFTER = dt.timedelta(days=1)


def prune_cache(store: Store, unused_days: int) -> int:
    """Delete entries not stored or used for `unused_days` (0 keeps everything); return how many."""
    if unused_days <= 0:
        return 0
    cutoff = iso_ms(dt.datetime.now(dt.UTC) - dt.timedelta(days=unused_days))
    with store.write() as conn:
        return conn.execute("DELETE FROM audit_cache WHERE stored_at < ?", (cutoff,)).rowcount


class StoreCache:
    def __init__(self, store: Store, scanner: str, *, read: bool = True) -> None:
        self.store = store
        self.scanner = scanner
        self.read = read  # --no-cache: ignore what is stored, still store fresh results
        self.hits = 0
        self._pending: dict[str, str] = {}
        self._used: set[str] = set()
        self._refresh_before = iso_ms(dt.datetime.now(dt.UTC) - _REFRESH_AFTER)
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        if not self.read:
            return None
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            return json.loads(pending)
        rows = self.store.query(
            "SELECT value, stored_at FROM audit_cache WHERE scanner = ? AND key = ?", (self.scanner, key)
        )
        if not rows:
            return None
        try:
            value = json.loads(rows[0][0])
        except ValueError:
            return None
        self.hits += 1
        if str(rows[0][1]) < self._refresh_before:
            with self._lock:
                self._used.add(key)
        return value

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """`get` for many keys in a few queries: a re-audit asks for every file's key at once."""
        if not self.read:
            return {}
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            pending = {k: self._pending[k] for k in wanted if k in self._pending}
        for key, text in pending.items():
            found[key] = json.loads(text)
        rest = [k for k in wanted if k not in pending]
        stale: list[str] = []
        for i in range(0, len(rest), _KEYS_PER_QUERY):
            part = rest[i : i + _KEYS_PER_QUERY]
            rows = self.store.query(
                "SELECT key, value, stored_at FROM audit_cache WHERE scanner = ?"  # noqa: S608 - placeholders only
                f" AND key IN ({','.join('?' * len(part))})",
                [self.scanner, *part],
            )
            for row in rows:
                try:
                    found[str(row[0])] = json.loads(row[1])
                except ValueError:
                    continue
                self.hits += 1
                if str(row[2]) < self._refresh_before:
                    stale.append(str(row[0]))
        if stale:
            with self._lock:
                self._used.update(stale)
        return found

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
            written = {k for k, _ in items}
            used = [k for k in self._used if k not in written]
            self._used.clear()
        if not items and not used:
            return
        stamp = now_ms()
        with self.store.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO audit_cache (scanner, key, value, stored_at) VALUES (?, ?, ?, ?)",
                [(self.scanner, k, v, stamp) for k, v in items],
            )
            conn.executemany(
                "UPDATE audit_cache SET stored_at = ? WHERE scanner = ? AND key = ?",
                [(stamp, self.scanner, k) for k in used],
            )

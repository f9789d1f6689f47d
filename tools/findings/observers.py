"""Observers of finding state: told when a run, a triage decision or a revert changed findings.

The findings package knows nothing of who listens (the task bridge in `tools/tasks/bridge.py` does,
to close the loop between findings and tasks); it calls every registered observer twice:

- `in_transaction(conn, root, run_id)` inside the write transaction that changed the findings, on
  the store's connection, so an observer whose own tables live in the same database file can make
  its change part of that one transaction. It runs under a savepoint: if it raises, its writes are
  rolled back, the error is logged, and the change to the findings still commits.
- `after_commit(root, run_id)` once that transaction committed, for an observer whose tables live
  elsewhere (another database file). Errors are logged and swallowed: an observer never fails the
  run or the triage that told it.

Both return notes (short, safe to show) that a run adds to its own notes.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Protocol

__all__ = ["FindingsObserver", "Observers"]

log = logging.getLogger("secaudit.findings")


class FindingsObserver(Protocol):
    def in_transaction(self, conn: sqlite3.Connection, root: str, run_id: int | None) -> list[str]: ...

    def after_commit(self, root: str, run_id: int | None) -> list[str]: ...


class Observers:
    """The registered observers, shared by the runs and triage modules of one FindingsService."""

    def __init__(self) -> None:
        self._items: list[FindingsObserver] = []

    def add(self, observer: FindingsObserver) -> None:
        if observer not in self._items:
            self._items.append(observer)

    def __bool__(self) -> bool:
        return bool(self._items)

    def in_transaction(self, conn: sqlite3.Connection, root: str, run_id: int | None) -> list[str]:
        notes: list[str] = []
        for observer in list(self._items):
            conn.execute("SAVEPOINT secaudit_observer")
            try:
                notes.extend(observer.in_transaction(conn, root, run_id))
            except Exception:
                conn.execute("ROLLBACK TO secaudit_observer")
                log.warning("a findings observer failed; its changes were rolled back", exc_info=True)
                notes.append("tasks: not updated by this change (see the server log); the next audit retries")
            finally:
                conn.execute("RELEASE secaudit_observer")
        return notes

    def after_commit(self, root: str, run_id: int | None) -> list[str]:
        notes: list[str] = []
        for observer in list(self._items):
            try:
                notes.extend(observer.after_commit(root, run_id))
            except Exception:
                log.warning("a findings observer failed after commit", exc_info=True)
                notes.append("tasks: not updated by this change (see the server log); the next audit retries")
        return notes

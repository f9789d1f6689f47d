"""Stored times, formatted in one place.

Every time secaudit stores is UTC in one fixed-width ISO 8601 shape, `YYYY-MM-DDTHH:MM:SS.fffZ`, so
the stamps of a table compare and sort correctly as text (SQL `<`, `ORDER BY`, cursors). Two
precisions are stored, each kept per table as it has always been written, since a table whose
precision changed would mis-order against its existing rows (`...:00.123Z` sorts after
`...:00.123456Z` although it is earlier):

    milliseconds  `iso_ms` / `now_ms`  findings (runs, occurrences, triage), the audit cache
    microseconds  `iso_us` / `now_us`  advisory database, fixes, security events

The shared `tasks` table keeps SQLite's own shape (`YYYY-MM-DD HH:MM:SS.fff`, what
`CURRENT_TIMESTAMP` writes, plus milliseconds), because other programs read and write it: `sql_ms`.

A naive datetime is taken to be UTC already. `isoformat` builds these several times faster than
`strftime`, and `now_us` runs once per security event on the event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_ms", "iso_us", "now_ms", "now_us", "parse_time", "sql_ms"]


def _utc_naive(at: datetime) -> datetime:
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def iso_ms(at: datetime) -> str:
    """`2026-01-31T12:00:00.123Z`."""
    return _utc_naive(at).isoformat(timespec="milliseconds") + "Z"


def iso_us(at: datetime) -> str:
    """`2026-01-31T12:00:00.123456Z`."""
    return _utc_naive(at).isoformat(timespec="microseconds") + "Z"


def sql_ms(at: datetime) -> str:
    """`2026-01-31 12:00:00.123` (the shared tasks table)."""
    return _utc_naive(at).isoformat(sep=" ", timespec="milliseconds")


def now_ms() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def now_us() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (a date alone, or with a time; `Z` or an offset, none means UTC) as an
    aware UTC datetime; ValueError when it is not one."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)

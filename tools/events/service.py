"""Security events: an append-only audit table in the main store.

What is recorded is chosen so the table itself is safe to hand to someone: an identity is a token's
*name* (never the token), a tool call carries a digest of its redacted arguments (never the
arguments), client-supplied text (an Origin, a Host) is cleaned and cut short, and nothing else
from the request is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from secaudit.tools.errors import InvalidInput
from secaudit.tools.masking import get_redactor
from secaudit.tools.store import Migration, Store
from secaudit.tools.text import clean_line
from secaudit.tools.timefmt import iso_us, now_us, parse_time

__all__ = ["EVENT_KINDS", "MIGRATIONS", "EventLog", "SecurityEvent", "args_digest"]

EVENT_KINDS = (
    "tool_call",
    "auth_failed",
    "auth_throttled",
    "scope_denied",
    "origin_refused",
    "host_refused",
    "token_in_query",
    "rate_limited",
    "session_refused",
    "request_refused",
)
_MAX_DETAIL = 200


def _create(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE security_events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " identity TEXT,"
        " transport TEXT,"
        " client TEXT,"
        " tool TEXT,"
        " outcome TEXT,"
        " duration_ms REAL,"
        " args_digest TEXT,"
        " detail TEXT)"
    )
    conn.execute("CREATE INDEX security_events_at ON security_events(at)")
    conn.execute("CREATE INDEX security_events_kind_at ON security_events(kind, at)")


MIGRATIONS: tuple[Migration, ...] = (Migration("events", 1, "security_events table", _create),)


def args_digest(redacted_arguments: Any) -> str:
    """SHA-256 (first 32 hex) of the canonical JSON of already-redacted arguments."""
    raw = json.dumps(redacted_arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _parse_since(text: str) -> str:
    """An ISO 8601 time (a date alone, or with a time; no zone means UTC) in the stored format,
    so that the text comparison in SQL orders correctly; anything else is refused."""
    try:
        when = parse_time(text)
    except ValueError:
        raise InvalidInput(
            "since must be an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None
    return iso_us(when)


class SecurityEvent(BaseModel):
    id: int | None = None
    at: str = Field(default_factory=now_us)
    kind: str
    identity: str | None = None
    transport: str | None = None
    client: str | None = None
    tool: str | None = None
    outcome: str | None = None
    duration_ms: float | None = None
    args_digest: str | None = None
    detail: str | None = None

    def cleaned(self, memo: dict[str, str] | None = None) -> SecurityEvent:
        """A copy with every free-text field cleaned and redacted.

        `memo` (text -> cleaned text) may be shared across the events of one batch: under load the
        same identity, client, tool and outcome recur in nearly every event, and the redaction of
        a short string is the costliest part of recording it. The result is the same either way.
        """
        redactor = get_redactor()
        cache: dict[str, str] = {} if memo is None else memo

        def c(value: str | None) -> str | None:
            # Client text (a refused Origin or Host, a tool name) may carry a credential: redacted
            # before it is cut, so a secret straddling the cut is still recognised whole.
            if value is None:
                return None
            done = cache.get(value)
            if done is None:
                done = clean_line(redactor.redact(clean_line(value, _MAX_DETAIL * 4)), _MAX_DETAIL)
                cache[value] = done
            return done

        return self.model_copy(
            update={
                "identity": c(self.identity),
                "client": c(self.client),
                "tool": c(self.tool),
                "outcome": c(self.outcome),
                "detail": c(self.detail),
            }
        )


_COLUMNS = (
    "at",
    "kind",
    "identity",
    "transport",
    "client",
    "tool",
    "outcome",
    "duration_ms",
    "args_digest",
    "detail",
)


# Built once from our own column constants; every value is a bound parameter.
_INSERT = (
    f"INSERT INTO security_events ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_SELECT = "SELECT id, " + ", ".join(_COLUMNS) + " FROM security_events"  # noqa: S608


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record_many(self, events: Iterable[SecurityEvent]) -> int:
        # One memo per batch (not per process): it never outlives the batch, so it holds no
        # client text longer than the events themselves, and a secret registered later applies to
        # the next batch. Each event is cleaned once (not once per column).
        memo: dict[str, str] = {}
        rows = []
        for event in events:
            clean = event.cleaned(memo)
            rows.append(tuple(getattr(clean, c) for c in _COLUMNS))
        if not rows:
            return 0
        with self.store.write() as conn:
            conn.executemany(_INSERT, rows)
        return len(rows)

    def record(self, event: SecurityEvent) -> None:
        self.record_many([event])

    def list(
        self,
        *,
        kinds: list[str] | None = None,
        identity: str | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[SecurityEvent]:
        """Newest first."""
        if not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be a whole number from 1 to 10000")
        where: list[str] = []
        params: list[Any] = []
        if kinds:
            unknown = set(kinds) - set(EVENT_KINDS)
            if unknown:
                raise InvalidInput(f"unknown event kind; use one of {', '.join(EVENT_KINDS)}")
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            params.extend(kinds)
        if identity:
            where.append("identity = ?")
            params.append(identity)
        if since:
            where.append("at >= ?")
            params.append(_parse_since(since))
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self.store.read():
            rows = self.store.query(sql, params)
        return [SecurityEvent(**dict(r)) for r in rows]

    def prune(self, retention_days: int) -> int:
        """Delete events older than `retention_days` (0 keeps everything); return how many went."""
        if retention_days <= 0:
            return 0
        cutoff = iso_us(dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days))
        with self.store.write() as conn:
            cur = conn.execute("DELETE FROM security_events WHERE at < ?", (cutoff,))
            return int(cur.rowcount)

"""Triage: a person's decision about a finding, stored by (root, fingerprint) so it survives
re-runs and line shifts. A decision with an `expires_at` in the past no longer counts: the finding
shows as open again. Every decision is also appended to a log."""

from __future__ import annotations

from datetime import UTC, datetime

from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.findings.observers import Observers
from secaudit.tools.findings.queries import FindingQueries
from secaudit.tools.findings.records import (
    FindingRecord,
    TriageStatus,
)
from secaudit.tools.masking import get_redactor
from secaudit.tools.store import Store
from secaudit.tools.text import clean_line, clean_text
from secaudit.tools.timefmt import iso_ms, parse_time
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = ["MAX_REASON", "Triage"]

MAX_REASON = 2000


class Triage:
    def __init__(self, store: Store, queries: FindingQueries, observers: Observers | None = None) -> None:
        self.store = store
        self.queries = queries
        self.observers = observers if observers is not None else Observers()

    def triage(
        self,
        ref: str,
        status: TriageStatus | str,
        reason: str,
        *,
        expires_at: str | None = None,
        actor: str = "local",
    ) -> FindingRecord:
        try:
            status = TriageStatus(status)
        except ValueError:
            raise InvalidInput("status must be one of " + ", ".join(s.value for s in TriageStatus)) from None
        # The reason is caller text, stored and shown to every later reader: it goes through the
        # redaction layer first (a reason quoting the secret it triages must not keep a copy).
        reason = clean_text(get_redactor().redact(clean_text(reason, MAX_REASON * 2)), MAX_REASON).strip()
        if not reason:
            raise InvalidInput("reason is required: say why (for the next reader of this finding)")
        expires = None
        if expires_at is not None:
            try:
                when = parse_time(expires_at)
            except ValueError:
                raise InvalidInput(
                    "expires_at must be an ISO 8601 date-time, e.g. 2026-12-31T00:00:00Z"
                ) from None
            if when <= datetime.now(UTC):
                raise InvalidInput("expires_at must be in the future")
            expires = iso_ms(when)
        fid = self.queries.resolve_id(ref)
        stamp = now_iso()
        actor = clean_line(actor, 200) or "local"
        with self.store.write() as conn:
            row = conn.execute("SELECT root, fingerprint FROM findings WHERE id = ?", (fid,)).fetchone()
            if row is None:
                raise NotFound(f"no finding with id {fid}")
            conn.execute(
                "INSERT INTO finding_triage"
                " (root, fingerprint, status, reason, expires_at, updated_at, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (root, fingerprint) DO UPDATE SET"
                " status = excluded.status, reason = excluded.reason, expires_at = excluded.expires_at,"
                " updated_at = excluded.updated_at, actor = excluded.actor, source = NULL",
                (row[0], row[1], status.value, reason, expires, stamp, actor),
            )
            conn.execute(
                "INSERT INTO finding_triage_log (root, fingerprint, status, reason, expires_at, at, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row[0], row[1], status.value, reason, expires, stamp, actor),
            )
            self.observers.in_transaction(conn, str(row[0]), None)
        self.observers.after_commit(str(row[0]), None)
        return self.queries.get_finding(fid)

"""The committed baseline's decisions in the store: applied at every audit, read back to write it.

A baseline (`.secaudit/baseline.json`, read by `tools/project/baseline.py`) carries triage
decisions by fingerprint. Each audit brings the store's `finding_triage` rows of its root in line
with it, inside the run's transaction, so every listing, the gate and the task bridge see the
decisions with no special case:

- a live entry (not expired) whose fingerprint is a known finding of the root becomes its triage
  row, marked `source = 'baseline'`, with the entry's time and author, unless the store holds a
  local decision made after the entry (the newest decision wins; `secaudit baseline write` then
  carries the local one into the file);
- a row that came from the baseline and whose entry is gone or expired is removed (the finding is
  open again unless a local decision says otherwise), with a line in the triage log.

Entries are never applied to fingerprints the store does not know: the baseline's scanner, rule
and path then stay in the file only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from secaudit.tools.findings.records import TriageStatus
from secaudit.tools.findings.rows import BASELINE_SOURCE, EFFECTIVE_IN_RUN
from secaudit.tools.store import Store

__all__ = [
    "BASELINE_SOURCE",
    "BaselineSync",
    "Decision",
    "open_decisions",
    "stored_decisions",
    "sync_baseline",
]

_CHUNK = 500
_WITHDRAWN = "no longer in the baseline (removed or expired)"


@dataclass(frozen=True)
class Decision:
    """One triage decision on a fingerprint, with what identifies the finding to a reader."""

    fingerprint: str
    scanner: str
    rule_id: str
    path: str
    status: TriageStatus
    reason: str
    expires_at: str | None
    who: str
    at: str
    source: str | None = None  # in the store: 'baseline' when an audit applied it from the file


@dataclass(frozen=True)
class BaselineSync:
    applied: int  # entries whose decision now holds for a finding of the root
    matched_run: int  # of those, findings reported by this run
    kept_local: int  # entries a newer local decision overrides
    unknown: int  # entries whose fingerprint the store does not know
    removed: int  # rows that came from the baseline and no longer have a live entry


def _known(conn: sqlite3.Connection, root: str, fps: list[str]) -> set[str]:
    known: set[str] = set()
    for i in range(0, len(fps), _CHUNK):
        part = fps[i : i + _CHUNK]
        rows = conn.execute(
            "SELECT fingerprint FROM findings WHERE root = ?"  # noqa: S608 - placeholders only
            f" AND fingerprint IN ({','.join('?' * len(part))})",
            [root, *part],
        )
        known.update(str(r[0]) for r in rows)
    return known


def sync_baseline(
    conn: sqlite3.Connection,
    root: str,
    decisions: Sequence[Decision],
    *,
    run_fingerprints: Collection[str],
    now: str,
) -> BaselineSync:
    """Bring `root`'s triage rows in line with the baseline's live `decisions` (in `conn`'s
    transaction)."""
    current = {
        str(r[0]): r
        for r in conn.execute(
            "SELECT fingerprint, status, reason, expires_at, updated_at, actor, source FROM finding_triage"
            " WHERE root = ?",
            (root,),
        )
    }
    wanted = {d.fingerprint: d for d in decisions}
    known = _known(conn, root, list(wanted))
    applied = matched = kept_local = 0
    upserts: list[tuple[object, ...]] = []
    log: list[tuple[object, ...]] = []
    for fp, d in wanted.items():
        if fp not in known:
            continue
        row = current.get(fp)
        if row is not None and row[6] is None and str(row[4]) >= d.at:
            # The store's own decision is as new as the entry or newer: it stands.
            if (row[1], row[2], row[3]) == (d.status.value, d.reason, d.expires_at):
                # The same decision (the entry was written from it by `baseline write`): it holds
                # as the file says, and overrides nothing.
                applied += 1
                matched += fp in run_fingerprints
            else:
                kept_local += 1  # a different local decision, made after the entry
            continue
        applied += 1
        matched += fp in run_fingerprints
        values = (d.status.value, d.reason, d.expires_at, d.at, d.who, BASELINE_SOURCE)
        if row is not None and (row[1], row[2], row[3], row[4], row[5], row[6]) == values:
            continue
        upserts.append((root, fp, *values))
        log.append((root, fp, d.status.value, d.reason, d.expires_at, now, f"{d.who} (baseline)"))
    conn.executemany(
        "INSERT INTO finding_triage"
        " (root, fingerprint, status, reason, expires_at, updated_at, actor, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (root, fingerprint) DO UPDATE SET"
        " status = excluded.status, reason = excluded.reason, expires_at = excluded.expires_at,"
        " updated_at = excluded.updated_at, actor = excluded.actor, source = excluded.source",
        upserts,
    )
    stale = [fp for fp, row in current.items() if row[6] == BASELINE_SOURCE and fp not in wanted]
    conn.executemany(
        "DELETE FROM finding_triage WHERE root = ? AND fingerprint = ? AND source = ?",
        [(root, fp, BASELINE_SOURCE) for fp in stale],
    )
    log.extend((root, fp, TriageStatus.OPEN.value, _WITHDRAWN, None, now, BASELINE_SOURCE) for fp in stale)
    conn.executemany(
        "INSERT INTO finding_triage_log (root, fingerprint, status, reason, expires_at, at, actor)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        log,
    )
    return BaselineSync(
        applied=applied,
        matched_run=matched,
        kept_local=kept_local,
        unknown=len(wanted) - len(known),
        removed=len(stale),
    )


def stored_decisions(store: Store, root: str) -> list[Decision]:
    """Every triage row of `root` whose finding the store knows (expired and `open` ones too: the
    newest decision wins when a baseline is written)."""
    rows = store.query(
        "SELECT t.fingerprint, f.scanner, f.rule_id, f.path, t.status, t.reason, t.expires_at, t.actor,"
        " t.updated_at, t.source FROM finding_triage t"
        " JOIN findings f ON f.root = t.root AND f.fingerprint = t.fingerprint WHERE t.root = ?",
        (root,),
    )
    return [
        Decision(
            fingerprint=str(r[0]),
            scanner=str(r[1]),
            rule_id=str(r[2]),
            path=str(r[3]),
            status=TriageStatus(r[4]),
            reason=str(r[5]),
            expires_at=r[6],
            who=str(r[7]),
            at=str(r[8]),
            source=r[9],
        )
        for r in rows
    ]


def open_decisions(
    store: Store,
    run_id: int,
    *,
    now: str,
    status: TriageStatus,
    reason: str,
    who: str,
    expires_at: str | None,
) -> list[Decision]:
    """A decision (`status`, `reason`) for each finding of run `run_id` that is open in it (new or
    open, not triaged away, not `# nosec`): adopting secaudit on a legacy repository."""
    rows = store.query(
        "SELECT f.fingerprint, o.scanner, o.rule_id, o.path FROM finding_occurrences o"  # noqa: S608 - constants and placeholders only
        " JOIN findings f ON f.id = o.finding_id"
        " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
        f" WHERE o.run_id = :run AND o.suppressed_in_code = 0 AND ({EFFECTIVE_IN_RUN}) IN ('new', 'open')",
        {"run": run_id, "now": now},
    )
    return [
        Decision(
            fingerprint=str(r[0]),
            scanner=str(r[1]),
            rule_id=str(r[2]),
            path=str(r[3]),
            status=status,
            reason=reason,
            expires_at=expires_at,
            who=who,
            at=now,
        )
        for r in rows
    ]

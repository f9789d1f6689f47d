"""The findings service: runs, the finding lifecycle across runs, triage, listings and metrics.

Lifecycle. A finding is identified within a repository root by its fingerprint. The run that first
reports it sees it `new`; later runs that report it again see it `open`. A later run that covered
its file (the scanner completed and examined the file, or the file is gone from a full walk) and
did not report it marks it `fixed`; if it comes back it is open again. A run that was cancelled,
or a scanner that failed or stopped early, never marks anything fixed: not looking is not fixing.

Triage is stored by (root, fingerprint), so it survives re-runs and line shifts. A decision with an
`expires_at` in the past no longer counts: the finding shows as open again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.findings.records import (
    EFFECTIVE_STATUSES,
    Comparison,
    FindingPage,
    FindingRecord,
    FindingSummary,
    RunPage,
    RunRecord,
    RunSkip,
    RunStatus,
    ScannerCoverage,
    SecuritySummary,
    TrendPoint,
    TriageEntry,
    TriageStatus,
)
from secaudit.tools.masking import get_redactor
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.paths import path_in_scope
from secaudit.tools.store import Store
from secaudit.tools.text import clean_line, clean_text
from secaudit.tools.timefmt import iso_ms, parse_time
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = ["FindingsService", "RunCoverage", "finding_id"]

MAX_REASON = 2000
MAX_SKIPS_STORED = 50_000
_MAX_FILTER_ITEMS = 50


def finding_id(root: str, fp: str) -> str:
    """Short stable id: the same problem in the same root always gets the same id."""
    return hashlib.sha256(f"{root}\x00{fp}".encode()).hexdigest()[:16]


@dataclass
class RunCoverage:
    """Which (scanner, path) pairs a run looked at; decides what its absence means."""

    complete_scanners: set[str] = field(default_factory=set)
    examined: dict[str, set[str]] = field(default_factory=dict)
    full: bool = True  # the whole root was walked (no `paths` restriction)
    seen_paths: set[str] = field(default_factory=set)  # every path the walk saw, kept or skipped
    everything: bool = False  # imports: the file speaks for its whole tool

    def covers(self, scanner: str, path: str) -> bool:
        if scanner not in self.complete_scanners:
            return False
        if self.everything:
            return True
        if path in self.examined.get(scanner, ()):
            return True
        return self.full and path not in self.seen_paths


_EFFECTIVE_RUN = (
    "CASE WHEN t.status IS NOT NULL AND t.status != 'open' AND (t.expires_at IS NULL OR t.expires_at > :now)"
    " THEN t.status ELSE o.lifecycle END"
)
_EFFECTIVE_LATEST = (
    "CASE WHEN f.fixed_at IS NOT NULL THEN 'fixed'"
    " WHEN t.status IS NOT NULL AND t.status != 'open' AND (t.expires_at IS NULL OR t.expires_at > :now)"
    " THEN t.status ELSE o.lifecycle END"
)
_SUMMARY_COLS = (
    "f.id AS id, o.run_id AS run_id, o.scanner, o.rule_id, o.severity, o.severity_rank, o.confidence,"
    " o.path, o.start_line, o.end_line, o.title, o.suppressed_in_code, o.lifecycle AS occ_lifecycle,"
    " f.fixed_at, t.status AS triage_status, t.expires_at AS triage_expires"
)


class FindingsService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- runs -----------------------------------------------------------------------------------

    def start_run(
        self,
        root: str,
        *,
        kind: str,
        scanners: Sequence[str],
        paths: Sequence[str] | None = None,
        tool: str | None = None,
    ) -> int:
        with self.store.write() as conn:
            cur = conn.execute(
                "INSERT INTO audit_runs (root, kind, tool, scanners, paths, status, started_at, pid)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    root,
                    kind,
                    tool,
                    json.dumps(list(scanners)),
                    None if paths is None else json.dumps(list(paths)),
                    now_iso(),
                    os.getpid(),
                ),
            )
            return int(cur.lastrowid or 0)

    def mark_interrupted(self) -> int:
        """Runs left `running` by a process that no longer exists become failed (at start-up)."""
        rows = self.store.query("SELECT id, pid FROM audit_runs WHERE status = 'running'")
        dead = [int(r["id"]) for r in rows if r["pid"] is None or not _pid_alive(int(r["pid"]))]
        if dead:
            with self.store.write() as conn:
                conn.executemany(
                    "UPDATE audit_runs SET status = 'failed', finished_at = ?,"
                    " error = 'the process running this audit stopped before it finished'"
                    " WHERE id = ? AND status = 'running'",
                    [(now_iso(), i) for i in dead],
                )
        return len(dead)

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        findings: Iterable[Finding],
        coverage: list[ScannerCoverage],
        skips: list[RunSkip],
        notes: list[str],
        run_coverage: RunCoverage,
        files_total: int,
        files_scanned: int,
        files_cached: int,
        error: str | None = None,
    ) -> RunRecord:
        """Store what a run found and move the lifecycle on, in one transaction."""
        stamp = now_iso()
        with self.store.write() as conn:
            row = conn.execute("SELECT root FROM audit_runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(f"run {run_id} does not exist")
            root = str(row[0])
            seen: dict[str, Finding] = {}
            for finding in findings:
                seen.setdefault(finding.fingerprint, finding)
            ids = {fp: finding_id(root, fp) for fp in seen}
            existing: dict[str, sqlite3.Row | tuple[Any, ...]] = {}
            id_list = list(ids.values())
            for i in range(0, len(id_list), 500):
                part = id_list[i : i + 500]
                for r in conn.execute(
                    f"SELECT id, fixed_at FROM findings WHERE id IN ({','.join('?' * len(part))})",  # noqa: S608 - placeholders only
                    part,
                ):
                    existing[str(r[0])] = r
            new_count = 0
            occ_rows = []
            new_rows = []
            seen_rows = []
            for fp, finding in seen.items():
                fid = ids[fp]
                if fid in existing:
                    lifecycle = "open"
                    seen_rows.append((run_id, stamp, finding.path, fid))
                else:
                    lifecycle = "new"
                    new_count += 1
                    new_rows.append(
                        (
                            fid,
                            root,
                            fp,
                            finding.scanner,
                            finding.rule_id,
                            finding.path,
                            run_id,
                            stamp,
                            run_id,
                            stamp,
                        )
                    )
                occ_rows.append(
                    (
                        run_id, fid, finding.scanner, finding.rule_id, finding.severity.value,
                        finding.severity.rank, finding.confidence.value, finding.path, finding.start_line,
                        finding.end_line, finding.title, finding.message, finding.snippet,
                        json.dumps(finding.cwe), json.dumps(finding.references),
                        int(finding.suppressed_in_code), json.dumps(finding.properties, default=str),
                        lifecycle,
                    )
                )  # fmt: skip
            conn.executemany(
                "INSERT INTO findings (id, root, fingerprint, scanner, rule_id, path, first_seen_run,"
                " first_seen_at, last_seen_run, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_rows,
            )
            # Seen again: open (again, if it had been fixed).
            conn.executemany(
                "UPDATE findings SET last_seen_run = ?, last_seen_at = ?, path = ?, fixed_run = NULL,"
                " fixed_at = NULL, fixed_by_fix = NULL WHERE id = ?",
                seen_rows,
            )
            conn.executemany(
                "INSERT INTO finding_occurrences (run_id, finding_id, scanner, rule_id, severity,"
                " severity_rank, confidence, path, start_line, end_line, title, message, snippet, cwe,"
                " refs, suppressed_in_code, properties, lifecycle)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                occ_rows,
            )
            fixed_count = 0
            if status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL) and run_coverage.complete_scanners:
                scanners = sorted(run_coverage.complete_scanners)
                candidates = conn.execute(
                    "SELECT id, scanner, path FROM findings WHERE root = ? AND fixed_at IS NULL"  # noqa: S608 - constants and placeholders only
                    f" AND last_seen_run != ? AND scanner IN ({','.join('?' * len(scanners))})",
                    [root, run_id, *scanners],
                ).fetchall()
                gone = [
                    (run_id, stamp, str(r[0]))
                    for r in candidates
                    if run_coverage.covers(str(r[1]), str(r[2]))
                ]
                conn.executemany("UPDATE findings SET fixed_run = ?, fixed_at = ? WHERE id = ?", gone)
                fixed_count = len(gone)
            conn.executemany(
                "INSERT INTO audit_run_skips (run_id, scanner, path, reason) VALUES (?, ?, ?, ?)",
                [(run_id, s.scanner, s.path, s.reason) for s in skips[:MAX_SKIPS_STORED]],
            )
            if len(skips) > MAX_SKIPS_STORED:
                notes = [*notes, f"{len(skips) - MAX_SKIPS_STORED} more skipped files were not recorded"]
            conn.execute(
                "UPDATE audit_runs SET status = ?, finished_at = ?, files_total = ?, files_scanned = ?,"
                " files_skipped = ?, files_cached = ?, findings_total = ?, findings_new = ?,"
                " findings_fixed = ?, coverage = ?, notes = ?, error = ? WHERE id = ?",
                (
                    status.value, stamp, files_total, files_scanned, len(skips), files_cached, len(seen),
                    new_count, fixed_count,
                    json.dumps([c.model_dump(mode="json") for c in coverage]),
                    json.dumps(notes), error, run_id,
                ),
            )  # fmt: skip
        return self.get_run(run_id)

    def fail_run(self, run_id: int, status: RunStatus, error: str, notes: list[str] | None = None) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE audit_runs SET status = ?, finished_at = ?, error = ?, notes = ? WHERE id = ?",
                (status.value, now_iso(), error, json.dumps(notes or []), run_id),
            )

    def get_run(self, run_id: int, *, max_skips: int = 200) -> RunRecord:
        rows = self.store.query("SELECT * FROM audit_runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFound(
                f"run {run_id} does not exist; list_runs (CLI: secaudit findings runs) shows the known runs"
            )
        skips = self.store.query(
            "SELECT scanner, path, reason FROM audit_run_skips WHERE run_id = ? ORDER BY rowid LIMIT ?",
            (run_id, max_skips + 1),
        )
        return _run_from_row(rows[0], skips, max_skips)

    def list_runs(self, *, root: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        """Newest first, keyset-paginated on the run id (stable while new runs are recorded)."""
        check_limit(limit)
        digest = query_digest("runs", root)
        clauses: list[str] = []
        params: list[Any] = []
        if root is not None:
            clauses.append("root = ?")
            params.append(root)
        if cursor is not None:
            key = decode_cursor(cursor, digest)
            if len(key) != 1 or isinstance(key[0], bool) or not isinstance(key[0], int):
                raise InvalidInput("the cursor is not valid for this query; start again without a cursor")
            clauses.append("id < ?")
            params.append(key[0])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.store.query(
            f"SELECT * FROM audit_runs {where} ORDER BY id DESC LIMIT ?",  # noqa: S608 - constants only
            [*params, limit + 1],
        )
        runs = [_run_from_row(r, [], 0) for r in rows[:limit]]
        next_cursor = encode_cursor(digest, [runs[-1].id]) if len(rows) > limit else None
        return RunPage(runs=runs, next_cursor=next_cursor)

    def latest_run(self, root: str | None = None) -> int | None:
        sql = "SELECT max(id) FROM audit_runs WHERE status IN ('succeeded', 'partial')"
        params: list[Any] = []
        if root is not None:
            sql += " AND root = ?"
            params.append(root)
        rows = self.store.query(sql, params)
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    # -- listing --------------------------------------------------------------------------------

    def list_findings(
        self,
        *,
        run_id: int | None = None,
        root: str | None = None,
        min_severity: Severity | None = None,
        scanners: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        rules: Sequence[str] | None = None,
        path_glob: str | None = None,
        text: str | None = None,
        include_suppressed: bool = True,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FindingPage:
        check_limit(limit)
        for name, values in (("scanners", scanners), ("statuses", statuses), ("rules", rules)):
            if values is not None and len(values) > _MAX_FILTER_ITEMS:
                raise InvalidInput(f"{name}: at most {_MAX_FILTER_ITEMS} values")
        if statuses:
            bad = [s for s in statuses if s not in EFFECTIVE_STATUSES]
            if bad:
                raise InvalidInput("status must be one of " + ", ".join(EFFECTIVE_STATUSES))
        if path_glob is not None and (len(path_glob) > 500 or "\x00" in path_glob):
            raise InvalidInput("path_glob: at most 500 characters, no NUL")
        if text is not None and (len(text) > 500 or "\x00" in text):
            raise InvalidInput("text: at most 500 characters, no NUL")
        if run_id is not None:
            self.get_run(run_id, max_skips=0)
        digest = query_digest(
            "findings", run_id, root, min_severity, scanners, statuses, rules, path_glob, text,
            include_suppressed,
        )  # fmt: skip
        params: dict[str, Any] = {"now": now_iso()}
        if run_id is not None:
            effective = _EFFECTIVE_RUN
            base = (
                f"SELECT {_SUMMARY_COLS}, {effective} AS status FROM finding_occurrences o"  # noqa: S608 - constants and placeholders only
                " JOIN findings f ON f.id = o.finding_id"
                " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
                " WHERE o.run_id = :run"
            )
            params["run"] = run_id
        else:
            effective = _EFFECTIVE_LATEST
            base = (
                f"SELECT {_SUMMARY_COLS}, {effective} AS status FROM findings f"  # noqa: S608 - constants and placeholders only
                " JOIN finding_occurrences o ON o.run_id = f.last_seen_run AND o.finding_id = f.id"
                " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
                " WHERE 1 = 1"
            )
        where: list[str] = []
        if root is not None:
            where.append("f.root = :root")
            params["root"] = root
        if min_severity is not None:
            where.append("o.severity_rank >= :rank")
            params["rank"] = min_severity.rank
        for name, column, values in (("sc", "o.scanner", scanners), ("ru", "o.rule_id", rules)):
            if values:
                keys = [f"{name}{i}" for i in range(len(values))]
                where.append(f"{column} IN ({', '.join(':' + k for k in keys)})")
                params.update(dict(zip(keys, values, strict=True)))
        if statuses:
            keys = [f"st{i}" for i in range(len(statuses))]
            where.append(f"({effective}) IN ({', '.join(':' + k for k in keys)})")
            params.update(dict(zip(keys, statuses, strict=True)))
        if path_glob:
            where.append("o.path GLOB :glob")
            params["glob"] = path_glob.replace("**", "*")
        if text:
            where.append(
                "instr(lower(o.title || ' ' || o.message || ' ' || o.path || ' ' || o.rule_id), :text) > 0"
            )
            params["text"] = text.lower()
        if not include_suppressed:
            where.append("o.suppressed_in_code = 0")
        if cursor:
            key = decode_cursor(cursor, digest)
            if (
                len(key) != 4
                or not isinstance(key[0], int)
                or not isinstance(key[1], str)
                or not isinstance(key[2], int)
                or not isinstance(key[3], str)
            ):
                raise InvalidInput("the cursor is not valid for this query; start again without a cursor")
            where.append("(-o.severity_rank, o.path, coalesce(o.start_line, 0), f.id) > (:k0, :k1, :k2, :k3)")
            params.update({"k0": key[0], "k1": key[1], "k2": key[2], "k3": key[3]})
        sql = base + "".join(" AND " + w for w in where)
        sql += " ORDER BY -o.severity_rank, o.path, coalesce(o.start_line, 0), f.id LIMIT :limit"
        params["limit"] = limit + 1
        with self.store.read() as conn:
            cur = conn.cursor()
            cur.row_factory = sqlite3.Row
            rows = cur.execute(sql, params).fetchall()
        items = [_summary(r, params["now"]) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(
                digest,
                [
                    -int(last["severity_rank"]),
                    str(last["path"]),
                    int(last["start_line"] or 0),
                    str(last["id"]),
                ],
            )
        return FindingPage(items=items, next_cursor=next_cursor)

    def resolve_id(self, ref: str) -> str:
        """A finding id (16 hex) or a unique prefix of a fingerprint."""
        text = ref.strip().lower()
        if not text or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
            raise InvalidInput("a finding id is 16 hexadecimal characters (or a fingerprint of up to 64)")
        rows = self.store.query("SELECT id FROM findings WHERE id = ?", (text,))
        if rows:
            return str(rows[0][0])
        if len(text) >= 16:
            rows = self.store.query(
                "SELECT id FROM findings WHERE fingerprint >= ? AND fingerprint < ? LIMIT 2",
                (text, text + "g"),
            )
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                raise InvalidInput("that fingerprint prefix matches several findings; give the finding id")
        raise NotFound(
            f"no finding with id {text}; list_findings (CLI: secaudit findings list) shows the known ones"
        )

    def get_finding(self, ref: str, *, run_id: int | None = None) -> FindingRecord:
        fid = self.resolve_id(ref)
        now = now_iso()
        with self.store.read() as conn:
            conn.row_factory = sqlite3.Row
            try:
                f = conn.execute("SELECT * FROM findings WHERE id = ?", (fid,)).fetchone()
                occ_run = f["last_seen_run"] if run_id is None else run_id
                o = conn.execute(
                    "SELECT * FROM finding_occurrences WHERE finding_id = ? AND run_id = ?", (fid, occ_run)
                ).fetchone()
                if o is None:
                    raise NotFound(f"finding {fid} was not reported by run {occ_run}")
                t = conn.execute(
                    "SELECT * FROM finding_triage WHERE root = ? AND fingerprint = ?",
                    (f["root"], f["fingerprint"]),
                ).fetchone()
                log = conn.execute(
                    "SELECT * FROM finding_triage_log WHERE root = ? AND fingerprint = ? ORDER BY id DESC"
                    " LIMIT 50",
                    (f["root"], f["fingerprint"]),
                ).fetchall()
            finally:
                conn.row_factory = None
        triage = _triage(t, now) if t is not None else None
        live = triage is not None and not triage.expired and triage.status != TriageStatus.OPEN
        if run_id is None and f["fixed_at"] is not None:
            status = "fixed"
            lifecycle = "fixed"
        else:
            lifecycle = str(o["lifecycle"])
            status = triage.status.value if live and triage is not None else lifecycle
        return FindingRecord(
            id=fid,
            run_id=int(o["run_id"]),
            scanner=o["scanner"],
            rule_id=o["rule_id"],
            severity=Severity(o["severity"]),
            confidence=o["confidence"],
            path=o["path"],
            start_line=o["start_line"],
            end_line=o["end_line"],
            title=o["title"],
            status=status,
            lifecycle=lifecycle,
            triage_status=triage.status if triage else None,
            suppressed_in_code=bool(o["suppressed_in_code"]),
            root=f["root"],
            fingerprint=f["fingerprint"],
            message=o["message"],
            snippet=o["snippet"],
            cwe=json.loads(o["cwe"]),
            references=json.loads(o["refs"]),
            properties=json.loads(o["properties"]),
            first_seen_run=f["first_seen_run"],
            first_seen_at=f["first_seen_at"],
            last_seen_run=f["last_seen_run"],
            last_seen_at=f["last_seen_at"],
            fixed_run=f["fixed_run"],
            fixed_at=f["fixed_at"],
            fixed_by_fix=f["fixed_by_fix"],
            triage=triage,
            triage_history=[_triage(r, now, log=True) for r in log],
        )

    # -- fixes ----------------------------------------------------------------------------------

    def finding_for_fix(self, ref: str) -> tuple[Finding, Path]:
        """The finding as its latest run reported it, and its repository root (the fix tools'
        `FindingSource`). A finding already fixed is refused: there is nothing left to change."""
        record = self.get_finding(ref)
        if record.fixed_at is not None:
            by = f" by fix {record.fixed_by_fix}" if record.fixed_by_fix else f" in run {record.fixed_run}"
            raise InvalidInput(
                f"finding {record.id} is already fixed{by}; run the audit again if it came back"
            )
        finding = Finding(
            scanner=record.scanner,
            rule_id=record.rule_id,
            severity=record.severity,
            confidence=record.confidence,
            path=record.path,
            start_line=record.start_line,
            end_line=record.end_line,
            title=record.title,
            message=record.message,
            snippet=record.snippet,
            cwe=record.cwe,
            references=record.references,
            fingerprint=record.fingerprint,
            suppressed_in_code=record.suppressed_in_code,
            properties=record.properties,
        )
        return finding, Path(record.root)

    def mark_fixed_by_fix(self, root: str | Path, fp: str, fix_id: str) -> bool:
        """A verified fix removed the finding: it is fixed now, recorded with the fix's id.
        False when the store does not know the finding (e.g. it came from a JSON file)."""
        with self.store.write() as conn:
            cur = conn.execute(
                "UPDATE findings SET fixed_at = ?, fixed_run = NULL, fixed_by_fix = ?"
                " WHERE root = ? AND fingerprint = ? AND fixed_at IS NULL",
                (now_iso(), fix_id, str(root), fp),
            )
            return cur.rowcount > 0

    def reopen_after_revert(self, root: str | Path, fp: str, fix_id: str) -> bool:
        """The fix that fixed the finding was reverted: the problem is back in the code, so the
        finding is open again (only if that very fix had marked it fixed)."""
        with self.store.write() as conn:
            cur = conn.execute(
                "UPDATE findings SET fixed_at = NULL, fixed_run = NULL, fixed_by_fix = NULL"
                " WHERE root = ? AND fingerprint = ? AND fixed_by_fix = ?",
                (str(root), fp, fix_id),
            )
            return cur.rowcount > 0

    # -- triage ---------------------------------------------------------------------------------

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
        fid = self.resolve_id(ref)
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
                " updated_at = excluded.updated_at, actor = excluded.actor",
                (row[0], row[1], status.value, reason, expires, stamp, actor),
            )
            conn.execute(
                "INSERT INTO finding_triage_log (root, fingerprint, status, reason, expires_at, at, actor)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row[0], row[1], status.value, reason, expires, stamp, actor),
            )
        return self.get_finding(fid)

    # -- comparisons and metrics ----------------------------------------------------------------

    def compare_runs(self, base: int, head: int, *, limit: int = 200) -> Comparison:
        check_limit(limit)
        a = self.get_run(base, max_skips=0)
        b = self.get_run(head, max_skips=0)
        if a.root != b.root:
            raise InvalidInput("the two runs audited different roots; compare runs of the same repository")
        now = now_iso()
        sql = (
            f"SELECT {_SUMMARY_COLS}, {_EFFECTIVE_RUN} AS status FROM finding_occurrences o"  # noqa: S608 - constants and placeholders only
            " JOIN findings f ON f.id = o.finding_id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            " WHERE o.run_id = :run ORDER BY -o.severity_rank, o.path, coalesce(o.start_line, 0), f.id"
        )
        with self.store.read() as conn:
            cur = conn.cursor()
            cur.row_factory = sqlite3.Row
            rows_a = cur.execute(sql, {"run": base, "now": now}).fetchall()
            rows_b = cur.execute(sql, {"run": head, "now": now}).fetchall()
            head_skips = {
                str(r[0]) for r in conn.execute("SELECT path FROM audit_run_skips WHERE run_id = ?", (head,))
            }
        ids_a = {str(r["id"]) for r in rows_a}
        ids_b = {str(r["id"]) for r in rows_b}
        head_scanners = (
            {c.scanner for c in b.coverage if c.complete} if b.kind == "audit" else set(b.scanners)
        )
        new = [r for r in rows_b if str(r["id"]) not in ids_a]
        gone = [r for r in rows_a if str(r["id"]) not in ids_b]

        def examined(r: sqlite3.Row) -> bool:
            # Gone counts as fixed only where the head run looked: a complete scanner, a file it
            # did not skip, inside the head run's `paths` restriction if it had one.
            return (
                r["scanner"] in head_scanners
                and r["path"] not in head_skips
                and (b.kind != "audit" or path_in_scope(str(r["path"]), b.paths))
            )

        fixed = [r for r in gone if examined(r)]
        not_covered = [r for r in gone if not examined(r)]
        truncated = max(len(new), len(fixed), len(not_covered)) > limit
        return Comparison(
            base_run=base,
            head_run=head,
            new=[_summary(r, now) for r in new[:limit]],
            fixed=[_summary(r, now) for r in fixed[:limit]],
            not_covered=[_summary(r, now) for r in not_covered[:limit]],
            unchanged_count=len(ids_a & ids_b),
            new_count=len(new),
            fixed_count=len(fixed),
            not_covered_count=len(not_covered),
            truncated=truncated,
        )

    def summary(self, *, root: str | None = None, recent: int = 10) -> SecuritySummary:
        if not 1 <= recent <= 100:
            raise InvalidInput("recent must be from 1 to 100")
        now = now_iso()
        params: dict[str, Any] = {"now": now}
        scope = ""
        if root is not None:
            scope = " AND f.root = :root"
            params["root"] = root
        latest_sql = (
            f"SELECT o.scanner, o.severity, o.suppressed_in_code, {_EFFECTIVE_LATEST} AS status,"  # noqa: S608 - constants and placeholders only
            " f.first_seen_at, f.fixed_at FROM findings f"
            " JOIN finding_occurrences o ON o.run_id = f.last_seen_run AND o.finding_id = f.id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            f" WHERE 1 = 1{scope}"
        )
        run_where = "" if root is None else " WHERE root = :root"
        with self.store.read() as conn:
            rows = conn.execute(latest_sql, params).fetchall()
            runs = conn.execute(
                f"SELECT id, kind, status, started_at, findings_total, findings_new, findings_fixed"  # noqa: S608 - constants and placeholders only
                f" FROM audit_runs{run_where} ORDER BY id DESC LIMIT :recent",
                {**params, "recent": recent},
            ).fetchall()
            run_ids = [int(r[0]) for r in runs]
            by_sev_rows = conn.execute(
                "SELECT run_id, severity, count(*) FROM finding_occurrences WHERE run_id IN"  # noqa: S608 - constants and placeholders only
                f" ({','.join('?' * len(run_ids)) or 'NULL'}) GROUP BY run_id, severity",
                run_ids,
            ).fetchall()
        open_by_severity = {s.value: 0 for s in Severity}
        open_by_scanner: dict[str, int] = {}
        by_status = dict.fromkeys(EFFECTIVE_STATUSES, 0)
        suppressed = 0
        fix_hours: list[float] = []
        for scanner, severity, supp, status, first_at, fixed_at in rows:
            by_status[status] = by_status.get(status, 0) + 1
            if status in ("new", "open"):
                open_by_severity[severity] = open_by_severity.get(severity, 0) + 1
                open_by_scanner[scanner] = open_by_scanner.get(scanner, 0) + 1
                if supp:
                    suppressed += 1
            if fixed_at:
                delta = parse_time(fixed_at) - parse_time(first_at)
                fix_hours.append(delta.total_seconds() / 3600)
        sev_map: dict[int, dict[str, int]] = {}
        for run_id, severity, count in by_sev_rows:
            sev_map.setdefault(int(run_id), {})[str(severity)] = int(count)
        trend = [
            TrendPoint(
                run_id=int(r[0]),
                kind=str(r[1]),
                status=RunStatus(r[2]),
                started_at=str(r[3]),
                findings_total=int(r[4]),
                findings_new=int(r[5]),
                findings_fixed=int(r[6]),
                by_severity=sev_map.get(int(r[0]), {}),
            )
            for r in reversed(runs)
        ]
        return SecuritySummary(
            root=root,
            open_total=sum(open_by_severity.values()),
            open_by_severity=open_by_severity,
            open_by_scanner=dict(sorted(open_by_scanner.items())),
            by_status=by_status,
            suppressed_in_code=suppressed,
            trend=trend,
            fixed_total=len(fix_hours),
            mean_time_to_fix_hours=round(sum(fix_hours) / len(fix_hours), 4) if fix_hours else None,
            latest_run=self.latest_run(root),
        )

    def run_findings(self, run_id: int) -> list[FindingRecord]:
        """Every finding of a run, full records (for SARIF export); bounded by the run's own size."""
        rows = self.store.query(
            "SELECT finding_id FROM finding_occurrences WHERE run_id = ?"
            " ORDER BY -severity_rank, path, coalesce(start_line, 0), finding_id",
            (run_id,),
        )
        return [self.get_finding(str(r[0]), run_id=run_id) for r in rows]


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _triage(row: Any, now: str, *, log: bool = False) -> TriageEntry:
    expires = row["expires_at"]
    return TriageEntry(
        status=TriageStatus(row["status"]),
        reason=row["reason"],
        expires_at=expires,
        expired=expires is not None and expires <= now,
        at=row["at"] if log else row["updated_at"],
        actor=row["actor"],
    )


def _summary(row: sqlite3.Row, now: str) -> FindingSummary:
    triage_status = row["triage_status"]
    lifecycle = "fixed" if row["status"] == "fixed" else str(row["occ_lifecycle"])
    return FindingSummary(
        id=row["id"],
        run_id=int(row["run_id"]),
        scanner=row["scanner"],
        rule_id=row["rule_id"],
        severity=Severity(row["severity"]),
        confidence=row["confidence"],
        path=row["path"],
        start_line=row["start_line"],
        end_line=row["end_line"],
        title=row["title"],
        status=row["status"],
        lifecycle=lifecycle,
        triage_status=TriageStatus(triage_status) if triage_status else None,
        suppressed_in_code=bool(row["suppressed_in_code"]),
    )


def _run_from_row(row: sqlite3.Row, skips: Sequence[sqlite3.Row], max_skips: int) -> RunRecord:
    return RunRecord(
        id=row["id"],
        root=row["root"],
        kind=row["kind"],
        tool=row["tool"],
        scanners=json.loads(row["scanners"]),
        paths=None if row["paths"] is None else json.loads(row["paths"]),
        status=RunStatus(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        files_total=row["files_total"],
        files_scanned=row["files_scanned"],
        files_skipped=row["files_skipped"],
        files_cached=row["files_cached"],
        findings_total=row["findings_total"],
        findings_new=row["findings_new"],
        findings_fixed=row["findings_fixed"],
        coverage=[ScannerCoverage.model_validate(c) for c in json.loads(row["coverage"])],
        notes=json.loads(row["notes"]),
        error=row["error"],
        skips=[RunSkip(scanner=s["scanner"], path=s["path"], reason=s["reason"]) for s in skips[:max_skips]],
        skips_truncated=len(skips) > max_skips,
    )

"""Reading findings: filtered, keyset-paginated listings, one finding in full, a run's findings."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.findings.records import (
    EFFECTIVE_STATUSES,
    FindingPage,
    FindingRecord,
    TriageStatus,
)
from secaudit.tools.findings.rows import (
    EFFECTIVE_IN_RUN,
    EFFECTIVE_LATEST,
    SUMMARY_COLUMNS,
    FixClassifier,
    filter_glob,
    filter_in,
    fix_fields,
    occurrence_fields,
    summary_from_row,
    triage_entry,
)
from secaudit.tools.findings.runs import Runs
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.store import Store
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = ["FindingQueries", "one_snapshot"]


_M = TypeVar("_M", bound=Callable[..., Any])


def one_snapshot(method: _M) -> _M:
    """Run a method that reads a run's findings in one read transaction: the check that the run
    was not pruned (retention.py) and the rows read see the same state of the store, never a
    concurrent run's pruning in between (a silently partial list)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.store.read():
            return method(self, *args, **kwargs)

    return cast(_M, wrapper)


_MAX_FILTER_ITEMS = 50


class FindingQueries:
    def __init__(self, store: Store, runs: Runs, classify: FixClassifier | None = None) -> None:
        self.store = store
        self.runs = runs
        self.classify = classify

    @one_snapshot
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
            self.runs.run_with_findings(run_id)
        digest = query_digest(
            "findings", run_id, root, min_severity, scanners, statuses, rules, path_glob, text,
            include_suppressed,
        )  # fmt: skip
        params: dict[str, Any] = {"now": now_iso()}
        if run_id is not None:
            effective = EFFECTIVE_IN_RUN
            base = (
                f"SELECT {SUMMARY_COLUMNS}, {effective} AS status FROM finding_occurrences o"  # noqa: S608 - constants and placeholders only
                " JOIN findings f ON f.id = o.finding_id"
                " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
                " WHERE o.run_id = :run"
            )
            params["run"] = run_id
        else:
            effective = EFFECTIVE_LATEST
            # CROSS JOIN keeps `findings` the outer loop in SQLite: one row per finding, its last
            # occurrence found by primary key. Left to choose, with a filter on `o` and none on the
            # root, the planner scanned every kept run's occurrences instead.
            base = (
                f"SELECT {SUMMARY_COLUMNS}, {effective} AS status FROM findings f"  # noqa: S608 - constants and placeholders only
                " CROSS JOIN finding_occurrences o ON o.run_id = f.last_seen_run AND o.finding_id = f.id"
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
        filter_in(where, params, "sc", "o.scanner", scanners or ())
        filter_in(where, params, "ru", "o.rule_id", rules or ())
        filter_in(where, params, "st", f"({effective})", statuses or ())
        filter_glob(where, params, path_glob)
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
        items = [summary_from_row(r, params["now"], self.classify) for r in rows[:limit]]
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

    @one_snapshot
    def fix_kinds(self, run_id: int) -> dict[str, int]:
        """How many of a run's findings still open (new or open, not triaged away) have an
        automatic fix, by fix kind; empty without a classifier."""
        if self.classify is None:
            return {}
        self.runs.run_with_findings(run_id)
        sql = (
            f"SELECT o.scanner, o.rule_id, o.path, o.properties, {EFFECTIVE_IN_RUN} AS status"  # noqa: S608 - constants and placeholders only
            " FROM finding_occurrences o JOIN findings f ON f.id = o.finding_id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            " WHERE o.run_id = :run"
        )
        with self.store.read() as conn:
            rows = conn.execute(sql, {"run": run_id, "now": now_iso()}).fetchall()
        counts: dict[str, int] = {}
        for scanner, rule_id, path, properties, status in rows:
            if status not in ("new", "open"):
                continue
            kind = self.classify(scanner, rule_id, path, json.loads(properties) if properties else {})
            if kind is not None:
                counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))

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
                    # Gone with its run's other rows: say so (and what to do), not "not reported".
                    self.runs.run_with_findings(int(occ_run))
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
        triage = triage_entry(t, now) if t is not None else None
        live = triage is not None and not triage.expired and triage.status != TriageStatus.OPEN
        if run_id is None and f["fixed_at"] is not None:
            status = "fixed"
            lifecycle = "fixed"
        else:
            lifecycle = str(o["lifecycle"])
            status = triage.status.value if live and triage is not None else lifecycle
        properties = json.loads(o["properties"])
        return FindingRecord(
            id=fid,
            status=status,
            lifecycle=lifecycle,
            triage_status=triage.status if triage else None,
            **occurrence_fields(o),
            root=f["root"],
            fingerprint=f["fingerprint"],
            message=o["message"],
            snippet=o["snippet"],
            cwe=json.loads(o["cwe"]),
            references=json.loads(o["refs"]),
            properties=properties,
            **fix_fields(self.classify, o["scanner"], o["rule_id"], o["path"], properties),
            first_seen_run=f["first_seen_run"],
            first_seen_at=f["first_seen_at"],
            last_seen_run=f["last_seen_run"],
            last_seen_at=f["last_seen_at"],
            fixed_run=f["fixed_run"],
            fixed_at=f["fixed_at"],
            fixed_by_fix=f["fixed_by_fix"],
            triage=triage,
            triage_history=[triage_entry(r, now, log=True) for r in log],
        )

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

    @one_snapshot
    def run_findings(self, run_id: int) -> list[FindingRecord]:
        """Every finding of a run, full records (for SARIF export); bounded by the run's own size."""
        self.runs.run_with_findings(run_id)
        rows = self.store.query(
            "SELECT finding_id FROM finding_occurrences WHERE run_id = ?"
            " ORDER BY -severity_rank, path, coalesce(start_line, 0), finding_id",
            (run_id,),
        )
        return [self.get_finding(str(r[0]), run_id=run_id) for r in rows]

"""Runs, and the finding lifecycle they drive.

Lifecycle. A finding is identified within a repository root by its fingerprint. The run that first
reports it sees it `new`; later runs that report it again see it `open`. A later run that covered
its file (the scanner completed and examined the file, or the file is gone from a full walk) and
did not report it marks it `fixed`; if it comes back it is open again. A run that was cancelled,
or a scanner that failed or stopped early, never marks anything fixed: not looking is not fixing.
A verified fix marks its finding fixed too (with the fix's id); reverting that fix opens it again.
`fixed_run` names the audit that proved a finding gone: the run that found it gone, or, for a
finding a verified fix marked, the first later run that covered its file and did not report it.

Observers (`observers.py`) are told of every run, in its transaction and after it commits. Then,
in the same transaction, the run-history retention prunes old runs of the root (retention.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.findings.baseline import BaselineSync, Decision, sync_baseline
from secaudit.tools.findings.model import Finding
from secaudit.tools.findings.observers import Observers
from secaudit.tools.findings.records import (
    RunPage,
    RunRecord,
    RunSkip,
    RunStatus,
    ScannerCoverage,
)
from secaudit.tools.findings.retention import DEFAULT_RUNS_KEPT, RunPruned, prune_runs, pruned_message
from secaudit.tools.findings.rows import finding_id, run_from_row
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.store import Store
from secaudit.tools.text import first_few
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = ["MAX_SKIPS_STORED", "BaselineInput", "RunCoverage", "Runs"]

# What json.dumps(x) and json.dumps(x, default=str) produce, without their per-call set-up (the
# latter builds a new encoder on every call): three per finding, on every run.
_encode = json.JSONEncoder().encode
_encode_lax = json.JSONEncoder(default=str).encode

MAX_SKIPS_STORED = 50_000


@dataclass
class RunCoverage:
    """Which (scanner, path) pairs a run looked at; decides what its absence means."""

    complete_scanners: set[str] = field(default_factory=set)
    examined: dict[str, set[str]] = field(default_factory=dict)
    full: bool = True  # the whole root was walked (no `paths` restriction)
    seen_paths: set[str] = field(default_factory=set)  # every path the walk saw, kept or skipped
    everything: bool = False  # imports: the file speaks for its whole tool
    # Not judged by this run, so never marked fixed by it: findings the project's rules turned off
    # (by fingerprint), and paths its `exclude` patterns leave out of the walk.
    silenced: set[str] = field(default_factory=set)
    excluded: Callable[[str], bool] | None = None

    def covers(self, scanner: str, path: str, fingerprint: str = "") -> bool:
        if scanner not in self.complete_scanners or fingerprint in self.silenced:
            return False
        if self.excluded is not None and self.excluded(path):
            return False
        if self.everything:
            return True
        if path in self.examined.get(scanner, ()):
            return True
        return self.full and path not in self.seen_paths


@dataclass(frozen=True)
class BaselineInput:
    """The committed baseline of a run's root: its live decisions, and the file they came from."""

    source: str
    decisions: Sequence[Decision]
    entries: int  # every entry of the file, expired ones included


def _baseline_notes(baseline: BaselineInput, sync: BaselineSync) -> list[str]:
    if not baseline.entries:
        return [
            f"baseline: {sync.removed} decisions withdrawn: the root has no baseline file any more"
        ] * bool(sync.removed)
    notes = [
        f"baseline {baseline.source}: {baseline.entries} entries, {len(baseline.decisions)} live; "
        f"{sync.applied} applied to known findings ({sync.matched_run} reported by this run)"
    ]
    if sync.kept_local:
        notes.append(
            f"baseline: {sync.kept_local} entries overridden by newer local triage decisions "
            "(`secaudit baseline write` records them in the file)"
        )
    if sync.unknown:
        notes.append(
            f"baseline: {sync.unknown} entries match no finding of this root (fixed, out of this run's "
            "scope, or secrets findings fingerprinted with another store's key)"
        )
    if sync.removed:
        notes.append(f"baseline: {sync.removed} decisions no longer in the baseline were removed")
    return notes


# Distinct audited roots, looked at to explain a root nobody audited (bounded: a store holds few).
_MAX_ROOTS_LOOKED_AT = 1000
_AUDITED_ROOTS_SQL = "SELECT DISTINCT root FROM audit_runs ORDER BY root LIMIT ?"


class Runs:
    def __init__(
        self, store: Store, observers: Observers | None = None, *, runs_kept: int = DEFAULT_RUNS_KEPT
    ) -> None:
        """`runs_kept`: the retention's N (retention.py); 0 keeps every run's findings."""
        self.store = store
        self.observers = observers if observers is not None else Observers()
        self.runs_kept = runs_kept

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
        baseline: BaselineInput | None = None,
    ) -> RunRecord:
        """Store what a run found and move the lifecycle on, in one transaction; with `baseline`,
        the committed baseline's decisions are applied in it too (baseline.py), and noted."""
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
                        _encode(finding.cwe), _encode(finding.references),
                        int(finding.suppressed_in_code), _encode_lax(finding.properties),
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
                    "SELECT id, scanner, path, fingerprint FROM findings WHERE root = ? AND fixed_at IS NULL"  # noqa: S608 - constants and placeholders only
                    f" AND last_seen_run != ? AND scanner IN ({','.join('?' * len(scanners))})",
                    [root, run_id, *scanners],
                ).fetchall()
                gone = [
                    (run_id, stamp, str(r[0]))
                    for r in candidates
                    if run_coverage.covers(str(r[1]), str(r[2]), str(r[3]))
                ]
                conn.executemany("UPDATE findings SET fixed_run = ?, fixed_at = ? WHERE id = ?", gone)
                fixed_count = len(gone)
                # A verified fix marked these fixed without an audit; this run looked and confirms it.
                marked = conn.execute(
                    "SELECT id, scanner, path FROM findings WHERE root = ? AND fixed_at IS NOT NULL"  # noqa: S608 - constants and placeholders only
                    " AND fixed_run IS NULL AND fixed_by_fix IS NOT NULL AND last_seen_run != ?"
                    f" AND scanner IN ({','.join('?' * len(scanners))})",
                    [root, run_id, *scanners],
                ).fetchall()
                conn.executemany(
                    "UPDATE findings SET fixed_run = ? WHERE id = ?",
                    [(run_id, str(r[0])) for r in marked if run_coverage.covers(str(r[1]), str(r[2]))],
                )
            if baseline is not None:
                notes = [*notes, *_baseline_notes(baseline, sync_baseline(
                    conn, root, baseline.decisions, run_fingerprints=set(seen), now=stamp
                ))]  # fmt: skip
            conn.executemany(
                "INSERT INTO audit_run_skips (run_id, scanner, path, reason) VALUES (?, ?, ?, ?)",
                [(run_id, s.scanner, s.path, s.reason) for s in skips[:MAX_SKIPS_STORED]],
            )
            if len(skips) > MAX_SKIPS_STORED:
                notes = [*notes, f"{len(skips) - MAX_SKIPS_STORED} more skipped files were not recorded"]
            notes = [*notes, *self.observers.in_transaction(conn, root, run_id)]
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
            # After the status update: the run just recorded counts as one of the newest.
            prune_runs(conn, root, keep=self.runs_kept, current=run_id, now=stamp)
        later = self.observers.after_commit(root, run_id)
        if later:
            with self.store.write() as conn:
                conn.execute(
                    "UPDATE audit_runs SET notes = ? WHERE id = ?", (json.dumps([*notes, *later]), run_id)
                )
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
        return run_from_row(rows[0], skips, max_skips)

    def run_with_findings(self, run_id: int, *, max_skips: int = 0) -> RunRecord:
        """The run, when its findings are still stored; RunPruned (naming the setting and a newer
        run) when the retention pruned them."""
        run = self.get_run(run_id, max_skips=max_skips)
        if run.pruned:
            raise RunPruned(pruned_message(run_id, self.latest_run(run.root), self.runs_kept))
        return run

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
        runs = [run_from_row(r, [], 0) for r in rows[:limit]]
        next_cursor = encode_cursor(digest, [runs[-1].id]) if len(rows) > limit else None
        return RunPage(runs=runs, next_cursor=next_cursor)

    def require_audited(self, root: str) -> None:
        """NotFound, saying which folders were audited, when no run of `root` is recorded: a listing
        or summary of a folder nobody audited must not read as clean (a subfolder of an audited
        repository holds findings, under the repository's root)."""
        if self.store.query("SELECT 1 FROM audit_runs WHERE root = ? LIMIT 1", (root,)):
            return
        roots = [str(r[0]) for r in self.store.query(_AUDITED_ROOTS_SQL, (_MAX_ROOTS_LOOKED_AT,))]
        target = Path(root)
        above = [r for r in roots if target.is_relative_to(r)]
        if above:
            nearest = max(above, key=len)
            sub = target.relative_to(nearest).as_posix()
            raise NotFound(
                f"no audit of {root} is recorded; it lies inside the audited folder {nearest}: use "
                f"root={nearest} (list_findings narrows it with path_glob='{sub}/*'), or run_audit {root}"
            )
        inside = [r for r in roots if Path(r).is_relative_to(target)]
        if inside:
            shown = first_few(inside, 5)
            raise NotFound(
                f"no audit of {root} is recorded; audited folders inside it: {shown}; use one as root"
            )
        raise NotFound(
            f"no audit of {root} is recorded; run_audit it first (list_runs shows the audited folders)"
        )

    def latest_run(self, root: str | None = None) -> int | None:
        sql = "SELECT max(id) FROM audit_runs WHERE status IN ('succeeded', 'partial')"
        params: list[Any] = []
        if root is not None:
            sql += " AND root = ?"
            params.append(root)
        rows = self.store.query(sql, params)
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    # -- fixes ----------------------------------------------------------------------------------

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
            reopened = cur.rowcount > 0
            if reopened:
                self.observers.in_transaction(conn, str(root), None)
        if reopened:
            self.observers.after_commit(str(root), None)
        return reopened


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

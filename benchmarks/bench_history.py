"""Run-history benchmark: store size and `finish_run` time as re-audits pile up, with the run-history
retention (SECAUDIT_RUNS_KEPT, default 100) against keeping every run (0: the baseline, and the
behaviour before retention existed).

A synthetic findings set the size of Django's (1,193 findings over ~900 files, texts and snippets of
realistic length) is recorded RUNS times through FindingsService.start_run/finish_run on a real
SQLite file, as re-audits of an unchanged tree would record it. Prints, for each policy, the median
finish_run time over runs 1-10 and over the last ten runs, the store size (main file + WAL after a
checkpoint) at run 10 and at the end, and the ratios of retention to the baseline measured in the
same process. Each policy gets a fresh store in a temporary folder.

    python benchmarks/bench_history.py [--runs 300] [--findings 1193]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from secaudit.tools.findings import (
    Confidence,
    Finding,
    FindingsService,
    RunCoverage,
    RunStatus,
    Severity,
    retention,
)
from secaudit.tools.findings.retention import DEFAULT_RUNS_KEPT
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store

ROOT = "/bench/django"
SCANNER = "bandit"
WINDOW = 10


def synthetic(count: int) -> list[Finding]:
    severities = (Severity.LOW, Severity.MEDIUM, Severity.HIGH)
    return [
        Finding(
            scanner=SCANNER,
            rule_id=f"B{100 + i % 60}",
            severity=severities[i % 3],
            confidence=Confidence.HIGH,
            path=f"django/contrib/module_{i % 900:03d}/views_{i % 7}.py",
            start_line=10 + i,
            end_line=12 + i,
            title=f"Possible SQL injection vector through string-based query construction ({i})",
            message="Use of a string-formatted query: pass the parameters to the driver instead of "
            f"formatting them into the SQL text; see the rule's reference for details. #{i}",
            snippet=f"    cursor.execute('SELECT * FROM table_{i} WHERE name = %s' % name)\n"
            f"    rows = cursor.fetchall()  # {'x' * 60}",
            cwe=[89],
            references=[
                "https://bandit.readthedocs.io/en/latest/plugins/b608_hardcoded_sql_expressions.html"
            ],
            fingerprint=f"{i:064x}",
            properties={"test_name": "hardcoded_sql_expressions", "more_info": "https://example.invalid"},
        )
        for i in range(count)
    ]


def size_mb(db: Path) -> float:
    wal = db.with_name(db.name + "-wal")
    return (db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6


def measure(keep: int, runs: int, findings: list[Finding], folder: Path) -> dict[str, float]:
    db = folder / f"keep{keep}.db"
    store = Store(db)
    store.migrate(STORE_MIGRATIONS)
    service = FindingsService(store, runs_kept=keep)
    coverage = RunCoverage(complete_scanners={SCANNER}, examined={SCANNER: {f.path for f in findings}})
    times: list[float] = []
    out: dict[str, float] = {}
    for n in range(1, runs + 1):
        run_id = service.start_run(ROOT, kind="audit", scanners=[SCANNER])
        start = time.perf_counter()
        service.finish_run(
            run_id,
            status=RunStatus.SUCCEEDED,
            findings=findings,
            coverage=[],
            skips=[],
            notes=[],
            run_coverage=coverage,
            files_total=900,
            files_scanned=900,
            files_cached=900,
        )
        times.append(time.perf_counter() - start)
        if n in (WINDOW, runs):
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            out[f"size_{n}"] = size_mb(db)
    out["early_ms"] = statistics.median(times[:WINDOW]) * 1000
    out["late_ms"] = statistics.median(times[-WINDOW:]) * 1000
    out["occurrences"] = float(store.query("SELECT count(*) FROM finding_occurrences")[0][0])
    store.close()
    return out


def main() -> None:
    # The retention spares runs finished in the last ten minutes (their callers are about to read
    # them); these 300 runs are recorded in seconds and stand for days of history, so no grace.
    retention.GRACE = dt.timedelta(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--findings", type=int, default=1193)
    args = parser.parse_args()
    findings = synthetic(args.findings)
    with tempfile.TemporaryDirectory(prefix="secaudit-bench-history-") as tmp:
        base = measure(0, args.runs, findings, Path(tmp))
        kept = measure(DEFAULT_RUNS_KEPT, args.runs, findings, Path(tmp))
    last = args.runs
    print(f"{args.findings} findings recorded {last} times (finish_run medians of {WINDOW} runs)")
    for name, r in (("keep everything (baseline)", base), (f"keep {DEFAULT_RUNS_KEPT} (default)", kept)):
        print(
            f"  {name:28} finish_run runs 1-{WINDOW}: {r['early_ms']:6.1f} ms   "
            f"runs {last - WINDOW + 1}-{last}: {r['late_ms']:6.1f} ms   "
            f"store at run {WINDOW}: {r[f'size_{WINDOW}']:6.1f} MB   at run {last}: {r[f'size_{last}']:6.1f} MB   "
            f"occurrence rows: {int(r['occurrences'])}"
        )
    print(
        f"  retention / baseline: finish_run early {kept['early_ms'] / base['early_ms']:.2f}x, "
        f"late {kept['late_ms'] / base['late_ms']:.2f}x; store at run {last} "
        f"{kept[f'size_{last}'] / base[f'size_{last}']:.2f}x"
    )
    print(
        f"  growth run {WINDOW} -> {last}: finish_run baseline {base['late_ms'] / base['early_ms']:.2f}x, "
        f"retention {kept['late_ms'] / kept['early_ms']:.2f}x"
    )


if __name__ == "__main__":
    main()

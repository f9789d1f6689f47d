"""`secaudit findings list|show|triage|runs|run|export|import`: the findings service on the command line.

`list`, `show`, `runs`, `run` and `export` only read: they open the store read-only (a missing one
reads as empty). `triage` and `import` open it for writing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from secaudit.server.cli.common import add_paging, add_sarif_options, emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import attach_bridge, findings_service, open_audit, open_store
from secaudit.tools.findings import (
    EFFECTIVE_STATUSES,
    MIGRATIONS,
    FindingRecord,
    FindingsService,
    RunRecord,
    Severity,
    TriageStatus,
)
from secaudit.tools.findings.retention import RUNS_KEPT_SETTING
from secaudit.tools.paths import confine

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("findings")
    fsub = p.add_subparsers(dest="findings_command", metavar="ACTION", required=True)

    ls = fsub.add_parser("list", parents=parents, help="list findings (latest state, or one run)")
    ls.add_argument("--run", type=int, dest="run_id", help="findings of this run")
    ls.add_argument("--repo", help="only this repository folder")
    ls.add_argument("--min-severity", choices=[s.value for s in Severity])
    ls.add_argument("--scanner", action="append")
    ls.add_argument("--status", action="append", choices=list(EFFECTIVE_STATUSES))
    ls.add_argument("--rule", action="append")
    ls.add_argument("--path", dest="path_glob", help="path glob, e.g. 'app/*.py'")
    ls.add_argument("--text", help="substring of title, message, path or rule")
    ls.add_argument("--hide-suppressed", action="store_true", help="hide `# nosec` findings")
    add_paging(ls, default=50)
    ls.set_defaults(handler=_list)

    show = fsub.add_parser("show", parents=parents, help="show one finding in full")
    show.add_argument("id")
    show.add_argument("--run", type=int, dest="run_id")
    show.set_defaults(handler=_show)

    tri = fsub.add_parser("triage", parents=parents, help="record a triage decision (reason required)")
    tri.add_argument("id")
    tri.add_argument("--status", required=True, choices=[s.value for s in TriageStatus])
    tri.add_argument("--reason", required=True)
    tri.add_argument("--expires-at", help="ISO 8601 date-time; after it the finding is open again")
    tri.set_defaults(handler=_triage)

    runs = fsub.add_parser("runs", parents=parents, help="list audit and import runs, newest first")
    runs.add_argument("--repo", help="only runs of this repository folder")
    add_paging(runs, default=20)
    runs.set_defaults(handler=_runs)

    runp = fsub.add_parser("run", parents=parents, help="show a run: coverage, skips and notes")
    runp.add_argument("run_id", type=int)
    runp.add_argument("--max-skips", type=int, default=1000)
    runp.set_defaults(handler=_run)

    exp = fsub.add_parser("export", parents=parents, help="write a run as SARIF 2.1.0 to stdout")
    exp.add_argument("run_id", type=int)
    add_sarif_options(exp)
    exp.set_defaults(handler=_export)

    imp = fsub.add_parser("import", parents=parents, help="import a SARIF file as a run")
    imp.add_argument("file")
    imp.add_argument("--repo", help="repository folder the results refer to (default: the file's folder)")
    imp.set_defaults(handler=_import)


def _reader(args: argparse.Namespace) -> tuple[FindingsService, tuple[Path, ...]]:
    """The findings service over the store opened read-only, and the allowed roots."""
    settings = settings_from_args(args)
    store = open_store(settings, write=False, schema=MIGRATIONS)
    return findings_service(store, settings), settings.allowed_roots


def _list(args: argparse.Namespace) -> int:
    findings, roots = _reader(args)
    repo = None if args.repo is None else str(confine(args.repo, roots))
    page = findings.list_findings(
        run_id=args.run_id,
        root=repo,
        min_severity=None if args.min_severity is None else Severity(args.min_severity),
        scanners=args.scanner,
        statuses=args.status,
        rules=args.rule,
        path_glob=args.path_glob,
        text=args.text,
        include_suppressed=not args.hide_suppressed,
        limit=args.limit,
        cursor=args.cursor,
    )
    if args.json:
        emit_json(page)
        return 0
    for f in page.items:
        loc = f"{f.path}:{f.start_line}" if f.start_line else f.path
        nosec = " nosec" if f.suppressed_in_code else ""
        print(
            for_terminal(
                f"{f.id}  {f.severity.value:<8} {f.status:<14} {f.scanner}/{f.rule_id:<10} {loc}"
                f"  {f.title[:80]}{nosec}"
            )
        )
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})")
    return 0


def _print_record(rec: FindingRecord, as_json: bool) -> None:
    if as_json:
        emit_json(rec)
        return
    loc = f"{rec.path}:{rec.start_line}" if rec.start_line else rec.path
    print(for_terminal(f"{rec.id} [{rec.status}] {rec.severity.value} {rec.scanner}/{rec.rule_id} at {loc}"))
    print(for_terminal(f"  {rec.title}"))
    if rec.message and rec.message != rec.title:
        print("  " + for_terminal(rec.message, lines=True).replace("\n", "\n  "))
    if rec.snippet:
        print("  code:")
        print("    " + for_terminal(rec.snippet, lines=True).replace("\n", "\n    "))
    if rec.cwe:
        print(for_terminal("  CWE: " + ", ".join(str(c) for c in rec.cwe)))
    for ref in rec.references:
        print(for_terminal(f"  see: {ref}"))
    print(f"  first seen run {rec.first_seen_run} ({rec.first_seen_at}), last seen run {rec.last_seen_run}")
    if rec.fixed_at and rec.fixed_by_fix:
        print(f"  fixed by fix {rec.fixed_by_fix} ({rec.fixed_at}); secaudit fix revert undoes it")
    elif rec.fixed_at:
        print(f"  fixed in run {rec.fixed_run} ({rec.fixed_at})")
    if rec.suppressed_in_code:
        print("  suppressed in code (# nosec)")
    if rec.triage:
        exp = f", expires {rec.triage.expires_at}" if rec.triage.expires_at else ""
        state = " (EXPIRED)" if rec.triage.expired else ""
        print(
            for_terminal(
                f"  triage: {rec.triage.status.value}{state} by {rec.triage.actor}"
                f"{' (committed baseline)' if rec.triage.from_baseline else ''}: {rec.triage.reason}{exp}"
            )
        )
    print(f"  fingerprint {rec.fingerprint}")


def _show(args: argparse.Namespace) -> int:
    findings, _roots = _reader(args)
    _print_record(findings.get_finding(args.id, run_id=args.run_id), args.json)
    return 0


def _triage(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    findings = findings_service(open_store(settings, write=True), settings)
    attach_bridge(settings, findings)  # a triaged finding archives its task
    rec = findings.triage(args.id, args.status, args.reason, expires_at=args.expires_at, actor="cli")
    _print_record(rec, args.json)
    return 0


def _runs(args: argparse.Namespace) -> int:
    findings, roots = _reader(args)
    repo = None if args.repo is None else str(confine(args.repo, roots))
    page = findings.list_runs(root=repo, limit=args.limit, cursor=args.cursor)
    if args.json:
        emit_json(page)
        return 0
    for r in page.runs:
        print(
            for_terminal(
                f"{r.id:>5}  {r.kind:<6} {r.status.value:<9} {r.started_at}  {r.findings_total:>5} findings"
                f"  {r.files_scanned}/{r.files_total} files  {r.root}"
                + ("  (findings pruned: SECAUDIT_RUNS_KEPT)" if r.pruned else "")
            )
        )
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})")
    return 0


def _run(args: argparse.Namespace) -> int:
    findings, _roots = _reader(args)
    record = findings.get_run(args.run_id, max_skips=max(0, min(args.max_skips, 100_000)))
    if args.json:
        emit_json(record)
    else:
        _print_coverage(record)
        if record.pruned:
            print(f"its findings and skipped files were pruned by {RUNS_KEPT_SETTING}; the record stays")
        for skip in record.skips[20:]:
            print(for_terminal(f"    - {skip.path}: {skip.reason}"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from secaudit.server.version import package_version
    from secaudit.tools.findings.sarif import export_sarif

    findings, _roots = _reader(args)
    doc = export_sarif(
        findings,
        args.run_id,
        tool_version=package_version(),
        category=args.sarif_category,
        source_root=args.sarif_root,
    )
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    from secaudit.tools.findings.sarif import import_sarif

    if not args.roots:
        args.roots = [Path(args.repo or Path(args.file).parent)]
    settings = settings_from_args(args)
    audit = open_audit(settings)
    record = import_sarif(
        audit.findings,
        args.file,
        allowed_roots=list(settings.allowed_roots),
        root=args.repo,
        own_scanners=set(audit.scanner_names()),
    )
    if args.json:
        emit_json(record)
    else:
        _print_coverage(record)
    return 0


def _print_coverage(record: RunRecord) -> None:
    from secaudit.server.cli.audit import print_coverage
    from secaudit.server.cli.console import PipeConsole

    print_coverage(record, PipeConsole(soft_wrap=True))

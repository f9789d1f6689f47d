"""`secaudit audit PATH`: the same AuditService the run_audit tool uses, with a terminal front end.

Exit codes (tools/findings/gate.py decides): 0 clean; 1 an open finding at or above --fail-on (wins
over partial); 2 usage or error (including a run that could not check anything, not a git repository
for a diff scope); 3 the run is partial and --fail-on-partial is on (the default when the CI variable
is true). Results go to stdout (table, JSON or SARIF); the progress bar and, for SARIF output, the
coverage report go to stderr. Neither is wrapped to a width: a log keeps each line whole.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections import Counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from secaudit.server.cli.common import add_sarif_options, emit_json, path_as_root, settings_from_args
from secaudit.server.cli.console import PipeConsole
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import open_audit
from secaudit.server.version import package_version
from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.audit import AuditService, test_path_options
from secaudit.tools.audit.diff import DiffAudit, DiffOutcome, diff_request, scope_sarif
from secaudit.tools.audit.next_steps import next_steps
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings import FindingsService, FindingSummary, RunRecord, RunStatus
from secaudit.tools.findings.gate import EXIT_ERROR, FAIL_ON_CHOICES, gate
from secaudit.tools.findings.sarif import check_sarif_root, export_sarif
from secaudit.tools.scanners import CancelToken

__all__ = ["collect_findings", "print_coverage", "register"]

_DEFAULT_FAIL_ON = "low"
_TRUE = frozenset({"1", "true", "yes", "on"})
_TABLE_ROWS = 200
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        parents=parents,
        description="Audit a folder with the security scanners. Exit codes: 0 clean; 1 open findings "
        "at or above --fail-on (this wins over partial); 2 could not run (usage, not a git repository for "
        "--changed/--staged/--since, no scanner could run); 3 the run is partial (something was not "
        "checked) and --fail-on-partial is on.",
    )
    p.add_argument("path", help="repository folder (becomes the allowed root unless --root is given)")
    p.add_argument(
        "--scanners",
        help="comma-separated scanner names: bandit, semgrep, secrets, config, deps (default: all available)",
    )
    p.add_argument("--paths", action="append", help="only this relative path or glob; repeatable")
    p.add_argument("--format", choices=["table", "json", "sarif"], default=None)
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=None,
        help="exit 1 when an open finding (not triaged away, not # nosec) is at or above this (default: "
        "the project's fail_on in .secaudit.toml or [tool.secaudit], else low)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="rescan every file (fresh results are still cached)"
    )
    p.add_argument(
        "--include-tests",
        action="store_true",
        help="also report keyword and entropy secret guesses in test and fixture paths (by default "
        "they are dismissed and listed per file in the run's notes)",
    )
    p.add_argument(
        "--online",
        help="also ask these online advisory backends (opt-in; offline results stand when they do not "
        "answer): comma-separated pypi, osv, npm (SECAUDIT_DEPS_ONLINE)",
    )
    scope = p.add_argument_group(
        "diff scope (only changed files; only findings absent at the base are reported and gate)"
    )
    only = scope.add_mutually_exclusive_group()
    only.add_argument(
        "--changed",
        action="store_true",
        help="the working tree against HEAD, untracked files (not ignored) included",
    )
    only.add_argument(
        "--staged",
        action="store_true",
        help="the staged changes against HEAD; the staged content is scanned, not the working copy",
    )
    only.add_argument("--since", metavar="REF", help="the working tree against commit REF (e.g. the PR base)")
    scope.add_argument(
        "--changed-lines",
        action="store_true",
        help="with a diff scope: report only new findings on changed lines (git diff -U0 hunks)",
    )
    p.add_argument(
        "--fail-on-partial",
        action=argparse.BooleanOptionalAction,
        default=_ci_default(),
        help="exit 3 when the run is partial (something selected was not checked) and no finding "
        "fails it; default on when the CI variable is true (1, true, yes, on), else off",
    )
    add_sarif_options(p)
    p.set_defaults(handler=run)


def _ci_default() -> bool:
    # The edge reads the environment once, here; nothing below knows about CI.
    return os.environ.get("CI", "").strip().lower() in _TRUE


def _audit(args: argparse.Namespace, path: str) -> AuditService:
    path_as_root(args, path)
    online = tuple(p.strip().lower() for p in args.online.split(",") if p.strip()) if args.online else None
    return open_audit(settings_from_args(args, deps_online=online))


def collect_findings(service: FindingsService, run_id: int) -> list[FindingSummary]:
    return service.run_summaries(run_id)


def print_coverage(run: RunRecord, console: Console) -> None:
    """What the run covered, what it skipped and why: printed with every result."""
    console.print(
        for_terminal(
            f"Run {run.id} [{run.status.value}] {run.root}: {run.files_total} files walked, "
            # "first seen", not "new": a diff-scoped run's "new" means new against the diff's base.
            # Cache hits are counted per scanner, so they can outnumber the files.
            f"{run.files_scanned} examined ({run.files_cached} scanner results from cache), "
            f"{run.files_skipped} skipped; {run.findings_total} findings ({run.findings_new} first seen, "
            f"{run.findings_fixed} fixed since last run)"
        ),
        markup=False,
        highlight=False,
        emoji=False,
    )
    for cov in run.coverage:
        state = "complete" if cov.complete else f"INCOMPLETE{': ' + cov.error if cov.error else ''}"
        console.print(
            for_terminal(
                f"  {cov.scanner} {cov.version}: {cov.selected} files selected, {cov.scanned} scanned "
                f"({cov.cached} cached), {cov.skipped} skipped, {cov.findings} findings; {state}"
            ),
            markup=False,
            highlight=False,
            emoji=False,
        )
    reasons = Counter(f"{s.scanner}: {s.reason}" for s in run.skips)
    if reasons:
        console.print("  skipped:", markup=False)
        for reason, count in reasons.most_common():
            console.print(for_terminal(f"    {count} x {reason}"), markup=False, highlight=False, emoji=False)
        if run.skips_truncated:
            console.print(
                f"    (first {len(run.skips)} of {run.files_skipped} shown; `secaudit findings run {run.id}`"
                " lists all)",
                markup=False,
            )
        for skip in run.skips[:20]:
            console.print(
                for_terminal(f"    - {skip.path}: {skip.reason}"), markup=False, highlight=False, emoji=False
            )
    for note in run.notes:
        console.print(for_terminal(f"  note: {note}"), markup=False, highlight=False, emoji=False)


def _table(
    items: list[FindingSummary], console: Console, run_status: RunStatus, run_id: int, diff: bool = False
) -> None:
    """One line per finding, most severe first: readable in a terminal and in a CI log alike."""
    if not items:
        # "No findings." only for a run that checked everything; a partial one says what it missed.
        partial = f"No findings in what was checked; the run is {run_status.value.upper()}: see the notes."
        clean = "No new findings." if diff else "No findings."
        console.print(clean if run_status is RunStatus.SUCCEEDED else partial, markup=False)
        return
    for f in items[:_TABLE_ROWS]:
        loc = f"{f.path}:{f.start_line}" if f.start_line else f.path
        status = f.status + (", nosec" if f.suppressed_in_code else "")
        line = Text()
        line.append(f"{f.severity.value.upper():<8} ", style=_STYLE.get(f.severity.value, ""))
        line.append(for_terminal(f"{f.scanner}/{f.rule_id:<6} {loc}  {f.title[:120]}  [{status}] {f.id}"))
        console.print(line, highlight=False)
    if len(items) > _TABLE_ROWS:
        console.print(
            f"... {len(items) - _TABLE_ROWS} more: secaudit findings list --run {run_id}", markup=False
        )


def run(args: argparse.Namespace) -> int:
    fmt = args.format or ("json" if args.json else "table")
    # On the command line a relative path means relative to the working directory.
    args.path = os.path.abspath(args.path)
    changed = "working" if args.changed else "staged" if args.staged else None
    request = diff_request(
        changed=changed, since=args.since, changed_lines=args.changed_lines, paths=args.paths
    )
    if (args.sarif_category is not None or args.sarif_root is not None) and fmt != "sarif":
        raise InvalidInput("--sarif-category and --sarif-root apply to --format sarif only")
    if args.sarif_root is not None:
        check_sarif_root(args.sarif_root, args.path)
    audit = _audit(args, args.path)
    scanners = [s.strip() for s in args.scanners.split(",") if s.strip()] if args.scanners else None
    # The project's configuration, read once: its fail_on is the gate unless --fail-on is given.
    policy = audit.project_policy(args.path)
    fail_on: str = args.fail_on or policy.config.fail_on or _DEFAULT_FAIL_ON
    token = CancelToken()
    outcome: dict[str, Any] = {}
    # Not wrapped to a width: in a CI log (no terminal) every line stays whole and greppable.
    err = PipeConsole(stderr=True, soft_wrap=True)
    show_bar = sys.stderr.isatty()
    bar = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=PipeConsole(stderr=True), transient=True, disable=not show_bar,
    )  # fmt: skip
    task = bar.add_task("auditing", total=None)

    def progress(done: int, total: int, message: str) -> None:
        bar.update(task, completed=done, total=total or None, description=for_terminal(message.split(":")[0]))

    def work() -> None:
        try:
            options = test_path_options(args.include_tests)
            if request is not None:
                outcome["diff"] = DiffAudit(audit).run(
                    args.path, request, scanners=scanners, use_cache=not args.no_cache, cancel=token,
                    progress=progress, scanner_options=options, project=policy,
                )  # fmt: skip
                outcome["run"] = outcome["diff"].run
                return
            outcome["run"] = audit.run(
                args.path, scanners=scanners, paths=args.paths, use_cache=not args.no_cache,
                cancel=token, progress=progress, scanner_options=options, project=policy,
            )  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, re-raised there
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="audit", daemon=True)
    with bar:
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.2)
        except KeyboardInterrupt:
            # Stop the scanners (their worker processes are killed), record the run as cancelled.
            token.cancel()
            thread.join(60)
            raise
    if "error" in outcome:
        raise outcome["error"]
    record: RunRecord = outcome["run"]
    scoped: DiffOutcome | None = outcome.get("diff")
    items = collect_findings(audit.findings, record.id) if scoped is None else scoped.findings
    verdict = gate(record.status, items, fail_on, fail_on_partial=args.fail_on_partial)
    out = PipeConsole(soft_wrap=True)
    if fmt == "json":
        steps = next_steps(
            record,
            advisories_empty=AdvisoryDB(audit.store).is_empty(),
            fixable=audit.findings.fix_kinds(record.id),
            more_findings=False,
        )
        payload: dict[str, Any] = {
            "run": record.model_dump(mode="json"),
            "findings": [i.model_dump(mode="json") for i in items],
            "next_steps": [s.model_dump(mode="json") for s in steps],
            "exit_code": verdict.exit_code,
            "gate": verdict.as_dict(),
        }
        if scoped is not None:
            payload["diff"] = scoped.summary.model_dump(mode="json")
        emit_json(payload)
    elif fmt == "sarif":
        doc = export_sarif(
            audit.findings,
            record.id,
            tool_version=package_version(),
            category=args.sarif_category,
            source_root=args.sarif_root,
        )
        if scoped is not None:
            doc = scope_sarif(doc, scoped)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print_coverage(record, err)
        if scoped is not None:
            err.print(for_terminal(scoped.summary.line()), markup=False, highlight=False, emoji=False)
    else:
        _table(items, out, record.status, record.id, diff=scoped is not None)
        print_coverage(record, out)
        if scoped is not None:
            out.print(for_terminal(scoped.summary.line()), markup=False, highlight=False, emoji=False)
    if verdict.exit_code == EXIT_ERROR:
        err.print(
            for_terminal(f"secaudit: error: the audit could not run: {record.error or 'see notes'}"),
            markup=False,
            emoji=False,
        )
    elif verdict.blocking:
        if fmt == "table":
            what = "new open findings" if scoped is not None else "open findings"
            err.print(f"{verdict.blocking} {what} at or above {fail_on}", markup=False)
    elif verdict.exit_code != 0:
        err.print(
            "secaudit: the run is PARTIAL (not everything was checked; see the notes) and "
            "--fail-on-partial is on: exit 3",
            markup=False,
        )
    return verdict.exit_code

"""`secaudit fix plan|apply|revert|list`: the same FixService the MCP fix tools use.

A finding is named by its id (from `secaudit audit` or `secaudit findings list`), resolved through
the findings store, or given as a JSON file holding one finding (`--finding-json`) with `--repo`.
A verified fix marks the finding fixed in the store; `revert` opens it again.
`apply` is a dry run unless `--write` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from secaudit.server.cli.common import add_paging, emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import build_fix_service, fingerprint_key, open_audit, open_store
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.model import FixPlan, FixRecord, FixStatus

if TYPE_CHECKING:
    from secaudit.server.settings import Settings
    from secaudit.tools.findings import FindingsService
    from secaudit.tools.fixes.service import FixService

__all__ = ["register"]

_MAX_FINDING_BYTES = 1024 * 1024


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fix")
    fsub = p.add_subparsers(dest="fix_command", metavar="ACTION", required=True)

    def finding_args(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("finding_id", nargs="?", help="the finding's id")
        cmd.add_argument("--finding-json", type=Path, help="a JSON file holding one finding")
        cmd.add_argument(
            "--repo",
            type=Path,
            help="repository root of --finding-json, relative to the current folder (default: first root)",
        )

    plan = fsub.add_parser("plan", parents=parents, help="show the diff a fix would write")
    finding_args(plan)
    plan.set_defaults(handler=_plan)

    apply = fsub.add_parser("apply", parents=parents, help="apply a plan or a finding (dry run by default)")
    finding_args(apply)
    apply.add_argument("--plan-id", help="apply this plan instead of a finding")
    apply.add_argument("--write", action="store_true", help="really write (default: dry run, diff only)")
    apply.set_defaults(handler=_apply)

    revert = fsub.add_parser("revert", parents=parents, help="restore the exact previous bytes")
    revert.add_argument("fix_id")
    revert.set_defaults(handler=_revert)

    ls = fsub.add_parser("list", parents=parents, help="the fix history, newest first")
    ls.add_argument("--status", action="append", choices=[s.value for s in FixStatus])
    add_paging(ls, default=50)
    ls.set_defaults(handler=_list)


def _writer(args: argparse.Namespace) -> tuple[Settings, FixService, FindingsService]:
    """The fix service over the store opened for writing, interrupted fixes repaired first."""
    settings = settings_from_args(args)
    audit = open_audit(settings)
    fixes = build_fix_service(
        settings, audit.store, audit=audit, findings=audit.findings, secret_key=fingerprint_key(settings)
    )
    fixes.recover()
    fixes.purge_backups()
    return settings, fixes, audit.findings


def _finding(settings: Settings, findings: FindingsService, args: argparse.Namespace) -> tuple[Finding, Path]:
    if args.finding_json is not None:
        if args.finding_id:
            raise InvalidInput("give a finding id or --finding-json, not both")
        try:
            raw = args.finding_json.read_bytes()[: _MAX_FINDING_BYTES + 1]
        except OSError as exc:
            raise InvalidInput(f"cannot read --finding-json: {exc.strerror or 'error'}") from None
        if len(raw) > _MAX_FINDING_BYTES:
            raise InvalidInput("--finding-json is larger than 1 MiB")
        try:
            found = Finding.model_validate_json(raw)
        except ValidationError:
            raise InvalidInput("--finding-json does not hold one finding (see docs/fixes.md)") from None
        # On the command line a relative path means relative to the current folder, not a root.
        return found, Path(os.path.abspath(args.repo)) if args.repo else settings.allowed_roots[0]
    if not args.finding_id:
        raise InvalidInput("name the finding: its id, or --finding-json FILE")
    return findings.finding_for_fix(args.finding_id)


def _print_plan(plan: FixPlan) -> None:
    print(for_terminal(f"plan {plan.plan_id}: {plan.summary} [{plan.kind}]"))
    for f in plan.files:
        print(for_terminal(f"  {'create' if f.created else 'change'} {f.path}"))
    for label, items in (("risk", plan.risks), ("note", plan.notes), ("re-lock", plan.relock_commands)):
        for item in items:
            print(for_terminal(f"  {label}: {item}"))
    sys.stdout.write(for_terminal(plan.diff, lines=True))


def _print_fix(fix: FixRecord) -> None:
    print(for_terminal(f"fix {fix.fix_id} [{fix.status.value}] {fix.kind}: {fix.message}"))
    for f in fix.files:
        print(for_terminal(f"  {f.path}"))


def _plan(args: argparse.Namespace) -> int:
    settings, fixes, findings = _writer(args)
    found, root = _finding(settings, findings, args)
    plan = fixes.plan(found, root)
    if args.json:
        emit_json(plan)
    else:
        _print_plan(plan)
    return 0


def _apply(args: argparse.Namespace) -> int:
    from secaudit.tools.fixes.service import require_one_target

    finding = args.finding_id or args.finding_json
    require_one_target(args.plan_id, finding, names=("--plan-id", "a finding (its id or --finding-json)"))
    settings, fixes, findings = _writer(args)
    if args.plan_id:
        result = fixes.apply(plan_id=args.plan_id, dry_run=not args.write, confirmation="operator")
    else:
        found, root = _finding(settings, findings, args)
        result = fixes.apply(finding=found, root=root, dry_run=not args.write, confirmation="operator")
    if args.json:
        emit_json(result)
        return 0
    _print_plan(result.plan)
    if result.fix is not None:
        _print_fix(result.fix)
    else:
        print(for_terminal(result.message))
    return 0


def _revert(args: argparse.Namespace) -> int:
    _settings, fixes, _findings = _writer(args)
    fix = fixes.revert(args.fix_id)
    if args.json:
        emit_json(fix)
    else:
        _print_fix(fix)
    return 0


def _list(args: argparse.Namespace) -> int:
    from secaudit.tools.fixes.tables import MIGRATIONS

    # Reading the history: the store read-only, nothing repaired (the next writer or server does).
    settings = settings_from_args(args)
    fixes = build_fix_service(settings, open_store(settings, write=False, schema=MIGRATIONS))
    statuses = [FixStatus(s) for s in args.status] if args.status else None
    page = fixes.list(statuses=statuses, limit=args.limit, cursor=args.cursor)
    if args.json:
        emit_json(json.loads(page.model_dump_json()))
        return 0
    for fix in page.items:
        print(
            for_terminal(
                f"{fix.fix_id}  {fix.status.value:<11} {fix.kind:<18} {fix.updated_at}  {fix.message[:60]}"
            )
        )
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})")
    return 0

"""`secaudit tasks ...`: the same TaskService (and task bridge) the MCP tools use.

`list` and `show` only read: they open the tasks database read-only (and a missing one reads as
empty, without creating it). The other actions open it for writing. `tasks claim` exits 1 when
nothing is ready (like grep finding nothing), so a shell loop can stop.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secaudit.server.cli.common import add_paging, emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import build_context, open_store, open_tasks
from secaudit.tools.errors import InvalidInput
from secaudit.tools.masking import get_redactor
from secaudit.tools.tasks import Task, TaskService, TaskStatus, parse_status

__all__ = ["register"]

EXIT_NOTHING_READY = 1


def _status_arg(text: str) -> TaskStatus:
    # On a command line every value is a string: digits are accepted here, and only here.
    if text.isdigit():
        return parse_status(int(text))
    return parse_status(text)


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tasks")
    tsub = p.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)

    add = tsub.add_parser("add", parents=parents, help="create a task")
    add.add_argument("prompt", help="task text; '-' reads it from stdin")
    add.add_argument("--order", type=int, default=0)
    add.add_argument("--backlog", action="store_true", help="create it backlogged instead of ready")
    add.set_defaults(handler=_add)

    ls = tsub.add_parser("list", parents=parents, help="list tasks")
    ls.add_argument("--status", action="append", help="ready, complete, archived, backlogged or 0-3")
    add_paging(ls, default=50)
    ls.add_argument("--sort", choices=["id", "queue"], default="id")
    ls.set_defaults(handler=_list)

    show = tsub.add_parser("show", parents=parents, help="show one task by id or uuid")
    show.add_argument("ref", help="task id or uuid")
    show.set_defaults(handler=_show)

    claim = tsub.add_parser(
        "claim", parents=parents, help="lease the next ready task (exit 1 when nothing is ready)"
    )
    claim.add_argument("--worker", required=True)
    claim.add_argument("--lease", type=int, default=300, help="lease seconds")
    claim.set_defaults(handler=_claim)

    upd = tsub.add_parser("update", parents=parents, help="change prompt, order or status")
    upd.add_argument("id", type=int)
    upd.add_argument("--prompt")
    upd.add_argument("--order", type=int)
    upd.add_argument("--status")
    upd.add_argument(
        "--expected-version", help="the version you read (tasks show --json); a mismatch writes nothing"
    )
    upd.set_defaults(handler=_update)

    for verb, status in (
        ("done", TaskStatus.COMPLETE),
        ("archive", TaskStatus.ARCHIVED),
        ("backlog", TaskStatus.BACKLOGGED),
        ("ready", TaskStatus.READY),
    ):
        mv = tsub.add_parser(verb, parents=parents, help=f"set status to {status.name.lower()}")
        mv.add_argument("id", type=int)
        mv.add_argument("--expected-version", help="the version you read; a mismatch writes nothing")
        mv.add_argument("--worker", help="the worker you claimed with: refused if another holds it now")
        mv.add_argument("--lease-id", help="the lease_id of your claim: refused if another holds it now")
        mv.set_defaults(handler=_move, status=status)

    ff = tsub.add_parser(
        "from-findings",
        parents=parents,
        help="file fix tasks from an audit run's open findings (never twice for one finding)",
    )
    ff.add_argument("run_id", metavar="RUN", type=int, help="the audit run (secaudit findings runs)")
    ff.add_argument(
        "--min-severity",
        choices=["critical", "high", "medium", "low", "info"],
        default="medium",
        help="only findings at or above this (default medium)",
    )
    ff.add_argument("--scanner", action="append", help="only this scanner; repeatable")
    ff.add_argument("--rule", action="append", help="only this rule id; repeatable")
    ff.add_argument("--path", dest="path_glob", help="only paths matching this glob, e.g. 'src/*.js'")
    ff.add_argument("--group-by", choices=["finding", "file", "rule"], default="finding")
    ff.add_argument("--max", dest="max_tasks", type=int, help="file at most N new tasks (most severe first)")
    ff.add_argument("--dry-run", action="store_true", help="show what would be filed; write nothing")
    ff.add_argument(
        "--refile", action="store_true", help="also re-file findings whose task was deleted/archived"
    )
    ff.add_argument("--no-plan", action="store_true", help="do not plan mechanical fixes for the prompts")
    ff.set_defaults(handler=_from_findings)


def _with_sources(args: argparse.Namespace, tasks: TaskService, items: list[Task]) -> list[Task]:
    """`items` with the findings each was filed from, read from the store opened read-only."""
    from secaudit.tools.findings import MIGRATIONS, FindingsService
    from secaudit.tools.tasks.bridge import TaskBridge

    if not items:
        return items
    settings = settings_from_args(args)
    # runs_kept: only for what a run_pruned message says (a read-only store prunes nothing).
    findings = FindingsService(
        open_store(settings, write=False, schema=MIGRATIONS), runs_kept=settings.runs_kept
    )
    return list(TaskBridge(tasks, findings, autoclose=False).with_sources(items))


def _print_task(task: Task, as_json: bool) -> None:
    if as_json:
        emit_json(task)
        return
    lease = f"  leased to {task.claim.worker}" if task.claim else ""
    print(for_terminal(f"#{task.id} [{task.status_name}] order={task.order} uuid={task.uuid}{lease}"))
    print(for_terminal(f"  updated {task.updatedat}"))
    if task.source is not None:
        src = task.source
        closed = f", closed by run {src.closed_by_run}" if src.closed_by_run else ""
        print(
            for_terminal(
                f"  from findings: run {src.filed_run}, {src.group_by} group, link {src.state}{closed}"
            )
        )
        for f in src.findings:
            line = f"    {f.id} {f.status:<14} {f.severity or '':<8} {f.path}:{f.start_line or ''}"
            print(for_terminal(line))
        if src.findings_total > len(src.findings):
            print(f"    … {src.findings_total - len(src.findings)} more")
    print("  " + for_terminal(task.prompt, lines=True).replace("\n", "\n  "))


def _tasks(args: argparse.Namespace, *, write: bool) -> TaskService:
    settings = settings_from_args(args)
    return open_tasks(settings, write=write, redactor=get_redactor())


def _add(args: argparse.Namespace) -> int:
    tasks = _tasks(args, write=True)
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    status = TaskStatus.BACKLOGGED if args.backlog else TaskStatus.READY
    _print_task(tasks.create(prompt, order=args.order, status=status), args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    tasks = _tasks(args, write=False)
    statuses = [_status_arg(s) for s in args.status] if args.status else None
    page = tasks.list(statuses=statuses, limit=args.limit, cursor=args.cursor, sort=args.sort)
    if args.json:
        emit_json(page.model_copy(update={"items": _with_sources(args, tasks, page.items)}))
        return 0
    for task in page.items:
        first = task.prompt.splitlines()[0] if task.prompt else ""
        print(for_terminal(f"#{task.id:<6} {task.status_name:<10} order={task.order!s:<6} {first[:80]}"))
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})")
    return 0


def _show(args: argparse.Namespace) -> int:
    tasks = _tasks(args, write=False)
    ref: str = args.ref
    task = tasks.get(task_id=int(ref)) if ref.isdigit() else tasks.get(task_uuid=ref)
    _print_task(_with_sources(args, tasks, [task])[0], args.json)
    return 0


def _claim(args: argparse.Namespace) -> int:
    task = _tasks(args, write=True).claim_next(args.worker, lease_seconds=args.lease)
    if task is None:
        if args.json:
            emit_json({"claimed": False, "task": None})
        else:
            print("no ready task to claim")
        return EXIT_NOTHING_READY
    if args.json:
        emit_json({"claimed": True, "task": task.model_dump(mode="json")})
    else:
        _print_task(task, False)
    return 0


def _update(args: argparse.Namespace) -> int:
    status = None if args.status is None else _status_arg(args.status)
    if args.prompt is None and args.order is None and status is None:
        raise InvalidInput("nothing to update: give --prompt, --order or --status")
    task = _tasks(args, write=True).update(
        args.id,
        prompt=args.prompt,
        order=args.order,
        status=status,
        expected_version=args.expected_version,
    )
    _print_task(task, args.json)
    return 0


def _move(args: argparse.Namespace) -> int:
    task = _tasks(args, write=True).set_status(
        args.id,
        args.status,
        expected_version=args.expected_version,
        lease_id=args.lease_id,
        worker=args.worker,
    )
    _print_task(task, args.json)
    return 0


def _from_findings(args: argparse.Namespace) -> int:
    from secaudit.tools.findings import Severity
    from secaudit.tools.tasks.bridge import FileRequest

    app = build_context(settings_from_args(args))
    report = app.task_bridge.file(
        FileRequest(
            run_id=args.run_id,
            min_severity=Severity(args.min_severity),
            scanners=tuple(args.scanner) if args.scanner else None,
            rules=tuple(args.rule) if args.rule else None,
            path_glob=args.path_glob,
            group_by=args.group_by,
            max_tasks=args.max_tasks,
            dry_run=args.dry_run,
            refile_dismissed=args.refile,
            plan_fixes=not args.no_plan,
        )
    )
    if args.json:
        emit_json(report)
        return 0
    verb = "would file" if report.dry_run else "filed"
    print(
        f"run {report.run_id} ({report.root}): {report.findings_considered} open findings at or above "
        f"{report.min_severity}; {verb} {report.tasks_filed} task(s) for {report.findings_filed} finding(s), "
        f"one per {report.group_by}"
    )
    for item in report.filed:
        ref = f"#{item.task_id}" if item.task_id is not None else "(new)"
        plans = f"  plans: {', '.join(item.plan_ids)}" if item.plan_ids else ""
        print(f"  {ref:<8} {item.severity:<8} {item.label[:100]}{plans}")
    if report.findings_existing:
        ids = ", ".join(f"#{t.task_id} [{t.status_name}]" for t in report.existing[:20])
        print(f"  {report.findings_existing} finding(s) already have a task, nothing new filed: {ids}")
    if report.findings_dismissed:
        ids = ", ".join(f"#{t.task_id}" for t in report.dismissed[:20])
        print(
            f"  {report.findings_dismissed} finding(s) whose task was deleted or archived by someone else "
            f"were not filed again (--refile to file them): {ids}"
        )
    if report.groups_over_max:
        print(f"  {report.groups_over_max} more group(s) not filed: --max reached")
    for note in report.notes:
        print(f"  note: {note}")
    if report.truncated:
        print("  (lists cut at 200 items; the counts are exact; --json has the lists)")
    return 0

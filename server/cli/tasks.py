"""`secaudit tasks ...`: the same TaskService the MCP tools use."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secaudit.server.cli.common import emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import build_context
from secaudit.tools.errors import InvalidInput
from secaudit.tools.tasks import Task, TaskStatus, parse_status

__all__ = ["register"]


def _status_arg(text: str) -> TaskStatus:
    # On a command line every value is a string: digits are accepted here, and only here.
    if text.isdigit():
        return parse_status(int(text))
    return parse_status(text)


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tasks", help="read and change the shared tasks table")
    tsub = p.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)

    add = tsub.add_parser("add", parents=parents, help="create a task")
    add.add_argument("prompt", help="task text; '-' reads it from stdin")
    add.add_argument("--order", type=int, default=0)
    add.add_argument("--backlog", action="store_true", help="create it backlogged instead of ready")
    add.set_defaults(handler=_add)

    ls = tsub.add_parser("list", parents=parents, help="list tasks")
    ls.add_argument("--status", action="append", help="ready, complete, archived, backlogged or 0-3")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--cursor")
    ls.add_argument("--sort", choices=["id", "queue"], default="id")
    ls.set_defaults(handler=_list)

    show = tsub.add_parser("show", parents=parents, help="show one task by id or uuid")
    show.add_argument("ref", help="task id or uuid")
    show.set_defaults(handler=_show)

    claim = tsub.add_parser("claim", parents=parents, help="lease the next ready task")
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
        mv.set_defaults(handler=_move, status=status)


def _print_task(task: Task, as_json: bool) -> None:
    if as_json:
        emit_json(task)
        return
    lease = f"  leased to {task.claim.worker}" if task.claim else ""
    print(for_terminal(f"#{task.id} [{task.status_name}] order={task.order} uuid={task.uuid}{lease}"))
    print(for_terminal(f"  updated {task.updatedat}"))
    print("  " + for_terminal(task.prompt, lines=True).replace("\n", "\n  "))


def _add(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    status = TaskStatus.BACKLOGGED if args.backlog else TaskStatus.READY
    _print_task(app.tasks.create(prompt, order=args.order, status=status), args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    statuses = [_status_arg(s) for s in args.status] if args.status else None
    page = app.tasks.list(statuses=statuses, limit=args.limit, cursor=args.cursor, sort=args.sort)
    if args.json:
        emit_json(page)
        return 0
    for task in page.items:
        first = task.prompt.splitlines()[0] if task.prompt else ""
        print(for_terminal(f"#{task.id:<6} {task.status_name:<10} order={task.order!s:<6} {first[:80]}"))
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})")
    return 0


def _show(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    ref: str = args.ref
    task = app.tasks.get(task_id=int(ref)) if ref.isdigit() else app.tasks.get(task_uuid=ref)
    _print_task(task, args.json)
    return 0


def _claim(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    task = app.tasks.claim_next(args.worker, lease_seconds=args.lease)
    if task is None:
        if args.json:
            emit_json({"claimed": False, "task": None})
        else:
            print("no ready task to claim")
        return 0
    if args.json:
        emit_json({"claimed": True, "task": task.model_dump(mode="json")})
    else:
        _print_task(task, False)
    return 0


def _update(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    status = None if args.status is None else _status_arg(args.status)
    if args.prompt is None and args.order is None and status is None:
        raise InvalidInput("nothing to update: give --prompt, --order or --status")
    task = app.tasks.update(
        args.id,
        prompt=args.prompt,
        order=args.order,
        status=status,
        expected_version=args.expected_version,
    )
    _print_task(task, args.json)
    return 0


def _move(args: argparse.Namespace) -> int:
    app = build_context(settings_from_args(args))
    _print_task(app.tasks.set_status(args.id, args.status, expected_version=args.expected_version), args.json)
    return 0

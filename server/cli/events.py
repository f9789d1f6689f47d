"""`secaudit events`: read (and prune) the security events table.

Reading opens the store read-only; `--prune` opens it for writing.
"""

from __future__ import annotations

import argparse
from typing import Any

from secaudit.server.cli.common import emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import open_store
from secaudit.tools.events import EVENT_KINDS, MIGRATIONS, EventLog

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "events",
        parents=parents,
    )
    p.add_argument("--kind", action="append", choices=EVENT_KINDS, help="keep this kind; repeatable")
    p.add_argument("--identity", help="keep events of this token name")
    p.add_argument("--since", help="ISO time, e.g. 2025-01-31T00:00:00Z")
    p.add_argument("--limit", type=int, default=50, help="how many events, newest first (default 50)")
    p.add_argument(
        "--prune", action="store_true", help="delete events older than SECAUDIT_EVENT_RETENTION_DAYS first"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    log = EventLog(open_store(settings, write=args.prune, schema=MIGRATIONS))
    if args.prune:
        removed = log.prune(settings.event_retention_days)
        if not args.json:
            print(f"pruned {removed} event(s) older than {settings.event_retention_days} days")
    events = log.list(kinds=args.kind, identity=args.identity, since=args.since, limit=args.limit)
    if args.json:
        emit_json([e.model_dump(mode="json") for e in events])
        return 0
    for e in events:
        parts = [e.at, e.kind, e.identity or "-", e.transport or "-"]
        if e.tool:
            parts.append(f"tool={e.tool}")
        if e.outcome:
            parts.append(f"outcome={e.outcome}")
        if e.duration_ms is not None:
            parts.append(f"{e.duration_ms:.1f}ms")
        if e.client:
            parts.append(f"client={e.client}")
        if e.detail:
            parts.append(f"detail={e.detail}")
        print(for_terminal("  ".join(parts)))
    return 0

"""`secaudit db import|update|status`: the offline advisory database (the same AdvisoryDB service the
`db_status` tool and the `deps` scanner use).

`status` only reads: it opens the store read-only (a missing one reads as empty). The terminal is
the operator's own, so it shows every source's location in full (the `db_status` tool shows a path
outside the allowed roots by its last component only: `SourceInfo.shown_location`).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from secaudit.server.cli.common import emit_json, settings_from_args
from secaudit.server.cli.terminal import for_terminal
from secaudit.server.context import open_store
from secaudit.tools.advisories import MIGRATIONS, AdvisoryDB, ImportReport

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    imp = dsub.add_parser(
        "import",
        parents=parents,
        help="import OSV records: a folder, a .json/.yaml, or an OSV all.zip (streamed, any size)",
    )
    imp.add_argument("path", type=Path)
    imp.set_defaults(handler=_import)

    upd = dsub.add_parser("update", parents=parents, help="download and import the OSV PyPI and npm dumps")
    upd.add_argument("--ecosystem", action="append", choices=["PyPI", "npm"], help="default: both")
    upd.add_argument("--timeout", type=float, default=10.0, help="seconds per connection attempt")
    upd.set_defaults(handler=_update)

    st = dsub.add_parser("status", parents=parents, help="records per ecosystem, sources and age")
    st.set_defaults(handler=_status)


def _db(args: argparse.Namespace, *, write: bool) -> AdvisoryDB:
    return AdvisoryDB(open_store(settings_from_args(args), write=write, schema=MIGRATIONS))


def _print_report(report: ImportReport) -> None:
    print(
        for_terminal(
            f"{report.location}: {report.records} records ({report.inserted} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.stale} older than stored), {report.malicious} of them "
            f"malicious-package reports (MAL-), {report.errors} skipped, {report.seconds:.1f}s"
        )
    )
    for reason, count in report.skipped.items():
        print(for_terminal(f"  skipped {count}: {reason}"))
    for sample in report.error_samples[:10]:
        print(for_terminal(f"  e.g. {sample}"))


def _import(args: argparse.Namespace) -> int:
    report = _db(args, write=True).import_path(args.path)
    if args.json:
        emit_json(dataclasses.asdict(report))
    else:
        _print_report(report)
    return 0


def _update(args: argparse.Namespace) -> int:
    reports = _db(args, write=True).update(args.ecosystem, timeout=args.timeout)
    if args.json:
        emit_json([dataclasses.asdict(r) for r in reports])
    else:
        for report in reports:
            _print_report(report)
    return 0


def _status(args: argparse.Namespace) -> int:
    status = _db(args, write=False).status()
    if args.json:
        emit_json({**dataclasses.asdict(status), "empty": status.empty})
        return 0
    if status.empty:
        print("the advisory database is empty: `secaudit db import PATH` or `secaudit db update`")
        return 0
    print(
        f"{status.advisories} advisories ({status.withdrawn} withdrawn, {status.malicious} "
        f"malicious-package reports), newest modified {status.newest_modified}"
    )
    for eco in status.ecosystems:
        print(
            for_terminal(f"  {eco.ecosystem:<8} {eco.advisories:>7} advisories for {eco.packages} packages")
        )
    age = f"{status.age_seconds / 86400:.1f} days ago" if status.age_seconds is not None else "never"
    print(f"last import: {status.last_import_at} ({age})")
    for src in status.sources:
        print(
            for_terminal(
                f"  source {src.location} [{src.kind}] imported {src.imported_at}: {src.records} records"
            )
        )
    return 0

"""`secaudit hooks install|uninstall|status`: put secaudit's hook entries into an agent client's
settings (Claude Code `.claude/settings.json`, Cursor `.cursor/hooks.json`; `--user`: the ones in
the home folder), take them out again, show what is installed. The merging lives in
tools/hooks/install.py; this module only chooses the file and the command line to write.

The command written runs this very secaudit (its absolute path, or `python -m secaudit.server`
under this interpreter) with `hook <client> <event>`, the policy flags, and the settings flags
typed here (`--store`, `--tasks-db`, `--root`); a project install also writes `--root <the project>`, so the
hooks work whatever folder the client starts them in.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from secaudit.server.cli.common import emit_json
from secaudit.server.cli.terminal import for_terminal
from secaudit.tools.errors import InvalidInput
from secaudit.tools.severity import Severity

__all__ = ["add_policy_options", "register"]

_CLIENTS = ("claude", "cursor")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "hooks",
        description="Install, remove and show secaudit's agent hooks (Claude Code, Cursor). See "
        "docs/hooks.md.",
    )
    hsub = p.add_subparsers(dest="hooks_action", metavar="ACTION", required=True)
    for name, help_text in (
        ("install", "merge the hook entries into the client's settings (idempotent)"),
        ("uninstall", "remove exactly the entries `install` added"),
    ):
        a = hsub.add_parser(name, parents=parents, help=help_text)
        a.add_argument("--client", choices=_CLIENTS, required=True)
        _where(a)
        if name == "install":
            add_policy_options(a)
            a.set_defaults(handler=_install)
        else:
            a.set_defaults(handler=_uninstall)
    st = hsub.add_parser("status", parents=parents, help="show the installed secaudit hook entries")
    st.add_argument("--client", choices=_CLIENTS, help="only this client (default both)")
    _where(st)
    st.set_defaults(handler=_status)


def add_policy_options(p: argparse.ArgumentParser) -> None:
    """The hook policy flags: given to `hooks install`, written into every command it installs."""
    p.add_argument(
        "--on-error",
        choices=("open", "closed"),
        default="open",
        help="when the scanners cannot run: open lets the agent stop (with a note), closed blocks "
        "(default open)",
    )
    p.add_argument(
        "--max-blocks",
        type=int,
        default=3,
        help="block a session's stop at most this many times (default 3)",
    )
    p.add_argument(
        "--scanners",
        help="comma-separated scanners the hooks run (default: all available; e.g. bandit,secrets,"
        "config,deps leaves semgrep's start-up cost out of every edit)",
    )
    p.add_argument(
        "--min-severity",
        choices=[s.value for s in Severity],
        default="low",
        help="only findings at or above this severity block (default low)",
    )


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", action="store_true", help="the settings in the home folder, for every project")
    p.add_argument(
        "--local",
        action="store_true",
        help="Claude Code: the project's personal .claude/settings.local.json, not the committed "
        "settings.json (the entries hold this machine's paths)",
    )
    p.add_argument("--path", type=Path, help="the project folder (default: the current folder)")


def _base(args: argparse.Namespace) -> Path:
    if args.user:
        if args.path is not None or args.local:
            raise InvalidInput("--user excludes --path and --local: --user writes the home folder's settings")
        return Path.home()
    base = Path(os.path.abspath(args.path or Path.cwd()))
    if not base.is_dir():
        raise InvalidInput(f"the project folder {base} does not exist; give it with --path")
    return base


def _program() -> list[str]:
    """How the client should run this secaudit: the script itself when that is what runs."""
    script = Path(sys.argv[0])
    if script.name.startswith("secaudit") and script.is_file():
        return [str(script.resolve())]
    return [sys.executable, "-m", "secaudit.server"]


def _options(args: argparse.Namespace, base: Path) -> list[str]:
    options = ["--on-error", args.on_error, "--max-blocks", str(args.max_blocks)]
    options += ["--min-severity", args.min_severity]
    if args.max_blocks < 0:
        raise InvalidInput("--max-blocks must be 0 or more")
    if args.scanners:
        options += ["--scanners", args.scanners]
    for flag, value in (
        ("--store", getattr(args, "store", None)),
        ("--tasks-db", getattr(args, "tasks_db", None)),
    ):
        if value is not None:
            options += [flag, os.path.abspath(value)]
    roots = [os.path.abspath(r) for r in (getattr(args, "roots", None) or [])]
    if not args.user and str(base) not in roots:
        roots.append(str(base))
    for root in roots:
        options += ["--root", root]
    return options


def _install(args: argparse.Namespace) -> int:
    from secaudit.tools.hooks.install import ensure_git_ignored, install

    base = _base(args)
    report = install(args.client, base, _program(), _options(args, base), local=args.local)
    ignored = ensure_git_ignored(base, str(report.file.relative_to(base))) if args.local else None
    if args.json:
        emit_json({"client": report.client, "file": str(report.file), "changed": report.changed,
                   "entries": report.entries, "git_ignore": ignored})  # fmt: skip
        return 0
    state = "installed into" if report.changed else "already installed in"
    print(for_terminal(f"secaudit hooks for {args.client} {state} {report.file}"))
    for entry in report.entries:
        print(for_terminal(f"  {entry}"))
    if ignored:
        print(for_terminal(f"  {ignored}"))
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from secaudit.tools.hooks.install import uninstall

    report = uninstall(args.client, _base(args), local=args.local)
    if args.json:
        emit_json({"client": report.client, "file": str(report.file), "changed": report.changed,
                   "removed_file": report.removed_file})  # fmt: skip
        return 0
    if not report.changed:
        print(for_terminal(f"no secaudit hook for {args.client} in {report.file}: nothing to remove"))
    elif report.removed_file:
        print(for_terminal(f"removed the secaudit hooks; {report.file} held nothing else and was removed"))
    else:
        print(for_terminal(f"removed the secaudit hooks from {report.file}; everything else is kept"))
    return 0


def _status(args: argparse.Namespace) -> int:
    from secaudit.tools.hooks.install import CLIENTS, entries_in, settings_file

    base = _base(args)
    user_only = args.user or base == Path.home()  # run from the home folder: its files are the user's
    # (scope, folder, the project's personal file): every place a client reads hooks from.
    places = [("user", Path.home(), False)] if user_only else [("project", base, False)]
    rows = []
    for client in [args.client] if args.client else list(_CLIENTS):
        wanted = list(places)
        if not user_only:
            if CLIENTS[client].local_rel is not None:
                wanted.append(("project-local", base, True))
            wanted.append(("user", Path.home(), False))
        for scope, folder, local in wanted:
            rows.append(
                {
                    "client": client,
                    "scope": scope,
                    "file": str(settings_file(client, folder, local=local)),
                    "entries": entries_in(client, folder, local=local),
                }
            )
    if args.json:
        emit_json(rows)
        return 0
    for row in rows:
        entries = row["entries"]
        state = f"{len(entries)} entries" if entries else "not installed"
        print(for_terminal(f"{row['client']} ({row['scope']}) {row['file']}: {state}"))
        for entry in entries:
            print(for_terminal(f"  {entry}"))
    return 0

"""The `secaudit` command line. Only this package (and `__main__`) ever exits the process.

Exit codes: 0 success; 1 `audit` found something at or above `--fail-on`; 2 usage or error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from secaudit.server.cli import audit, common, db, events, findings, fix, mask, serve, tasks, token
from secaudit.server.errors import public_message
from secaudit.tools.errors import SecauditError

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

# Each command module exposes `register(subparsers, parents)`; areas append theirs here.
COMMANDS = [serve, audit, findings, fix, tasks, mask, db, events, token]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secaudit",
        description="Security toolkit for the repository you work in: MCP server and CLI.",
        epilog="Exit codes: 0 ok, 1 findings at or above --fail-on (audit), 2 usage or error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {common.package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common.global_options()]
    for module in COMMANDS:
        module.register(sub, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except SecauditError as exc:
        print(f"secaudit: error: {public_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("secaudit: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the CLI's last line: a reference, never a traceback
        message = public_message(exc, what="command", traceback_level=logging.DEBUG)
        print(f"secaudit: error: {message}", file=sys.stderr)
        return EXIT_ERROR


def entry() -> None:
    sys.exit(main())

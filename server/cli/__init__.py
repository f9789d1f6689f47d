"""The `secaudit` command line. Only this package (and `__main__`) ever exits the process.

Exit codes: 0 success; 1 `audit` found something at or above `--fail-on`; 2 usage or error;
141 the reader of stdout went away (`| head`), the code a shell reports for a SIGPIPE death.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from secaudit.server.cli import audit, common, db, events, findings, fix, mask, serve, tasks, token
from secaudit.server.cli.terminal import Parser, for_terminal
from secaudit.server.errors import public_message
from secaudit.tools.errors import SecauditError

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141

# Each command module exposes `register(subparsers, parents)`; areas append theirs here.
COMMANDS = [serve, audit, findings, fix, tasks, mask, db, events, token]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="secaudit",
        parents=[common.global_options()],
        description="Security toolkit for the repository you work in: MCP server and CLI.",
        epilog="Exit codes: 0 ok, 1 findings at or above --fail-on (audit), 2 usage or error, "
        "141 stdout closed by its reader (| head).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {common.package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common.global_options(suppress=True)]
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
        print(for_terminal(f"secaudit: error: {public_message(exc)}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("secaudit: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `secaudit ... | head` stopped reading: not an error of ours, and nothing left to say.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the CLI's last line: a reference, never a traceback
        message = public_message(
            exc,
            what="command",
            traceback_level=logging.DEBUG,
            details="rerun with --log-level DEBUG to see the traceback",
        )
        print(for_terminal(f"secaudit: error: {message}"), file=sys.stderr)
        return EXIT_ERROR


def _silence_stdout() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not raise again.
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # not a real file (a test's stand-in): nothing will flush to a descriptor
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def entry() -> None:
    code = main()
    try:
        # Output still buffered when main returns meets a closed pipe here, not inside main.
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)

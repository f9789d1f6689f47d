"""The `secaudit` command line. Only this package (and `__main__`) ever exits the process.

Exit codes: 0 success; 1 `audit` found something at or above `--fail-on` (or `tasks claim` found
nothing ready); 2 usage or error;
141 the reader of stdout went away (`| head`), the code a shell reports for a SIGPIPE death.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from secaudit.server.cli import common
from secaudit.server.cli.terminal import Parser, for_terminal
from secaudit.tools.errors import SecauditError

__all__ = [
    "COMMANDS",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "Command",
    "build_parser",
    "main",
    "parse_args",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141


class Command(NamedTuple):
    """A top-level command. Its module is imported only when the command runs; it exposes
    `register(subparsers, parents)`, which adds the parser named `name` (without `help`: the
    one-line help is this one, shown by `secaudit --help`) and its actions."""

    name: str
    help: str
    module: str


# `secaudit --help` lists them in this order. Adding one: a line here and a module (docs/architecture.md).
COMMANDS: tuple[Command, ...] = (
    Command("serve", "run the MCP server (stdio by default)", "secaudit.server.cli.serve"),
    Command("audit", "audit a repository folder", "secaudit.server.cli.audit"),
    Command("init", "write a starter .secaudit.toml (project configuration)", "secaudit.server.cli.init"),
    Command(
        "baseline",
        "commit triage decisions as .secaudit/baseline.json (baseline write)",
        "secaudit.server.cli.baseline",
    ),
    Command(
        "findings",
        "list, show and triage findings; runs; SARIF export and import",
        "secaudit.server.cli.findings",
    ),
    Command("fix", "plan, apply, revert and list fixes", "secaudit.server.cli.fix"),
    Command("tasks", "read and change the shared tasks table", "secaudit.server.cli.tasks"),
    Command("mask", "mask secrets in stdin, write the result to stdout", "secaudit.server.cli.mask"),
    Command("db", "the offline OSV advisory database", "secaudit.server.cli.db"),
    Command("engines", "install and inspect analysis engines (semgrep)", "secaudit.server.cli.engines"),
    Command(
        "events",
        "show security events (auth failures, refusals, rate limits, tool calls)",
        "secaudit.server.cli.events",
    ),
    Command("token", "create HTTP bearer tokens", "secaudit.server.cli.token"),
    Command(
        "hooks",
        "install, remove and show the agent hooks (Claude Code, Cursor)",
        "secaudit.server.cli.hooks",
    ),
    Command("hook", "the entry points the agent hooks run (JSON on stdin)", "secaudit.server.cli.hook"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with `command` (if any) registered in full and every other command as a stub
    that only names it: so parsing imports the module of the one command that runs, and nothing
    else (no MCP SDK for `secaudit tasks list`, no scanner for `secaudit --version`)."""
    parser = Parser(
        prog="secaudit",
        parents=[common.global_options()],
        description="Security toolkit for the repository you work in: MCP server and CLI.",
        epilog="Exit codes: 0 ok, 1 findings at or above --fail-on (audit), 2 usage or error, "
        "141 stdout closed by its reader (| head).",
    )
    parser.add_argument("--version", action=common.VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [common.global_options(suppress=True)]
    for cmd in COMMANDS:
        if cmd.name == command:
            importlib.import_module(cmd.module).register(_HelpFor(sub, cmd), parents)
        else:
            # No -h of its own: `secaudit tasks -h` must reach the real parser of `tasks`.
            sub.add_parser(cmd.name, help=cmd.help, add_help=False)
    return parser


class _HelpFor:
    """The subparsers object a command's `register` sees: its parser gets the table's help."""

    def __init__(self, sub: Any, cmd: Command) -> None:
        self._sub = sub
        self._cmd = cmd

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name != self._cmd.name:
            raise ValueError(
                f"{self._cmd.module} registers {name!r}, but COMMANDS names it {self._cmd.name!r}"
            )
        kwargs.setdefault("help", self._cmd.help)
        parser: argparse.ArgumentParser = self._sub.add_parser(name, **kwargs)
        return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Two passes: the first finds the command (and answers --help, --version and usage errors of
    the top level); the second parses everything with that command's parser."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    first, _rest = build_parser().parse_known_args(arguments)
    return build_parser(first.command).parse_args(arguments)


def main(argv: Sequence[str] | None = None) -> int:
    return _run(parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    from secaudit.server.errors import public_message  # pydantic: after parsing, not for --version

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
    args = parse_args()
    code = _run(args)
    try:
        # Output still buffered when main returns meets a closed pipe here, not inside main.
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    if getattr(args, "exit_without_teardown", False):
        _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> NoReturn:
    """Exit as the interpreter does (non-daemon threads joined, exit handlers run: kept workers
    ended, logs flushed; output flushed), but without its teardown of every module and object: an
    agent hook runs once per edit against a half-second budget, and tearing down the SDKs it
    imported took 60 ms of it. Every store write is committed before this point."""
    # What the interpreter's own exit does first: threading's shutdown also runs the hooks
    # registered with threading._register_atexit (concurrent.futures ends its executors' worker
    # threads there; a plain join of those would wait forever).
    shutdown = getattr(threading, "_shutdown", None)
    if callable(shutdown):
        shutdown()
    else:  # another implementation: join what is left, as its exit would
        main_thread = threading.main_thread()
        for thread in threading.enumerate():
            if thread is not main_thread and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said
    os._exit(code)

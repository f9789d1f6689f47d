"""The command table: each command's module is imported only when it runs, and registers the
parser the table names. In-process, through `main` (argparse's own exits)."""

from __future__ import annotations

import importlib
import sys

import pytest

from secaudit.server.cli import COMMANDS, build_parser, main


def test_every_command_parses_with_only_its_own_module(capsys: pytest.CaptureFixture[str]) -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([command.name, "--help"])
        assert exited.value.code == 0, command.name
        assert capsys.readouterr().out.startswith(f"usage: secaudit {command.name}")
        assert command.module in sys.modules


def test_top_level_help_lists_every_command_with_the_tables_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command.name in out and command.help.split()[0] in out


def test_a_module_registering_another_name_is_caught() -> None:
    command = COMMANDS[0]
    module = importlib.import_module(command.module)
    original = module.register

    def wrong(sub, parents):  # type: ignore[no-untyped-def]
        sub.add_parser("not-" + command.name)

    module.register = wrong
    try:
        with pytest.raises(ValueError, match="COMMANDS names it"):
            build_parser(command.name)
    finally:
        module.register = original


@pytest.mark.parametrize(
    ("argv", "message"),
    [([], "the following arguments are required: COMMAND"), (["bogus"], "invalid choice: 'bogus'")],
)
def test_usage_errors_of_the_top_level(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("secaudit ")

"""Allowed roots that cannot surprise: relative roots resolved against the working directory at
start, broad roots (/, home, a folder holding home) refused unless asked for, the roots logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.server.logging_setup import log_roots
from secaudit.server.settings import Settings, broad_root_reason, broad_roots_error, load_settings
from secaudit.tools.errors import ConfigError
from tests.support.cli import cli_env
from tests.support.stdio import RawStdio


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home" / "me"
    (folder / "repo").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    return folder


def test_the_filesystem_root_is_refused_without_the_flag(home: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SECAUDIT_ALLOWED_ROOTS": "/"})
    text = str(err.value)
    assert "SECAUDIT_ALLOWED_ROOTS" in text and "filesystem root" in text
    assert "--allow-broad-root" in text and "SECAUDIT_ALLOW_BROAD_ROOT=true" in text


@pytest.mark.parametrize("which", ["home", "parent"])
def test_home_and_its_ancestors_are_refused(home: Path, which: str) -> None:
    root = home if which == "home" else home.parent
    with pytest.raises(ConfigError) as err:
        load_settings({}, allowed_roots=(root,))
    assert ("your home folder" if which == "home" else "holds your home folder") in str(err.value)
    # Given on the command line (--root), the error names the flag, not a variable that is unset.
    assert "invalid configuration: --root: not accepted" in str(err.value)


def test_broad_roots_are_accepted_with_the_flag(home: Path) -> None:
    by_env = load_settings({"SECAUDIT_ALLOWED_ROOTS": f"/:{home}", "SECAUDIT_ALLOW_BROAD_ROOT": "true"})
    assert by_env.allowed_roots == (Path("/"), home.resolve()) and by_env.allow_broad_root
    by_flag = load_settings({}, allowed_roots=(home,), allow_broad_root=True)
    assert by_flag.allowed_roots == (home.resolve(),)


def test_a_folder_inside_home_is_fine(home: Path) -> None:
    assert load_settings({}, allowed_roots=(home / "repo",)).allowed_roots == ((home / "repo").resolve(),)
    assert broad_root_reason((home / "repo").resolve(), home.resolve()) is None
    assert broad_root_reason(Path("/"), None) == "it is the filesystem root"


def test_a_default_root_of_home_is_left_to_serve(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A person running a command from home gets home as the default root; `serve` refuses it.
    monkeypatch.chdir(home)
    settings = load_settings({})
    assert settings.allowed_roots == (home.resolve(),)
    refused = broad_roots_error(settings)
    assert refused is not None and "your home folder" in str(refused)
    assert broad_roots_error(load_settings({}, allow_broad_root=True)) is None
    assert broad_roots_error(load_settings({}, allowed_roots=(home / "repo",))) is None
    # Named explicitly, it is refused by every command.
    with pytest.raises(ConfigError, match="your home folder"):
        load_settings({}, allowed_roots=(Path("."),))


def test_relative_roots_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "repo").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a")
    s = load_settings({"SECAUDIT_ALLOWED_ROOTS": "repo"})
    assert s.allowed_roots == ((tmp_path / "a" / "repo").resolve(),)
    assert load_settings({}, allowed_roots=(Path("."),)).allowed_roots == ((tmp_path / "a").resolve(),)


def test_the_roots_are_logged(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="secaudit.server"):
        log_roots(settings)
    assert [r.getMessage() for r in caplog.records] == [f"allowed roots: {settings.allowed_roots[0]}"]


def test_serve_refuses_a_broad_root_at_start(settings: Settings, home: Path) -> None:
    env = cli_env(settings, SECAUDIT_ALLOWED_ROOTS="/")
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "filesystem root" in proc.stderr and "--allow-broad-root" in proc.stderr


def test_serve_refuses_a_default_root_of_home(settings: Settings, home: Path) -> None:
    env = cli_env(settings, HOME=str(home))
    del env["SECAUDIT_ALLOWED_ROOTS"]
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "serve"],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "your home folder" in proc.stderr and "--allow-broad-root" in proc.stderr


@pytest.mark.slow
def test_serve_over_stdio_names_its_roots_on_stderr(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        log = server.stderr()
    assert f"allowed roots: {settings.allowed_roots[0]}" in log

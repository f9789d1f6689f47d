"""The starter `.secaudit.toml`: valid as written, the B101 rule active in pytest projects only,
an existing file kept unless forced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.project.config import load_config
from secaudit.tools.project.init import is_pytest_project, starter_config, write_starter

SCANNERS = {"bandit", "semgrep", "secrets", "config", "deps"}


def _assert_finding(path: str) -> Finding:
    return Finding(
        scanner="bandit",
        rule_id="B101",
        severity=Severity.LOW,
        path=path,
        title="assert",
        fingerprint="f" * 64,
    )


@pytest.mark.parametrize("pytest_project", [True, False])
def test_the_starter_file_is_a_valid_configuration(tmp_path: Path, pytest_project: bool) -> None:
    text = starter_config(pytest=pytest_project)
    assert text.startswith("# secaudit project configuration") and text.endswith("\n")
    write_starter(tmp_path, text, force=False)
    policy = load_config(tmp_path, known_scanners=SCANNERS)
    assert policy.source == ".secaudit.toml" and policy.config.fail_on == "low"
    silenced = policy.apply_rules(
        [_assert_finding("tests/test_x.py"), _assert_finding("pkg/test_y.py"), _assert_finding("pkg/main.py")]
    ).silenced
    assert len(silenced) == (1 if pytest_project else 0)  # one fingerprint for the test files' asserts
    assert ('ids = ["B101"]' in text) and (("# ids" in text) != pytest_project)


def test_pytest_project_detection(tmp_path: Path) -> None:
    assert not is_pytest_project(tmp_path)
    (tmp_path / "tests").mkdir()
    assert is_pytest_project(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "conftest.py").write_text("")
    assert is_pytest_project(other)
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(tmp_path / "tests", linked / "tests")
    assert not is_pytest_project(linked)  # a link is not followed to decide


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    (tmp_path / ".secaudit.toml").write_text("# mine\n")
    with pytest.raises(Conflict, match="already exists"):
        write_starter(tmp_path, starter_config(pytest=False), force=False)
    assert (tmp_path / ".secaudit.toml").read_text() == "# mine\n"
    assert write_starter(tmp_path, starter_config(pytest=False), force=True) is True
    assert (tmp_path / ".secaudit.toml").read_text().startswith("# secaudit project configuration")

"""`secaudit init` and the project configuration through `secaudit audit`, as real subprocesses:
the starter file, the pytest rule, fail_on versus --fail-on, an invalid file is exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import secaudit

pytestmark = pytest.mark.slow

APP = "result = eval(input())\n"  # bandit B307, medium
TEST = "def test_it():\n    assert 1 + 1 == 2\n    assert [] == []\n"


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_app.py").write_text(TEST)
    (workspace / "app.py").write_text(APP)
    return workspace


def test_init_in_a_pytest_project_silences_asserts_in_tests(settings: Settings, repo: Path) -> None:
    before = secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    assert before.returncode == 1 and before.stdout.count("B101") == 2

    proc = secaudit(settings, "init", str(repo))
    assert proc.returncode == 0, proc.stderr
    assert "pytest project" in proc.stdout
    text = (repo / ".secaudit.toml").read_text()
    assert '[[tool.secaudit.rules]]\npaths = ["tests/**"' in text

    after = secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    assert after.returncode == 1  # B307 in app.py is still open at the default threshold (low)
    assert "B101" not in after.stdout.split("Run ")[0]  # no B101 row in the table
    assert "2 findings silenced by project config rule rules[0]" in after.stdout
    assert "project config: .secaudit.toml" in after.stdout


def test_init_refuses_to_overwrite_unless_forced(settings: Settings, repo: Path) -> None:
    (repo / ".secaudit.toml").write_text("# mine\n")
    proc = secaudit(settings, "init", str(repo))
    assert proc.returncode == 2 and "already exists" in proc.stderr and "--force" in proc.stderr
    assert (repo / ".secaudit.toml").read_text() == "# mine\n"
    forced = secaudit(settings, "init", str(repo), "--force")
    assert forced.returncode == 0 and "replaced" in forced.stdout


def test_fail_on_from_the_config_and_the_flag_wins(settings: Settings, repo: Path) -> None:
    (repo / ".secaudit.toml").write_text('[tool.secaudit]\nfail_on = "high"\n')
    # B307 (medium) and B101 (low): below the project's threshold.
    assert secaudit(settings, "audit", str(repo), "--scanners", "bandit").returncode == 0
    assert (
        secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "medium").returncode == 1
    )
    (repo / ".secaudit.toml").write_text('[tool.secaudit]\nfail_on = "medium"\n')
    assert secaudit(settings, "audit", str(repo), "--scanners", "bandit").returncode == 1
    assert secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "none").returncode == 0


def test_an_invalid_config_is_exit_2_naming_file_and_key(settings: Settings, repo: Path) -> None:
    (repo / ".secaudit.toml").write_text(
        '[[tool.secaudit.rules]]\npaths = ["tests/**"]\nids = ["B101"]\naction = "of"\n'
    )
    proc = secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    assert proc.returncode == 2
    assert ".secaudit.toml: tool.secaudit.rules[0].action: expected 'off'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""

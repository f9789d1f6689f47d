"""The starter `.secaudit.toml` that `secaudit init` writes: commented, with secaudit's defaults.

A pytest project (a `tests/` folder, a `conftest.py`, `pytest.ini` at the root) gets the rule that
turns bandit's B101 (`assert` used) off in test files, active: pytest's asserts are how tests check
things, and without it such a project reports one finding per assert and fails CI. Other projects
get the same rule commented out, as an example of a per-path rule.
"""

from __future__ import annotations

import os
from pathlib import Path

import tomlkit
from tomlkit.items import Table

from secaudit.tools.confined_io import open_parent, read_current, write_atomic
from secaudit.tools.errors import Conflict
from secaudit.tools.project.config import CONFIG_FILE

__all__ = ["TEST_PATHS", "is_pytest_project", "starter_config", "write_starter"]

TEST_PATHS = ("tests/**", "test/**", "test_*.py", "*_test.py", "conftest.py")
_PYTEST_MARKERS = ("tests", "conftest.py", "pytest.ini")


def is_pytest_project(root: Path) -> bool:
    """Whether `root` looks like a pytest project (a marker at its top, links not followed)."""
    return any(os.path.lexists(root / name) and not (root / name).is_symlink() for name in _PYTEST_MARKERS)


def _b101_rule() -> Table:
    rule = tomlkit.table()
    rule.add("paths", tomlkit.array().multiline(False))
    rule["paths"].extend(TEST_PATHS)
    rule.add("ids", ["B101"])
    rule.add("action", "off")
    return rule


def starter_config(*, pytest: bool) -> str:
    """The text of a starter `.secaudit.toml` (valid for `tools/project/config.py`)."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment("secaudit project configuration, read by every audit of this folder (CLI and"))
    doc.add(tomlkit.comment("MCP run_audit). Reference: docs/configuration.md, 'Project configuration'."))
    doc.add(tomlkit.nl())
    sec = tomlkit.table()
    sec.add(tomlkit.comment("`secaudit audit` exits 1 when an open finding is at or above this severity:"))
    sec.add(tomlkit.comment("critical, high, medium, low, info or none. --fail-on overrides it."))
    sec.add("fail_on", "low")
    sec.add(tomlkit.nl())
    sec.add(tomlkit.comment("gitignore-style patterns the audit never walks (on top of .gitignore),"))
    sec.add(tomlkit.comment('e.g. ["vendor/**", "*.min.js"].'))
    sec.add("exclude", tomlkit.array())
    sec.add(tomlkit.nl())
    sec.add(tomlkit.comment("The scanners an audit runs when none are named (default: all of them)."))
    sec.add(tomlkit.comment('scanners = ["bandit", "semgrep", "secrets", "config", "deps"]'))
    tool = tomlkit.table(is_super_table=True)
    tool.add("secaudit", sec)
    doc.add("tool", tool)
    text = tomlkit.dumps(doc)
    # The rule goes in as text after the table: tomlkit cannot comment out a whole table.
    block = tomlkit.document()
    aot = tomlkit.aot()
    aot.append(_b101_rule())
    block.add("tool", {"secaudit": {"rules": aot}})
    rules = tomlkit.dumps(block).strip().splitlines()
    rules = [line for line in rules if line.strip() and not line.startswith(("[tool]", "[tool.secaudit]"))]
    intro = [
        "",
        '# Per-path rules: findings of rule `ids` ("B101" or "bandit/B101"; no ids: every rule) under',
        '# `paths` (gitignore-style) are turned off (action = "off": dropped, counted in the run\'s',
        '# notes) or re-rated (severity = "low"). The first rule that matches a finding decides.',
        "# pytest's asserts are how tests check results, not a security problem (bandit B101):",
    ]
    body = rules if pytest else ["# " + line for line in rules]
    return text.rstrip("\n") + "\n" + "\n".join([*intro, *body]) + "\n"


def write_starter(root: Path, text: str, *, force: bool) -> bool:
    """Write `text` as `root/.secaudit.toml` atomically, no link followed. An existing file is kept
    (Conflict) unless `force`; True when a file was replaced."""
    with open_parent(root, CONFIG_FILE) as (dir_fd, name):
        current = read_current(dir_fd, name, CONFIG_FILE)
        if current.content is not None and not force:
            raise Conflict(f"{CONFIG_FILE} already exists; it was left as it is (pass --force to replace it)")
        write_atomic(
            dir_fd,
            name,
            CONFIG_FILE,
            text.encode("utf-8"),
            expected_sha256=current.sha256,
            expect_absent=current.content is None,
        )
        return current.content is not None

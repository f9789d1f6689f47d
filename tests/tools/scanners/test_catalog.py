"""Rule documentation from the scanners' own tables (the `secaudit://rules/{rule_id}` resource)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.scanners.catalog import check_rule_id, rule_doc


@pytest.mark.parametrize(
    ("rule_id", "scanner", "cwe"),
    [
        ("B602", "bandit", ()),
        ("B301", "bandit", ()),  # a blacklist call, not a plug-in test
        ("config.docker-root-user", "config", (250,)),
        ("secrets.aws-access-key", "secrets", (798,)),
        ("js-jwt-none-algorithm", "semgrep", (347,)),
    ],
)
def test_known_rules(rule_id: str, scanner: str, cwe: tuple[int, ...]) -> None:
    doc = rule_doc(rule_id)
    assert doc.rule_id == rule_id and doc.scanner == scanner and doc.cwe == cwe and doc.title
    text = doc.markdown()
    assert text.startswith(f"# {rule_id}\n") and f"scanner: `{scanner}`" in text


@pytest.mark.parametrize("rule_id", ["B506", "B324", "B201", "B501", "B602", "B615"])
def test_bandit_plugins_are_described_from_their_docstring_or_module(rule_id: str) -> None:
    # B506 and others carry their documentation in the plug-in module, not on the test function.
    doc = rule_doc(rule_id)
    assert doc.title.startswith(f"{rule_id}: ") and len(doc.description) > 40, doc


def test_a_user_rule_is_documented_and_cleaned(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "rules:\n  - id: my-rule\n    languages: [python]\n    severity: WARNING\n"
        '    message: "Bad call\\u001b[2J here. Use good_call."\n    pattern: bad()\n'
        "    metadata:\n      cwe: ['CWE-78: OS command']\n"
    )
    doc = rule_doc("my-rule", semgrep_user_rules=tmp_path)
    assert doc.scanner == "semgrep" and doc.cwe == (78,) and "\x1b" not in doc.markdown()
    with pytest.raises(NotFound):
        rule_doc("my-rule")  # not without the user's folder


@pytest.mark.parametrize("bad", ["", "..", "a/b", "-x", "x" * 129, "B60 2", "ä"])
def test_ids_are_checked(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_rule_id(bad)


def test_unknown_rules_are_not_found() -> None:
    for unknown in ("B999", "config.nope", "secrets.nope", "nothing-like-it"):
        with pytest.raises(NotFound, match="no scanner"):
            rule_doc(unknown)


def test_reading_a_bandit_rule_logs_no_loader_error() -> None:
    # bandit's first import loads its formatters; the SARIF one needs a package we do not install,
    # and stevedore's ERROR about it reached clients as a server error. A fresh process: the import
    # happens once per process.
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from secaudit.tools.scanners.catalog import rule_doc\n"
        "print(rule_doc('B506').title)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("B506: "), proc.stderr
    assert "Could not load" not in proc.stderr and "ERROR" not in proc.stderr

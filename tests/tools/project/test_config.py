"""The project configuration: every kind of invalid file is refused naming the file and the key;
precedence between .secaudit.toml and pyproject.toml; the per-path rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.project.config import MAX_CONFIG_BYTES, ProjectConfigError, load_config

SCANNERS = {"bandit", "semgrep", "secrets", "config", "deps"}
GOOD = """[tool.secaudit]
fail_on = "high"
exclude = ["vendor/**", "*.min.js"]
scanners = ["bandit", "secrets"]
[[tool.secaudit.rules]]
paths = ["tests/**"]
ids = ["B101"]
action = "off"
[[tool.secaudit.rules]]
paths = ["scripts/"]
ids = ["bandit/B603", "B404"]
severity = "info"
"""


def _load(root: Path):  # type: ignore[no-untyped-def]
    return load_config(root, known_scanners=SCANNERS)


def _error(root: Path) -> str:
    with pytest.raises(ProjectConfigError) as info:
        _load(root)
    assert info.value.code == "project_config_error"
    return str(info.value)


def test_a_valid_file_loads_with_its_source(tmp_path: Path) -> None:
    (tmp_path / ".secaudit.toml").write_text(GOOD)
    policy = _load(tmp_path)
    assert policy.source == ".secaudit.toml"
    assert policy.config.fail_on == "high"
    assert policy.config.scanners == ["bandit", "secrets"]
    assert policy.exclude.matches("vendor/lib/a.py") and policy.exclude.matches("web/x.min.js")
    assert not policy.exclude.matches("src/vendor.py")
    assert policy.config.rules[1].severity is Severity.INFO
    assert any(".secaudit.toml" in n for n in policy.notes)


def test_no_file_means_defaults(tmp_path: Path) -> None:
    policy = _load(tmp_path)
    assert policy.source is None and policy.config.fail_on is None and not policy.exclude


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[tool.secaudit]\nfail_on = "hi"\n', "tool.secaudit.fail_on: expected 'critical'"),
        ("[tool.secaudit]\nfail_on = 3\n", "tool.secaudit.fail_on"),
        ("[tool.secaudit]\nfoo = 1\n", "tool.secaudit.foo: unknown key; known keys: fail_on"),
        ('[tool.secaudit]\nexclude = "vendor"\n', "tool.secaudit.exclude: Input should be a valid list"),
        (
            '[tool.secaudit]\nscanners = ["bandit", "nope"]\n',
            "tool.secaudit.scanners[1]: unknown scanner 'nope'",
        ),
        ("[tool.secaudit]\nscanners = []\n", "tool.secaudit.scanners"),
        (
            '[[tool.secaudit.rules]]\npaths = ["tests/**"]\nids = ["B101"]\naction = "of"\n',
            "tool.secaudit.rules[0].action: expected 'off'",
        ),
        (
            '[[tool.secaudit.rules]]\npaths = ["t/**"]\nseverity = "loud"\n',
            "tool.secaudit.rules[0].severity: expected one of 'critical'",
        ),
        (
            '[[tool.secaudit.rules]]\npaths = ["t/**"]\nseverity = "low"\naction = "off"\n',
            "tool.secaudit.rules[0]: give exactly one of action = 'off' and severity",
        ),
        ('[[tool.secaudit.rules]]\npaths = ["t/**"]\n', "tool.secaudit.rules[0]: give exactly one"),
        (
            '[[tool.secaudit.rules]]\nids = ["B101"]\naction = "off"\n',
            "tool.secaudit.rules[0].paths: Field required",
        ),
        ('[[tool.secaudit.rules]]\npaths = []\naction = "off"\n', "tool.secaudit.rules[0].paths"),
        (
            '[[tool.secaudit.rules]]\npaths = ["a"]\naction = "off"\nwhy = "x"\n',
            "tool.secaudit.rules[0].why: unknown key; known keys: paths, ids, action, severity",
        ),
        ("[tool.secaudit\n", ".secaudit.toml: not valid TOML"),
        (
            'fail_on = "low"\n',
            ".secaudit.toml: fail_on: unknown table or key; put the settings under [tool.secaudit]",
        ),
        ("[tool.other]\nx = 1\n", ".secaudit.toml: tool.other: unknown table"),
        ("[tool]\nsecaudit = 3\n", ".secaudit.toml: tool.secaudit: expected a table"),
    ],
)
def test_invalid_configs_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / ".secaudit.toml").write_text(text)
    message = _error(tmp_path)
    assert ".secaudit.toml" in message
    assert expected in message


def test_the_same_errors_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.secaudit]\nfail_on = "loud"\n')
    assert "pyproject.toml: tool.secaudit.fail_on: expected" in _error(tmp_path)


def test_a_pyproject_without_our_table_is_not_ours_to_refuse(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = broken\n")
    assert _load(tmp_path).source is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\nline-length = 1\n')
    assert _load(tmp_path).source is None
    # Broken, and it mentions our table: the configuration cannot be read, which is an error.
    (tmp_path / "pyproject.toml").write_text("[tool.secaudit]\nfail_on = \n")
    assert "pyproject.toml: not valid TOML" in _error(tmp_path)


def test_secaudit_toml_wins_over_pyproject_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.secaudit]\nfail_on = "critical"\n')
    assert _load(tmp_path).config.fail_on == "critical"
    (tmp_path / ".secaudit.toml").write_text('[tool.secaudit]\nfail_on = "medium"\n')
    policy = _load(tmp_path)
    assert policy.source == ".secaudit.toml" and policy.config.fail_on == "medium"
    assert any("pyproject.toml [tool.secaudit] ignored" in n for n in policy.notes)


def test_size_is_bounded_and_links_out_of_the_root_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".secaudit.toml").write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    assert "larger than" in _error(root)
    outside = tmp_path / "elsewhere.toml"
    outside.write_text('[tool.secaudit]\nfail_on = "none"\n')
    (root / ".secaudit.toml").unlink()
    os.symlink(outside, root / ".secaudit.toml")
    assert "outside the audited root" in _error(root)


def _finding(rule: str, path: str, severity: Severity = Severity.HIGH, scanner: str = "bandit") -> Finding:
    return Finding(
        scanner=scanner, rule_id=rule, severity=severity, path=path, title="t",
        fingerprint=f"{scanner}-{rule}-{path}".ljust(64, "0")[:64],
    )  # fmt: skip


def test_rules_turn_off_and_re_rate_per_glob(tmp_path: Path) -> None:
    (tmp_path / ".secaudit.toml").write_text(GOOD)
    policy = _load(tmp_path)
    findings = [
        _finding("B101", "tests/test_a.py", Severity.LOW),
        _finding("B101", "tests/deep/er/test_b.py", Severity.LOW),
        _finding("B101", "app/main.py", Severity.LOW),  # not under tests/: kept
        _finding("B603", "scripts/run.py"),
        _finding("B404", "scripts/sub/run.py", Severity.LOW),
        _finding("B603", "app/run.py"),  # not under scripts/: kept as is
        _finding("B603", "scripts/x.py", scanner="semgrep"),  # "bandit/B603" names bandit's only
    ]
    outcome = policy.apply_rules(findings)
    assert len(outcome.silenced) == 2 and len(outcome.kept) == 5
    by_key = {(f.scanner, f.rule_id, f.path): f for f in outcome.kept}
    rerated = by_key[("bandit", "B603", "scripts/run.py")]
    assert rerated.severity is Severity.INFO
    assert (
        rerated.properties["original_severity"] == "high"
        and rerated.properties["severity_rule"] == "rules[1]"
    )
    assert by_key[("bandit", "B404", "scripts/sub/run.py")].severity is Severity.INFO
    assert by_key[("bandit", "B603", "app/run.py")].severity is Severity.HIGH
    assert by_key[("semgrep", "B603", "scripts/x.py")].severity is Severity.HIGH
    assert outcome.notes[0].startswith(
        "2 findings silenced by project config rule rules[0] (B101 in tests/**)"
    )
    assert "2 findings re-rated info" in outcome.notes[1]


def test_first_matching_rule_decides_and_no_ids_means_every_rule(tmp_path: Path) -> None:
    (tmp_path / ".secaudit.toml").write_text(
        '[[tool.secaudit.rules]]\npaths = ["legacy/"]\nseverity = "low"\n'
        '[[tool.secaudit.rules]]\npaths = ["legacy/**"]\naction = "off"\n'
    )
    outcome = _load(tmp_path).apply_rules([_finding("B602", "legacy/a.py"), _finding("X1", "legacy/b/c.js")])
    assert not outcome.silenced
    assert [f.severity for f in outcome.kept] == [Severity.LOW, Severity.LOW]

"""The light fix catalog agrees with the registered fix generators: every finding it calls fixable
gets a generator from `generator_for`, and every rule a generator handles is in the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.fixes import FixNotApplicable
from secaudit.tools.fixes.catalog import (
    BANDIT_RULES,
    CONFIG_RULES,
    DEPS_REFUSED,
    FIX_KINDS,
    SEMGREP_RULES,
    fix_kind,
)
from secaudit.tools.fixes.code import BANDIT_FIXES
from secaudit.tools.fixes.config import CONFIG_FIXES
from secaudit.tools.fixes.deps import MALICIOUS_RULE
from secaudit.tools.fixes.generators import FIXERS, generator_for
from secaudit.tools.fixes.javascript import JS_FIXES

_UPGRADE = {"package": "requests", "version": "2.19.0", "smallest_safe_upgrade": "2.20.0"}


def _finding(scanner: str, rule: str, path: str = "app.py", props: dict[str, Any] | None = None) -> Finding:
    return Finding(
        scanner=scanner,
        rule_id=rule,
        severity=Severity.HIGH,
        path=path,
        start_line=1,
        title="t",
        fingerprint="f" * 16,
        properties=props or {},
    )


def _has_generator(finding: Finding) -> bool:
    try:
        generator_for(finding, secret_key=b"k" * 32)
    except FixNotApplicable:
        return False
    return True


def test_the_rule_sets_are_the_generators_own() -> None:
    assert frozenset(BANDIT_FIXES) == BANDIT_RULES
    assert frozenset(CONFIG_FIXES) == CONFIG_RULES
    assert frozenset(JS_FIXES) == SEMGREP_RULES
    assert MALICIOUS_RULE in DEPS_REFUSED
    assert set(FIXERS.names()) == {"bandit", "deps", "secrets", "config", "semgrep"}


CASES = [
    ("bandit", "B506", "app.py", None, "code"),
    ("bandit", "B324", "app.py", None, "code"),
    ("bandit", "B307", "app.py", None, None),
    ("semgrep", "js-express-x-powered-by", "app.js", None, "code"),
    ("semgrep", "js-eval-user-input", "app.js", None, None),
    ("config", "config.docker-root-user", "Dockerfile", None, "config"),
    ("config", "config.env-file-not-ignored", ".env", None, "config"),
    ("config", "config.env-file-committed", ".env", None, None),
    ("config", "config.compose-privileged", "compose.yaml", None, None),
    ("secrets", "secrets.aws-access-key", "settings.py", None, "secret"),
    ("secrets", "secrets.aws-access-key", "config.yaml", None, None),
    ("deps", "PYSEC-1", "requirements.txt", _UPGRADE, "dependency"),
    ("deps", "PYSEC-1", "requirements.txt", {"package": "requests", "fixed_versions": ["2.20.0"]}, None),
    ("deps", "PYSEC-1", "requirements.txt", {**_UPGRADE, "hashed": True}, None),
    ("deps", "MAL-1", "requirements.txt", {**_UPGRADE, "malicious": True}, None),
    ("deps", "deps.unpinned", "requirements.txt", _UPGRADE, None),
    ("gitleaks", "anything", "a.py", None, None),
]


@pytest.mark.parametrize(("scanner", "rule", "path", "props", "kind"), CASES)
def test_fix_kind(scanner: str, rule: str, path: str, props: dict[str, Any] | None, kind: str | None) -> None:
    assert fix_kind(scanner, rule, path, props or {}) == kind
    assert kind is None or kind in FIX_KINDS


@pytest.mark.parametrize(("scanner", "rule", "path", "props", "kind"), CASES)
def test_fixable_means_a_generator_is_there(
    scanner: str, rule: str, path: str, props: dict[str, Any] | None, kind: str | None
) -> None:
    # A generator may still refuse while planning (no upgrade known, a non-Python file); what the
    # catalog calls fixable must at least be handed a generator.
    if kind is not None:
        assert _has_generator(_finding(scanner, rule, path, props))


def test_without_properties_a_deps_finding_is_not_called_fixable() -> None:
    assert fix_kind("deps", "PYSEC-1", "requirements.txt", None) is None

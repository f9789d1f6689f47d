"""The one registration style: `Registry` itself, and the three registries built on it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from secaudit.tools.deps.interface import DependencySource
from secaudit.tools.deps.sources import SOURCES, default_sources
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.generators import FIXERS, generator_for, supported
from secaudit.tools.fixes.model import Fixer
from secaudit.tools.plugins import PluginNotFound, Registry
from secaudit.tools.scanners.builtin import SCANNERS, get_scanner
from secaudit.tools.scanners.interface import Scanner, ScannerError


class Base:
    name = ""


class Alpha(Base):
    name = "alpha"


def test_a_reference_is_imported_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_plugin_mod.py").write_text(
        textwrap.dedent(
            """
            from tests.tools.test_plugins import Base

            class Beta(Base):
                name = "beta"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_plugin_mod", raising=False)
    registry: Registry[Base] = Registry("widget", Base)
    registry.register("alpha", Alpha)
    registry.register("beta", "lazy_plugin_mod:Beta")
    assert registry.names() == ["alpha", "beta"]
    assert "beta" in registry and "gamma" not in registry
    assert "lazy_plugin_mod" not in sys.modules
    beta = registry.get("beta")
    assert beta.__name__ == "Beta" and beta.name == "beta"
    assert "lazy_plugin_mod" in sys.modules
    assert registry.get("beta") is beta
    assert registry.all() == [Alpha, beta]


def test_refusals_say_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry: Registry[Base] = Registry("widget", Base)
    registry.register("alpha", Alpha)
    with pytest.raises(ValueError, match="'alpha' is already registered"):
        registry.register("alpha", Alpha)
    with pytest.raises(TypeError, match="registered as 'omega' names itself 'alpha'"):
        registry.register("omega", Alpha)
    with pytest.raises(TypeError, match="not a Base subclass"):
        registry.register("int", int)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="package.module:Class"):
        registry.register("nomodule", "just_a_name")
    with pytest.raises(PluginNotFound, match=r"unknown widget 'gamma'; available: alpha"):
        registry.get("gamma")
    # A reference to something that is not a plug-in of this kind fails when it is loaded.
    (tmp_path / "wrong_plugin_mod.py").write_text("class Delta:\n    name = 'delta'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("delta", "wrong_plugin_mod:Delta")
    with pytest.raises(TypeError, match="not a Base subclass"):
        registry.get("delta")
    assert registry.names() == ["alpha", "delta"]


def test_the_scanner_registry() -> None:
    assert SCANNERS.names() == ["bandit", "deps", "secrets", "config", "semgrep"]
    for name in SCANNERS.names():
        cls = SCANNERS.get(name)
        assert issubclass(cls, Scanner) and cls.name == name
        assert get_scanner(name).name == name
    with pytest.raises(ScannerError, match=r"unknown scanner 'semgrep-x'; available: bandit, config, deps"):
        get_scanner("semgrep-x")


def test_the_dependency_source_registry_keeps_its_order() -> None:
    assert SOURCES.names() == [
        "requirements",
        "pyproject",
        "poetry.lock",
        "uv.lock",
        "Pipfile.lock",
        "pylock.toml",
        "package-lock.json",
        "package.json",
    ]
    sources = default_sources()
    assert [s.name for s in sources] == SOURCES.names()
    assert all(isinstance(s, DependencySource) for s in sources)
    assert "installed" not in SOURCES  # read from a virtualenv the caller names, not found by file name


def _finding(scanner: str, rule: str) -> Finding:
    return Finding(
        scanner=scanner, rule_id=rule, severity=Severity.LOW, path="a.py", title="t", fingerprint="0" * 64
    )


def test_the_fixer_registry_dispatches_by_scanner_name() -> None:
    assert FIXERS.names() == ["bandit", "deps", "secrets", "config", "semgrep"]
    for name in FIXERS.names():
        cls = FIXERS.get(name)
        assert issubclass(cls, Fixer) and cls.name == name and cls.supported
    assert list(supported()) == FIXERS.names()
    # A scanner without a registered fixer, and a rule its fixer does not handle, get the same refusal.
    for finding in (_finding("codeql", "js/code-injection"), _finding("bandit", "B602")):
        with pytest.raises(FixNotApplicable, match="fixes exist for: bandit: B201, B303") as info:
            generator_for(finding)
        assert "config: config.docker-root-user, config.env-file-not-ignored" in str(info.value)

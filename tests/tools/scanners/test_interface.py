"""The scanner interface's typed options: each scanner declares a frozen `Options` model, the engine
validates the configured values into it once, and each scanner gets only its own."""

from __future__ import annotations

import time
from pathlib import Path

import pydantic
import pytest

from secaudit.tools.audit.engine import AuditService
from secaudit.tools.errors import ConfigError
from secaudit.tools.findings import FindingsService
from secaudit.tools.scanners.builtin import SCANNERS, validate_scanner_options
from secaudit.tools.scanners.deps import DepsOptions, DepsScanner
from secaudit.tools.scanners.interface import (
    CancelToken,
    NoOptions,
    ScanContext,
    ScannerError,
    ScannerOptions,
    ScannerOptionsError,
    cached_many,
)
from secaudit.tools.scanners.secrets_scanner import SecretsOptions, SecretsScanner
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store

KEY = b"0123456789abcdef-a-real-length-key"


def test_every_registered_scanner_declares_frozen_strict_options() -> None:
    for name in SCANNERS.names():
        options = SCANNERS.get(name).Options
        assert issubclass(options, ScannerOptions)
        assert options.model_config.get("frozen") is True
        assert options.model_config.get("extra") == "forbid"
        options()  # every option has a default


def test_an_unknown_option_key_is_refused() -> None:
    with pytest.raises(ScannerOptionsError, match=r"deps scanner options: unknown option 'store' \(known: "):
        DepsOptions.parse("deps", {"store": object()})
    with pytest.raises(ScannerOptionsError, match="unknown option 'secrets_tuned'") as info:
        validate_scanner_options({"secrets": {"secret_key": KEY, "secrets_tuned": False}})
    # A configuration error and a scanner error both: the edge reports it as bad configuration.
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ScannerError)
    assert "tuned" in str(info.value) and "include_tests" in str(info.value)


def test_options_for_an_unknown_scanner_are_refused() -> None:
    with pytest.raises(ScannerOptionsError, match=r"unknown scanner 'semgrepp'; available: bandit, config"):
        validate_scanner_options({"semgrepp": {}})


def test_a_bad_value_is_refused_without_echoing_it() -> None:
    short = b"0123456789"
    with pytest.raises(ScannerOptionsError, match="secret_key: must be at least 16 bytes") as info:
        validate_scanner_options({"secrets": {"secret_key": short}})
    assert short.decode() not in str(info.value)
    with pytest.raises(ScannerOptionsError, match="environments"):
        validate_scanner_options({"deps": {"environments": 5}})
    # An options object of another scanner is refused too.
    with pytest.raises(ScannerOptionsError, match="must be SecretsOptions, not DepsOptions"):
        validate_scanner_options({"secrets": DepsOptions()})


def test_options_are_frozen_and_never_show_the_key() -> None:
    options = SecretsOptions.parse("secrets", {"secret_key": KEY, "include_tests": True})
    with pytest.raises(pydantic.ValidationError):
        options.tuned = False  # type: ignore[misc]
    assert KEY.decode() not in repr(options) and KEY.decode() not in str(options)
    assert DepsOptions.parse("deps", {"online": "osv,npm"}).online == ("osv", "npm")


def test_options_as_gives_defaults_or_refuses_another_scanners_options(tmp_path: Path) -> None:
    ctx = ScanContext(root=tmp_path, cancel=CancelToken(), deadline=time.monotonic() + 10)
    assert ctx.options_as(SecretsOptions) == SecretsOptions()
    ctx.options = DepsOptions()
    with pytest.raises(ScannerOptionsError, match="DepsOptions handed to a scanner whose options are"):
        ctx.options_as(SecretsOptions)


def test_the_engine_validates_once_and_hands_each_scanner_its_own(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.migrate(STORE_MIGRATIONS)
    findings = FindingsService(store)
    kwargs = {"allowed_roots": [tmp_path], "max_file_bytes": 1 << 20, "max_files": 100}
    with pytest.raises(ScannerOptionsError, match="unknown option 'onlin'"):
        AuditService(store, findings, scanner_options={"deps": {"onlin": ["osv"]}}, **kwargs)  # type: ignore[arg-type]
    audit = AuditService(
        store,
        findings,
        scanner_options={"secrets": {"secret_key": KEY}, "deps": {"online": ("pypi",)}},
        **kwargs,  # type: ignore[arg-type]
    )
    secrets = audit.options_for(SecretsScanner())
    assert isinstance(secrets, SecretsOptions) and secrets.secret_key == KEY
    assert audit.options_for(DepsScanner()) == DepsOptions(online=("pypi",))
    assert audit.options_for(SCANNERS.get("bandit")()) == NoOptions()
    store.close()


def test_cached_many_asks_a_cache_without_get_many_key_by_key() -> None:
    class Plain:  # a plug-in's cache written before get_many existed
        def __init__(self) -> None:
            self.data = {"a": {"v": 1}, "b": {"v": 2}}

        def get(self, key: str) -> object:
            return self.data.get(key)

        def put(self, key: str, value: object) -> None:
            self.data[key] = value

    assert cached_many(Plain(), ["a", "c", "b"]) == {"a": {"v": 1}, "b": {"v": 2}}

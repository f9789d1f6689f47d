"""Settings: read once from the environment, frozen, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from secaudit.server.settings import load_settings
from secaudit.tools.errors import ConfigError


def test_environment_is_read(tmp_path: Path) -> None:
    s = load_settings(
        {
            "SECAUDIT_STORE": str(tmp_path / "a.db"),
            "SECAUDIT_TASKS_DB": str(tmp_path / "b.db"),
            "SECAUDIT_ALLOWED_ROOTS": str(tmp_path),
            "SECAUDIT_LOG_LEVEL": "debug",
            "SECAUDIT_MAX_PROMPT_BYTES": "100",
        }
    )
    assert s.store_path == tmp_path / "a.db" and s.tasks_db == tmp_path / "b.db"
    assert s.allowed_roots == (tmp_path.resolve(),) and s.log_level == "DEBUG" and s.max_prompt_bytes == 100


def test_tasks_db_defaults_to_the_store(tmp_path: Path) -> None:
    s = load_settings({"SECAUDIT_STORE": str(tmp_path / "a.db")})
    assert s.tasks_db == s.store_path


def test_flags_override_environment(tmp_path: Path) -> None:
    s = load_settings({"SECAUDIT_LOG_LEVEL": "ERROR"}, log_level="DEBUG")
    assert s.log_level == "DEBUG"


def test_runs_kept_from_the_environment_and_the_flag(tmp_path: Path) -> None:
    from secaudit.server.cli import parse_args
    from secaudit.server.cli.common import settings_from_args
    from secaudit.tools.findings.retention import DEFAULT_RUNS_KEPT

    assert load_settings({}).runs_kept == DEFAULT_RUNS_KEPT == 100  # the edge's default is the service's
    assert load_settings({"SECAUDIT_RUNS_KEPT": "0"}).runs_kept == 0
    args = parse_args(["--runs-kept", "7", "findings", "runs"])
    args.roots = [tmp_path]
    assert settings_from_args(args).runs_kept == 7
    later = parse_args(["findings", "runs", "--runs-kept", "3"])  # after the command too
    later.roots = [tmp_path]
    assert settings_from_args(later).runs_kept == 3


def test_settings_are_frozen() -> None:
    s = load_settings({})
    with pytest.raises(ValidationError):
        s.log_level = "DEBUG"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("var", "value", "accepts"),
    [
        ("SECAUDIT_LOG_LEVEL", "loud", "one of DEBUG"),
        ("SECAUDIT_MAX_PROMPT_BYTES", "0", "from 1 to"),
        ("SECAUDIT_MAX_PROMPT_BYTES", "1.5", "whole number"),
        ("SECAUDIT_ALLOWED_ROOTS", "/definitely/not/here", "existing folders"),
        ("SECAUDIT_SCANNER_TIMEOUT", "-3", "above 0"),
        ("SECAUDIT_RUNS_KEPT", "-1", "from 0 (keep all)"),
    ],
)
def test_invalid_values_name_the_variable(var: str, value: str, accepts: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({var: value})
    assert var in str(err.value) and accepts in str(err.value)


def test_secret_setting_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SECAUDIT_REDIS_URL": "http://user:hunter2-secret@host"})
    assert "hunter2-secret" not in str(err.value) and "SECAUDIT_REDIS_URL" in str(err.value)
    s = load_settings({"SECAUDIT_REDIS_URL": "redis://:pw-secret-123@127.0.0.1:6379/0"})
    assert "pw-secret-123" not in repr(s) and "pw-secret-123" not in str(s.model_dump())


def test_fingerprint_key_from_the_environment(tmp_path: Path) -> None:
    from secaudit.server.context import fingerprint_key
    from secaudit.server.redaction import configured_secrets

    key_text = "k" * 43
    s = load_settings(
        {"SECAUDIT_FINGERPRINT_KEY": f" {key_text}\n", "SECAUDIT_STORE": str(tmp_path / "s.db")}
    )
    assert key_text not in repr(s) and key_text not in str(s.model_dump())
    assert len(fingerprint_key(s)) == 32 and not (tmp_path / "s.db.hmackey").exists()
    assert key_text in configured_secrets(s)  # masked wherever it would show
    # Set but empty (a CI input left out): the key file beside the store.
    unset = load_settings({"SECAUDIT_FINGERPRINT_KEY": "  ", "SECAUDIT_STORE": str(tmp_path / "s.db")})
    assert unset.fingerprint_key is None
    assert fingerprint_key(unset) == (tmp_path / "s.db.hmackey").read_bytes()
    with pytest.raises(ConfigError) as err:
        load_settings({"SECAUDIT_FINGERPRINT_KEY": "tooshort-secret"})
    assert "SECAUDIT_FINGERPRINT_KEY" in str(err.value) and "tooshort-secret" not in str(err.value)


def test_deps_online_backends(tmp_path: Path) -> None:
    from secaudit.server.context import build_context

    s = load_settings(
        {
            "SECAUDIT_DEPS_ONLINE": "PyPI, npm",
            "SECAUDIT_STORE": str(tmp_path / "s.db"),
            "SECAUDIT_ALLOWED_ROOTS": str(tmp_path),
        }
    )
    assert s.deps_online == ("pypi", "npm")
    app = build_context(s)
    try:
        assert app.audit is not None and app.audit.scanner_options["deps"].online == ("pypi", "npm")
    finally:
        app.close()
    with pytest.raises(ConfigError, match="SECAUDIT_DEPS_ONLINE"):
        load_settings({"SECAUDIT_DEPS_ONLINE": "pypi,everything"})

"""Bearer tokens: parsing from the environment and from a token file, lookup, expiry, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from secaudit.tools.auth import TokenRegistry, parse_token_env, parse_token_file
from secaudit.tools.errors import ConfigError


def test_token_env_parsing_and_constant_time_lookup() -> None:
    digest = hashlib.sha256(b"z" * 40).hexdigest()
    entries = parse_token_env(f"a:read:{'y' * 40}; b:read,write:sha256:{digest}")
    registry = TokenRegistry(env_entries=entries)
    p = registry.authenticate("z" * 40)
    assert p is not None and p.name == "b" and p.has_scope("write") and not p.has_scope("fix")
    assert registry.authenticate("y" * 40) is not None
    assert registry.authenticate("y" * 39) is None
    assert registry.authenticate("") is None
    for bad in ("a:read:short", "a:nope:" + "y" * 40, "a b:read:" + "y" * 40, "a:read", "a:read:sha256:xyz"):
        with pytest.raises(ConfigError) as exc:
            parse_token_env(bad)
        assert "y" * 40 not in str(exc.value) and "short" not in str(exc.value).split(":")[-1]


def test_token_file_expiry_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    digest = hashlib.sha256(b"q" * 40).hexdigest()
    path.write_text(
        f'[[token]]\nname = "old"\nscopes = ["admin"]\nsha256 = "{digest}"\nexpires = 2020-01-01T00:00:00Z\n'
    )
    registry = TokenRegistry(token_file=path)
    assert registry.authenticate("q" * 40) is None
    assert registry.authenticate("q" * 40, now=dt.datetime(2019, 1, 1, tzinfo=dt.UTC)) is not None
    path.write_text('[[token]]\nname = "x"\nscopes = ["read"]\ntoken = "raw-secret"\n')
    with pytest.raises(ConfigError) as exc:
        parse_token_file(path)
    assert "raw-secret" not in str(exc.value)
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="writable by other users"):
        parse_token_file(path)

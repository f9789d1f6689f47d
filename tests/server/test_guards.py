"""Guards on the in-process (stdio-equivalent) transport, and the pure pieces of the HTTP face."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import anyio
import pytest
from mcp.client import Client

from secaudit.server.app import build_server
from secaudit.server.context import build_context
from secaudit.server.http.checks import (
    BodyProblem,
    JsonRpcMessage,
    normalize_host,
    normalize_origin,
    parse_jsonrpc,
)
from secaudit.server.settings import load_settings
from secaudit.tools.auth import TokenRegistry, parse_token_env, parse_token_file
from secaudit.tools.errors import ConfigError


def _settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"SECAUDIT_STORE": str(tmp_path / "s.db"), "SECAUDIT_ALLOWED_ROOTS": str(tmp_path), **env}
    )


async def _calls(tmp_path: Path) -> list[tuple[bool, str]]:
    settings = _settings(tmp_path, SECAUDIT_RATE_LIMIT_WRITE="2/minute")
    context = build_context(settings)
    server = build_server(settings, context=context)
    out = []
    async with Client(server) as client:
        for i in range(3):
            r = await client.call_tool("create_task", {"prompt": f"stdio {i}"})
            out.append((r.is_error, str(r.content)))
        r = await client.call_tool("list_tasks", {})
        out.append((r.is_error, ""))
    return out


def test_rate_limit_applies_over_stdio_too(tmp_path: Path) -> None:
    results = anyio.run(_calls, tmp_path)
    assert [err for err, _ in results] == [False, False, True, False]
    assert "rate_limited" in results[2][1] and "retry in" in results[2][1]
    context = build_context(_settings(tmp_path))
    assert context.events is not None
    calls = context.events.list(kinds=["tool_call"])
    outcomes = sorted(str(e.outcome) for e in calls)
    assert outcomes == ["ok", "ok", "ok", "rate_limited"]
    assert {e.identity for e in calls} == {"local"} and {e.transport for e in calls} == {"stdio"}


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


def test_host_and_origin_normalisation() -> None:
    assert normalize_host("LOCALHOST:8765") == ("localhost", 8765)
    assert normalize_host("[::1]:80") == ("[::1]", 80)
    for bad in ("", "a b", "x@y", "x:y", "[zz]:1", "host:0", "host:123456", "a/b", "-a.com"):
        assert normalize_host(bad) is None, bad
    assert normalize_origin("HTTPS://Example.com:443") == "https://example.com"
    assert normalize_origin("http://example.com:8080") == "http://example.com:8080"
    for bad in ("null", "ftp://x", "http://x/path", "http://u@x", "http://", "https://x?y"):
        assert normalize_origin(bad) is None, bad


def test_jsonrpc_shapes() -> None:
    ok = parse_jsonrpc(b'{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t"}}', 8)
    assert isinstance(ok, JsonRpcMessage) and ok.tool == "t" and ok.is_request
    note = parse_jsonrpc(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', 8)
    assert isinstance(note, JsonRpcMessage) and not note.is_request
    deep = parse_jsonrpc(
        b'{"jsonrpc":"2.0","id":1,"method":"m","params":' + b'{"a":' * 9 + b"1" + b"}" * 10, 8
    )
    assert isinstance(deep, BodyProblem) and "nested" in deep.message
    secret = parse_jsonrpc(b'{"jsonrpc":"2.0","id":1,"method":5,"params":{"pw":"hunter2"}}', 8)
    assert isinstance(secret, BodyProblem) and "hunter2" not in secret.message

"""The HTTP face against a real server process: every refusal, then a good request still works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.http import (
    ACCEPT,
    INIT,
    SECURITY_HEADERS,
    TOKENS,
    ServerProcess,
    auth,
    call_tool,
    close_session,
    open_session,
    post,
    read_events,
    sse_result,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("http")
    env = {
        "SECAUDIT_HTTP_MAX_BODY_BYTES": "65536",
        "SECAUDIT_HTTP_MAX_SESSIONS_PER_IDENTITY": "500",
        # This module sends many bad tokens from one address on purpose; the throttle has its own test.
        "SECAUDIT_RATE_LIMIT_AUTH_FAILURE": "10000/minute",
    }
    with ServerProcess(tmp, env=env) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def assert_secure_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert value in response.headers.get(name, ""), (name, response.status_code, dict(response.headers))
    assert "server" not in response.headers
    assert "strict-transport-security" not in response.headers  # TLS not configured here
    assert "access-control-allow-origin" not in response.headers  # CORS off by default


def assert_works(client: httpx.Client, server: ServerProcess) -> None:
    """A good request right after a refusal is served normally."""
    sid = open_session(client, server, "alice")
    r = call_tool(client, server, "alice", sid, "list_tasks", {})
    assert r.status_code == 200
    assert sse_result(r)["result"]["isError"] is False  # type: ignore[index]
    close_session(client, server, "alice", sid)


def jsonrpc_error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    return body["error"]  # type: ignore[no-any-return]


# -- authentication ---------------------------------------------------------------------------


def test_missing_token_is_401_with_www_authenticate(server: ServerProcess, client: httpx.Client) -> None:
    r = post(client, server, INIT)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer ")
    assert_secure_headers(r)
    assert_works(client, server)


@pytest.mark.parametrize(
    "value",
    [
        "Bearer " + "x" * 40,
        "Bearer " + TOKENS["alice"][1][:-1],
        "Basic " + TOKENS["alice"][1],
        TOKENS["alice"][1],
        "Bearer",
        "bearer  " + "x" * 40,
    ],
)
def test_bad_token_is_401(server: ServerProcess, client: httpx.Client, value: str) -> None:
    r = post(client, server, INIT, headers={"Authorization": value})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert TOKENS["alice"][1] not in r.text
    assert_works(client, server)


@pytest.mark.parametrize("query", ["access_token=abc", "token=abc", "api_key=x", "Auth=1"])
def test_token_in_query_is_refused(server: ServerProcess, client: httpx.Client, query: str) -> None:
    r = client.post(
        f"{server.url}?{query}",
        json=INIT,
        headers={"Accept": ACCEPT, **auth("alice")},
    )
    assert r.status_code == 400
    assert "Authorization: Bearer" in jsonrpc_error(r)["message"]  # type: ignore[operator]
    assert_secure_headers(r)
    assert_works(client, server)


def test_wrong_scope_is_403_and_names_the_scope(server: ServerProcess, client: httpx.Client) -> None:
    sid = open_session(client, server, "bob")
    r = call_tool(client, server, "bob", sid, "create_task", {"prompt": "not allowed"}, request_id=41)
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert 'scope="write"' in r.headers["www-authenticate"]
    err = jsonrpc_error(r)
    assert r.json()["id"] == 41
    assert "needs the 'write' scope" in err["message"]  # type: ignore[operator]
    # the same token may still read
    ok = call_tool(client, server, "bob", sid, "list_tasks", {})
    assert ok.status_code == 200 and sse_result(ok)["result"]["isError"] is False  # type: ignore[index]


def test_metrics_only_token_cannot_use_mcp(server: ServerProcess, client: httpx.Client) -> None:
    r = post(client, server, INIT, headers=auth("scraper"))
    assert r.status_code == 403
    assert_works(client, server)


# -- Host and Origin -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1:1",
        "127.0.0.1",  # port missing: strict host:port
        "localhost.:{port}",
        "127.0.0.1:{port}@evil.example",
        "127.0.0.1:{port}/x",
        "127.0.0.1 :{port}",
        "[::1:{port}",
        "127.0.0.1:99999",
    ],
)
def test_hostile_host_is_421(server: ServerProcess, client: httpx.Client, host: str) -> None:
    r = post(client, server, INIT, headers={**auth("alice"), "Host": host.format(port=server.port)})
    assert r.status_code == 421
    assert_secure_headers(r)
    assert_works(client, server)


def test_healthz_checks_host_too(server: ServerProcess, client: httpx.Client) -> None:
    r = client.get(server.base + "/healthz", headers={"Host": "rebound.example"})
    assert r.status_code == 421


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://127.0.0.1:1",
        "https://127.0.0.1:{port}",
        "http://127.0.0.1:{port}.evil.example",
        "http://localhost:{port}/path",
        "file://",
    ],
)
def test_hostile_origin_is_403(server: ServerProcess, client: httpx.Client, origin: str) -> None:
    r = post(client, server, INIT, headers={**auth("alice"), "Origin": origin.format(port=server.port)})
    assert r.status_code == 403
    assert "Origin" in jsonrpc_error(r)["message"]  # type: ignore[operator]
    assert_secure_headers(r)
    assert_works(client, server)


def test_loopback_origin_is_accepted(server: ServerProcess, client: httpx.Client) -> None:
    r = post(client, server, INIT, headers={**auth("alice"), "Origin": f"http://localhost:{server.port}"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


def test_cors_preflight_is_refused_without_allowlist(server: ServerProcess, client: httpx.Client) -> None:
    r = client.options(server.url, headers={"Origin": f"http://localhost:{server.port}"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


# -- limits and malformed input ----------------------------------------------------------------


def test_oversized_body_is_413_before_reading(server: ServerProcess, client: httpx.Client) -> None:
    huge = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 70_000}}
    r = post(client, server, huge, headers=auth("alice"))
    assert r.status_code == 413
    assert_secure_headers(r)
    assert_works(client, server)


def test_oversized_chunked_body_is_413(server: ServerProcess, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"'
        for _ in range(20):
            yield b"y" * 8192
        yield b'"}}'

    r = client.post(
        server.url,
        content=chunks(),
        headers={"Accept": ACCEPT, "Content-Type": "application/json", **auth("alice")},
    )
    assert r.status_code == 413
    assert_works(client, server)


def test_oversized_headers_are_refused(server: ServerProcess, client: httpx.Client) -> None:
    r = post(client, server, INIT, headers={**auth("alice"), "X-Pad": "z" * 17_000})
    assert r.status_code in (400, 431)
    assert_works(client, server)


def test_deeply_nested_body_is_refused(server: ServerProcess, client: httpx.Client) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * 3000 + b"]" * 3000 + b"}}"
    r = client.post(
        server.url,
        content=body,
        headers={"Accept": ACCEPT, "Content-Type": "application/json", **auth("alice")},
    )
    assert r.status_code == 400
    err = jsonrpc_error(r)
    assert err["code"] == -32600 and "nested" in err["message"]  # type: ignore[operator]
    # moderately nested (over the default 32) is refused the same way
    nested: object = "x"
    for _ in range(40):
        nested = {"k": nested}
    r = post(
        client, server, {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": nested}, headers=auth("alice")
    )
    assert r.status_code == 400
    assert_works(client, server)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", -32700),
        (b"\xff\xfe", -32700),
        (b"", -32700),
        (b"[]", -32600),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600),
        (b"42", -32600),
        (b'"ping"', -32600),
        (b"null", -32600),
        (b'{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600),
        (b'{"id":1,"method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":7}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":[1,2]}', -32600),
        (b'{"jsonrpc":"2.0","id":1}', -32600),
    ],
)
def test_malformed_jsonrpc_gets_a_jsonrpc_error(
    server: ServerProcess, client: httpx.Client, body: bytes, code: int
) -> None:
    r = client.post(
        server.url,
        content=body,
        headers={"Accept": ACCEPT, "Content-Type": "application/json", **auth("alice")},
    )
    assert r.status_code == 400
    assert jsonrpc_error(r)["code"] == code
    assert_secure_headers(r)
    assert client.get(server.base + "/healthz").status_code == 200
    assert_works(client, server)


def test_item15_duplicate_keys_over_http_are_refused(server: ServerProcess, client: httpx.Client) -> None:
    sid = open_session(client, server, "alice")
    headers = {
        "Accept": ACCEPT,
        "Content-Type": "application/json",
        "Mcp-Session-Id": sid,
        "Mcp-Protocol-Version": "2025-06-18",
        **auth("alice"),
    }
    for body in (
        b'{"jsonrpc":"2.0","id":1,"id":999999,"method":"tools/list"}',
        b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_tasks","name":"audit"}}',
    ):
        r = client.post(server.url, content=body, headers=headers)
        assert r.status_code == 400, r.text
        error = jsonrpc_error(r)
        assert error["code"] == -32600 and "repeats a key" in str(error["message"])
        assert r.json()["id"] is None
    close_session(client, server, "alice", sid)
    assert_works(client, server)


def test_malformed_inside_a_session_and_bad_tool_arguments(
    server: ServerProcess, client: httpx.Client
) -> None:
    sid = open_session(client, server, "alice")
    r = client.post(
        server.url,
        content=b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":',
        headers={
            "Accept": ACCEPT,
            "Content-Type": "application/json",
            "Mcp-Session-Id": sid,
            **auth("alice"),
        },
    )
    assert r.status_code == 400
    r = call_tool(client, server, "alice", sid, "create_task", {"prompt": 5, "evil": "$(rm -rf /)"})
    result = sse_result(r)["result"]
    assert result["isError"] is True  # type: ignore[index]
    assert "rm -rf" not in json.dumps(result)
    r = call_tool(client, server, "alice", sid, "no_such_tool", {})
    assert r.status_code == 200
    r = call_tool(client, server, "alice", sid, "list_tasks", {})
    assert sse_result(r)["result"]["isError"] is False  # type: ignore[index]


def test_wrong_content_type_and_method(server: ServerProcess, client: httpx.Client) -> None:
    r = client.post(
        server.url,
        content=json.dumps(INIT),
        headers={"Accept": ACCEPT, **auth("alice"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    assert_secure_headers(r)
    r = client.put(server.url, headers=auth("alice"))
    assert r.status_code == 405
    assert_secure_headers(r)
    assert_works(client, server)


# -- sessions ----------------------------------------------------------------------------------


def test_session_ids_are_long_random_and_not_the_sdks(server: ServerProcess, client: httpx.Client) -> None:
    ids = {open_session(client, server, "alice") for _ in range(3)}
    assert len(ids) == 3
    for sid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", sid), sid  # >= 256 bits, URL-safe base64
        assert not re.fullmatch(r"[0-9a-f]{32}", sid)


def test_foreign_session_id_is_refused(server: ServerProcess, client: httpx.Client) -> None:
    sid = open_session(client, server, "alice")
    # bob (a valid token) cannot ride alice's session
    r = call_tool(client, server, "bob", sid, "list_tasks", {})
    assert r.status_code == 404
    assert_secure_headers(r)
    # nor can a guessed id
    r = call_tool(client, server, "alice", "A" * 43, "list_tasks", {})
    assert r.status_code == 404
    # alice's session is unharmed
    r = call_tool(client, server, "alice", sid, "list_tasks", {})
    assert r.status_code == 200 and sse_result(r)["result"]["isError"] is False  # type: ignore[index]


def test_deleted_session_is_gone(server: ServerProcess, client: httpx.Client) -> None:
    sid = open_session(client, server, "alice")
    r = client.delete(
        server.url, headers={"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-06-18", **auth("alice")}
    )
    assert r.status_code == 200
    r = call_tool(client, server, "alice", sid, "list_tasks", {})
    assert r.status_code == 404


# -- other routes ------------------------------------------------------------------------------


def test_healthz_says_nothing_more(server: ServerProcess, client: httpx.Client) -> None:
    r = client.get(server.base + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert_secure_headers(r)


def test_metrics_needs_auth_and_scope(server: ServerProcess, client: httpx.Client) -> None:
    r = client.get(server.base + "/metrics")
    assert r.status_code == 401
    assert_secure_headers(r)
    r = client.get(server.base + "/metrics", headers=auth("alice"))
    assert r.status_code == 403
    assert_secure_headers(r)
    for who in ("scraper", "root"):
        r = client.get(server.base + "/metrics", headers=auth(who))
        assert r.status_code == 200
        assert "secaudit_http_requests_total" in r.text
        assert_secure_headers(r)
    assert TOKENS["alice"][1] not in r.text


def test_unknown_route_is_404_with_headers(server: ServerProcess, client: httpx.Client) -> None:
    for path in ("/", "/mcp/", "/admin", "/.env"):
        r = client.get(server.base + path, headers=auth("alice"))
        assert r.status_code == 404, path
        assert_secure_headers(r)


# -- the SDK client over HTTP ------------------------------------------------------------------


async def _sdk_session(server: ServerProcess, who: str, mode: str) -> tuple[list[str], bool, str]:
    token = TOKENS[who][1]
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with Client(streamable_http_client(server.url, http_client=http), mode=mode) as c:  # type: ignore[arg-type]
            names = [t.name for t in (await c.list_tools()).tools]
            listed = await c.call_tool("list_tasks", {})
            try:
                await c.call_tool("create_task", {"prompt": f"from {who}"})
                refused = ""
            except MCPError as exc:
                refused = str(exc)
            return names, listed.is_error, refused


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_sdk_client_over_http(server: ServerProcess, mode: str) -> None:
    names, is_error, refused = anyio.run(_sdk_session, server, "alice", mode)
    assert "create_task" in names and is_error is False and refused == ""
    names, is_error, refused = anyio.run(_sdk_session, server, "bob", mode)
    assert is_error is False
    assert "needs the 'write' scope" in refused


async def _sdk_bad_token(server: ServerProcess) -> str:
    async with httpx2.AsyncClient(headers={"Authorization": "Bearer " + "n" * 40}) as http:
        try:
            async with Client(streamable_http_client(server.url, http_client=http), mode="legacy") as c:  # type: ignore[arg-type]
                await c.list_tools()
        except BaseException as exc:  # noqa: BLE001 - the SDK wraps it in an exception group
            return repr(exc)
    return ""


def test_sdk_client_with_bad_token_fails(server: ServerProcess) -> None:
    assert anyio.run(_sdk_bad_token, server) != ""


# -- the audit log -----------------------------------------------------------------------------


def test_events_record_refusals_and_tool_calls(server: ServerProcess, client: httpx.Client) -> None:
    post(client, server, INIT, headers={"Authorization": "Bearer " + "w" * 40})
    post(client, server, INIT, headers={**auth("alice"), "Origin": "http://evil.example"})
    sid = open_session(client, server, "alice")
    call_tool(client, server, "alice", sid, "create_task", {"prompt": "audited " + TOKENS["bob"][1]})

    def ready() -> list[dict[str, object]] | None:
        events = read_events(server)
        kinds = {e["kind"] for e in events}
        calls = [
            e
            for e in events
            if e["kind"] == "tool_call" and e["tool"] == "create_task" and e["identity"] == "alice"
        ]
        return events if {"auth_failed", "origin_refused"} <= kinds and calls else None

    events = wait_for(ready, "events to be flushed")
    call = next(e for e in events if e["kind"] == "tool_call" and e["tool"] == "create_task")
    assert call["transport"] == "http" and call["outcome"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{32}", str(call["args_digest"]))
    assert isinstance(call["duration_ms"], float)
    dump = json.dumps(events)
    for _, token in TOKENS.values():
        assert token not in dump
    assert "w" * 40 not in dump
    assert "audited" not in dump  # arguments are digested, never stored
    # the CLI filters by kind
    only = read_events(server, "--kind", "auth_failed")
    assert only and {e["kind"] for e in only} == {"auth_failed"}


def test_server_log_has_no_token(server: ServerProcess) -> None:
    log = server.stderr()
    for _, token in TOKENS.values():
        assert token not in log


# -- start-up refusals -------------------------------------------------------------------------


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SECAUDIT_")}
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", "serve", "--http", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "SECAUDIT_STORE": str(tmp_path / "s.db"), **(env or {})},
    )


def test_refuses_non_loopback_without_auth(tmp_path: Path) -> None:
    out = _serve(tmp_path, "--host", "0.0.0.0", "--no-auth")
    assert out.returncode == 2 and "loopback" in out.stderr
    out = _serve(tmp_path, "--host", "0.0.0.0")
    assert out.returncode == 2 and "SECAUDIT_HTTP_TOKENS" in out.stderr


def test_refuses_start_without_any_auth_configured(tmp_path: Path) -> None:
    out = _serve(tmp_path)
    assert out.returncode == 2 and "secaudit token new" in out.stderr


def test_refuses_start_with_a_token_file_that_holds_no_token(tmp_path: Path) -> None:
    # Starting would have said "serving" and answered every request 401.
    empty = tmp_path / "tokens.toml"
    empty.write_text("# tokens go here\n")
    out = _serve(tmp_path, env={"SECAUDIT_HTTP_TOKEN_FILE": str(empty)})
    assert out.returncode == 2 and "holds no token" in out.stderr and "secaudit token new" in out.stderr


def test_bad_token_config_names_the_entry_not_the_value(tmp_path: Path) -> None:
    out = _serve(tmp_path, env={"SECAUDIT_HTTP_TOKENS": "ok:read:" + "k" * 40 + ";bad:read:short-secret"})
    assert out.returncode == 2
    assert "entry 2" in out.stderr and "short-secret" not in out.stderr

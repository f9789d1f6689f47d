"""Resources over the HTTP face: a read needs the `read` scope, like a read-only tool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.http import INIT, TOKENS, ServerProcess, post, sse_result, tokens_env

pytestmark = pytest.mark.slow

WRITER = ("write", "writer-" + "w" * 40)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"SECAUDIT_HTTP_TOKENS": tokens_env({**TOKENS, "writer": WRITER})}
    with ServerProcess(tmp_path, env=env) as srv:
        yield srv


def session(client: httpx.Client, server: ServerProcess, token: str) -> tuple[dict[str, str], str]:
    headers = {"Authorization": f"Bearer {token}"}
    r = post(client, server, INIT, headers=headers)
    assert r.status_code == 200, r.text
    sid = r.headers["mcp-session-id"]
    ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert post(client, server, ready, headers=headers, session=sid).status_code == 202
    return headers, sid


def request(
    client: httpx.Client, server: ServerProcess, token: str, method: str, params: dict[str, object]
) -> dict[str, object]:
    headers, sid = session(client, server, token)
    r = post(
        client,
        server,
        {"jsonrpc": "2.0", "id": 5, "method": method, "params": params},
        headers=headers,
        session=sid,
    )
    assert r.status_code == 200, r.text
    return sse_result(r)


def test_resource_reads_follow_the_read_scope(server: ServerProcess) -> None:
    uri = {"uri": "secaudit://rules/config.debug-enabled"}
    with httpx.Client(timeout=30) as client:
        reader = request(client, server, TOKENS["bob"][1], "resources/read", uri)
        writer = request(client, server, WRITER[1], "resources/read", uri)
        listed = request(client, server, WRITER[1], "resources/templates/list", {})
    assert reader["result"]["contents"][0]["text"].startswith("# config.debug-enabled")  # type: ignore[index]
    error = writer["error"]
    assert "permission_denied" in error["message"] and "'read' scope" in error["message"]  # type: ignore[index]
    assert "# config" not in str(writer)
    assert len(listed["result"]["resourceTemplates"]) == 6  # type: ignore[index, arg-type]

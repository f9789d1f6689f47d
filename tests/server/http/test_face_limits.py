"""Rate limits (memory and Redis), session caps, token reload, Redis outage: real server processes."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from secaudit.tools.auth import identity_digest
from tests.support.http import (
    INIT,
    ServerProcess,
    auth,
    call_tool,
    open_session,
    post,
    read_events,
    sse_result,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as c:
        yield c


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def needs_redis() -> None:
    if not redis_available():
        if os.environ.get("CI"):
            pytest.fail("Redis at 127.0.0.1:6379 is required in CI")
        pytest.skip("Redis at 127.0.0.1:6379 is not running (allowed outside CI)")


def test_http_rate_limit_is_429_with_retry_after(tmp_path: Path, client: httpx.Client) -> None:
    env = {"SECAUDIT_RATE_LIMIT_WRITE": "3/minute"}
    with ServerProcess(tmp_path, env=env) as server:
        sid = open_session(client, server, "alice")
        for i in range(3):
            r = call_tool(client, server, "alice", sid, "create_task", {"prompt": f"t{i}"})
            assert r.status_code == 200 and sse_result(r)["result"]["isError"] is False  # type: ignore[index]
        r = call_tool(client, server, "alice", sid, "create_task", {"prompt": "one too many"}, request_id=99)
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["id"] == 99 and "rate limit" in r.json()["error"]["message"]
        assert r.headers["x-content-type-options"] == "nosniff"
        # another class (read) has its own budget, and another identity its own
        r = call_tool(client, server, "alice", sid, "list_tasks", {})
        assert r.status_code == 200
        sid_root = open_session(client, server, "root")
        r = call_tool(client, server, "root", sid_root, "create_task", {"prompt": "root's own budget"})
        assert r.status_code == 200 and sse_result(r)["result"]["isError"] is False  # type: ignore[index]


def test_request_budget_applies_to_every_request(tmp_path: Path, client: httpx.Client) -> None:
    with ServerProcess(tmp_path, env={"SECAUDIT_RATE_LIMIT_REQUEST": "5/minute"}) as server:
        codes = [post(client, server, INIT, headers=auth("bob")).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        assert post(client, server, INIT, headers=auth("alice")).status_code == 200


def test_failed_authentications_throttle_the_address_before_any_token_check(
    tmp_path: Path, client: httpx.Client
) -> None:
    env = {"SECAUDIT_RATE_LIMIT_AUTH_FAILURE": "3/minute"}
    with ServerProcess(tmp_path, env=env) as server:
        # Successes cost nothing from this budget.
        assert [post(client, server, INIT, headers=auth("alice")).status_code for _ in range(5)] == [200] * 5
        bad = {"Authorization": "Bearer " + "g" * 43}
        codes = [post(client, server, INIT, headers=bad).status_code for _ in range(2)]
        codes.append(post(client, server, INIT).status_code)  # no token at all counts too
        assert codes == [401, 401, 401]
        # Spent: refused before the token is read, so a valid token gets the same answer.
        for headers in (bad, auth("alice"), auth("root")):
            r = post(client, server, INIT, headers=headers)
            assert r.status_code == 429, r.text
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert "failed authentications" in r.json()["error"]["message"]
            assert r.headers["x-content-type-options"] == "nosniff"
        assert client.get(server.base + "/healthz").status_code == 200  # no auth there: unaffected

        def throttled_rows() -> list[dict[str, object]] | None:
            rows = read_events(server, "--kind", "auth_throttled")
            return rows or None

        rows = wait_for(throttled_rows, "the auth_throttled event to be flushed")
        assert len(rows) == 1  # three throttled requests, one row per address per minute
        assert rows[0]["client"] == "127.0.0.1"
        assert len(read_events(server, "--kind", "auth_failed")) == 3


def test_a_request_past_its_deadline_is_cancelled_inside_the_session(
    tmp_path: Path, client: httpx.Client
) -> None:
    # About 5 s of bandit work here (2,500 such files took 2 s): well past a 1 s deadline.
    repo = tmp_path / "big"
    for i in range(6000):
        sub = repo / f"pkg{i // 100}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i}.py").write_text(
            f"import subprocess\n\n\ndef f{i}(c):\n    return subprocess.call(c, shell=True)\n"
        )
    env = {"SECAUDIT_HTTP_REQUEST_TIMEOUT": "1"}
    with ServerProcess(tmp_path, env=env) as server:
        sid = open_session(client, server, "alice")
        r = call_tool(client, server, "alice", sid, "run_audit", {"path": str(repo), "scanners": ["bandit"]})
        # The event stream had started (it ends with a JSON-RPC error), or nothing was sent yet (504).
        assert r.status_code in (200, 504), r.text
        assert "deadline" in r.text and "Traceback" not in r.text
        if r.status_code == 200:
            assert sse_result(r)["error"]["code"] == -32603  # type: ignore[index]

        def settled() -> dict[str, object] | None:
            # Read from the store, not over HTTP: with a 1 s deadline, a poll that lands while the
            # cancelled audit is still being recorded could itself pass the deadline.
            out = subprocess.run(
                [sys.executable, "-m", "secaudit.server", "findings", "runs", "--json"],
                capture_output=True,
                env=server.env,
                timeout=60,
                check=True,
            )
            run = json.loads(out.stdout)["runs"][0]
            return run if run["status"] != "running" else None  # type: ignore[no-any-return]

        run = wait_for(settled, "the audit to stop", deadline_s=60)
        # Without the cancel it would run on to `succeeded` long after the caller was gone.
        assert run["status"] == "cancelled", run
        assert run["files_scanned"] < 6000  # type: ignore[operator]

        def answered() -> bool:
            r = call_tool(client, server, "alice", sid, "list_tasks", {})
            return r.status_code == 200 and sse_result(r).get("result", {}).get("isError") is False  # type: ignore[union-attr]

        wait_for(answered, "the session to answer again")  # the session outlives the cancelled call


def test_sessions_per_identity_are_capped(tmp_path: Path, client: httpx.Client) -> None:
    with ServerProcess(tmp_path, env={"SECAUDIT_HTTP_MAX_SESSIONS_PER_IDENTITY": "2"}) as server:
        first = open_session(client, server, "alice")
        open_session(client, server, "alice")
        r = post(client, server, INIT, headers=auth("alice"))
        assert r.status_code == 429
        assert open_session(client, server, "bob")  # other identities are unaffected
        client.delete(
            server.url,
            headers={"Mcp-Session-Id": first, "Mcp-Protocol-Version": "2025-06-18", **auth("alice")},
        )
        assert open_session(client, server, "alice")


def test_session_max_lifetime(tmp_path: Path, client: httpx.Client) -> None:
    with ServerProcess(tmp_path, env={"SECAUDIT_HTTP_SESSION_MAX": "1"}) as server:
        sid = open_session(client, server, "alice")

        def expired() -> bool:
            return call_tool(client, server, "alice", sid, "list_tasks", {}).status_code == 404

        wait_for(expired, "the session to pass its maximum lifetime", deadline_s=10)


def _token_file(path: Path, entries: list[tuple[str, str, str]]) -> None:
    lines = []
    for name, scopes, token in entries:
        quoted = ", ".join(f'"{s}"' for s in scopes.split(","))
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(f'[[token]]\nname = "{name}"\nscopes = [{quoted}]\nsha256 = "{digest}"\n')
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)  # atomic, as an operator's deploy tool would do


def test_token_file_rotation_without_restart(tmp_path: Path, client: httpx.Client) -> None:
    old, new = "old-" + "o" * 40, "new-" + "n" * 40
    tokens = tmp_path / "tokens.toml"
    _token_file(tokens, [("ci", "metrics", old)])
    env = {"SECAUDIT_HTTP_TOKENS": "", "SECAUDIT_HTTP_TOKEN_FILE": str(tokens)}
    with ServerProcess(tmp_path, env=env) as server:

        def status(token: str) -> int:
            # /metrics opens no session, so polling cannot run into the per-identity session cap
            return client.get(
                server.base + "/metrics", headers={"Authorization": f"Bearer {token}"}
            ).status_code

        assert status(old) == 200 and status(new) == 401
        _token_file(tokens, [("ci", "metrics", old), ("ci", "metrics", new)])  # both valid while clients move
        wait_for(lambda: status(new) == 200, "the new token to be accepted")
        assert status(old) == 200
        _token_file(tokens, [("ci", "metrics", new)])
        wait_for(lambda: status(old) == 401, "the old token to be refused")
        assert status(new) == 200
        tokens.write_text("this is [not toml")  # a broken edit keeps the last good set
        # the file is looked at when a request comes in: keep asking until the error is logged
        wait_for(lambda: status(new) and "not reloaded" in server.stderr(), "the reload error to be logged")
        assert status(new) == 200
        assert new not in server.stderr() and old not in server.stderr()


def test_two_processes_share_one_redis_budget(tmp_path: Path, client: httpx.Client) -> None:
    needs_redis()
    import redis

    name = "shared-" + uuid.uuid4().hex[:12]  # a fresh identity: no budget left over from other runs
    token = name + "-" + "s" * 40
    env = {
        "SECAUDIT_HTTP_TOKENS": f"{name}:read,write:{token}",
        "SECAUDIT_REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECAUDIT_RATE_LIMIT_WRITE": "4/minute",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with ServerProcess(tmp_path / "a", env=env) as a, ServerProcess(tmp_path / "b", env=env) as b:
        headers = {"Authorization": f"Bearer {token}"}
        sessions = {}
        for srv in (a, b):
            r = post(client, srv, INIT, headers=headers)
            sessions[srv.port] = r.headers["mcp-session-id"]

        def create(srv: ServerProcess, i: int) -> int:
            body = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "tools/call",
                "params": {"name": "create_task", "arguments": {"prompt": f"p{i}"}},
            }
            return post(client, srv, body, headers=headers, session=sessions[srv.port]).status_code

        codes = [create(a if i % 2 == 0 else b, i) for i in range(6)]
        assert codes[:4] == [200] * 4, codes
        assert codes[4:] == [429, 429], codes  # each process alone would have allowed 4

    r = redis.Redis(host="127.0.0.1", port=6379)
    digest = identity_digest(name)
    keys = [k.decode() for k in r.scan_iter(match=f"*{digest}*")]
    assert keys, "the limiter wrote no key for this identity"
    for key in keys:
        assert key.startswith("secaudit-rl")
        assert name not in key and token not in key
        assert r.ttl(key) > 0
    r.delete(*keys)


def test_redis_unreachable_falls_back_and_never_logs_the_password(
    tmp_path: Path, client: httpx.Client
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # closed again: nothing listens there
    env = {
        "SECAUDIT_REDIS_URL": f"redis://:hunter2-redis-pw@127.0.0.1:{dead_port}/0",
        "SECAUDIT_RATE_LIMIT_WRITE": "2/minute",
    }
    with ServerProcess(tmp_path, env=env) as server:
        sid = open_session(client, server, "alice")
        codes = []
        for i in range(3):
            r = call_tool(client, server, "alice", sid, "create_task", {"prompt": f"x{i}"})
            codes.append(r.status_code)
            assert "Traceback" not in r.text and "hunter2" not in r.text
        assert codes == [200, 200, 429]  # the per-process fallback still limits
        log = server.stderr()
        assert "unreachable" in log
        assert "hunter2" not in log


def test_redis_unreachable_with_deny_refuses_cleanly(tmp_path: Path, client: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    env = {
        "SECAUDIT_REDIS_URL": f"redis://:hunter2-redis-pw@127.0.0.1:{dead_port}/0",
        "SECAUDIT_RATE_LIMIT_ON_REDIS_ERROR": "deny",
    }
    with ServerProcess(tmp_path, env=env) as server:
        r = post(client, server, INIT, headers=auth("alice"))
        assert r.status_code == 503
        assert "Retry-After".lower() in r.headers
        assert "hunter2" not in r.text and "Traceback" not in r.text
        assert client.get(server.base + "/healthz").status_code == 200
        assert "hunter2" not in server.stderr()

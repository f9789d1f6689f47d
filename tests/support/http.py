"""A real `secaudit serve --http` process for tests: start, wait for readiness (bounded), stop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

READY = re.compile(r"serving MCP at http://127\.0\.0\.1:(\d+)/mcp")
TOKENS = {
    "alice": ("read,write", "alice-" + "a" * 40),
    "bob": ("read", "bob-" + "b" * 40),
    "scraper": ("metrics", "scraper-" + "m" * 40),
    "root": ("admin", "root-" + "r" * 40),
}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "pytest", "version": "1"},
    },
}
ACCEPT = "application/json, text/event-stream"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'",
    "cache-control": "no-store",
}


def tokens_env(tokens: Mapping[str, tuple[str, str]] = TOKENS) -> str:
    return ";".join(f"{name}:{scopes}:{token}" for name, (scopes, token) in tokens.items())


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][1]}"}


class ServerProcess:
    def __init__(
        self, tmp: Path, env: Mapping[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.tmp = tmp
        self.store = tmp / "store.db"
        self.stderr_path = tmp / f"server-{time.monotonic_ns()}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")},
            "SECAUDIT_STORE": str(self.store),
            "SECAUDIT_ALLOWED_ROOTS": str(tmp),
            "SECAUDIT_HTTP_TOKENS": tokens_env(),
            **(env or {}),
        }
        self.args = args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + "/mcp"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "secaudit.server", "serve", "--http", "--port", "0", *self.args]

    def start(self, deadline_s: float = 30.0) -> ServerProcess:
        self._log = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=self.env,
        )
        deadline = time.monotonic() + deadline_s
        while True:
            text = self.stderr()
            m = READY.search(text)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {text[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not announce its port: " + text[-2000:])
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become healthy: " + self.stderr()[-2000:])
            time.sleep(0.05)

    def stderr(self) -> str:
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def post(
    client: httpx.Client,
    server: ServerProcess,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    session: str | None = None,
) -> httpx.Response:
    h = {"Accept": ACCEPT, "Content-Type": "application/json", **(headers or {})}
    if session:
        h["Mcp-Session-Id"] = session
        h["Mcp-Protocol-Version"] = "2025-06-18"
    return client.post(server.url, json=body, headers=h)


def open_session(client: httpx.Client, server: ServerProcess, who: str) -> str:
    r = post(client, server, INIT, headers=auth(who))
    assert r.status_code == 200, r.text
    sid = r.headers["mcp-session-id"]
    r = post(
        client,
        server,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers=auth(who),
        session=sid,
    )
    assert r.status_code == 202, r.text
    return sid


def sse_result(response: httpx.Response) -> dict[str, object]:
    """The JSON-RPC message in an SSE (or JSON) answer."""
    import json

    if response.headers.get("content-type", "").startswith("application/json"):
        data: dict[str, object] = response.json()
        return data
    for line in response.text.splitlines():
        if line.startswith("data: "):
            data = json.loads(line[6:])
            return data
    raise AssertionError("no message in the answer: " + response.text[:500])


def call_tool(
    client: httpx.Client,
    server: ServerProcess,
    who: str,
    session: str,
    name: str,
    arguments: dict[str, object],
    request_id: int = 7,
) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return post(client, server, body, headers=auth(who), session=session)


def wait_for(predicate, what: str, deadline_s: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def close_session(client: httpx.Client, server: ServerProcess, who: str, session: str) -> httpx.Response:
    return client.delete(
        server.url, headers={"Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-06-18", **auth(who)}
    )


def read_events(server: ServerProcess, *args: str) -> list[dict[str, object]]:
    """`secaudit events --json` against the server's store (filters as extra arguments)."""
    out = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "events", "--json", "--limit", "500", *args],
        capture_output=True,
        env=server.env,
        timeout=60,
        check=True,
    )
    data: list[dict[str, object]] = json.loads(out.stdout)
    return data

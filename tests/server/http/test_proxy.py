"""Issue 11, item 18: a client that disconnects mid-request has its request cancelled.

A real `secaudit serve --http` on 127.0.0.1; the client is a raw socket that goes away while its
`run_audit` runs.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.support.http import TOKENS, ServerProcess, call_tool, open_session, sse_result, wait_for

pytestmark = pytest.mark.slow


def _latest_status(server: ServerProcess) -> str | None:
    # Straight from the store file (read-only): polled often, so the client leaves right away.
    with closing(sqlite3.connect(f"file:{server.store}?mode=ro", uri=True, timeout=5)) as conn:
        row = conn.execute("SELECT status FROM audit_runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def _latest_run(server: ServerProcess) -> dict[str, object] | None:
    # Read from the store, as an operator would, not over the server being tested.
    out = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "findings", "runs", "--json", "--limit", "1"],
        capture_output=True,
        env=server.env,
        timeout=60,
        check=True,
    )
    runs: list[dict[str, object]] = json.loads(out.stdout)["runs"]
    return runs[0] if runs else None


def test_item18_client_disconnect_mid_run_audit_cancels_it(tmp_path: Path) -> None:
    # About 5 s of bandit work (as in the deadline test): long enough to leave in the middle of.
    repo = tmp_path / "big"
    for i in range(6000):
        sub = repo / f"pkg{i // 100}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i}.py").write_text(
            f"import subprocess\n\n\ndef f{i}(c):\n    return subprocess.call(c, shell=True)\n"
        )
    with ServerProcess(tmp_path) as server, httpx.Client(timeout=20) as client:
        sid = open_session(client, server, "alice")
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 9,
                "method": "tools/call",
                "params": {"name": "run_audit", "arguments": {"path": str(repo), "scanners": ["bandit"]}},
            }
        ).encode()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {TOKENS['alice'][1]}\r\nMcp-Session-Id: {sid}\r\n"
            "Mcp-Protocol-Version: 2025-06-18\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

        wait_for(lambda: _latest_status(server) == "running", "the audit to start", deadline_s=60)
        sock.close()  # the client goes away while the audit runs

        def settled() -> dict[str, object] | None:
            run = _latest_run(server)
            return run if run is not None and run["status"] != "running" else None

        run = wait_for(settled, "the audit to stop", deadline_s=120)
        # Without the cancel the audit ran on to `succeeded`, for a caller long gone.
        assert run["status"] == "cancelled", run
        assert run["files_scanned"] < 6000  # type: ignore[operator]
        assert "disconnected" in server.stderr()

        # The session outlives the cancelled call.
        r = call_tool(client, server, "alice", sid, "list_tasks", {})
        assert r.status_code == 200 and sse_result(r)["result"]["isError"] is False  # type: ignore[index]

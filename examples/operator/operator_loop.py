#!/usr/bin/env python3
"""A headless task operator loop against `secaudit serve --http` (Python standard library only).

It claims the next ready task over MCP (Streamable HTTP) with a scoped bearer token, runs a command
with the task's prompt on stdin, and completes the task with its lease id when the command
succeeds. A command that fails (or times out) backlogs the task, so a person looks at it instead of
the loop retrying it forever. It stops when nothing is ready (or after --max-tasks).

    export SECAUDIT_OPERATOR_TOKEN=...        # a token with the read and write scopes; never on argv
    python operator_loop.py --url http://127.0.0.1:8765/mcp --worker agent-1 -- my-agent --headless

The command gets the prompt on stdin and these variables: SECAUDIT_TASK_ID, SECAUDIT_TASK_UUID,
SECAUDIT_TASK_LEASE_ID. It runs without a shell, with a timeout below the lease. Exit status of
this loop: 0 (every claimed task was handled, whatever the commands did), 2 (the server refused or
could not be reached).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

PROTOCOL = "2025-06-18"


class McpError(Exception):
    pass


class Session:
    """One MCP session over Streamable HTTP: JSON-RPC requests, answers as JSON or one SSE event."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self.session_id: str | None = None
        self.next_id = 1

    def _post(self, body: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {self.token}",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
            headers["Mcp-Protocol-Version"] = PROTOCOL
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as exc:
            # The server's refusals say what is wrong (scope, token, limits); never echo the token.
            raise McpError(f"HTTP {exc.code}: {exc.read()[:500].decode('utf-8', 'replace')}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise McpError(f"cannot reach {self.url}: {exc}") from None

    def _rpc(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        headers, raw = self._post(body)
        if headers.get("content-type", "").startswith("text/event-stream"):
            messages = [
                json.loads(line[5:]) for line in raw.decode().splitlines() if line.startswith("data:")
            ]
            answer = next((m for m in messages if m.get("id") == body["id"]), None)
        else:
            answer = json.loads(raw)
        if answer is None:
            raise McpError(f"no answer to {method}")
        if "error" in answer:
            raise McpError(f"{method}: {answer['error'].get('message', 'error')}")
        if method == "initialize":
            self.session_id = headers.get("mcp-session-id")
        result: dict[str, Any] = answer["result"]
        return result

    def open(self) -> None:
        self._rpc(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "operator-loop", "version": "1"},
            },
        )
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self._rpc("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            raise McpError(f"{tool}: {text[:500]}")
        structured: dict[str, Any] = result["structuredContent"]
        return structured

    def close(self) -> None:
        if not self.session_id:
            return
        request = urllib.request.Request(
            self.url,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Mcp-Session-Id": self.session_id,
                "Mcp-Protocol-Version": PROTOCOL,
            },
            method="DELETE",
        )
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError):
            pass


def run_command(command: list[str], task: dict[str, Any], timeout: float) -> int:
    env = {
        **os.environ,
        "SECAUDIT_TASK_ID": str(task["id"]),
        "SECAUDIT_TASK_UUID": str(task.get("uuid") or ""),
        "SECAUDIT_TASK_LEASE_ID": task["claim"]["lease_id"],
    }
    env.pop("SECAUDIT_OPERATOR_TOKEN", None)  # the agent gets its own credentials, not the operator's
    try:
        return subprocess.run(
            command, input=task["prompt"].encode(), env=env, timeout=timeout, check=False
        ).returncode
    except subprocess.TimeoutExpired:
        return -1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8765/mcp")
    parser.add_argument("--worker", required=True, help="this operator's name, recorded in each lease")
    parser.add_argument("--lease", type=int, default=1800, help="lease seconds (default 1800)")
    parser.add_argument(
        "--max-tasks", type=int, default=0, help="stop after this many tasks (0: until none is ready)"
    )
    parser.add_argument("--http-timeout", type=float, default=60.0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    token = os.environ.get("SECAUDIT_OPERATOR_TOKEN", "")
    if not token:
        parser.error("set SECAUDIT_OPERATOR_TOKEN to a token with the read and write scopes")

    session = Session(args.url, token, args.http_timeout)
    handled = 0
    try:
        session.open()
        while not args.max_tasks or handled < args.max_tasks:
            claimed = session.call("claim_next_task", {"worker": args.worker, "lease_seconds": args.lease})
            if not claimed["claimed"]:
                print("no ready task", file=sys.stderr)
                break
            task = claimed["task"]
            lease_id = task["claim"]["lease_id"]
            handled += 1
            code = run_command(command, task, timeout=max(1.0, args.lease - 30.0))
            tool = "complete_task" if code == 0 else "backlog_task"
            try:
                moved = session.call(tool, {"id": task["id"], "lease_id": lease_id})["task"]
                outcome = moved["status_name"]
            except McpError as exc:
                # e.g. the lease expired and another worker holds the task now: theirs to finish.
                outcome = f"left as is ({exc})"
            print(json.dumps({"task": task["id"], "command_exit": code, "outcome": outcome}), flush=True)
    except McpError as exc:
        print(f"operator: {exc}", file=sys.stderr)
        return 2
    finally:
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

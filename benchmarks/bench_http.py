"""Tool-call throughput and latency over Streamable HTTP: secaudit's HTTP face vs the bare SDK.

secaudit: `secaudit serve --http` with bearer-token auth, Host/Origin checks, bound sessions, rate
limits (in-process; limits raised so they never throttle: every call is still counted), the audit
log of every call. Two rows: `secaudit/echo` calls the baseline's trivial tool registered through
secaudit's own tool wrapper (the like-for-like ratio: the cost of the HTTP face and the guards), and
`secaudit/list_tasks` a real tool reading SQLite (informational: it adds the tool's own work).
baseline: the SDK's own `MCPServer` with one trivial tool over `streamable_http_app()` under uvicorn.

Both are driven by the same raw HTTP client (httpx, one MCP session per concurrent client), so the
figures compare servers, not client libraries. Prints calls/s, p50 and p99 at 1 and 8 concurrent
clients, and the ratio secaudit/baseline (target >= 0.8x); then each server's CPU time per call
(user + system, all threads, warm-up and session set-up included) and the ratio baseline/secaudit:
on a shared, loaded machine throughput swings with other load, CPU per call much less.

By default the client and the servers share the machine's cores, so the client's own CPU work
competes with the server it measures and the ratio moves by +-0.1 between runs on 2 cores.
`--pin` puts every server on one CPU and the client on another: the steadier, server-only figure.

    .venv/bin/python benchmarks/bench_http.py [--calls 600] [--warmup 60] [--rounds 3] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from secaudit.server.toolkit import StrictInput

TOKEN = "bench-" + "t" * 40
ACCEPT = "application/json, text/event-stream"
READY = re.compile(r"http://127\.0\.0\.1:(\d+)/mcp")

BASELINE = r"""
import socket, sys, asyncio, uvicorn
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")

@server.tool()
def echo(text: str) -> str:
    return text

sock = socket.socket()
# The same TCP_NODELAY secaudit sets, so the baseline is not slowed by Nagle + delayed ACKs (~40 ms).
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.bind(("127.0.0.1", 0)); sock.listen(2048)
print(f"bare at http://127.0.0.1:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)
config = uvicorn.Config(server.streamable_http_app(), log_level="warning", access_log=False, http="h11")
asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


class EchoInput(StrictInput):
    text: str


class EchoOutput(BaseModel):
    text: str


async def _echo(_app: object, args: EchoInput, _call: object) -> EchoOutput:
    return EchoOutput(text=args.text)


def serve_secaudit_with_echo() -> int:
    """secaudit's full stack (auth, limits, sessions, guards, audit, redaction) + the baseline's tool."""
    from secaudit.server.http import serve_http
    from secaudit.server.settings import load_settings
    from secaudit.server.toolkit import ToolSpec, build_tool

    spec = ToolSpec(
        name="echo",
        title="Echo",
        description="returns its text",
        input_model=EchoInput,
        output_model=EchoOutput,
        handler=_echo,
        scope="read",
        cost="read",
        read_only=True,  # type: ignore[arg-type]
    )

    def add(server: Any) -> None:
        server._tool_manager._tools[spec.name] = build_tool(spec)

    return serve_http(load_settings(http_port=0), add)


SERVER_CPUS: set[int] | None = None  # --pin: servers on one core, this client on the other


def start(cmd: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    handle = log.open("wb")
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=handle)
    if SERVER_CPUS is not None:
        os.sched_setaffinity(proc.pid, SERVER_CPUS)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = READY.search(log.read_text(errors="replace"))
        if m:
            port = int(m.group(1))
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    return proc, port
                except httpx.TransportError:
                    time.sleep(0.05)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log.read_text(errors="replace")[-2000:])


def message(response: httpx.Response) -> dict[str, object]:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()  # type: ignore[no-any-return]
    for line in response.text.splitlines():
        if line.startswith("data: "):
            return json.loads(line[6:])  # type: ignore[no-any-return]
    raise RuntimeError(f"no message in answer ({response.status_code}): {response.text[:200]}")


async def session(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "b", "version": "1"},
        },
    }
    base = {"Accept": ACCEPT, "Content-Type": "application/json", **headers}
    r = await client.post(url, json=init, headers=base)
    r.raise_for_status()
    h = {**base, "Mcp-Session-Id": r.headers["mcp-session-id"], "Mcp-Protocol-Version": "2025-06-18"}
    r = await client.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    assert r.status_code == 202, r.status_code
    return h


async def run(
    url: str,
    headers: dict[str, str],
    tool: str,
    args: dict[str, object],
    clients: int,
    calls: int,
    warmup: int,
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        sessions = [await session(client, url, headers) for _ in range(clients)]

        async def worker(h: dict[str, str], n: int, record: bool) -> None:
            for i in range(n):
                body = {
                    "jsonrpc": "2.0",
                    "id": i + 1,
                    "method": "tools/call",
                    "params": {"name": tool, "arguments": args},
                }
                t0 = time.perf_counter()
                r = await client.post(url, json=body, headers=h)
                msg = message(r)
                dt = time.perf_counter() - t0
                if r.status_code != 200 or "error" in msg or msg["result"].get("isError"):  # type: ignore[union-attr]
                    raise RuntimeError(f"call failed: {r.status_code} {str(msg)[:300]}")
                if record:
                    latencies.append(dt)

        await asyncio.gather(*(worker(h, max(1, warmup // clients), False) for h in sessions))
        per = calls // clients
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(h, per, True) for h in sessions))
        elapsed = time.perf_counter() - t0
        for h in sessions:  # end the sessions: secaudit caps open sessions per identity
            await client.delete(url, headers=h)
    return len(latencies) / elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run each server on CPU 0 and this client on CPU 1, so the client's own work does not "
        "compete with the server it measures (needs 2+ CPUs)",
    )
    parser.add_argument("--serve-secaudit-echo", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_secaudit_echo:
        return serve_secaudit_with_echo()
    if opts.pin:
        global SERVER_CPUS
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least 2 CPUs")
        SERVER_CPUS = {cpus[0]}
        os.sched_setaffinity(0, {cpus[1]})
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    ours_env = {
        **base_env,
        "SECAUDIT_STORE": str(tmp / "store.db"),
        "SECAUDIT_ALLOWED_ROOTS": str(tmp),
        "SECAUDIT_HTTP_TOKENS": f"bench:read,write:{TOKEN}",
        "SECAUDIT_LOG_LEVEL": "WARNING",
        # Raised so they never throttle; every call still goes through the limiter.
        "SECAUDIT_RATE_LIMIT_READ": "10000000/minute",
        "SECAUDIT_RATE_LIMIT_REQUEST": "10000000/minute",
    }
    procs = []
    try:
        ours, ours_port = start(
            [sys.executable, "-m", "secaudit.server", "serve", "--http", "--port", "0"],
            ours_env,
            tmp / "ours.log",
        )
        procs.append(ours)
        bare, bare_port = start([sys.executable, "-c", BASELINE], base_env, tmp / "bare.log")
        procs.append(bare)
        echo, echo_port = start(
            [sys.executable, __file__, "--serve-secaudit-echo"], ours_env, tmp / "echo.log"
        )
        procs.append(echo)
        targets = {
            "secaudit/echo": (
                f"http://127.0.0.1:{echo_port}/mcp",
                {"Authorization": f"Bearer {TOKEN}"},
                "echo",
                {"text": "hi"},
            ),
            "secaudit/list_tasks": (
                f"http://127.0.0.1:{ours_port}/mcp",
                {"Authorization": f"Bearer {TOKEN}"},
                "list_tasks",
                {"limit": 1},
            ),
            "sdk-bare": (f"http://127.0.0.1:{bare_port}/mcp", {}, "echo", {"text": "hi"}),
        }
        pids = {"secaudit/echo": echo.pid, "secaudit/list_tasks": ours.pid, "sdk-bare": bare.pid}
        cpu: dict[tuple[str, int], list[float]] = {}
        print(f"{'server':<20} {'clients':>7} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        results: dict[tuple[str, int], float] = {}
        for clients in (1, 8):
            # Rounds alternate between the servers so a burst of load from elsewhere on the machine
            # hits both; each row reports the round with the median throughput.
            rounds: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in targets}
            for _ in range(opts.rounds):
                for name, (url, headers, tool, args) in targets.items():
                    before = cpu_seconds(pids[name])
                    rounds[name].append(
                        asyncio.run(run(url, headers, tool, args, clients, opts.calls, opts.warmup))
                    )
                    spent = cpu_seconds(pids[name]) - before
                    cpu.setdefault((name, clients), []).append(spent * 1000 / (opts.calls + opts.warmup))
            for name, runs in rounds.items():
                rate, lat = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
                results[(name, clients)] = rate
                print(f"{name:<20} {clients:>7} {rate:>9.1f} {pct(lat, 0.5):>8.2f} {pct(lat, 0.99):>8.2f}")
        for name in ("secaudit/echo", "secaudit/list_tasks"):
            for clients in (1, 8):
                ratio = results[(name, clients)] / results[("sdk-bare", clients)]
                verdict = "meets" if ratio >= 0.8 else "BELOW"
                print(
                    f"ratio {name}/sdk-bare at {clients} client(s): {ratio:.2f}x ({verdict} the 0.8x target)"
                )
        # Server CPU per call barely moves with load from elsewhere on the machine (throughput does):
        # the steadier like-for-like figure on a shared machine.
        for clients in (1, 8):
            ms = {name: sorted(cpu[(name, clients)])[len(cpu[(name, clients)]) // 2] for name in targets}
            print(
                f"server CPU per call at {clients} client(s): "
                + ", ".join(f"{name} {value:.2f} ms" for name, value in ms.items())
                + f"; sdk-bare/secaudit/echo: {ms['sdk-bare'] / ms['secaudit/echo']:.2f}x"
            )
        print(
            f"({opts.calls} calls per round, median of {opts.rounds} alternating rounds, {opts.warmup}"
            f" warm-up calls; "
            + (
                f"servers pinned to CPU {sorted(SERVER_CPUS)[0]}, client to another)"
                if SERVER_CPUS is not None
                else f"client and servers share this machine's {os.cpu_count()} cores)"
            )
        )
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

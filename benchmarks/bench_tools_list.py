"""Size of `tools/list`: the bytes every MCP session sends the client (and usually the model).

    .venv/bin/python benchmarks/bench_tools_list.py [--stdio]

Asks a real server through the SDK's `Client` (in-memory), and prints the size of the answer as
the SDK writes it on the wire (JSON by alias, unset fields left out: the same bytes stdio and HTTP
send), for the default list, each toolset alone, read-only mode and full output schemas; beside
each, a token estimate of bytes / 4 (a rough rule for English and JSON, not a tokenizer count) and
the verdict against the 25 KB target for the default list. `--stdio` also starts `secaudit serve`
and measures the raw JSON-RPC line it answers, as a cross-check of the in-memory figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import anyio
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.settings import Settings, load_settings
from secaudit.server.toolsets import TOOLSETS

TARGET_BYTES = 25_000  # "25 KB" read strictly (decimal), not 25 KiB


async def list_bytes(settings: Settings) -> tuple[int, int]:
    """(tools listed, bytes of the tools/list result on the wire)."""
    async with Client(build_server(settings)) as client:
        listed = await client.list_tools()
    return len(listed.tools), len(listed.model_dump_json(by_alias=True, exclude_unset=True).encode())


def stdio_bytes(folder: Path) -> int:
    """The raw tools/list answer line of a real `secaudit serve` (stdio), in bytes."""
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
    lines = [
        init,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    ]
    env = {**os.environ, "SECAUDIT_STORE": str(folder / "stdio.db"), "SECAUDIT_ALLOWED_ROOTS": str(folder)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "secaudit.server", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    killer = threading.Timer(120, proc.kill)  # every wait bounded: a hung server is killed
    killer.start()
    try:
        # stdin stays open until the answer is read: at EOF the server stops, dropping pending calls.
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in lines).encode())
        proc.stdin.flush()
        for line in iter(proc.stdout.readline, b""):
            if json.loads(line).get("id") == 1:
                return len(line.rstrip(b"\n"))
    finally:
        killer.cancel()
        proc.kill()
        proc.wait(timeout=30)
    raise SystemExit("no tools/list answer from secaudit serve")


def _row(label: str, tools: int, size: int, verdict: str = "") -> str:
    return f"{label:<28} {tools:>5} {size:>9,} {size / 1024:>8.1f} {size // 4:>8,}  {verdict}"


async def main(stdio: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = load_settings(
            environ={}, store_path=folder / "s.db", allowed_roots=(folder,), log_level="WARNING"
        )
        print(f"{'list':<28} {'tools':>5} {'bytes':>9} {'KiB':>8} {'~tokens':>8}  (tokens ~ bytes/4)")
        tools, size = await list_bytes(base)
        ok = size <= TARGET_BYTES
        print(
            _row("default (all toolsets)", tools, size, f"{'OK' if ok else 'OVER'} target {TARGET_BYTES:,}")
        )
        for name in TOOLSETS:
            print(
                _row(f"--toolsets {name}", *await list_bytes(base.model_copy(update={"toolsets": (name,)})))
            )
        print(_row("--read-only", *await list_bytes(base.model_copy(update={"read_only": True}))))
        full = base.model_copy(update={"output_schemas": "full"})
        print(_row("SECAUDIT_OUTPUT_SCHEMAS=full", *await list_bytes(full)))
        if stdio:
            print(_row("default, raw stdio line", tools, stdio_bytes(folder)))
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stdio", action="store_true", help="also measure a real `secaudit serve` over stdio"
    )
    sys.exit(anyio.run(main, parser.parse_args().stdio))

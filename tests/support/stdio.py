"""A real `secaudit serve` over stdio, driven line by line: what a client that writes raw JSON-RPC
(or garbage) sees, every wait bounded."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from secaudit.server.settings import Settings
from tests.support.cli import cli_env

__all__ = ["INIT", "RawStdio"]

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "pytest-raw", "version": "1"},
    },
}


class RawStdio:
    """`secaudit serve` as a subprocess; `send` writes bytes, `answer` reads one line (bounded)."""

    def __init__(self, settings: Settings, tmp: Path, **env: str) -> None:
        self.stderr_path = tmp / f"stdio-{time.monotonic_ns()}.log"
        self._log = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "secaudit.server", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=cli_env(settings, **env),
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._pending = b""

    def __enter__(self) -> RawStdio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def initialize(self) -> dict[str, Any]:
        self.send_json(INIT)
        answer = self.answer(timeout=60)
        assert answer is not None and "result" in answer, answer
        self.send_json({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send_json(self, message: object) -> None:
        self.send(json.dumps(message).encode() + b"\n")

    def answer(self, timeout: float = 20) -> dict[str, Any] | None:
        """The next line the server writes, parsed; None when none comes within `timeout`."""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                return None
            chunk = self.proc.stdout.read(65536)
            if chunk is None:
                continue
            if not chunk:
                return None  # the server closed stdout
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        data: dict[str, Any] = json.loads(line)
        return data

    def request(self, message: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        self.send_json(message)
        answer = self.answer(timeout)
        assert answer is not None, f"no answer to {message.get('method')} within {timeout}s"
        return answer

    def peak_rss_kib(self) -> int:
        """The process's peak resident set (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/<pid>/status")

    def stderr(self) -> str:
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._selector.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

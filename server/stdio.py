"""The stdio transport, with its input bounded and checked before the SDK sees it.

The SDK's stdio server reads stdin a line at a time with no limit: a 200 MB line is held whole
(and again as text) before it is refused, and a line it cannot parse is dropped without an answer
or a log line. Here the SDK's own transport is given a stdin that

- reads the wire in chunks of 64 KiB and holds at most `max_line_bytes` (SECAUDIT_MAX_REQUEST_BYTES)
  of one line: a longer line is answered with a JSON-RPC error (`id` null: it was never parsed) and
  the rest of it is read and thrown away chunk by chunk, never buffered;
- parses each line with the HTTP face's parser (`parse_jsonrpc`: JSON, nesting depth, the JSON-RPC
  shape) and the SDK's own message model, and answers a line that fails either with a JSON-RPC
  error (`-32700` parse error, `-32600` invalid request), logging one line; only valid messages
  reach the SDK. Blank lines are skipped.

Answers of ours and the SDK's leave through one writer, a whole line per write under a lock, so
they never interleave. As the SDK does, the protocol is served from private copies of fd 0 and 1
while fd 0 reads /dev/null and fd 1 writes to stderr: a handler or child process can neither eat
requests nor write into the protocol stream.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import anyio
import mcp.types as mcp_types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from pydantic import ValidationError

from secaudit.server.jsonrpc import INVALID_REQUEST, PARSE_ERROR, BodyProblem, parse_jsonrpc

__all__ = ["serve_stdio"]

log = logging.getLogger("secaudit.stdio")

_CHUNK = 64 * 1024


class _FrameWriter:
    """stdout for the protocol (the file `anyio.wrap_file` wraps): each write is one whole line,
    written and flushed under a lock."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", closefd=False)
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        with self._lock:
            self._out.write(data)
            self._out.flush()
        return len(text)

    def flush(self) -> None:
        return None  # every write is flushed already

    def answer_error(self, request_id: Any, code: int, message: str) -> None:
        error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        self.write(json.dumps(error, separators=(",", ":")) + "\n")


class _BoundedLines:
    """stdin for the SDK (the file `anyio.wrap_file` wraps): `readline` returns the next valid
    JSON-RPC line, or "" at end of input."""

    def __init__(self, fd: int, writer: _FrameWriter, max_line_bytes: int, max_json_depth: int) -> None:
        self._fd = fd
        self._writer = writer
        self._cap = max_line_bytes
        self._depth = max_json_depth
        self._buf = bytearray()
        self._eof = False

    def readline(self) -> str:
        while True:
            raw = self._next_line()
            if raw is None:
                return ""
            text = self._admit(raw)
            if text is not None:
                return text

    def _read(self) -> bytes:
        chunk = os.read(self._fd, _CHUNK)
        if not chunk:
            self._eof = True
        return chunk

    def _next_line(self) -> bytes | None:
        """The next line without its newline, None at end of input; an overlong one is refused."""
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                if end > self._cap:
                    del self._buf[: end + 1]
                    self._refuse_overlong()
                    start = 0
                    continue
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return line
            if len(self._buf) > self._cap:
                self._skip_rest_of_line()
                self._refuse_overlong()
                start = 0
                continue
            if self._eof:
                if not self._buf:
                    return None
                line = bytes(self._buf)
                self._buf.clear()
                return line
            start = len(self._buf)
            self._buf += self._read()

    def _skip_rest_of_line(self) -> None:
        # Read on to the end of the line in chunks, keeping none of it.
        self._buf.clear()
        while not self._eof:
            chunk = self._read()
            end = chunk.find(b"\n")
            if end >= 0:
                self._buf += chunk[end + 1 :]
                return

    def _refuse_overlong(self) -> None:
        log.warning(
            "stdio: dropped a line longer than %d bytes (SECAUDIT_MAX_REQUEST_BYTES) without reading it",
            self._cap,
        )
        self._writer.answer_error(
            None,
            INVALID_REQUEST,
            f"Invalid Request: the message is longer than {self._cap} bytes (SECAUDIT_MAX_REQUEST_BYTES); "
            "it was dropped unread",
        )

    def _admit(self, raw: bytes) -> str | None:
        """The line as text when it holds a valid JSON-RPC message; else answered, logged, None."""
        if not raw.strip():
            return None
        parsed = parse_jsonrpc(raw, self._depth)
        if isinstance(parsed, BodyProblem):
            self._refuse(None, parsed.code, parsed.message)
            return None
        request_id = parsed.raw.get("id")
        try:
            text = raw.decode("utf-8")
            mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
        except (UnicodeDecodeError, ValidationError):
            self._refuse(request_id, INVALID_REQUEST, "Invalid Request: not a JSON-RPC message MCP accepts")
            return None
        return text

    def _refuse(self, request_id: Any, code: int, message: str) -> None:
        kind = "a parse error" if code == PARSE_ERROR else "an invalid-request error"
        log.warning("stdio: answered a line with %s: %s", kind, message)
        self._writer.answer_error(request_id, code, message)


@contextmanager
def _claimed_stdio() -> Iterator[tuple[int, int]]:
    """Private copies of fd 0 and 1 for the protocol; meanwhile 0 reads /dev/null, 1 writes to 2."""
    try:
        wire_in, wire_out = os.dup(0), os.dup(1)
    except OSError:
        yield 0, 1  # a standard descriptor is closed: serve them in place, undiverted
        return
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(devnull, 0)
        os.dup2(2, 1)
    finally:
        os.close(devnull)
    try:
        yield wire_in, wire_out
    finally:
        # The copies stay open: a worker thread may still be blocked reading wire_in.
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)


async def serve_stdio(server: Server[Any], *, max_line_bytes: int, max_json_depth: int) -> None:
    """Serve `server` over stdin/stdout until stdin ends."""
    with _claimed_stdio() as (wire_in, wire_out):
        writer = _FrameWriter(wire_out)
        lines = _BoundedLines(wire_in, writer, max_line_bytes, max_json_depth)
        stdin = cast(anyio.AsyncFile[str], anyio.wrap_file(cast(Any, lines)))
        stdout = cast(anyio.AsyncFile[str], anyio.wrap_file(cast(Any, writer)))
        async with stdio_server(stdin=stdin, stdout=stdout) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

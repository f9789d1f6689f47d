"""Run the HTTP face under uvicorn, from `secaudit serve --http`."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Callable

import uvicorn
from mcp.server.mcpserver import MCPServer

from secaudit.server.app import build_server
from secaudit.server.context import AppContext, build_context
from secaudit.server.http.checks import is_loopback
from secaudit.server.http.face import MCP_PATH, HttpFace
from secaudit.server.http.timeouts import bounded_h11
from secaudit.server.settings import Settings
from secaudit.tools.errors import ConfigError

__all__ = ["serve_http"]

log = logging.getLogger("secaudit.http")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this. Without it, a response written as two segments (headers,
    # then body) waits for the client's delayed ACK: ~40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or 'error'}); choose another --port or --host"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_http(settings: Settings, customize: Callable[[MCPServer[AppContext]], None] | None = None) -> int:
    """Bind first (so port 0 gets a real port the Host allowlist can name), then serve until stopped.

    `customize` may change the server before it starts (the benchmark adds its trivial tool).
    """
    host = settings.http_host
    if not is_loopback(host):
        log.warning("listening on a non-loopback address %s: put a TLS reverse proxy in front", host)
    sock = _bind(host, settings.http_port)
    port = int(sock.getsockname()[1])
    context = build_context(settings)
    server = build_server(settings, context=context)
    if customize is not None:
        customize(server)
    try:
        face = HttpFace(settings, server, context, port=port)
    except ConfigError:
        sock.close()
        context.close()
        raise
    config = uvicorn.Config(
        face,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        http=bounded_h11(settings.http_read_timeout_seconds),
        h11_max_incomplete_event_size=settings.http_max_header_bytes + 1024,
        timeout_keep_alive=15,
        timeout_graceful_shutdown=10,
    )
    display = f"[{host}]" if ":" in host and not host.startswith("[") else host
    auth = "NO AUTH (loopback only)" if settings.http_no_auth else "bearer tokens"
    print(f"secaudit: serving MCP at http://{display}:{port}{MCP_PATH} ({auth})", file=sys.stderr, flush=True)
    uv = uvicorn.Server(config)
    asyncio.run(uv.serve(sockets=[sock]))
    return 0

"""`secaudit serve`: the MCP server over stdio (default) or Streamable HTTP (`--http`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from secaudit.server.cli.common import settings_from_args

__all__ = ["register"]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", parents=parents)
    t = p.add_argument_group("tools offered (each overrides its SECAUDIT_* variable)")
    t.add_argument(
        "--toolsets",
        help="','-separated toolsets to serve: audit, findings, fixes, tasks, advisories, masking, "
        "or all (SECAUDIT_TOOLSETS; default all)",
    )
    t.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="serve only the tools that write nothing (SECAUDIT_READ_ONLY)",
    )
    h = p.add_argument_group("HTTP (each overrides its SECAUDIT_HTTP_* variable)")
    h.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    h.add_argument("--host", help="address to bind (default 127.0.0.1; others need tokens)")
    h.add_argument("--port", type=int, help="port (default 8765; 0 picks a free one)")
    h.add_argument("--token-file", type=Path, help="TOML token file (SECAUDIT_HTTP_TOKEN_FILE)")
    h.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="no authentication, read scope only; refused unless bound to loopback (tests, conformance)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from secaudit.server.logging_setup import configure_logging, log_roots
    from secaudit.server.settings import broad_roots_error

    settings = settings_from_args(
        args,
        http_host=getattr(args, "host", None),
        http_port=getattr(args, "port", None),
        http_token_file=getattr(args, "token_file", None),
        http_no_auth=getattr(args, "no_auth", None),
        toolsets=_toolsets(getattr(args, "toolsets", None)),
        read_only=getattr(args, "read_only", None),
    )
    configure_logging(settings.log_level)
    refused = broad_roots_error(settings)
    if refused is not None:
        raise refused
    log_roots(settings)
    if getattr(args, "http", False):
        from secaudit.server.http import serve_http

        return serve_http(settings)
    from secaudit.server.app import build_server  # the MCP SDK and every tool: only to serve

    server = build_server(settings)
    server.run("stdio")
    return 0


def _toolsets(raw: str | None) -> tuple[str, ...] | None:
    return None if raw is None else tuple(p.strip() for p in raw.split(",") if p.strip())

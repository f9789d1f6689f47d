"""Logging to stderr only: stdout belongs to the MCP stdio protocol.

Every handler carries the redaction filter, so no secret (configured tokens, detected patterns)
reaches a log line, whichever module logs it.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from secaudit.tools.masking import RedactingFilter

if TYPE_CHECKING:
    from secaudit.server.settings import Settings

__all__ = ["add_filter_to_all_handlers", "configure_logging", "log_roots"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, *, filters: list[logging.Filter] | None = None) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    # Follows the process-wide redactor, so secrets registered later are masked too.
    handler.addFilter(RedactingFilter())
    for f in filters or []:
        handler.addFilter(f)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter at INFO (per-request lines from the SDK and uvicorn) stays out unless asked.
    for noisy in ("mcp", "httpx", "uvicorn.access", "sse_starlette"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def add_filter_to_all_handlers(flt: logging.Filter) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)


def log_roots(settings: Settings) -> None:
    """Say at start which folders the tools may touch, resolved (relative roots against the working
    directory the server started in), so a surprising root shows in the client's server log."""
    roots = ", ".join(str(root) for root in settings.allowed_roots)
    log = logging.getLogger("secaudit.server")
    if settings.allow_broad_root:
        log.warning("allowed roots: %s (broad roots accepted: --allow-broad-root)", roots)
    else:
        log.info("allowed roots: %s", roots)

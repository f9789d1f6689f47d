"""Logging to stderr only: stdout belongs to the MCP stdio protocol.

Every handler carries the redaction filter, so no secret (configured tokens, detected patterns)
reaches a log line, whichever module logs it.
"""

from __future__ import annotations

import logging
import sys

from secaudit.tools.masking import RedactingFilter

__all__ = ["add_filter_to_all_handlers", "configure_logging"]

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

"""Error translation, in one place, for every tool and CLI command.

- A `SecauditError` is deliberate: its message (safe by construction) reaches the caller with its code.
- A validation failure names the fields and what they accept, never the rejected values (they may
  be secrets or huge).
- Anything else is a bug: the caller gets a generic message with a correlation id; the traceback
  goes only to the server log (through the redaction filter).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import ValidationError

from secaudit.tools.errors import SecauditError

__all__ = ["describe_validation_error", "public_message", "set_text_redactor"]

log = logging.getLogger("secaudit.errors")
_redact: Callable[[str], str] = lambda text: text  # noqa: E731 - replaced at start by the redaction layer


def set_text_redactor(redact: Callable[[str], str]) -> None:
    global _redact
    _redact = redact


def describe_validation_error(exc: ValidationError) -> str:
    parts: list[str] = []
    for err in exc.errors()[:20]:
        loc = ".".join(str(p) for p in err["loc"]) or "arguments"
        if err["type"] == "extra_forbidden":
            parts.append(f"{loc}: unknown field; remove it")
        elif err["type"] == "missing":
            parts.append(f"{loc}: required")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}")
    return "invalid arguments: " + "; ".join(parts)


def public_message(
    exc: BaseException,
    *,
    what: str = "call",
    traceback_level: int = logging.ERROR,
    details: str = "the server log has the details",
) -> str:
    """The text a caller may see for `exc`; logs the traceback of unexpected errors.

    The server logs tracebacks at ERROR (its log is the operator's); the CLI passes DEBUG, since its
    stderr is the user's terminal and `--log-level DEBUG` shows them.
    """
    if isinstance(exc, SecauditError):
        return _redact(f"{exc.code}: {exc}")
    if isinstance(exc, ValidationError):
        return _redact(describe_validation_error(exc))
    import uuid  # here: it loads `platform`, a cost every command would pay for a rare error

    ref = uuid.uuid4().hex[:12]
    log.log(traceback_level, "unexpected error in %s (reference %s)", what, ref, exc_info=exc)
    return f"internal error (reference {ref}); {details}"

"""The exception tree of secaudit's services.

Every error a service raises on purpose derives from `SecauditError`. The MCP edge turns one into a
clear tool error (its message is shown to the caller as is), the CLI into exit code 2; anything else
is a bug, reported to the caller as a generic message with a correlation id.

    SecauditError                   base: the message is safe to show (no secret, no outside path)
    ├── ConfigError                 a setting or environment variable is invalid
    ├── InvalidInput                a caller-supplied value is refused (what, and what is accepted)
    │   └── PathNotAllowed          a path outside the allowed roots, or through a link leading out
    ├── NotFound                    the id or uuid names nothing
    ├── Conflict                    optimistic concurrency lost, or content changed since planned
    ├── StoreError                  the database cannot be opened, is corrupt, or is incompatible
    │   └── IncompatibleSchema      an existing table (e.g. the shared `tasks`) does not fit our contract
    ├── RateLimited                 too many calls; `retry_after` seconds
    ├── PermissionDenied            the caller lacks the scope a tool needs
    ├── Cancelled                   the caller cancelled a long operation
    └── ScannerError                (secaudit.tools.scanners.interface) a scanner failed as a whole
        └── ScannerUnavailable      its backend is missing or does not answer (e.g. offline)

Each error carries a short machine-readable `code` beside its message.
"""

from __future__ import annotations

__all__ = [
    "Cancelled",
    "ConfigError",
    "Conflict",
    "IncompatibleSchema",
    "InvalidInput",
    "NotFound",
    "PathNotAllowed",
    "PermissionDenied",
    "RateLimited",
    "SecauditError",
    "StoreError",
]


class SecauditError(Exception):
    """Base of every deliberate error; `str(err)` is safe to show to a caller."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SecauditError):
    code = "config_error"


class InvalidInput(SecauditError):
    code = "invalid_input"


class PathNotAllowed(InvalidInput):
    code = "path_not_allowed"


class NotFound(SecauditError):
    code = "not_found"


class Conflict(SecauditError):
    code = "conflict"


class StoreError(SecauditError):
    code = "store_error"


class IncompatibleSchema(StoreError):
    code = "incompatible_schema"


class RateLimited(SecauditError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(SecauditError):
    code = "permission_denied"


class Cancelled(SecauditError):
    code = "cancelled"

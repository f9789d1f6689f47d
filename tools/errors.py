"""The exception tree of secaudit's services.

Every error a service raises on purpose derives from `SecauditError`. The MCP edge turns one into a
clear tool error (its message is shown to the caller as is), the CLI into exit code 2; anything else
is a bug, reported to the caller as a generic message with a correlation id.

    SecauditError                    base: the message is safe to show (no secret, no outside path)
    ├── ConfigError                  a setting or environment variable is invalid
    │   ├── RulesError               (tools/scanners/semgrep/ruleset.py) a semgrep rule file or folder
    │   │                            cannot be used; the message names the file and the problem
    │   ├── ScannerOptionsError      (tools/scanners/interface.py) a scanner option is unknown or of
    │   │                            the wrong type; also a ScannerError
    │   └── ProjectConfigError       (tools/project/config.py) the audited project's `.secaudit.toml`,
    │                                `[tool.secaudit]` or `.secaudit/baseline.json` is invalid; the
    │                                message names the file and the key or entry
    ├── InvalidInput                 a caller-supplied value is refused (what, and what is accepted)
    │   ├── PathNotAllowed           a path outside the allowed roots, or through a link leading out
    │   │   └── LinkRefused          (tools/confined_io.py) a link on a write's way, one leading out of
    │   │                            the root on a read, or a second hard link; also a FileRefused
    │   ├── FileRefused              (tools/confined_io.py) a file under the root was not opened or
    │   │   │                        read; `reason` says why, without the path
    │   │   └── LinkRefused          (see PathNotAllowed)
    │   ├── MissingFolder            (tools/confined_io.py) a folder on a fix's path does not exist
    │   ├── AdvisoryFormatError      (tools/advisories/model.py) one OSV record is malformed; also an
    │   │                            AdvisoryError
    │   ├── FixNotApplicable         (tools/fixes/errors.py) no safe mechanical fix here; the message
    │   │                            says what to do by hand; also a FixError
    │   └── FindingPropertiesError   (tools/scanners/contracts.py) a finding's properties do not fit
    │                                what its fix reads
    ├── NotFound                     the id or uuid names nothing
    │   ├── PluginNotFound           (tools/plugins.py) no plug-in of that kind has that name
    │   └── RunPruned                (tools/findings/retention.py) the run's findings were deleted by
    │                                the run-history retention (SECAUDIT_RUNS_KEPT); its record stays
    ├── Conflict                     optimistic concurrency lost, or content changed since planned
    ├── StoreError                   the database cannot be opened, is corrupt, or is incompatible
    │   └── IncompatibleSchema       an existing table (e.g. the shared `tasks`) does not fit our contract
    ├── RateLimited                  too many calls; `retry_after` seconds
    ├── RateLimiterUnavailable       (tools/ratelimit/limiter.py) the shared rate-limit store failed
    │                                and the policy is to refuse calls until it answers
    ├── PermissionDenied             the caller lacks the scope a tool needs
    ├── Cancelled                    the caller cancelled a long operation
    ├── WriteFailed                  (tools/confined_io.py) the file system refused a write (full, over
    │                                quota, read-only, immutable file, read-only folder); nothing replaced
    ├── ScannerError                 (tools/scanners/interface.py) a scanner failed as a whole
    │   ├── ScannerUnavailable       (tools/scanners/interface.py) its backend is missing or does
    │   │                            not answer (e.g. offline)
    │   └── ScannerOptionsError      (see ConfigError)
    ├── EngineError                  (tools/engines/semgrep.py) installing or inspecting an analysis
    │   │                            engine (semgrep) failed; nothing half-installed is kept
    │   └── EngineUnavailable        (tools/engines/semgrep.py) no usable engine: the message says
    │                                how to install one
    ├── GitError                     (tools/gitdiff.py) git is missing, the folder is not in a git
    │                                repository, a ref names no commit, or a git command failed
    ├── SourceError                  (tools/deps/interface.py) one manifest or lockfile cannot be used;
    │                                the dependency audit goes on without it
    ├── AdvisoryBackendUnavailable   (tools/deps/interface.py) an online advisory backend (pip-audit's
    │                                services, `npm audit`) did not answer; the offline result stands
    ├── AdvisoryError                (tools/advisories/model.py) base of the advisory database's errors
    │   ├── AdvisoryFormatError      (see InvalidInput)
    │   └── DatabaseUpdateFailed     (tools/advisories/model.py) `db update` could not download a
    │                                dump; nothing was changed
    └── FixError                     (tools/fixes/errors.py) what the fix service refuses or fails on
        ├── FixNotApplicable         (see InvalidInput)
        ├── BackupUnavailable        (tools/fixes/errors.py) the previous bytes of a fix are gone
        │                            (retention, or a missing key file): no automatic revert
        └── ConfirmationRequired     (tools/fixes/errors.py) a write without a confirmation (no
                                     elicitation answer, no matching confirm_digest of the plan)

Every subclass defined anywhere in `secaudit.tools` or `secaudit.server` is drawn here; a test
(tests/tools/test_errors.py) imports every module and fails on a class this tree does not name.
Classes without a module named are defined in this module.

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

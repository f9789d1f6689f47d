"""Settings: read once, at the edge, from `SECAUDIT_*` variables and CLI flags, then frozen.

Nothing below the edge reads the environment. An invalid value stops the process at start with a
message that names the variable and what it accepts (never the rejected value itself when the
setting may hold a secret).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from secaudit.server.toolsets import TOOLSETS, parse_toolsets
from secaudit.tools.errors import ConfigError
from secaudit.tools.keys import key_from_text

__all__ = [
    "ENV_VARS",
    "LogLevel",
    "Settings",
    "broad_root_reason",
    "broad_roots_error",
    "default_engines_dir",
    "default_store_path",
    "load_settings",
]

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("secaudit", appauthor=False)) / "secaudit.db"


def default_engines_dir() -> Path:
    """Private engine installs (`secaudit engines install`), beside the default store."""
    return Path(platformdirs.user_data_dir("secaudit", appauthor=False)) / "engines"


def broad_root_reason(root: Path, home: Path | None) -> str | None:
    """Why `root` (resolved) is too broad to be an allowed root, or None: the filesystem root, the
    home folder, or a folder holding the home folder would put every file of the user in reach."""
    if root == Path(root.anchor):
        return "it is the filesystem root"
    if home is not None:
        if root == home:
            return "it is your home folder"
        if home.is_relative_to(root):
            return "it holds your home folder"
    return None


def _home() -> Path | None:
    try:
        return Path(os.path.realpath(Path.home()))
    except (RuntimeError, KeyError, OSError):
        return None  # no home known (a service account): only the filesystem root is refused


def _broad_roots_message(roots: tuple[Path, ...] | list[Path]) -> str | None:
    home = _home()
    for root in roots:
        reason = broad_root_reason(root, home)
        if reason is not None:
            return (
                f"allowed root {root} is refused: {reason}, so every tool could read and change all your "
                "files. Name the repository folder instead (--root /absolute/path/to/repo or "
                "SECAUDIT_ALLOWED_ROOTS; without either the root is the folder the process starts in), "
                "or pass --allow-broad-root (SECAUDIT_ALLOW_BROAD_ROOT=true) if you mean it"
            )
    return None


def broad_roots_error(settings: Settings) -> ConfigError | None:
    """For `serve`: the error for a root too broad for an agent (a default root of `/` or home
    included, as when a client starts the server in `/`), unless --allow-broad-root was given."""
    if settings.allow_broad_root:
        return None
    message = _broad_roots_message(settings.allowed_roots)
    return (
        # No variable named: the root may come from --root, SECAUDIT_ALLOWED_ROOTS or the working
        # folder, and the message says how to set each.
        None if message is None else ConfigError("invalid configuration: " + message)
    )


class Settings(BaseModel):
    """Every knob of the server and CLI. Frozen: build a new one instead of mutating."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store_path: Path = Field(default_factory=default_store_path)
    # The secrets fingerprint key as text; None: the key file beside the store (server/context.py).
    fingerprint_key: SecretStr | None = None
    tasks_db_path: Path | None = None
    tasks_autoclose: bool = True
    # Declared before allowed_roots: that validator reads it.
    allow_broad_root: bool = False
    # Relative roots are resolved against the process working directory at start (docs/configuration.md).
    allowed_roots: tuple[Path, ...] = Field(default_factory=lambda: (Path.cwd(),), validate_default=True)
    log_level: LogLevel = "INFO"
    max_prompt_bytes: int = Field(default=64 * 1024, ge=1, le=16 * 1024 * 1024)
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    max_files: int = Field(default=100_000, ge=1, le=10_000_000)
    audit_workers: int = Field(default=0, ge=0, le=256)
    scanner_timeout_seconds: float = Field(default=900.0, gt=0, le=86_400)
    redis_url: SecretStr | None = None
    deps_online: tuple[Literal["pypi", "osv", "npm"], ...] = ()
    # -- semgrep engine (JS/TS analysis) ----------------------------------------------------------
    semgrep_path: Path | None = None
    semgrep_rules: Path | None = None
    engines_dir: Path = Field(default_factory=default_engines_dir)
    # -- what the MCP server offers (issue 15) -------------------------------------------------
    toolsets: tuple[str, ...] = Field(default_factory=lambda: tuple(TOOLSETS))
    read_only: bool = False
    text_content: Literal["summary", "json"] = "summary"
    output_schemas: Literal["lean", "full"] = "lean"
    # -- HTTP face (issue 7) ------------------------------------------------------------------
    http_host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    http_port: int = Field(default=8765, ge=0, le=65535)
    http_token_file: Path | None = None
    http_tokens: SecretStr | None = None
    http_no_auth: bool = False
    http_allowed_hosts: tuple[str, ...] = ()
    http_allowed_origins: tuple[str, ...] = ()
    http_cors_origins: tuple[str, ...] = ()
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    http_max_json_depth: int = Field(default=32, ge=4, le=256)
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=256 * 1024)
    http_request_timeout_seconds: float = Field(default=600.0, gt=0, le=86_400)
    http_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    http_max_sessions: int = Field(default=1000, ge=1, le=100_000)
    http_max_sessions_per_identity: int = Field(default=16, ge=1, le=10_000)
    http_session_idle_seconds: float = Field(default=1800.0, gt=0, le=7 * 86_400)
    http_session_max_seconds: float = Field(default=8 * 3600.0, gt=0, le=30 * 86_400)
    http_hsts: bool = False
    rate_limit_read: str = "600/minute"
    rate_limit_write: str = "120/minute"
    rate_limit_audit: str = "10/minute"
    rate_limit_request: str = "1200/minute"
    rate_limit_auth_failure: str = "30/minute"
    rate_limit_on_redis_error: Literal["local", "deny"] = "local"
    event_retention_days: int = Field(default=90, ge=0, le=36_500)
    fix_backup_days: int = Field(default=30, ge=0, le=3650)
    cache_days: int = Field(default=30, ge=0, le=3650)
    # The findings service's own default (tools/findings/retention.py DEFAULT_RUNS_KEPT, checked
    # equal by a test): importing it would load the findings package into every light command.
    runs_kept: int = Field(default=100, ge=0, le=1_000_000)

    @field_validator("allowed_roots")
    @classmethod
    def _roots_exist(cls, roots: tuple[Path, ...], info: ValidationInfo) -> tuple[Path, ...]:
        if not roots:
            raise ValueError("at least one allowed root is needed")
        # A root named by the user (flag, variable, constructor) is judged here. The default root
        # (the working directory, when load_settings is given none) is judged by `serve` only
        # (`broad_roots_error`): a person running `secaudit mask` from home is not an agent.
        judge = not (info.context or {}).get("roots_defaulted", False)
        allow_broad = bool(info.data.get("allow_broad_root", False))
        resolved: list[Path] = []
        for root in roots:
            real = Path(os.path.realpath(Path(root).expanduser()))
            if not real.is_dir():
                raise ValueError(f"allowed root {root} is not an existing folder")
            resolved.append(real)
        if judge and not allow_broad:
            problem = _broad_roots_message(resolved)
            if problem is not None:
                raise ValueError(problem)
        return tuple(dict.fromkeys(resolved))

    @field_validator("fingerprint_key")
    @classmethod
    def _fingerprint_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            key_from_text(value.get_secret_value())  # raises ValueError, never quoting the value
        return value

    @field_validator("toolsets")
    @classmethod
    def _toolsets(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return parse_toolsets(names)

    @field_validator("semgrep_path")
    @classmethod
    def _semgrep_executable(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ValueError("not an executable file")
        return path

    @field_validator("semgrep_rules", mode="before")
    @classmethod
    def _semgrep_rules(cls, value: object) -> Path | None:
        from secaudit.tools.scanners.semgrep.ruleset import RulesError, check_rules_dir

        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError("not a path")
        try:
            folder: Path = check_rules_dir(value)
        except RulesError as exc:
            raise ValueError(str(exc)) from None
        return folder

    @field_validator(
        "rate_limit_read",
        "rate_limit_write",
        "rate_limit_audit",
        "rate_limit_request",
        "rate_limit_auth_failure",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("not a rate") from None
        return value

    @property
    def tasks_db(self) -> Path:
        return self.tasks_db_path or self.store_path


# Variable -> (field, what it accepts). The text is what a user reads when a value is refused.
ENV_VARS: dict[str, tuple[str, str]] = {
    "SECAUDIT_STORE": ("store_path", "a file path for the SQLite store"),
    "SECAUDIT_FINGERPRINT_KEY": (
        "fingerprint_key",
        "base64 or hex text of at least 16 bytes, as `secaudit baseline key` prints",
    ),
    "SECAUDIT_TASKS_DB": ("tasks_db_path", "a file path of the SQLite database holding the `tasks` table"),
    "SECAUDIT_TASKS_AUTOCLOSE": (
        "tasks_autoclose",
        "true or false: audits and triage complete, archive and re-ready the tasks filed from findings",
    ),
    "SECAUDIT_ALLOWED_ROOTS": (
        "allowed_roots",
        f"existing folders separated by '{os.pathsep}'; tools only touch paths inside them",
    ),
    "SECAUDIT_ALLOW_BROAD_ROOT": (
        "allow_broad_root",
        "true or false: true accepts an allowed root of /, your home folder or a folder holding it",
    ),
    "SECAUDIT_LOG_LEVEL": ("log_level", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    "SECAUDIT_MAX_PROMPT_BYTES": ("max_prompt_bytes", "a whole number of bytes from 1 to 16777216"),
    "SECAUDIT_MAX_REQUEST_BYTES": ("max_request_bytes", "a whole number of bytes from 1024 to 268435456"),
    "SECAUDIT_MAX_FILE_BYTES": ("max_file_bytes", "a whole number of bytes from 1024 to 536870912"),
    "SECAUDIT_MAX_FILES": ("max_files", "a whole number from 1 to 10000000"),
    "SECAUDIT_AUDIT_WORKERS": ("audit_workers", "a whole number from 0 (one per core) to 256"),
    "SECAUDIT_SCANNER_TIMEOUT": ("scanner_timeout_seconds", "seconds, a number above 0 and up to 86400"),
    "SECAUDIT_REDIS_URL": ("redis_url", "a redis://, rediss:// or unix:// URL"),
    "SECAUDIT_DEPS_ONLINE": (
        "deps_online",
        "online advisory backends to ask besides the offline database, ','-separated: pypi, osv, npm",
    ),
    "SECAUDIT_SEMGREP": (
        "semgrep_path",
        "the path of a semgrep executable (default: the private install, then semgrep on PATH)",
    ),
    "SECAUDIT_SEMGREP_RULES": (
        "semgrep_rules",
        "an existing folder of your own .yml/.yaml semgrep rules, run beside the rule pack (no registry "
        "names or URLs)",
    ),
    "SECAUDIT_ENGINES_DIR": (
        "engines_dir",
        "the folder for private engine installs (default: `engines` in the user data folder)",
    ),
    "SECAUDIT_TOOLSETS": (
        "toolsets",
        "toolset names, ','-separated: " + ", ".join(TOOLSETS) + ", or all (the default)",
    ),
    "SECAUDIT_READ_ONLY": ("read_only", "true or false; true serves only the tools that write nothing"),
    "SECAUDIT_TEXT_CONTENT": (
        "text_content",
        "summary (a one-line text pointing to structuredContent) or json (the whole result as text)",
    ),
    "SECAUDIT_OUTPUT_SCHEMAS": (
        "output_schemas",
        "lean (nested records as plain objects) or full (every nested record's fields)",
    ),
    "SECAUDIT_HTTP_HOST": ("http_host", "an IP address or host name to bind (loopback by default)"),
    "SECAUDIT_HTTP_PORT": ("http_port", "a port number from 0 (any free port) to 65535"),
    "SECAUDIT_HTTP_TOKEN_FILE": ("http_token_file", "a TOML file of [[token]] tables (name, scopes, sha256)"),
    "SECAUDIT_HTTP_TOKENS": ("http_tokens", "entries name:scope[,scope]:token separated by ';'"),
    "SECAUDIT_HTTP_NO_AUTH": ("http_no_auth", "true or false; true is refused unless bound to loopback"),
    "SECAUDIT_HTTP_ALLOWED_HOSTS": ("http_allowed_hosts", "Host values (host[:port]), ','-separated"),
    "SECAUDIT_HTTP_ALLOWED_ORIGINS": ("http_allowed_origins", "scheme://host[:port] values, ','-separated"),
    "SECAUDIT_HTTP_CORS_ORIGINS": ("http_cors_origins", "origins granted CORS, ','-separated"),
    "SECAUDIT_HTTP_MAX_BODY_BYTES": ("http_max_body_bytes", "a whole number of bytes from 1024 to 67108864"),
    "SECAUDIT_HTTP_MAX_JSON_DEPTH": ("http_max_json_depth", "a whole number from 4 to 256"),
    "SECAUDIT_HTTP_MAX_HEADER_BYTES": ("http_max_header_bytes", "bytes, from 1024 to 262144"),
    "SECAUDIT_HTTP_REQUEST_TIMEOUT": ("http_request_timeout_seconds", "seconds, above 0 and up to 86400"),
    "SECAUDIT_HTTP_READ_TIMEOUT": ("http_read_timeout_seconds", "seconds, above 0 and up to 3600"),
    "SECAUDIT_HTTP_MAX_SESSIONS": ("http_max_sessions", "a whole number from 1 to 100000"),
    "SECAUDIT_HTTP_MAX_SESSIONS_PER_IDENTITY": ("http_max_sessions_per_identity", "a number, 1 to 10000"),
    "SECAUDIT_HTTP_SESSION_IDLE": ("http_session_idle_seconds", "seconds, above 0 and up to 604800"),
    "SECAUDIT_HTTP_SESSION_MAX": ("http_session_max_seconds", "seconds, above 0 and up to 2592000"),
    "SECAUDIT_HTTP_HSTS": ("http_hsts", "true when clients reach the server through TLS (adds HSTS)"),
    "SECAUDIT_RATE_LIMIT_READ": ("rate_limit_read", "a rate such as 600/minute"),
    "SECAUDIT_RATE_LIMIT_WRITE": ("rate_limit_write", "a rate such as 120/minute"),
    "SECAUDIT_RATE_LIMIT_AUDIT": ("rate_limit_audit", "a rate such as 10/minute"),
    "SECAUDIT_RATE_LIMIT_REQUEST": ("rate_limit_request", "a rate such as 1200/minute (every HTTP request)"),
    "SECAUDIT_RATE_LIMIT_AUTH_FAILURE": (
        "rate_limit_auth_failure",
        "a rate such as 30/minute (failed authentications per client address over HTTP)",
    ),
    "SECAUDIT_RATE_LIMIT_ON_REDIS_ERROR": ("rate_limit_on_redis_error", "local or deny"),
    "SECAUDIT_EVENT_RETENTION_DAYS": ("event_retention_days", "days to keep security events; 0 keeps all"),
    "SECAUDIT_CACHE_DAYS": (
        "cache_days",
        "days an unused scan-cache entry is kept, a whole number from 0 (keep all) to 3650",
    ),
    "SECAUDIT_RUNS_KEPT": (
        "runs_kept",
        "how many of each root's newest runs keep their findings (the newest full audit always does), "
        "a whole number from 0 (keep all) to 1000000",
    ),
    "SECAUDIT_FIX_BACKUP_DAYS": (
        "fix_backup_days",
        "days to keep fix backups, a whole number from 0 to 3650",
    ),
}
_SECRET_FIELDS = {"redis_url", "http_tokens", "fingerprint_key"}
_FIELD_TO_VAR = {field: var for var, (field, _) in ENV_VARS.items()}


def _convert(field: str, raw: str) -> Any:
    if field == "deps_online":
        return tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    if field == "allowed_roots":
        return tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())
    if field in {"store_path", "tasks_db_path", "semgrep_path", "engines_dir"}:
        return Path(raw) if raw.strip() else None
    if field == "semgrep_rules":
        return raw.strip() or None
    if field == "log_level":
        return raw.strip().upper()
    if field in {"text_content", "output_schemas"}:
        return raw.strip().lower()
    if field == "http_token_file":
        return Path(raw) if raw.strip() else None
    if field in {"http_allowed_hosts", "http_allowed_origins", "http_cors_origins", "toolsets"}:
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if field == "http_tokens":
        return raw
    if field == "fingerprint_key":
        return raw.strip() or None  # set but empty (a CI input not given): the key file is used
    return raw.strip()


# The command-line flag that sets a field, where an error must name it rather than the variable.
_FLAGS = {"allowed_roots": "--root"}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment, then CLI overrides (which win).

    Raises ConfigError naming the variable (or flag) and what it accepts.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, (field, _) in ENV_VARS.items():
        if var in env:
            values[field] = _convert(field, env[var])
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("redis_url") is not None:
        url = str(values["redis_url"])
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("SECAUDIT_REDIS_URL: not accepted; use a redis://, rediss:// or unix:// URL")
    try:
        defaulted = values.get("allowed_roots") is None
        return Settings.model_validate(values, context={"roots_defaulted": defaulted})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            var = _FIELD_TO_VAR.get(field, field)
            accepts = ENV_VARS.get(var, ("", "a valid value"))[1]
            if field in overrides and overrides[field] is not None and field in _FLAGS:
                var = _FLAGS[field]  # the value came from the command line, not the environment
            # pydantic prefixes a validator's own message with "Value error, ": noise to a reader.
            message = str(err["msg"]).removeprefix("Value error, ")
            reason = "" if field in _SECRET_FIELDS else f" ({message})"
            problems.append(f"{var}: not accepted{reason}; use {accepts}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None

"""The `config` scanner: configuration hygiene, by rule ids that never change (see docs/rules.md).

It reads, never runs: Python settings through `ast`, compose files through PyYAML's SafeLoader
(node tree, for line numbers; nothing is constructed), Dockerfiles and dotenv files line by line.
Whatever value a rule reports about a credential is masked (`secrets_detect.mask_value`).
A file that cannot be read or parsed is a per-file skip with its reason; the scan goes on.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec
import yaml

from secaudit.tools.audit.walker import GitIgnore
from secaudit.tools.confined_io import FileRefused, read_bytes, read_head
from secaudit.tools.findings.model import Confidence, Finding, Severity, fingerprint
from secaudit.tools.scanners.interface import (
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScanResult,
    register_scanner,
)
from secaudit.tools.scanners.secrets_detect import is_test_path, mask_value

__all__ = ["RULES", "ConfigScanner", "Rule"]

SCANNER_VERSION = "1"
MAX_TEXT_BYTES = 1024 * 1024  # Dockerfiles, compose, dotenv and settings files are small
MAX_KEY_PROBE = 64 * 1024
GIT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    cwe: int
    fix: str


def _rule(rule_id: str, title: str, severity: Severity, cwe: int, fix: str) -> Rule:
    return Rule(rule_id, title, severity, cwe, fix)


_S = Severity
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule(
            "config.env-file-committed",
            "Environment file committed to git",
            _S.HIGH,
            538,
            "Remove it from the index (git rm --cached), rotate its secrets, add it to .gitignore.",
        ),
        _rule(
            "config.env-file-not-ignored",
            "Environment file not covered by .gitignore",
            _S.MEDIUM,
            538,
            "Add the file (or `.env*` with `!.env.example`) to .gitignore.",
        ),
        _rule(
            "config.private-key-file",
            "Private key file in the repository",
            _S.HIGH,
            321,
            "Delete the key from the tree and its history, revoke it, and load keys from a secret store.",
        ),
        _rule(
            "config.docker-root-user",
            "Container runs as root",
            _S.MEDIUM,
            250,
            "Add a non-root `USER` (name or uid other than root/0) as the last USER of the final stage.",
        ),
        _rule(
            "config.docker-secret-in-env",
            "Secret in Dockerfile ENV/ARG",
            _S.HIGH,
            798,
            "Use build secrets (RUN --mount=type=secret) or runtime environment, not ENV/ARG values.",
        ),
        _rule(
            "config.docker-add-url",
            "Dockerfile ADD from a URL",
            _S.MEDIUM,
            494,
            "Download with a verified checksum (ADD --checksum=sha256:... or curl + sha256sum -c).",
        ),
        _rule(
            "config.docker-unpinned-image",
            "Base image not pinned",
            _S.LOW,
            1104,
            "Pin a version tag and preferably a digest: FROM image:1.2.3@sha256:...",
        ),
        _rule(
            "config.compose-privileged",
            "Compose service runs privileged",
            _S.HIGH,
            250,
            "Remove `privileged: true`; grant only the capabilities needed with cap_add.",
        ),
        _rule(
            "config.compose-host-network",
            "Compose service on the host network",
            _S.MEDIUM,
            668,
            "Remove `network_mode: host`; publish only the ports needed.",
        ),
        _rule(
            "config.compose-db-exposed",
            "Database published on all interfaces",
            _S.HIGH,
            668,
            'Bind to loopback ("127.0.0.1:5432:5432") or do not publish; services reach it by name.',
        ),
        _rule(
            "config.default-password",
            "Default or empty password",
            _S.HIGH,
            1392,
            "Set a strong password from a secret or the environment; never ship a default.",
        ),
        _rule(
            "config.debug-enabled",
            "Debug mode enabled in settings",
            _S.MEDIUM,
            489,
            "Read DEBUG from the environment, defaulting to False.",
        ),
        _rule(
            "config.hardcoded-secret-key",
            "Hardcoded framework SECRET_KEY",
            _S.HIGH,
            798,
            "Load SECRET_KEY from the environment or a secret store, with no literal fallback; rotate it.",
        ),
        _rule(
            "config.allowed-hosts-wildcard",
            "ALLOWED_HOSTS allows every host",
            _S.MEDIUM,
            183,
            "List the real host names in ALLOWED_HOSTS.",
        ),
        _rule(
            "config.cors-any-origin-credentials",
            "CORS allows every origin with credentials",
            _S.HIGH,
            942,
            "List the trusted origins explicitly, or do not allow credentials.",
        ),
        _rule(
            "config.world-writable",
            "World-writable file",
            _S.MEDIUM,
            732,
            "chmod o-w the file; nothing in a repository needs to be writable by every user.",
        ),
    )
}

_ENV_NAME = re.compile(r"^(?:\.env(?:\..+)?|.+\.env)$")
_ENV_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")
_DOCKERFILE = re.compile(r"^(?:Dockerfile|Containerfile)(?:\..+)?$|.+\.(?:dockerfile|Dockerfile)$")
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml$")
_KEY_NAMES = re.compile(r"^(?:id_(?:rsa|dsa|ecdsa|ed25519)|.+\.(?:pem|key|ppk|p8|pk8))$")
_KEYSTORE_NAMES = re.compile(r".+\.(?:p12|pfx)$", re.IGNORECASE)
_PRIVATE_KEY_HEADER = re.compile(
    rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
    rb"|PuTTY-User-Key-File-\d"
)
_SETTINGS_HINTS = (b"DEBUG", b"SECRET_KEY", b"secret_key", b"ALLOWED_HOSTS", b"CORS", b"debug=True")
_SECRET_NAME = re.compile(
    r"(?i)pass(?:word|wd)?$|passwd|password|secret|token|api_?key|apikey|private_?key|access_?key|"
    r"credential|auth_?key"
)
_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd)?\b|passwd|password|_pass$|^pass$|pwd")
_DEFAULT_PASSWORDS = frozenset(
    {
        "changeme",
        "change_me",
        "change-me",
        "password",
        "admin",
        "secret",
        "root",
        "toor",
        "123456",
        "12345678",
        "pass",
        "passw0rd",
        "letmein",
        "default",
        "guest",
        "test",
        "postgres",
        "mysql",
    }
)
_DB_IMAGES = re.compile(
    r"(?:^|/)(?:redis|valkey|keydb|postgres|postgis|timescaledb|mysql|mariadb|percona|mongo|mongodb|"
    r"memcached|elasticsearch|opensearch|cassandra|couchdb|couchbase|influxdb|neo4j|clickhouse|rethinkdb|"
    r"mssql|cockroach)[\w.-]*$"
)
_LOOPBACK = ("127.", "localhost", "::1", "[::1]")
_EMPTY_PASSWORD_FLAGS = {
    "MYSQL_ALLOW_EMPTY_PASSWORD",
    "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
    "POSTGRES_HOST_AUTH_METHOD",
    "ALLOW_EMPTY_PASSWORD",
}


class _Skip(Exception):
    """A per-file skip, with its reason as the message."""


@dataclass
class _Hit:
    rule: str
    line: int | None
    detail: str
    context: str  # stable text for the fingerprint (never a raw secret)
    snippet: str | None = None
    confidence: Confidence = Confidence.HIGH


def _basename(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def _is_env_file(name: str) -> bool:
    return bool(_ENV_NAME.match(name)) and not name.endswith(".py")


def _is_env_template(name: str) -> bool:
    return any(name.endswith(s) or f"{s}." in name for s in _ENV_TEMPLATE_SUFFIXES)


def _read_text(root: Path, rel: str, limit: int = MAX_TEXT_BYTES) -> str:
    # The walk found a regular file; a link swapped in since is refused, not followed.
    try:
        data = read_bytes(root, rel, limit, follow_links=False)
    except FileRefused as exc:
        raise _Skip(exc.reason) from None
    if b"\x00" in data:
        raise _Skip("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Skip("not UTF-8 text") from None


# --------------------------------------------------------------------------------------- dotenv


def _dotenv_pairs(text: str) -> Iterator[tuple[int, str, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        yield number, key.strip(), value


def _weak_password_hit(key: str, value: str | None, line: int | None, where: str) -> _Hit | None:
    """A password-named variable set empty or to a well-known default (value never echoed)."""
    upper = key.upper()
    if upper in _EMPTY_PASSWORD_FLAGS:
        if value is not None and value.strip().lower() in {"yes", "true", "1", "trust"}:
            return _Hit(
                "config.default-password",
                line,
                f"{key} allows logging in without a password",
                f"{where}:{key}:empty-flag",
                snippet=f"{key}={value}",
            )
        return None
    if not _PASSWORD_NAME.search(key) or key.upper().endswith(("_FILE", "_PATH")):
        return None
    if value is None:
        return None  # compose: taken from the host environment at run time
    if value.startswith("$") and ":-" not in value and ":=" not in value:
        return None
    default = re.search(r"\$\{[^}:]+:[-=]([^}]*)\}", value)
    candidate = (default.group(1) if default else value).strip()
    if candidate == "":
        kind = "empty"
    elif candidate.lower() in _DEFAULT_PASSWORDS:
        kind = "a well-known default"
    else:
        return None
    return _Hit(
        "config.default-password",
        line,
        f"{key} is {kind} ({mask_value(candidate)})",
        f"{where}:{key}",
        snippet=f"{key}={mask_value(candidate) if candidate else ''}",
    )


# ----------------------------------------------------------------------------------- Dockerfile


def _docker_instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line, INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        joined = " ".join(buffer)
        buffer = []
        instruction, _, args = joined.partition(" ")
        yield start, instruction.upper(), args.strip()
    if buffer:
        joined = " ".join(buffer)
        instruction, _, args = joined.partition(" ")
        yield start, instruction.upper(), args.strip()


def _env_assignments(instruction: str, args: str) -> Iterator[tuple[str, str | None]]:
    if instruction == "ARG":
        name, eq, value = args.partition("=")
        yield name.strip(), (_unquote(value.strip()) if eq else None)
        return
    if "=" not in args.split(" ", 1)[0]:  # legacy form: ENV KEY value
        name, _, value = args.partition(" ")
        yield name.strip(), value.strip()
        return
    try:
        parts = shlex.split(args, posix=True)
    except ValueError:
        parts = args.split()
    for part in parts:
        name, _, value = part.partition("=")
        yield name, value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _scan_dockerfile(rel: str, text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    stages: list[tuple[str | None, str, list[tuple[int, str]]]] = []  # (alias, image, USERs)
    for line, instruction, args in _docker_instructions(text):
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            image = words[0] if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            known_aliases = {a for a, _, _ in stages if a}
            stages.append((alias, image, []))
            if image.lower() in known_aliases or image == "scratch" or "$" in image or not image:
                continue
            if "@sha256:" in image:
                continue
            last = image.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            if tag in ("", "latest"):
                state = "no tag" if not tag else "the `latest` tag"
                hits.append(
                    _Hit(
                        "config.docker-unpinned-image",
                        line,
                        f"FROM {image} uses {state}, no digest",
                        f"FROM {image}",
                        snippet=f"FROM {args}",
                    )
                )
        elif instruction == "USER":
            if stages:
                stages[-1][2].append((line, args.split()[0] if args else ""))
        elif instruction in ("ENV", "ARG"):
            for name, value in _env_assignments(instruction, args):
                if not value or not _SECRET_NAME.search(name) or value.startswith("$"):
                    continue
                if name.upper().endswith(("_FILE", "_PATH", "_URL_FILE")):
                    continue
                hits.append(
                    _Hit(
                        "config.docker-secret-in-env",
                        line,
                        f"{instruction} {name} holds a literal value ({mask_value(value)}); it stays "
                        "in the image and its history",
                        f"{instruction} {name}",
                        snippet=f"{instruction} {name}={mask_value(value)}",
                    )
                )
        elif instruction == "ADD":
            words = args.split()
            sources = [w for w in words if not w.startswith("--")][:-1]
            if any(re.match(r"(?i)https?://", s) for s in sources) and not any(
                w.startswith("--checksum=") for w in words
            ):
                hits.append(
                    _Hit(
                        "config.docker-add-url",
                        line,
                        "ADD fetches a URL without a checksum",
                        f"ADD {' '.join(sources)}",
                        snippet=f"ADD {args}"[:300],
                    )
                )
    if stages:
        users = _final_users(stages)
        if not users:
            hits.append(
                _Hit(
                    "config.docker-root-user", None, "the final stage has no USER: it runs as root", "no-user"
                )
            )
        else:
            line, user = users[-1]
            if user.split(":", 1)[0].lower() in ("root", "0"):
                hits.append(
                    _Hit(
                        "config.docker-root-user",
                        line,
                        f"the last USER is {user}",
                        "root-user",
                        snippet=f"USER {user}",
                    )
                )
    return hits


def _final_users(stages: list[tuple[str | None, str, list[tuple[int, str]]]]) -> list[tuple[int, str]]:
    """The USER lines in force in the final stage, following `FROM <earlier stage>` chains."""
    by_alias = {alias: index for index, (alias, _, _) in enumerate(stages) if alias}
    index = len(stages) - 1
    seen: set[int] = set()
    while index not in seen:
        seen.add(index)
        _, image, users = stages[index]
        if users:
            return users
        parent = by_alias.get(image.lower())
        if parent is None or parent >= index:
            return []
        index = parent
    return []


# -------------------------------------------------------------------------------------- compose


def _node_map(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            out[str(key.value)] = value
    return out


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag.endswith(":null") else str(node.value)
    return None


def _is_true(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.ScalarNode) and str(node.value).lower() in ("true", "yes", "on")


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _all_interfaces(port: str) -> bool:
    """Whether a short-syntax port mapping publishes on every host interface."""
    spec = port.split("/", 1)[0]
    if spec.startswith("["):  # [::]:5432:5432 or [::1]:...
        host = spec[: spec.find("]") + 1]
        return host not in ("[::1]",)
    parts = spec.split(":")
    if len(parts) == 3:
        host = parts[0]
        return not host.startswith(_LOOPBACK)
    return True  # "5432:5432" or "5432": every interface


def _scan_compose(rel: str, text: str) -> list[_Hit]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise _Skip(f"not valid YAML{where}") from None
    hits: list[_Hit] = []
    services = _node_map(_node_map(root).get("services"))
    for name, service_node in services.items():
        service = _node_map(service_node)
        where = f"services.{name}"
        if _is_true(service.get("privileged")):
            node = service["privileged"]
            hits.append(
                _Hit(
                    "config.compose-privileged",
                    _line(node),
                    f"service {name} is privileged",
                    f"{where}.privileged",
                    snippet="privileged: true",
                )
            )
        mode = service.get("network_mode")
        if _scalar(mode) == "host" and mode is not None:
            hits.append(
                _Hit(
                    "config.compose-host-network",
                    _line(mode),
                    f"service {name} uses the host network",
                    f"{where}.network_mode",
                    snippet="network_mode: host",
                )
            )
        image = (_scalar(service.get("image")) or "").split("@", 1)[0]
        image_name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        ports = service.get("ports")
        if _DB_IMAGES.search(image_name.lower()) and isinstance(ports, yaml.SequenceNode):
            for port in ports.value:
                exposed = False
                text_port = ""
                if isinstance(port, yaml.ScalarNode):
                    text_port = str(port.value)
                    exposed = _all_interfaces(text_port)
                elif isinstance(port, yaml.MappingNode):
                    long = _node_map(port)
                    host_ip = _scalar(long.get("host_ip")) or ""
                    text_port = (
                        f"{host_ip + ':' if host_ip else ''}{_scalar(long.get('published')) or ''}:"
                        + (_scalar(long.get("target")) or "")
                    )
                    exposed = "published" in long and not host_ip.startswith(_LOOPBACK)
                if exposed:
                    hits.append(
                        _Hit(
                            "config.compose-db-exposed",
                            _line(port),
                            f"service {name} ({image_name}) publishes {text_port} on all interfaces",
                            f"{where}.ports:{text_port}",
                            snippet=f'- "{text_port}"',
                        )
                    )
        environment = service.get("environment")
        for key, value, line in _compose_environment(environment):
            hit = _weak_password_hit(key, value, line, where)
            if hit:
                hits.append(hit)
    return hits


def _compose_environment(node: yaml.Node | None) -> Iterator[tuple[str, str | None, int]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield str(key.value), _scalar(value), _line(key)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            entry = _scalar(item)
            if entry is None:
                continue
            key, eq, value = entry.partition("=")
            yield key.strip(), (value if eq else None), _line(item)


# ------------------------------------------------------------------------------- Python settings


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _target_name(target: ast.AST) -> str | None:
    """The setting a target assigns: `NAME`, `app.debug` / `app.secret_key`, `app.config["NAME"]`."""
    if isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id not in ("self", "cls")
    ):
        return target.attr.upper() if target.attr in ("debug", "secret_key", "config") else None
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        owner = target.value
        owner_name = (
            owner.attr
            if isinstance(owner, ast.Attribute)
            else owner.id
            if isinstance(owner, ast.Name)
            else ""
        )
        key = target.slice.value
        return key if isinstance(key, str) and owner_name.lower() == "config" else None
    return None


def _is_app_receiver(func: ast.AST) -> bool:
    """`app.run(...)`, `application.run`, `my_app.run`, `socketio.run`: a web app, not a test runner."""
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return False
    owner = func.value.id.lower()
    return owner in ("app", "application", "socketio") or owner.endswith("app")


def _env_default(node: ast.AST) -> str | None:
    """The literal fallback of os.environ.get("X", "lit") / os.getenv("X", "lit") / env("X", default=)."""
    if not isinstance(node, ast.Call):
        return None
    candidates = list(node.args[1:2]) + [k.value for k in node.keywords if k.arg == "default"]
    for candidate in candidates:
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str) and candidate.value:
            return candidate.value
    return None


def _scan_python(rel: str, text: str) -> list[_Hit]:
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError):
        raise _Skip("not valid Python (syntax error)") from None
    except (RecursionError, MemoryError):
        raise _Skip("Python too deeply nested to parse") from None
    hits: list[_Hit] = []
    settings: dict[str, tuple[object, int]] = {}
    lines = text.splitlines()

    def snippet(line: int) -> str:
        return lines[line - 1].strip()[:300] if 0 < line <= len(lines) else ""

    for node in ast.walk(tree):
        assignments: list[tuple[str, ast.AST, int]] = []
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = _target_name(target)
                if name:
                    assignments.append((name, node.value, node.lineno))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            name = _target_name(node.target)
            if name:
                assignments.append((name, node.value, node.lineno))
        elif isinstance(node, ast.Call):
            func = node.func
            func_name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if (
                func_name == "update"
                and isinstance(func, ast.Attribute)
                and _target_name(func.value) == "CONFIG"
            ):
                assignments.extend((k.arg, k.value, node.lineno) for k in node.keywords if k.arg)
            elif func_name == "run" and _is_app_receiver(func):
                for kw in node.keywords:
                    if kw.arg == "debug" and _literal(kw.value) is True:
                        hits.append(
                            _Hit(
                                "config.debug-enabled",
                                node.lineno,
                                "app.run(debug=True)",
                                "run(debug=True)",
                                snippet=snippet(node.lineno),
                            )
                        )
            elif func_name in ("CORS", "cross_origin"):
                hits.extend(_flask_cors(node, snippet))
        for name, value, line in assignments:
            literal = _literal(value)
            if line >= settings.get(name, (None, 0))[1]:
                settings[name] = (literal, line)  # the last assignment in the module wins
            if name == "DEBUG" and literal is True:
                hits.append(
                    _Hit("config.debug-enabled", line, "DEBUG is True", "DEBUG=True", snippet=snippet(line))
                )
            elif name == "SECRET_KEY":
                hits.extend(_secret_key(value, literal, line, lines))
            elif name == "ALLOWED_HOSTS" and isinstance(literal, list | tuple | set) and "*" in literal:
                hits.append(
                    _Hit(
                        "config.allowed-hosts-wildcard",
                        line,
                        "ALLOWED_HOSTS contains '*'",
                        "ALLOWED_HOSTS=*",
                        snippet=snippet(line),
                    )
                )
    any_origin = next(
        (
            settings[n]
            for n in ("CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL")
            if settings.get(n, (None,))[0] is True
        ),
        None,
    )
    credentials = settings.get("CORS_ALLOW_CREDENTIALS", (None, 0))
    if any_origin is not None and credentials[0] is True:
        line = any_origin[1]
        hits.append(
            _Hit(
                "config.cors-any-origin-credentials",
                line,
                "django-cors-headers allows every origin and CORS_ALLOW_CREDENTIALS is True",
                "django-cors",
                snippet=snippet(line),
            )
        )
    return hits


def _secret_key(value: ast.AST, literal: object, line: int, lines: list[str]) -> list[_Hit]:
    if isinstance(literal, str | bytes) and literal:
        shown = mask_value(literal if isinstance(literal, str) else literal.decode("latin-1"))
        return [
            _Hit(
                "config.hardcoded-secret-key",
                line,
                f"SECRET_KEY is a literal ({shown})",
                "SECRET_KEY=literal",
                snippet=f"SECRET_KEY = '{shown}'",
            )
        ]
    fallback = _env_default(value)
    if fallback:
        shown = mask_value(fallback)
        return [
            _Hit(
                "config.hardcoded-secret-key",
                line,
                f"SECRET_KEY falls back to a literal ({shown}) when the variable is unset",
                "SECRET_KEY=fallback",
                snippet=f"SECRET_KEY = <env lookup, default '{shown}'>",
                confidence=Confidence.MEDIUM,
            )
        ]
    return []


def _flask_cors(node: ast.Call, snippet: Callable[[int], str]) -> list[_Hit]:
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    credentials = keywords.get("supports_credentials")
    if credentials is None or _literal(credentials) is not True:
        return []
    origins = keywords.get("origins")
    if origins is not None:
        literal = _literal(origins)
        if not (literal == "*" or (isinstance(literal, list | tuple) and "*" in literal)):
            return []
    elif "resources" in keywords:
        return []  # per-resource origins: too varied to judge statically
    return [
        _Hit(
            "config.cors-any-origin-credentials",
            node.lineno,
            "flask-cors with supports_credentials=True and every origin ('*' or the default)",
            "flask-cors",
            snippet=snippet(node.lineno),
        )
    ]


# -------------------------------------------------------------------------------------- scanner


def _git_tracked(root: Path, rels: list[str]) -> set[str] | None:
    """Which of `rels` git tracks; None when that cannot be told (no repository, no git)."""
    if not rels or not (root / ".git").exists():
        return None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_OPTIONAL_LOCKS": "0",
        "HOME": os.devnull,
    }
    # core.fsmonitor set in an audited repository's .git/config would run a command: turned off.
    argv = ["git", "-c", "core.fsmonitor=false", "-c", "safe.directory=*", "ls-files", "-z", "--", *rels]
    try:
        proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return {p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p}


class ConfigScanner(Scanner):
    name = "config"
    description = (
        "Configuration hygiene: committed .env files, private key files, Dockerfile and compose "
        "risks, Django/Flask settings, world-writable files. Stable rule ids, see docs/rules.md."
    )

    def version(self) -> str:
        return f"config-{SCANNER_VERSION}+pyyaml-{yaml.__version__}+pathspec-{pathspec.__version__}"

    def selects(self, file: FileRef) -> bool:
        name = _basename(file.rel)
        return bool(
            file.mode & stat.S_IWOTH
            or _is_env_file(name)
            or _DOCKERFILE.match(name)
            or _COMPOSE.match(name)
            or _KEY_NAMES.match(name)
            or _KEYSTORE_NAMES.match(name)
            or (name.endswith(".py") and not is_test_path(file.rel))
        )

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        result = ScanResult()
        ignore = GitIgnore(ctx.root)
        env_files = [
            f.rel for f in files if _is_env_file(_basename(f.rel)) and not _is_env_template(_basename(f.rel))
        ]
        tracked = _git_tracked(ctx.root, env_files)
        if env_files and tracked is None:
            result.notes.append(
                "config: could not ask git which .env files are tracked (no repository or git unavailable); "
                "judged by .gitignore only"
            )
        done = 0
        for index, file in enumerate(files):
            if ctx.cancel.is_cancelled() or time.monotonic() >= ctx.deadline:
                reason = "cancelled" if ctx.cancel.is_cancelled() else "time budget exhausted"
                result.skipped.extend(FileSkip(f.rel, reason) for f in files[index:])
                result.notes.append(f"config scan stopped early ({reason})")
                result.complete = False
                break
            try:
                hits = self._scan_file(ctx.root, file, ignore, tracked)
            except _Skip as skip:
                result.skipped.append(FileSkip(file.rel, str(skip)))
            else:
                result.scanned.append(file.rel)
                seen: dict[tuple[str, str], int] = {}
                for hit in sorted(hits, key=lambda h: h.line or 0):
                    # The same rule twice in a file (two DEBUG = True) needs two fingerprints.
                    count = seen[(hit.rule, hit.context)] = seen.get((hit.rule, hit.context), 0) + 1
                    result.findings.append(_finding(file.rel, hit, count))
            done += 1
            if done % 64 == 0:
                ctx.progress(64)
        if done % 64:
            ctx.progress(done % 64)
        return result

    def _scan_file(
        self, root: Path, file: FileRef, ignore: GitIgnore, tracked: set[str] | None
    ) -> list[_Hit]:
        name = _basename(file.rel)
        hits: list[_Hit] = []
        if file.mode & stat.S_IWOTH:
            hits.append(
                _Hit("config.world-writable", None, f"mode {stat.filemode(file.mode)}", "world-writable")
            )
        if _is_env_file(name):
            if not _is_env_template(name):
                if tracked is not None and file.rel in tracked:
                    hits.append(_Hit("config.env-file-committed", None, "tracked by git", "env-committed"))
                elif not ignore.ignored(file.rel):
                    hits.append(
                        _Hit(
                            "config.env-file-not-ignored",
                            None,
                            "no .gitignore rule covers it",
                            "env-not-ignored",
                        )
                    )
                for line, key, value in _dotenv_pairs(_read_text(root, file.rel)):
                    hit = _weak_password_hit(key, value, line, "env")
                    if hit:
                        hits.append(hit)
        elif _DOCKERFILE.match(name):
            hits.extend(_scan_dockerfile(file.rel, _read_text(root, file.rel)))
        elif _COMPOSE.match(name):
            hits.extend(_scan_compose(file.rel, _read_text(root, file.rel)))
        elif _KEY_NAMES.match(name) or _KEYSTORE_NAMES.match(name):
            hits.extend(_key_file(root, file, name))
        elif name.endswith(".py") and not is_test_path(file.rel):
            # Test settings legitimately hardcode a key and turn DEBUG on (documented).
            head = _read_python(root, file.rel)
            if head is not None:
                hits.extend(_scan_python(file.rel, head))
        return hits


def _read_python(root: Path, rel: str) -> str | None:
    """The file's text when it could hold a setting these rules read; None (not parsed) otherwise."""
    text = _read_text(root, rel)
    data = text.encode("utf-8", "surrogatepass")
    if not any(hint in data for hint in _SETTINGS_HINTS):
        return None
    return text


def _key_file(root: Path, file: FileRef, name: str) -> list[_Hit]:
    if _KEYSTORE_NAMES.match(name):
        return [
            _Hit(
                "config.private-key-file",
                None,
                "PKCS#12 keystore (holds a private key)",
                "keystore",
                confidence=Confidence.MEDIUM,
            )
        ]
    try:
        head = read_head(root, file.rel, MAX_KEY_PROBE, follow_links=False)
    except FileRefused as exc:
        raise _Skip(exc.reason) from None
    match = _PRIVATE_KEY_HEADER.search(head)
    if match is None:
        return []  # a certificate or public key: nothing secret
    header = match.group(0).decode("ascii", "replace")
    line = head[: match.start()].count(b"\n") + 1
    encrypted = b"ENCRYPTED" in match.group(0) or b"Proc-Type: 4,ENCRYPTED" in head
    return [
        _Hit(
            "config.private-key-file",
            line,
            f"{header.strip('-')}{' (encrypted)' if encrypted else ''}",
            "private-key",
            snippet=header,
        )
    ]


def _finding(rel: str, hit: _Hit, occurrence: int = 1) -> Finding:
    rule = RULES[hit.rule]
    return Finding(
        scanner="config",
        rule_id=rule.id,
        severity=rule.severity,
        confidence=hit.confidence,
        path=rel,
        start_line=hit.line,
        end_line=hit.line,
        title=rule.title,
        message=f"{rule.title}: {hit.detail}. Fix: {rule.fix}",
        snippet=hit.snippet,
        cwe=[rule.cwe],
        references=[f"https://cwe.mitre.org/data/definitions/{rule.cwe}.html"],
        fingerprint=fingerprint(
            "config", rule.id, rel, hit.context, extra="" if occurrence == 1 else str(occurrence)
        ),
        properties={"fix": rule.fix},
    )


register_scanner(ConfigScanner.name, ConfigScanner)

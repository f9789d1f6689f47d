"""Django and Flask settings in Python: DEBUG on, a hardcoded SECRET_KEY (or a literal fallback),
ALLOWED_HOSTS '*', CORS open to every origin with credentials. Read through `ast`, never run."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from secaudit.tools.findings.model import Confidence
from secaudit.tools.scanners.secrets_detect import is_test_path, mask_value

from .common import Hit, Skip, basename, read_text

__all__ = ["is_settings_candidate", "read_python", "scan_python"]

_SETTINGS_HINTS = (b"DEBUG", b"SECRET_KEY", b"secret_key", b"ALLOWED_HOSTS", b"CORS", b"debug=True")


def is_settings_candidate(rel: str) -> bool:
    # Test settings legitimately hardcode a key and turn DEBUG on (documented).
    return basename(rel).endswith(".py") and not is_test_path(rel)


def read_python(root: Path, rel: str) -> str | None:
    """The file's text when it could hold a setting these rules read; None (not parsed) otherwise."""
    text = read_text(root, rel)
    data = text.encode("utf-8", "surrogatepass")
    if not any(hint in data for hint in _SETTINGS_HINTS):
        return None
    return text


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _simple_name(node: ast.AST) -> str:
    """`x` for `x` or `a.b.x`, else empty."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


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
        key = target.slice.value
        return key if isinstance(key, str) and _simple_name(target.value).lower() == "config" else None
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


def scan_python(rel: str, text: str) -> list[Hit]:
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError):
        raise Skip("not valid Python (syntax error)") from None
    except (RecursionError, MemoryError):
        raise Skip("Python too deeply nested to parse") from None
    hits: list[Hit] = []
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
            func_name = _simple_name(func)
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
                            Hit(
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
                    Hit("config.debug-enabled", line, "DEBUG is True", "DEBUG=True", snippet=snippet(line))
                )
            elif name == "SECRET_KEY":
                hits.extend(_secret_key(value, literal, line, lines))
            elif name == "ALLOWED_HOSTS" and isinstance(literal, list | tuple | set) and "*" in literal:
                hits.append(
                    Hit(
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
            Hit(
                "config.cors-any-origin-credentials",
                line,
                "django-cors-headers allows every origin and CORS_ALLOW_CREDENTIALS is True",
                "django-cors",
                snippet=snippet(line),
            )
        )
    return hits


def _secret_key(value: ast.AST, literal: object, line: int, lines: list[str]) -> list[Hit]:
    if isinstance(literal, str | bytes) and literal:
        shown = mask_value(literal if isinstance(literal, str) else literal.decode("latin-1"))
        return [
            Hit(
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
            Hit(
                "config.hardcoded-secret-key",
                line,
                f"SECRET_KEY falls back to a literal ({shown}) when the variable is unset",
                "SECRET_KEY=fallback",
                snippet=f"SECRET_KEY = <env lookup, default '{shown}'>",
                confidence=Confidence.MEDIUM,
            )
        ]
    return []


def _flask_cors(node: ast.Call, snippet: Callable[[int], str]) -> list[Hit]:
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
        Hit(
            "config.cors-any-origin-credentials",
            node.lineno,
            "flask-cors with supports_credentials=True and every origin ('*' or the default)",
            "flask-cors",
            snippet=snippet(node.lineno),
        )
    ]

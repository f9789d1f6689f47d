"""Django and Flask settings in Python: DEBUG on, a hardcoded SECRET_KEY (or a literal fallback),
ALLOWED_HOSTS '*', CORS open to every origin with credentials, and settings that become insecure
when their environment variable is unset (`os.getenv("DJANGO_ALLOWED_HOSTS", "*")`). Read through
`ast`, never run.

An insecure fallback is found by evaluating the setting's expression as it stands when every
environment lookup in it misses: the lookup gives its default (`os.getenv`, `os.environ.get`,
django-environ's `env(...)` / `env.bool(...)`, python-decouple's `config(...)`), or None without one;
a lookup that fails when unset (`os.environ["X"]`, `env("X")` without a default) is safe. Only
constants, comparisons, `and`/`or`/`not`, `bool`/`int`/`str` and the string methods `lower`,
`upper`, `strip`, `split` are evaluated; anything else leaves the value unknown, never reported."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from secaudit.tools.findings.model import Confidence
from secaudit.tools.scanners.secrets_detect import is_test_path, mask_value

from .common import Hit, Skip, basename, read_text

__all__ = ["is_settings_candidate", "read_python", "scan_python"]

_SETTINGS_HINTS = (b"DEBUG", b"SECRET_KEY", b"secret_key", b"ALLOWED_HOSTS", b"CORS", b"debug=")


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


# -- the value a setting has when its environment variable is unset --------------------------------

_UNKNOWN = object()
_ENV_MODULE_CALLS = frozenset({"getenv", "get"})  # os.getenv, os.environ.get, environ.get
_ENV_HELPERS = frozenset({"env", "config"})  # django-environ env(...), python-decouple config(...)
_ENV_CASTS = frozenset({"bool", "str", "list", "int", "tuple"})  # env.bool(...), env.list(...)
_TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t"})
_STR_METHODS = frozenset({"lower", "upper", "strip", "casefold", "split"})


def _is_environ(node: ast.AST) -> bool:
    return _simple_name(node) == "environ"


def _env_lookup(node: ast.AST) -> tuple[bool, object]:
    """(whether `node` reads the environment, what it gives when the variable is unset)."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return True, _UNKNOWN  # os.environ["X"] raises when unset: fails closed
    if not isinstance(node, ast.Call):
        return False, None
    func = node.func
    name = _simple_name(func)
    default_node = next((k.value for k in node.keywords if k.arg == "default"), None)
    if isinstance(func, ast.Attribute) and name in _ENV_MODULE_CALLS:
        owner = func.value
        if not (_simple_name(owner) in ("os", "environ") or _is_environ(owner)):
            return False, None
        if name == "get" and not _is_environ(owner):
            return False, None
        default_node = node.args[1] if len(node.args) > 1 else default_node
        return True, None if default_node is None else _when_unset(default_node)
    cast: str | None = None
    if isinstance(func, ast.Name) and func.id in _ENV_HELPERS:
        cast_kw = next((k.value for k in node.keywords if k.arg == "cast"), None)
        cast = _simple_name(cast_kw) if cast_kw is not None else None
    elif isinstance(func, ast.Attribute) and _simple_name(func.value) == "env" and name in _ENV_CASTS:
        cast = name
    else:
        return False, None
    if default_node is None:
        return True, _UNKNOWN  # env("X") / config("X") without a default raise when unset
    return True, _cast(cast, _when_unset(default_node))


def _cast(cast: str | None, value: object) -> object:
    if value is _UNKNOWN or cast is None:
        return value
    if cast == "bool":
        return value.strip().lower() in _TRUE_WORDS if isinstance(value, str) else bool(value)
    if cast in ("list", "tuple") and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _reads_env(node: ast.AST) -> bool:
    return any(_env_lookup(n)[0] for n in ast.walk(node))


def _when_unset(node: ast.AST) -> object:
    """The value of `node` when every environment lookup in it misses; _UNKNOWN when not evaluable."""
    found, value = _env_lookup(node)
    if found:
        return value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_when_unset(e) for e in node.elts]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _when_unset(node.operand)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    if isinstance(node, ast.BoolOp):
        result: object = _UNKNOWN
        for operand in node.values:
            result = _when_unset(operand)
            if result is _UNKNOWN:
                return _UNKNOWN
            if bool(result) is isinstance(node.op, ast.Or):
                return result
        return result
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return _compare(node.ops[0], _when_unset(node.left), _when_unset(node.comparators[0]))
    if isinstance(node, ast.Call):
        return _call(node)
    return _UNKNOWN


def _compare(op: ast.cmpop, left: object, right: object) -> object:
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    try:
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
        if isinstance(op, ast.In):
            return left in right  # type: ignore[operator]
        if isinstance(op, ast.NotIn):
            return left not in right  # type: ignore[operator]
    except TypeError:
        return _UNKNOWN
    return _UNKNOWN


def _call(node: ast.Call) -> object:
    if node.keywords:
        return _UNKNOWN
    args = [_when_unset(a) for a in node.args]
    if any(a is _UNKNOWN for a in args):
        return _UNKNOWN
    func = node.func
    try:
        if isinstance(func, ast.Name) and func.id in ("bool", "int", "str") and len(args) == 1:
            convert: Callable[[Any], object] = {"bool": bool, "int": int, "str": str}[func.id]
            return convert(args[0])
        if isinstance(func, ast.Attribute) and func.attr in _STR_METHODS:
            owner = _when_unset(func.value)
            if isinstance(owner, str) and all(isinstance(a, str) for a in args):
                return getattr(owner, func.attr)(*args)
    except (TypeError, ValueError):
        return _UNKNOWN
    return _UNKNOWN


def _wildcard(value: object) -> bool:
    if isinstance(value, str):
        return "*" in (part.strip() for part in value.split(","))
    return isinstance(value, list | tuple | set) and "*" in value


def _insecure_fallback(name: str, value: ast.AST) -> str | None:
    """What setting `name` becomes when its environment variable is unset, if that is insecure."""
    if not _reads_env(value):
        return None
    unset = _when_unset(value)
    if unset is _UNKNOWN or unset is None:
        return None
    if name == "DEBUG" and unset:
        return f"DEBUG is {_shown(unset)} (debug on) when its environment variable is unset"
    if name == "ALLOWED_HOSTS" and _wildcard(unset):
        return "ALLOWED_HOSTS allows every host ('*') when its environment variable is unset"
    if name in ("CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL") and unset:
        return f"{name} is {_shown(unset)} (every origin) when its environment variable is unset"
    return None


def _shown(value: object) -> str:
    return repr(value)[:40]


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
                    elif kw.arg == "debug" and (why := _insecure_fallback("DEBUG", kw.value)):
                        hits.append(
                            Hit(
                                "config.insecure-env-fallback",
                                node.lineno,
                                why.replace("DEBUG is", "app.run(debug=...) is", 1),
                                "run(debug=fallback)",
                                snippet=snippet(node.lineno),
                                confidence=Confidence.MEDIUM,
                            )
                        )
            elif func_name in ("CORS", "cross_origin"):
                hits.extend(_flask_cors(node, snippet))
        for name, value, line in assignments:
            literal = _literal(value)
            if line >= settings.get(name, (None, 0))[1]:
                settings[name] = (literal, line)  # the last assignment in the module wins
            if literal is _NOT_LITERAL and (why := _insecure_fallback(name, value)):
                hits.append(
                    Hit(
                        "config.insecure-env-fallback",
                        line,
                        why,
                        f"{name}=fallback",
                        snippet=snippet(line),
                        confidence=Confidence.MEDIUM,  # the variable may well be set where it runs
                    )
                )
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

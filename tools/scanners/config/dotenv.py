"""dotenv files (`.env`, `.env.local`, `prod.env`): committed or not ignored, and weak passwords.

Templates (`.env.example`, `.sample`, `.template`, `.dist`) hold no values and are left alone, and
files whose last suffix says they are something else (`.env.patch` is a diff, `.env.md` a document,
`.env.ts` a module) are not env files. A line is a setting only when its key is a variable name:
`# KEY=x`, `; KEY=x`, `// KEY=x` and `"#KEY=x"` are commented out, never read as settings.
Whether git tracks a file is asked of git itself (`git ls-files`), with the repository's own
configuration kept from running anything.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from secaudit.tools.walker import GitIgnore

from .common import Hit, basename, is_variable_name, read_text, weak_password_hit

__all__ = [
    "dotenv_pairs",
    "git_tracked",
    "is_env_file",
    "is_env_template",
    "is_variable_name",
    "scan_env_file",
]

GIT_TIMEOUT = 15.0
_ENV_NAME = re.compile(r"^(?:\.env(?:\..+)?|.+\.env)$")
_ENV_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")
# A last suffix that makes `.env.<x>` a diff, a document or source code, not an environment file.
_NOT_ENV_SUFFIXES = frozenset(
    {
        ".patch", ".diff", ".rej", ".md", ".rst", ".adoc", ".html",
        ".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".go", ".rb", ".java", ".php", ".rs",
    }
)  # fmt: skip


def is_env_file(name: str) -> bool:
    suffix = name[name.rfind(".") :].lower() if "." in name[1:] else ""
    return bool(_ENV_NAME.match(name)) and suffix not in _NOT_ENV_SUFFIXES


def is_env_template(name: str) -> bool:
    return any(name.endswith(s) or f"{s}." in name for s in _ENV_TEMPLATE_SUFFIXES)


def dotenv_pairs(text: str) -> Iterator[tuple[int, str, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not is_variable_name(key):
            continue  # `; KEY=x`, `// KEY=x`: commented out in another syntax, not a setting
        value = value.strip()
        if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        elif value.startswith("#"):
            value = ""  # `KEY= # note`: the comment is not the value (dotenv and compose agree)
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        yield number, key, value


def scan_env_file(root: Path, rel: str, ignore: GitIgnore, tracked: set[str] | None) -> list[Hit]:
    if is_env_template(basename(rel)):
        return []
    hits: list[Hit] = []
    if tracked is not None and rel in tracked:
        hits.append(Hit("config.env-file-committed", None, "tracked by git", "env-committed"))
    elif not ignore.ignored(rel):
        hits.append(
            Hit("config.env-file-not-ignored", None, "no .gitignore rule covers it", "env-not-ignored")
        )
    for line, key, value in dotenv_pairs(read_text(root, rel)):
        hit = weak_password_hit(key, value, line, "env")
        if hit:
            hits.append(hit)
    return hits


def git_tracked(root: Path, rels: list[str]) -> set[str] | None:
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

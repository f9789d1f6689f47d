"""The rules the semgrep scanner runs: the pack shipped in `rules/` beside this module, plus the
user's own folder (`SECAUDIT_SEMGREP_RULES`).

Only local rule files are ever given to semgrep: a registry name (`auto`, `p/...`, `r/...`,
`s/...`) or a URL is refused wherever a rules location is accepted, so no rule is downloaded and
semgrep never has a reason to contact its servers. The rule files are read here too (YAML, safely)
to learn each rule's id and languages: ids map semgrep's results back to rules, languages decide
which files the scanner selects, and the files' bytes make the rules digest that is part of every
cache key, so editing a rule re-scans every file.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from secaudit.tools.errors import ConfigError

__all__ = [
    "JS_TS_LANGUAGES",
    "PACK_DIR",
    "PYTHON_LANGUAGES",
    "Rule",
    "RuleSet",
    "RulesError",
    "check_rules_dir",
    "load_rules",
    "refuse_registry",
    "rule_files",
]

PACK_DIR = Path(__file__).with_name("rules")
JS_TS_LANGUAGES = frozenset({"javascript", "js", "typescript", "ts"})
PYTHON_LANGUAGES = frozenset({"python", "python2", "python3", "py"})
_MAX_RULE_FILES = 2000
_MAX_RULE_FILE_BYTES = 4 * 1024 * 1024
# libyaml's parser when PyYAML was built with it (the wheels are): the same safe constructor and
# resolver, about ten times faster than the pure-Python parser on the pack, which every process
# that scans (a hook run for one edited file too) reads once.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REGISTRY = re.compile(r"^(auto|(p|r|s|ext|gh)/.*|[a-z][a-z0-9+.-]*://.*|(supply-chain|secrets)\b.*)$", re.I)


class RulesError(ConfigError):
    """A rule file or folder cannot be used; the message names the file and the problem."""

    code = "semgrep_rules_error"


def refuse_registry(value: str) -> None:
    """Refuse anything semgrep would fetch from its registry or the network instead of reading."""
    if _REGISTRY.match(value.strip()):
        raise RulesError(
            "semgrep registry configs and URLs (auto, p/..., r/..., https://...) are never used: "
            "secaudit runs local rule files only; give a folder of .yml/.yaml semgrep rule files"
        )


def rule_files(folder: Path) -> list[Path]:
    """Every .yml/.yaml file under `folder`, sorted; hidden files and folders are left out, links
    are not followed (a rules folder cannot pull in files from elsewhere)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or not name.endswith((".yml", ".yaml")) or path.is_symlink():
                continue
            found.append(path)
            if len(found) > _MAX_RULE_FILES:
                raise RulesError(f"more than {_MAX_RULE_FILES} rule files in the rules folder")
    return found


def check_rules_dir(value: str | os.PathLike[str]) -> Path:
    """Validate a user rules location (SECAUDIT_SEMGREP_RULES): an existing folder of rule files."""
    text = os.fspath(value)
    refuse_registry(text)
    path = Path(text).expanduser()
    if not path.is_dir():
        raise RulesError("the semgrep rules location must be an existing folder of .yml/.yaml rule files")
    if not rule_files(path):
        raise RulesError("the semgrep rules folder holds no .yml/.yaml rule file")
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class Rule:
    id: str
    languages: frozenset[str]
    source: str  # "pack" or "user"
    data: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class RuleSet:
    files: tuple[Path, ...]
    rules: dict[str, Rule]
    digest: str
    pack_rules: int
    user_rules: int
    # Rule files every rule of which is for JavaScript/TypeScript only: they match nothing else.
    js_ts_only_files: frozenset[Path] = frozenset()

    @property
    def python(self) -> bool:
        """Whether any rule looks at Python (then the scanner selects .py files too)."""
        return any(r.languages & PYTHON_LANGUAGES for r in self.rules.values())

    @property
    def js_ts_only(self) -> bool:
        return all(r.languages <= JS_TS_LANGUAGES for r in self.rules.values())

    def files_for(self, *, js_ts_targets: bool) -> list[Path]:
        """The rule files to give semgrep for a set of targets: all of them when one target is
        JavaScript/TypeScript, else those holding a rule for another language (fewer rules to load:
        a scan of one edited Python file starts faster). Never none when some file has rules."""
        if js_ts_targets:
            return list(self.files)
        others = [f for f in self.files if f not in self.js_ts_only_files]
        return others or list(self.files)

    def js_ts_rules(self) -> list[dict[str, Any]]:
        return [r.data for r in self.rules.values() if r.languages and r.languages <= JS_TS_LANGUAGES]


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


def _parse(path: Path, base: Path, source: str) -> tuple[bytes, list[Rule]]:
    where = f"{'the rule pack' if source == 'pack' else 'the user rules folder'}: {_display(path, base)}"
    try:
        if path.stat().st_size > _MAX_RULE_FILE_BYTES:
            raise RulesError(f"{where}: larger than {_MAX_RULE_FILE_BYTES} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{where}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        doc = yaml.load(raw.decode("utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{where}: not valid UTF-8 YAML{at}") from None
    if doc is None:
        return raw, []
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RulesError(f"{where}: a semgrep rule file is a mapping with a `rules:` list")
    rules: list[Rule] = []
    for n, item in enumerate(doc["rules"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            raise RulesError(f"{where}: rule {n} has no string `id`")
        langs = item.get("languages")
        if not isinstance(langs, list) or not all(isinstance(x, str) for x in langs):
            raise RulesError(f"{where}: rule {item['id'][:80]!r} has no `languages` list")
        rules.append(Rule(item["id"], frozenset(x.lower() for x in langs), source, item))
    return raw, rules


def _build(folders: Sequence[tuple[Path, str]]) -> RuleSet:
    files: list[Path] = []
    rules: dict[str, Rule] = {}
    digest = hashlib.sha256(b"secaudit-semgrep-rules-v1\x00")
    counts = {"pack": 0, "user": 0}
    js_ts_only: set[Path] = set()
    for folder, source in folders:
        for path in rule_files(folder):
            raw, parsed = _parse(path, folder, source)
            digest.update(f"{source}\x00{_display(path, folder)}\x00".encode())
            digest.update(hashlib.sha256(raw).digest())
            for rule in parsed:
                if rule.id in rules:
                    theirs = "the rule pack" if rules[rule.id].source == "pack" else "the user rules"
                    raise RulesError(
                        f"rule id {rule.id[:80]!r} ({_display(path, folder)}) is already defined in "
                        f"{theirs}: rule ids must be unique; rename it"
                    )
                rules[rule.id] = rule
                counts[source] += 1
            if parsed:
                files.append(path)
                if all(r.languages and r.languages <= JS_TS_LANGUAGES for r in parsed):
                    js_ts_only.add(path)
    return RuleSet(
        tuple(files), rules, digest.hexdigest(), counts["pack"], counts["user"], frozenset(js_ts_only)
    )


def _stamp(folders: Iterable[Path]) -> tuple[Any, ...]:
    """Cheap identity of the rule folders' contents: names, sizes and mtimes of every rule file."""
    out: list[Any] = []
    for folder in folders:
        for path in rule_files(folder) if folder.is_dir() else []:
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


_CACHE: dict[tuple[Any, ...], RuleSet] = {}
_CACHE_LOCK = threading.Lock()


def load_rules(pack_dir: Path = PACK_DIR, user_dir: Path | None = None) -> RuleSet:
    """Read the pack and the user's folder (re-read only when a rule file changed)."""
    folders: list[tuple[Path, str]] = []
    if pack_dir.is_dir():
        folders.append((pack_dir, "pack"))
    if user_dir is not None:
        if not user_dir.is_dir():
            raise RulesError("the user rules folder (SECAUDIT_SEMGREP_RULES) no longer exists")
        folders.append((user_dir, "user"))
    key = (tuple(str(f) for f, _ in folders), _stamp(f for f, _ in folders))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    built = _build(folders)
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = built
    return built

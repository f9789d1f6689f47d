"""Shared pieces of the dependency fixes: the `TextEdit` result, version and risk helpers, the byte
order mark helpers, the lockfile table and the re-lock commands.

A major-version change (or a minor change below 1.0) is reported as a risk. Lockfiles are never
edited: the proposal names the command that re-locks. A UTF-8 byte order mark is kept and never
stops a fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from packaging.version import InvalidVersion, Version

from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    RepoView,
)


@dataclass
class TextEdit:
    text: str
    notes: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    old_versions: list[str] = field(default_factory=list)
    new_specs: list[str] = field(default_factory=list)  # the constraints written (package.json)


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise FixNotApplicable(f"the target version {text[:40]!r} is not a valid PEP 440 version") from None


def _major_risk(package: str, old: str | None, target: str, *, npm: bool = False) -> list[str]:
    if old is None:
        return []
    try:
        if npm:
            o = [int(p) for p in re.findall(r"\d+", old)[:2]] + [0, 0]
            t = [int(p) for p in re.findall(r"\d+", target)[:2]] + [0, 0]
        else:
            ov, tv = Version(old), Version(target)
            o, t = [ov.major, ov.minor], [tv.major, tv.minor]
    except (InvalidVersion, ValueError):
        return []
    if o[0] != t[0]:
        return [f"{package}: major version change {old} -> {target}; read its changelog for breaking changes"]
    if o[0] == 0 and o[1] != t[1]:
        return [f"{package}: {old} -> {target} changes the minor version of a 0.x release, which may break"]
    return []


def _split_bom(text: str) -> tuple[str, str]:
    """(the UTF-8 byte order mark or "", the text after it): the audit reads past a BOM, so the fix
    edits past it and writes it back."""
    return ("\ufeff", text[1:]) if text.startswith("\ufeff") else ("", text)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


LOCKFILES: dict[str, str] = {
    "poetry.lock": "poetry lock",
    "uv.lock": "uv lock",
    "Pipfile.lock": "pipenv lock",
    "pdm.lock": "pdm lock",
    "package-lock.json": "npm install --package-lock-only",
    "npm-shrinkwrap.json": "npm install --package-lock-only",
    "yarn.lock": "yarn install --mode update-lockfile",
    "pnpm-lock.yaml": "pnpm install --lockfile-only",
}
_PY_LOCKS = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml")
_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
_NPM_FILES = ("package.json", *_NPM_LOCKS, "yarn.lock", "pnpm-lock.yaml")


def _relock(view: RepoView, folder: str, requirements_file: str | None = None) -> list[str]:
    commands: list[str] = []
    for lock, command in LOCKFILES.items():
        rel = f"{folder}/{lock}" if folder else lock
        if view.read(rel) is not None:
            commands.append(f"{command}  (in {folder or '.'}; lockfiles are never edited by hand)")
    if requirements_file and requirements_file.endswith(".txt"):
        source = requirements_file[:-4] + ".in"
        if view.read(source) is not None:
            commands.append(f"pip-compile {source}  (or uv pip compile {source})")
    return commands


def _folder_of(rel: str) -> str:
    folder = str(PurePosixPath(rel).parent)
    return "" if folder == "." else folder


def _in(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name

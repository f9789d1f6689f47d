"""Cursor's beforeShellExecution check: an `npm install pkg@ver` or `pip install pkg==ver` of a
version the offline advisory database knows to be affected is denied.

Matching is the deps scanner's: names normalised per ecosystem, each advisory's affected entries
asked with `is_affected` (tools/advisories). Only exact pins are checked (`pkg@1.2.3`,
`pkg==1.2.3`): an unpinned or ranged install (`npm i pkg`, `pip install 'pkg>=2'`) resolves to a
version decided later, so it is allowed with a note saying it was not checked. A database without
records for the ecosystem checks nothing: allowed with a note (fail open) or asked (fail closed).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

from secaudit.tools.advisories import NPM, PYPI, AdvisoryDB, is_affected, normalize_name
from secaudit.tools.text import clean_line

__all__ = ["InstallSpec", "ShellVerdict", "check_command", "install_specs"]

_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")"}
_NPM_PROGRAMS = {"npm": {"install", "i", "add", "isntall"}, "pnpm": {"add", "install", "i"}, "yarn": {"add"}}
_PIP_PROGRAMS = re.compile(r"^pip(3(\.\d+)?)?$")
_PY = re.compile(r"^python(3(\.\d+)?)?$")
_PIP_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([A-Za-z0-9.+!_-]+)$")
_NPM_SPEC = re.compile(r"^(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*(@.+)?$", re.IGNORECASE)
_EXACT_NPM = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$")


@dataclass(frozen=True)
class InstallSpec:
    ecosystem: str
    name: str
    version: str | None  # None: not pinned to one version


@dataclass
class ShellVerdict:
    permission: str  # allow, deny, ask
    agent_message: str = ""
    user_message: str = ""
    notes: list[str] = field(default_factory=list)


def _commands(command: str) -> Iterator[list[str]]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    current: list[str] = []
    for token in lexer:
        if token in _SEPARATORS or set(token) <= set(";&|()"):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _args_after(argv: list[str], verbs: set[str]) -> list[str] | None:
    for i, word in enumerate(argv):
        if word in verbs:
            return argv[i + 1 :]
        if not word.startswith("-"):
            return None
    return None


def install_specs(command: str) -> list[InstallSpec]:
    """The packages a shell command installs with npm/pnpm/yarn or pip, as far as the words show."""
    try:
        commands = list(_commands(command))
    except ValueError:
        return []
    found: list[InstallSpec] = []
    for argv in commands:
        while argv and "=" in argv[0] and not argv[0].startswith("-"):
            argv = argv[1:]  # FOO=bar npm install ...
        if argv and argv[0] in {"sudo", "env"}:
            argv = argv[1:]
        if not argv:
            continue
        program = argv[0].rsplit("/", 1)[-1]
        if program in _NPM_PROGRAMS:
            args = _args_after(argv[1:], _NPM_PROGRAMS[program])
            for word in args or []:
                if word.startswith("-") or not _NPM_SPEC.match(word):
                    continue
                at = word.rfind("@")
                if at > 0:
                    name, version = word[:at], word[at + 1 :]
                    found.append(InstallSpec(NPM, name, version if _EXACT_NPM.match(version) else None))
                else:
                    found.append(InstallSpec(NPM, word, None))
            continue
        rest = argv[1:]
        if _PY.match(program) and rest[:2] == ["-m", "pip"]:
            rest = rest[2:]
        elif not _PIP_PROGRAMS.match(program):
            continue
        args = _args_after(rest, {"install"})
        skip_next = False
        for word in args or []:
            if skip_next:
                skip_next = False
                continue
            if word in {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url"}:
                skip_next = True
                continue
            if word.startswith("-") or "/" in word or word.startswith("."):
                continue
            pin = _PIP_PIN.match(word)
            if pin:
                found.append(InstallSpec(PYPI, pin.group(1), pin.group(3)))
            else:
                name = re.split(r"[\[<>=!~;@ ]", word, maxsplit=1)[0]
                if name:
                    found.append(InstallSpec(PYPI, name, None))
    return found


def check_command(command: str, db: AdvisoryDB, *, on_error: str = "open") -> ShellVerdict:
    specs = install_specs(command)
    if not specs:
        return ShellVerdict("allow")
    status = db.status()
    denied: list[str] = []
    notes: list[str] = []
    uncovered = False
    for spec in specs:
        shown = clean_line(spec.name, 120)
        if spec.version is None:
            notes.append(f"{shown}: not pinned to one version, so not checked against advisories")
            continue
        if not status.covers(spec.ecosystem):
            uncovered = True
            notes.append(
                f"{shown} {clean_line(spec.version, 60)}: the advisory database has no {spec.ecosystem} "
                "records, not checked (`secaudit db update`)"
            )
            continue
        advisories = db.advisories_for(spec.ecosystem, [spec.name]).get(
            normalize_name(spec.ecosystem, spec.name), ()
        )
        hits = sorted(
            {pa.advisory.id for pa in advisories for e in pa.entries if is_affected(e, spec.version).affected}
        )
        if hits:
            upgrade = db.upgrade_for(spec.ecosystem, advisories, spec.version)
            fixed = (
                f" (the smallest upgrade no listed advisory affects: {clean_line(upgrade.version, 60)})"
                if upgrade.version and upgrade.version != spec.version
                else ""
            )
            denied.append(
                f"{shown} {clean_line(spec.version, 60)} is affected by {', '.join(hits[:5])}"
                + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")
                + fixed
            )
    if denied:
        text = (
            "secaudit: refused, the offline advisory database lists known vulnerabilities: "
            + "; ".join(denied)
            + ". Install a version no advisory affects instead."
        )
        return ShellVerdict("deny", agent_message=text, user_message=text, notes=notes)
    if uncovered and on_error == "closed":
        text = "secaudit could not check this install: " + "; ".join(notes)
        return ShellVerdict("ask", agent_message=text, user_message=text, notes=notes)
    return ShellVerdict("allow", agent_message="; ".join(notes), notes=notes)

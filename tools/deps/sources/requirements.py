"""`requirements*.txt` (pip's requirements-file format), read without pip and without following
anything that leaves the file system of the audited root.

Followed: `-r`/`-c` includes to files inside the root (cycles detected, each file read once per root
file). Never followed, reported as notes: index options, URLs, VCS and local-path requirements,
editable installs, `${VAR}` references (never expanded).

Lines are joined and comments dropped exactly as pip does (`logical_lines`): first a line ending in
`\\` is joined with the next (unless the line is itself a comment line, or the next one is), then
comments are removed. So a trailing comment ending in `\\` swallows the next line, which pip never
installs, and a full-line comment ending in `\\` continues nothing. The dependency fix reads
requirements files through the same function.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field, replace

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from ..interface import Dependency, DependencySource, FileNote, SourceContext, SourceError, SourceResult
from ..safe_io import safe_relpath
from ._common import parse_pep508, pypi_name

__all__ = ["RequirementsSource", "continues", "include_of", "logical_lines", "split_options"]

_MAX_DEPTH = 32
_COMMENT = re.compile(r"(^|\s+)#.*$")
_URL_LIKE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git\+|hg\+|svn\+|bzr\+|file:)")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_PATH_LIKE = re.compile(r"^(?:\.{1,2}/|/|~)|\.(?:whl|zip|tar\.gz|tgz|tar\.bz2)$")
_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_EDITABLE = ("-e", "--editable")
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host")
_HARMLESS = (
    "--pre", "--no-index", "--prefer-binary", "--require-hashes", "--no-binary", "--only-binary",
    "--use-feature", "--no-deps",
)  # fmt: skip


def continues(line: str) -> bool:
    """Whether pip joins this physical line (without its line ending) with the next one."""
    return line.endswith("\\") and not _COMMENT.match(line)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, joined text) with comments stripped, as pip reads them
    (pip's `join_lines` then `ignore_comments`)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0

    def emit(number: int, joined: str) -> None:
        line = _COMMENT.sub("", joined).strip()
        if line:
            out.append((number, line))

    for number, raw in enumerate(text.splitlines(), start=1):
        if continues(raw):
            if not buf:
                start = number
            buf.append(raw.strip("\\"))
            continue
        if _COMMENT.match(raw):
            raw = " " + raw  # a comment line ends a continuation, and is dropped as a comment
        if buf:
            emit(start, "".join([*buf, raw]))
            buf = []
        else:
            emit(number, raw)
    if buf:
        emit(start, "".join(buf))
    return out


def _option(line: str) -> tuple[str, str] | None:
    """(option, value) of an option line (`-r x`, `-rx`, `--requirement=x`); None: unbalanced quotes."""
    try:
        tokens = shlex.split(line, comments=False, posix=True)
    except ValueError:
        return None
    opt, value = tokens[0], tokens[1] if len(tokens) > 1 else ""
    if "=" in opt and opt.startswith("--"):
        opt, value = opt.split("=", 1)
    elif len(opt) > 2 and opt[:2] in ("-r", "-c", "-e", "-i", "-f") and not opt.startswith("--"):
        opt, value = opt[:2], opt[2:]
    return opt, value


def include_of(line: str) -> tuple[str, bool] | None:
    """(the file named, whether it is a constraints file) of a `-r` / `-c` logical line, else None."""
    if not line.startswith("-"):
        return None
    option = _option(line)
    if option is None or option[0] not in _INCLUDE or not option[1]:
        return None
    return option[1], _INCLUDE[option[0]]


def split_options(line: str) -> tuple[str, list[str]]:
    """Requirement part and its per-requirement options (`--hash=...`), as pip splits them."""
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), tokens[i:]
    return line, []


@dataclass
class _State:
    root_rel: str
    seen: set[str] = field(default_factory=set)
    constraints: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # name -> (ver, file, line)


class RequirementsSource(DependencySource):
    name = "requirements"
    ecosystem = PYPI

    def matches(self, rel: str) -> bool:
        base = posixpath.basename(rel).lower()
        parent = posixpath.basename(posixpath.dirname(rel)).lower()
        return base.endswith(".txt") and (base.startswith("requirements") or parent == "requirements")

    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        rel = safe_relpath(rel)
        result = SourceResult()
        state = _State(root_rel=rel)
        text = ctx.read_text(rel)
        self._parse_text(ctx, rel, text, [rel], False, state, result)
        if state.constraints:
            result.dependencies = [self._apply_constraint(d, state) for d in result.dependencies]
        return result

    @staticmethod
    def _apply_constraint(dep: Dependency, state: _State) -> Dependency:
        pinned = state.constraints.get(dep.normalized_name)
        if dep.version is not None or pinned is None:
            return dep
        version, cfile, cline = pinned
        return replace(
            dep,
            version=version,
            notes=(*dep.notes, f"version pinned by constraint {cfile}:{cline}"),
        )

    def _include(
        self,
        ctx: SourceContext,
        rel: str,
        line_no: int,
        target: str,
        constraint: bool,
        stack: list[str],
        state: _State,
        result: SourceResult,
    ) -> None:
        what = "constraint file" if constraint else "requirements file"
        if _URL_LIKE.match(target):
            result.notes.append(FileNote(rel, f"line {line_no}: remote {what} not fetched"))
            return
        if "${" in target:
            result.notes.append(
                FileNote(rel, f"line {line_no}: {what} path contains ${{...}}; variables are never expanded")
            )
            return
        try:
            child = safe_relpath(posixpath.join(posixpath.dirname(rel), target))
        except SourceError:
            result.notes.append(FileNote(rel, f"line {line_no}: {what} outside the audited root; not read"))
            return
        if child in stack:
            cycle = " -> ".join([*stack[stack.index(child) :], child])
            result.notes.append(FileNote(rel, f"line {line_no}: include cycle {cycle}; not read again"))
            return
        if child in state.seen:
            return
        if len(stack) >= _MAX_DEPTH:
            result.notes.append(FileNote(rel, f"line {line_no}: includes nested deeper than {_MAX_DEPTH}"))
            return
        try:
            text = ctx.read_text(child)
        except SourceError as exc:
            result.notes.append(FileNote(rel, f"line {line_no}: {what} not read: {exc.message}"))
            return
        self._parse_text(ctx, child, text, [*stack, child], constraint, state, result)

    def _parse_text(
        self,
        ctx: SourceContext,
        rel: str,
        text: str,
        stack: list[str],
        constraint: bool,
        state: _State,
        result: SourceResult,
    ) -> None:
        state.seen.add(rel)
        result.files.append(rel)
        for line_no, line in logical_lines(text):
            note = self._parse_line(ctx, rel, line_no, line, stack, constraint, state, result)
            if note:
                result.notes.append(FileNote(rel, f"line {line_no}: {note}"))

    def _parse_line(
        self,
        ctx: SourceContext,
        rel: str,
        line_no: int,
        line: str,
        stack: list[str],
        constraint: bool,
        state: _State,
        result: SourceResult,
    ) -> str | None:
        if line.startswith("-"):
            option = _option(line)
            if option is None:
                return "unbalanced quotes in an option line; ignored"
            opt, value = option
            if opt in _INCLUDE:
                if not value:
                    return f"{opt} without a file name"
                self._include(ctx, rel, line_no, value, _INCLUDE[opt], stack, state, result)
                return None
            if opt in _EDITABLE:
                return self._editable(rel, line_no, value, result)
            if opt in _INDEX_OPTIONS:
                return f"{opt} option not followed (this audit never contacts a package index)"
            if opt in _HARMLESS:
                return None
            return f"option {clean_line(opt, 40)!r} ignored"
        requirement, options = split_options(line)
        hashed = any(o.startswith("--hash") for o in options)
        if _URL_LIKE.match(requirement) or _PATH_LIKE.search(requirement.split(";")[0].strip()):
            return self._url_requirement(rel, line_no, requirement, result)
        try:
            parsed = parse_pep508(requirement)
        except ValueError as exc:
            return f"{exc}; skipped"
        if constraint:
            if parsed.version is not None:
                state.constraints.setdefault(parsed.normalized_name, (parsed.version, rel, line_no))
            return None
        notes = list(parsed.notes)
        if parsed.version is None and not parsed.url:
            notes.append(
                "not pinned to one version: only an exact pin (==) can be checked against advisories"
            )
        result.dependencies.append(
            Dependency(
                ecosystem=PYPI,
                name=parsed.name,
                normalized_name=parsed.normalized_name,
                version=parsed.version,
                specifier=parsed.specifier,
                direct=True,
                manifest=rel,
                line=line_no,
                source=self.name,
                extras=parsed.extras,
                marker=parsed.marker,
                hashed=hashed,
                notes=tuple(notes),
            )
        )
        return None

    def _editable(self, rel: str, line_no: int, value: str, result: SourceResult) -> str:
        self._egg(rel, line_no, value, result, "editable install from a local path or VCS")
        return "editable requirement not followed (local path or VCS checkout; nothing is built)"

    def _url_requirement(self, rel: str, line_no: int, requirement: str, result: SourceResult) -> str:
        self._egg(rel, line_no, requirement, result, "installed from a URL, VCS or local path")
        return "URL, VCS or local-path requirement not followed (nothing is fetched or built)"

    def _egg(self, rel: str, line_no: int, text: str, result: SourceResult, how: str) -> None:
        """A requirement that is not followed still names its package when it carries `#egg=`."""
        egg = _EGG.search(text)
        if egg:
            name, normalized, name_notes = pypi_name(egg.group(1))
            result.dependencies.append(
                Dependency(
                    ecosystem=PYPI, name=name, normalized_name=normalized, version=None,
                    specifier=None, direct=True, manifest=rel, line=line_no, source=self.name,
                    notes=(f"{how}: not followed, version unknown", *name_notes),
                )
            )  # fmt: skip

"""Dependency fixes: raise a requirement to a target (the smallest non-vulnerable) version.

Pure text functions, each editing only the version constraint and keeping everything else
byte-for-byte (markers, extras, comments, options, `${VAR}` references, line endings):

- `bump_requirements(text, package, target, line=None)`: a pip requirements file.
- `bump_pyproject(text, package, target)`: PEP 621 `dependencies` / `optional-dependencies`
  strings and Poetry dependency tables, edited through tomlkit so formatting and comments stay.
- `bump_package_json(text, package, target)`: npm ranges, edited in place inside the JSON text
  (no re-dump, so indentation, key order and the final newline stay).

Rules for PEP 440 specifiers (T = the target version); the result never admits a version below T:
- `==V`, `===V` -> `==T`.   `>=V`, `>V` -> `>=T`.   `~=V` -> `~=T` (at least two release parts;
  when T has more parts than V this narrows the series, and a note says so).
- `==P.*` is kept when T matches it, otherwise moved to T's series; `>=T` is added beside it.
- `<V`, `<=V` are kept when T satisfies them, else replaced by `<{T.major + 1}` with a risk note.
- `!=V` is kept; if it excludes T exactly the fix is refused.
- no lower bound at all (bare name, only upper bounds) -> `>=T` is added.
Poetry: `^V` -> `^T`, `~V` -> `~T`, exact `V`/`==V`/`=V` -> T with the same operator, `*` -> `>=T`,
PEP 440 style lists go through the rules above; `||` unions are refused.
npm: `^V` -> `^T`, `~V` -> `~T`, exact `V`/`=V`/`vV` -> T, `>=V` -> `>=T`, `>=V <W` keeps `<W`
when T < W; unions, hyphen ranges, x-ranges, tags, URLs and aliases are refused (edit them by hand).

A major-version change (or a minor change below 1.0) is reported as a risk. Lockfiles are never
edited: the proposal names the command that re-locks.

A fix never leaves the manifest unsatisfiable: after the edit, every other requirement on the same
name in the edited requirements file and in the files it includes (`-r`, `-c`, recursively), or in
the edited pyproject.toml's PEP 621 lists, must still admit the target (`packaging` specifiers);
otherwise the fix is refused, naming the line (`django==1.11` beside `Django<2.0` never becomes
`django==2.2.28`). A requirement under a different environment marker is not compared (the two
may never apply together); a note says so. A UTF-8 byte order mark is kept and never stops a fix;
requirements lines are joined and comments dropped as pip reads them (`logical_lines`).

npm specifics (`fix_dependency`):
- a direct dependency: its `package.json` range is raised, and the plan's re-lock command is exactly
  `npm install <pkg>@<T> --package-lock-only` (with `--save-exact` or `--save-prefix=~` when the
  edited range is exact or a tilde range, so npm leaves package.json as the plan made it);
- a transitive one (in the lockfile only, or a nested copy of a package also declared directly):
  `add_npm_override` adds `"overrides": {"<pkg>@<installed>": "<T>"}` to package.json (the key names
  the installed version, so only dependents whose range admits it move), re-locked with
  `npm install --package-lock-only`; the notes give the exact JSON. When the project also depends on
  the package directly, npm refuses that key (EOVERRIDE), so the rule is scoped to the packages the
  lockfile installs the copy under: `{"<parent>": {"<pkg>": "<T>"}}`;
- a malicious package (`deps.malicious-package`): no bump is ever planned; the refusal gives the
  removal recipe (`secaudit.tools.deps.remedy.removal_steps`).
Package names and versions only enter command text after `remedy.npm_name_ok` / `npm_version_ok`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import PurePosixPath
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from secaudit.tools.advisories.names import NPM
from secaudit.tools.deps.remedy import (
    npm_install_lock_only,
    npm_name_ok,
    npm_version_ok,
    overrides_for,
    removal_steps,
)
from secaudit.tools.deps.safe_io import safe_relpath
from secaudit.tools.deps.sources.requirements import continues, include_of, logical_lines, split_options
from secaudit.tools.errors import SecauditError
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    FileChange,
    Fixer,
    Generator,
    Proposal,
    RepoView,
    decode_text,
    dominant_eol,
    encode_text,
    eol_of,
    split_lines,
)
from secaudit.tools.scanners.contracts import DepsAdvisoryProperties, read_properties
from secaudit.tools.text import clean_line

__all__ = [
    "LOCKFILES",
    "MALICIOUS_RULE",
    "DepsFixer",
    "TextEdit",
    "add_npm_override",
    "bump_npm_range",
    "bump_package_json",
    "bump_pep440",
    "bump_poetry_constraint",
    "bump_pyproject",
    "bump_requirements",
    "fix_dependency",
]


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


# -- PEP 440 specifiers --------------------------------------------------------------------------

_CLAUSE = re.compile(r"^(?P<op>===|==|~=|!=|<=|>=|<|>)\s*(?P<ver>\S+)$")


def bump_pep440(spec: str, target: str, package: str = "the package") -> TextEdit:
    """Edit a specifier text (`>=1.0, <2`) so it admits `target` and nothing below it."""
    t = _version(target)
    parts = re.split(r"(\s*,\s*)", spec.strip()) if spec.strip() else []
    clauses, seps = parts[0::2], parts[1::2]
    out: list[str] = []
    notes: list[str] = []
    risks: list[str] = []
    old: list[str] = []
    has_lower = False
    for clause in clauses:
        m = _CLAUSE.match(clause.strip())
        if not m:
            raise FixNotApplicable(f"{package}: the version constraint {clause[:60]!r} is not understood")
        op, ver = m["op"], m["ver"]
        if op in ("==", "===") and ver.endswith(".*"):
            prefix = ver[:-2].split(".")
            t_prefix = [str(x) for x in t.release[: len(prefix)]]
            if t_prefix != prefix:
                risks.append(f"{package}: moved from the {ver} series to {'.'.join(t_prefix)}.*")
            out.append(f"=={'.'.join(t_prefix)}.*")
            out.append(f">={target}")
            has_lower = True
            continue
        if op in ("==", "===", ">=", ">", "~="):
            old.append(ver)
            has_lower = True
            if op == "~=":
                new_t = target if len(t.release) >= 2 else f"{target}.0"
                if len(t.release) > len(ver.split(".")):
                    notes.append(f"{package}: ~={ver} became ~={new_t}, which allows a narrower series")
                out.append(f"~={new_t}")
            else:
                out.append(("==" if op == "===" else op if op == "==" else ">=") + target)
            continue
        if op in ("<", "<="):
            if SpecifierSet(f"{op}{ver}").contains(t, prereleases=True):
                out.append(clause.strip())
            else:
                bound = f"<{t.major + 1}"
                risks.append(f"{package}: upper bound {op}{ver} raised to {bound} to reach {target}")
                out.append(bound)
            continue
        # "!="
        if not SpecifierSet(f"!={ver}").contains(t, prereleases=True):
            raise FixNotApplicable(f"{package}: the constraint excludes the safe version itself (!={ver})")
        out.append(clause.strip())
    if not has_lower:
        out.insert(0, f">={target}")
        seps.insert(0, ",")
    text = out[0] if out else ""
    for i, item in enumerate(out[1:]):
        text += (seps[i] if i < len(seps) else ",") + item
    try:
        ok = SpecifierSet(text).contains(t, prereleases=True)
    except InvalidSpecifier:
        ok = False
    if not ok:
        raise FixNotApplicable(
            f"{package}: could not build a constraint admitting {target} from {spec[:80]!r}"
        )
    for o in old[:1]:
        risks.extend(_major_risk(package, o, target))
    return TextEdit(text, notes, risks, old)


# -- requirements files --------------------------------------------------------------------------

_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_GENERATED = re.compile(r"autogenerated by (pip-compile|uv)", re.IGNORECASE)


def _split_requirement(body: str) -> tuple[str, str, str, str]:
    """(name-and-extras, whitespace, specifier, rest) of one requirement text, or refuse."""
    m = _NAME.match(body)
    if not m:
        raise ValueError("no name")
    pos = m.end()
    em = re.match(r"\s*\[[^\]]*\]", body[pos:])
    if em:
        pos += em.end()
    head = body[:pos]
    end = len(body)
    for stop in (
        re.search(r";", body[pos:]),
        re.search(r"\s#", body[pos:]),
        re.search(r"\s--?\w", body[pos:]),
    ):
        if stop:
            end = min(end, pos + stop.start())
    region = body[pos:end]
    spec = region.strip()
    lead = region[: len(region) - len(region.lstrip())]
    trail = region[len(lead) + len(spec) :]
    return head, lead, spec, trail + body[end:]


def bump_requirements(text: str, package: str, target: str, *, line: int | None = None) -> TextEdit:
    """Raise `package` to `target` in a requirements file (every line naming it, or just `line`)."""
    if _GENERATED.search(text[:2000]):
        raise FixNotApplicable(
            "this requirements file is generated (pip-compile / uv pip compile); edit its input file "
            f"and re-run the compiler, e.g. `pip-compile --upgrade-package '{package}=={target}'`"
        )
    bom, text = _split_bom(text)
    want = canonicalize_name(package)
    lines = split_lines(text)
    out = list(lines)
    notes: list[str] = []
    risks: list[str] = []
    old: list[str] = []
    edited = 0
    i = 0
    while i < len(lines):
        first = i
        logical = [lines[i]]
        # Joined as pip joins them: a comment line neither continues nor is continued past.
        while continues(lines[i].rstrip("\r\n")) and i + 1 < len(lines):
            i += 1
            logical.append(lines[i])
        i += 1
        if line is not None and not first + 1 <= line <= first + len(logical):
            continue
        phys = logical[0]
        eol = eol_of(phys)
        body = phys[: len(phys) - len(eol)]
        cont = ""
        if body.endswith("\\"):
            body, cont = body[:-1], "\\"
        stripped = body.lstrip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        try:
            head, lead, spec, rest = _split_requirement(body)
        except ValueError:
            continue
        name = _NAME.match(head)
        if name is None or canonicalize_name(name.group(1)) != want:
            continue
        joined = "".join(logical)
        if "--hash" in joined:
            raise FixNotApplicable(
                f"{package} is hash-pinned (line {first + 1}): a new version needs new hashes. Regenerate "
                "the file with its tool (e.g. `pip-compile --generate-hashes`) instead of editing it."
            )
        if rest.lstrip().startswith("@") or "://" in spec:
            raise FixNotApplicable(
                f"{package} is installed from a URL (line {first + 1}); change the URL by hand"
            )
        if "$" in spec:
            raise FixNotApplicable(
                f"{package}'s version comes from an environment variable (line {first + 1}); "
                "set that variable instead"
            )
        if "(" in spec:
            raise FixNotApplicable(f"{package}: parenthesised specifiers (line {first + 1}) are not edited")
        edit = bump_pep440(spec, target, package)
        out[first] = head + lead + edit.text + rest + cont + eol
        notes.extend(edit.notes)
        risks.extend(edit.risks)
        old.extend(edit.old_versions)
        edited += 1
    if not edited:
        where = f" on line {line}" if line is not None else ""
        raise FixNotApplicable(
            f"no requirement for {package}{where} in this file; it may have changed since the audit"
        )
    return TextEdit(bom + "".join(out), _dedupe(notes), _dedupe(risks), old)


def _split_bom(text: str) -> tuple[str, str]:
    """(the UTF-8 byte order mark or "", the text after it): the audit reads past a BOM, so the fix
    edits past it and writes it back."""
    return ("\ufeff", text[1:]) if text.startswith("\ufeff") else ("", text)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- pyproject.toml ------------------------------------------------------------------------------

_POETRY_EXACT = re.compile(r"^(==|=)?\s*v?(\d[\w.+!-]*)$")


def bump_poetry_constraint(constraint: str, target: str, package: str = "the package") -> TextEdit:
    c = constraint.strip()
    if "||" in c or "|" in c:
        raise FixNotApplicable(f"{package}: union constraints ({c[:60]!r}) are not edited automatically")
    if c in ("", "*"):
        return TextEdit(f">={target}")
    m = re.match(r"^(\^|~(?!=))\s*(\S+)$", c)
    if m:
        return TextEdit(m[1] + target, risks=_major_risk(package, m[2], target), old_versions=[m[2]])
    m = _POETRY_EXACT.match(c)
    if m:
        return TextEdit((m[1] or "") + target, risks=_major_risk(package, m[2], target), old_versions=[m[2]])
    # Poetry also accepts PEP 440 lists, with spaces or commas between clauses.
    return bump_pep440(re.sub(r"(?<=\S)\s+(?=[<>=!~])", ",", c), target, package)


def _req_string_bump(req: str, package: str, target: str) -> str | None:
    """Edit one PEP 508 string if it names `package`; None when it names another package."""
    try:
        head, lead, spec, rest = _split_requirement(req)
    except ValueError:
        return None
    name = _NAME.match(head)
    if name is None or canonicalize_name(name.group(1)) != canonicalize_name(package):
        return None
    if rest.lstrip().startswith("@"):
        raise FixNotApplicable(f"{package} is installed from a URL; change it by hand")
    edit = bump_pep440(spec, target, package)
    return head + lead + edit.text + rest


def _string_like(old: Any, new: str) -> Any:
    # Keep the quote style: a literal ('...') string stays literal unless the new text has a quote.
    literal = getattr(getattr(old, "type", None), "name", "") in ("SLL", "MLL") and "'" not in new
    return tomlkit.string(new, literal=literal)


def bump_pyproject(text: str, package: str, target: str) -> TextEdit:
    bom, text = _split_bom(text)
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # noqa: BLE001 - tomlkit raises several unrelated types
        raise FixNotApplicable(
            f"pyproject.toml does not parse ({type(exc).__name__}); fix its syntax first"
        ) from None
    edits = 0
    risks: list[str] = []
    old_versions: list[str] = []
    project = doc.get("project")
    arrays: list[Any] = []
    if isinstance(project, dict):
        if isinstance(project.get("dependencies"), list):
            arrays.append(project["dependencies"])
        for group in (project.get("optional-dependencies") or {}).values():
            if isinstance(group, list):
                arrays.append(group)
    for group in (doc.get("dependency-groups") or {}).values():
        if isinstance(group, list):
            arrays.append(group)
    for arr in arrays:
        for idx, item in enumerate(list(arr)):
            if not isinstance(item, str):
                continue
            new = _req_string_bump(str(item), package, target)
            if new is not None and new != str(item):
                arr[idx] = _string_like(item, new)
                edits += 1
    poetry = (doc.get("tool") or {}).get("poetry") or {}
    tables: list[Any] = []
    for key in ("dependencies", "dev-dependencies"):
        if isinstance(poetry.get(key), dict):
            tables.append(poetry[key])
    for group in (poetry.get("group") or {}).values():
        if isinstance(group, dict) and isinstance(group.get("dependencies"), dict):
            tables.append(group["dependencies"])
    want = canonicalize_name(package)
    for table in tables:
        for name in list(table.keys()):
            if canonicalize_name(str(name)) != want:
                continue
            value = table[name]
            if isinstance(value, str):
                edit = bump_poetry_constraint(str(value), target, package)
                table[name] = _string_like(value, edit.text)
            elif isinstance(value, dict) and isinstance(value.get("version"), str):
                edit = bump_poetry_constraint(str(value["version"]), target, package)
                value["version"] = _string_like(value["version"], edit.text)
            else:
                raise FixNotApplicable(
                    f"{package} in Poetry comes from a path, URL or git; change it by hand"
                )
            risks.extend(edit.risks)
            old_versions.extend(edit.old_versions)
            edits += 1
    if not edits:
        raise FixNotApplicable(f"pyproject.toml declares no dependency on {package}; it may be transitive")
    return TextEdit(bom + tomlkit.dumps(doc), risks=_dedupe(risks), old_versions=old_versions)


# -- package.json --------------------------------------------------------------------------------

_NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_SEMVER = r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"


def bump_npm_range(rng: str, target: str, package: str = "the package") -> TextEdit:
    r = rng.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", target):
        raise FixNotApplicable(f"the target {target[:40]!r} is not a plain semver version")
    refuse = FixNotApplicable(
        f"{package}: the range {r[:60]!r} is not edited automatically (unions, hyphen or x-ranges, tags, "
        f"URLs and aliases need a person); set it to ^{target} or similar by hand"
    )
    if "||" in r or " - " in r:
        raise refuse
    m = re.fullmatch(rf"(\^|~|=|)\s*({_SEMVER})", r)
    if m:
        return TextEdit(
            m[1] + target, risks=_major_risk(package, m[2], target, npm=True), old_versions=[m[2]]
        )
    m = re.fullmatch(rf">=?\s*({_SEMVER})(\s+<=?\s*({_SEMVER}))?", r)
    if m:
        upper = m[2] or ""
        if upper:
            limit = [int(x) for x in re.findall(r"\d+", m[3])[:3]]
            tv = [int(x) for x in target.split("-")[0].split(".")]
            if tv > limit or (tv == limit and "<=" not in upper):
                raise FixNotApplicable(
                    f"{package}: {target} is above the range's upper bound; widen it by hand"
                )
        return TextEdit(
            f">={target}{upper}", risks=_major_risk(package, m[1], target, npm=True), old_versions=[m[1]]
        )
    raise refuse


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _json_value_end(s: str, i: int) -> int:
    i = _skip_ws(s, i)
    ch = s[i]
    if ch == '"':
        return int(scanstring(s, i + 1)[1])
    if ch in "{[":
        close = "}" if ch == "{" else "]"
        i = _skip_ws(s, i + 1)
        if s[i] == close:
            return i + 1
        while True:
            if ch == "{":
                i = _json_value_end(s, i)  # key
                i = _skip_ws(s, i) + 1  # ':'
            i = _skip_ws(s, _json_value_end(s, i))
            if s[i] == ",":
                i = _skip_ws(s, i + 1)
                continue
            return i + 1
    m = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(s, i)
    if not m:
        raise ValueError("bad JSON")
    return m.end()


def _member_spans(s: str, start: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of each member of the object starting at `start`."""
    spans: list[tuple[str, int, int]] = []
    i = _skip_ws(s, start + 1)
    if s[i] == "}":
        return spans
    while True:
        key, i = scanstring(s, _skip_ws(s, i) + 1)
        i = _skip_ws(s, _skip_ws(s, i) + 1)
        end = _json_value_end(s, i)
        spans.append((key, i, end))
        i = _skip_ws(s, end)
        if s[i] == ",":
            i += 1
            continue
        return spans


def _parse_package_json(text: str) -> tuple[Any, int, list[tuple[str, int, int]]]:
    """The document, where its top-level value starts, and that object's member spans (none when
    it is not an object); text that is not JSON cannot be edited in place."""
    try:
        # json refuses a BOM; the offsets below stay those of `text`, BOM included.
        data = json.loads(_split_bom(text)[1])
        top = _skip_ws(text, 1 if text.startswith("\ufeff") else 0)
        members = _member_spans(text, top) if isinstance(data, dict) else []
    except (ValueError, IndexError):
        raise FixNotApplicable("package.json is not valid JSON; fix its syntax first") from None
    return data, top, members


def bump_package_json(text: str, package: str, target: str) -> TextEdit:
    _data, _top, members = _parse_package_json(text)
    replacements: list[tuple[int, int, str]] = []
    risks: list[str] = []
    old: list[str] = []
    specs: list[str] = []
    for key, vstart, _vend in members:
        if key not in _NPM_SECTIONS or text[vstart] != "{":
            continue
        for dep, dstart, dend in _member_spans(text, vstart):
            if dep != package or text[dstart] != '"':
                continue
            current = json.loads(text[dstart:dend])
            edit = bump_npm_range(current, target, package)
            replacements.append((dstart, dend, json.dumps(edit.text)))
            risks.extend(edit.risks)
            old.extend(edit.old_versions)
            specs.append(edit.text)
    if not replacements:
        raise FixNotApplicable(
            f"package.json declares no dependency on {package}; it may be transitive "
            f"(`npm update {package}` or an `overrides` entry fixes those)"
        )
    out = text
    for start, end, new in sorted(replacements, reverse=True):
        out = out[:start] + new + out[end:]
    return TextEdit(out, risks=_dedupe(risks), old_versions=old, new_specs=specs)


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _indent_unit(text: str, top: int, members: list[tuple[str, int, int]]) -> str:
    """The indentation step of the file (from its first member), two spaces when it has none."""
    if members:
        indent = _line_indent(text, members[0][1])
        if indent and "\n" in text[top : members[0][1]]:
            return indent
    return "  "


def add_npm_override(
    text: str, package: str, installed: str, target: str, parents: Sequence[str] = ()
) -> TextEdit:
    """Add the `overrides` members of `remedy.overrides_for` to package.json (creating `overrides`
    when absent), editing the JSON text in place. Refused when a rule for the package (or for one of
    `parents`) exists already: two rules for one package are for a person to reconcile."""
    rules_to_add = overrides_for(package, installed, target, parents)
    if rules_to_add is None:
        raise FixNotApplicable(
            f"{package} {installed} -> {target}: a name or a version does not follow npm's rules; "
            "add an `overrides` entry by hand"
        )
    wanted = json.dumps({"overrides": rules_to_add})
    data, top, members = _parse_package_json(text)
    if not isinstance(data, dict):
        raise FixNotApplicable("package.json is not a JSON object")
    eol = dominant_eol(text)
    unit = _indent_unit(text, top, members)
    pretty = "\n" in text[top : members[0][1]] if members else False
    new_members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in rules_to_add.items()]
    existing = next((m for m in members if m[0] == "overrides"), None)
    if existing is None:
        if pretty:
            inner = f",{eol}{unit * 2}".join(new_members)
            insert = f',{eol}{unit}"overrides": {{{eol}{unit * 2}{inner}{eol}{unit}}}'
        else:
            insert = f', "overrides": {{{", ".join(new_members)}}}'
        if members:
            at = members[-1][2]
            out = text[:at] + insert + text[at:]
        else:
            close = text.index("}", top)
            out = text[: top + 1] + insert[1:].lstrip(" ") + (eol if pretty else "") + text[close:]
    else:
        _, vstart, vend = existing
        if text[vstart] != "{":
            raise FixNotApplicable("package.json `overrides` is not an object; add the entry by hand")
        rules = _member_spans(text, vstart)
        named = {package, *parents}
        clash = [k for k, _, _ in rules if k in named or _rule_name(k) in named]
        if clash:
            raise FixNotApplicable(
                f"package.json already has override rules for {', '.join(repr(c) for c in clash[:3])}; "
                f"reconcile them by hand with {wanted}"
            )
        if rules:
            at = rules[-1][2]
            indent = _line_indent(text, rules[-1][1])
            multiline = "\n" in text[vstart : rules[0][1]]
            sep = f",{eol}{indent}" if multiline else ", "
            out = text[:at] + sep + sep.join(new_members) + text[at:]
        else:
            outer = _line_indent(text, vstart)
            if pretty:
                inner = f",{eol}{outer}{unit}".join(new_members)
                body = f"{{{eol}{outer}{unit}{inner}{eol}{outer}}}"
            else:
                body = f"{{{', '.join(new_members)}}}"
            out = text[:vstart] + body + text[vend:]
    try:
        check = json.loads(out)
    except ValueError:
        check = None
    got = check.get("overrides") if isinstance(check, dict) else None
    if not isinstance(got, dict) or any(got.get(k) != v for k, v in rules_to_add.items()):
        raise FixNotApplicable(f"the override could not be added cleanly; add it by hand: {wanted}")
    return TextEdit(out, notes=[f"adds to package.json: {wanted}"])


def _rule_name(key: str) -> str:
    """The package an override key names: `pkg`, `pkg@range`, `@scope/pkg@range` -> the name."""
    at = key.find("@", 1)
    return key if at < 0 else key[:at]


def _declared_directly(text: str, package: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and any(
        isinstance(data.get(section), dict) and package in data[section] for section in _NPM_SECTIONS
    )


def _parent_name(install_path: str) -> str | None:
    """`node_modules/a/node_modules/@s/b/node_modules/pkg` -> `@s/b`; None at the top level."""
    parts = [p.rstrip("/") for p in install_path.split("node_modules/") if p.strip("/")]
    return parts[-2] if len(parts) >= 2 else None


def _nested_parents(lock_text: str, package: str, version: str) -> list[str]:
    """The packages under which the lockfile installs `package` at `version` (v1, v2, v3)."""
    try:
        lock = json.loads(lock_text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(lock, dict):
        return []
    parents: list[str] = []
    packages = lock.get("packages")
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if (
                isinstance(key, str)
                and key.endswith(f"node_modules/{package}")
                and isinstance(entry, dict)
                and entry.get("version") == version
            ):
                parent = _parent_name(key)
                if parent is not None:
                    parents.append(parent)
        return list(dict.fromkeys(parents))
    stack: list[tuple[str | None, Any, int]] = [(None, lock.get("dependencies"), 0)]
    while stack:
        owner, tree, depth = stack.pop()
        if not isinstance(tree, dict) or depth > 200:
            continue
        for name, entry in tree.items():
            if not isinstance(entry, dict):
                continue
            if name == package and entry.get("version") == version and owner is not None:
                parents.append(owner)
            stack.append((str(name), entry.get("dependencies"), depth + 1))
    return sorted(set(parents))


# -- the edited manifest must stay satisfiable ----------------------------------------------------

_MAX_SET_FILES = 64


@dataclass(frozen=True)
class _Declared:
    where: str  # "requirements.txt line 2"
    text: str
    requirement: Requirement


def _declared_in_requirements(
    view: RepoView, rel: str, text: str, want: str, seen: set[str], out: list[tuple[str, int, Requirement]]
) -> None:
    """Every requirement on `want` in `rel` and the files it includes (-r, -c), as pip reads them."""
    seen.add(rel)
    for line_no, line in logical_lines(_split_bom(text)[1]):
        included = include_of(line)
        if included is not None:
            try:
                child = safe_relpath(posixpath.join(posixpath.dirname(rel), included[0]))
                data = None if child in seen or len(seen) >= _MAX_SET_FILES else view.read(child)
            except SecauditError:
                continue  # outside the root or through a link: the audit did not read it either
            if data is not None:
                _declared_in_requirements(view, child, decode_text(data), want, seen, out)
            continue
        if line.startswith("-"):
            continue
        try:
            req = Requirement(split_options(line)[0])
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == want:
            out.append((rel, line_no, req))


def _declared_in_pyproject(text: str, want: str) -> list[tuple[str, int, Requirement]]:
    """The PEP 621 / dependency-group requirement strings on `want` (Poetry tables are edited whole)."""
    try:
        doc = tomlkit.parse(_split_bom(text)[1]).unwrap()
    except Exception:  # noqa: BLE001 - tomlkit raises several unrelated types
        return []
    raw = doc.get("project")
    project: dict[str, Any] = raw if isinstance(raw, dict) else {}
    arrays: list[tuple[str, Any]] = [("project.dependencies", project.get("dependencies"))]
    for group, items in (project.get("optional-dependencies") or {}).items():
        arrays.append((f"project.optional-dependencies.{group}", items))
    for group, items in (doc.get("dependency-groups") or {}).items():
        arrays.append((f"dependency-groups.{group}", items))
    out: list[tuple[str, int, Requirement]] = []
    for where, items in arrays:
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, str):
                continue
            try:
                req = Requirement(item)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == want:
                out.append((f"pyproject.toml {where}", index + 1, req))
    return out


def _check_satisfiable(
    declared: Sequence[tuple[str, int, Requirement]],
    package: str,
    target: str,
    edited_marker: str | None,
    *,
    item: str = "line",
) -> list[str]:
    """Refuse when a requirement that applies together with the edited one excludes `target`;
    returns notes for those under another marker (not compared)."""
    version = _version(target)
    conflicts: list[str] = []
    notes: list[str] = []
    for where, number, req in declared:
        if req.url or req.specifier.contains(version, prereleases=True):
            continue
        shown = clean_line(str(req), 120)
        marker = str(req.marker) if req.marker is not None else None
        if marker is not None and edited_marker is not None and marker != edited_marker:
            notes.append(
                f"{where} {item} {number} ({shown!r}) excludes {target} under another environment "
                "marker; not compared with the edited requirement, check it applies elsewhere"
            )
            continue
        conflicts.append(f"{where} {item} {number} ({shown!r})")
    if conflicts:
        raise FixNotApplicable(
            f"{package}: moving it to {target} would leave the requirements unsatisfiable: "
            f"{'; '.join(conflicts[:5])} {'excludes' if len(conflicts) == 1 else 'exclude'} {target}. "
            "Raise or remove that constraint by hand (then audit and plan again); nothing was planned."
        )
    return notes


def _satisfiable_requirements(
    view: RepoView, manifest: str, new_text: str, package: str, target: str, line: int | None
) -> list[str]:
    found: list[tuple[str, int, Requirement]] = []
    _declared_in_requirements(view, manifest, new_text, canonicalize_name(package), set(), found)
    edited = [req for rel, number, req in found if rel == manifest and (line is None or number == line)]
    marker = str(edited[0].marker) if edited and edited[0].marker is not None else None
    return _check_satisfiable(found, package, target, marker)


# -- the dependency fixer ------------------------------------------------------------------------

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
# The rule id the deps scanner gives malicious-package findings (secaudit.tools.scanners.deps).
MALICIOUS_RULE = "deps.malicious-package"


def _target(props: DepsAdvisoryProperties) -> str:
    """The deps scanner's smallest safe upgrade: the lowest version above the installed one that no
    known advisory affects (not merely this advisory's first fixed version)."""
    if props.smallest_safe_upgrade is not None:
        return props.smallest_safe_upgrade
    fixed, note = props.fixed_versions, props.upgrade_note
    if fixed:
        raise FixNotApplicable(
            "no safe upgrade is known"
            + (f" ({note[:200]})" if note is not None else "")
            + f"; fixed in {', '.join(fixed[:5])}, but no version clears every advisory: "
            "pick a version by hand, or replace the package"
        )
    raise FixNotApplicable(
        "the advisory names no fixed version, so there is no safe version to move to; "
        "remove or replace the package, or accept the risk with a reason"
    )


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


def _malicious_refusal(finding: Finding, package: str) -> FixNotApplicable:
    props = read_properties(DepsAdvisoryProperties, finding)
    ecosystem = props.ecosystem or NPM
    steps = removal_steps(ecosystem, package, props.direct)
    advisory = (props.advisory_id or finding.rule_id)[:80]
    return FixNotApplicable(
        f"{package} is a malicious package ({advisory}): no version of it is safe, so no version bump "
        "is planned. Remove it instead: "
        + " ".join(f"({i}) {step}." for i, step in enumerate(steps, start=1))
    )


def _npm_save_prefix(specs: list[str]) -> str | None:
    """The save prefix npm must use to write back what the plan wrote; None for a `>=` range."""
    spec = specs[0] if specs else ""
    if spec.startswith("^"):
        return "^"
    if spec.startswith("~"):
        return "~"
    if spec[:1].isdigit() or spec[:1] in ("=", "v"):
        return ""
    return None


def _folder_of(rel: str) -> str:
    folder = str(PurePosixPath(rel).parent)
    return "" if folder == "." else folder


def _in(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _fix_npm(finding: Finding, view: RepoView, package: str, target: str) -> Proposal:
    props = read_properties(DepsAdvisoryProperties, finding)
    declared = props.declared_in
    folder = _folder_of(declared if declared is not None else finding.path)
    where = folder or "."
    current = props.version
    direct = props.direct
    if not npm_name_ok(package):
        raise FixNotApplicable(
            f"the package name {package[:80]!r} does not follow npm's naming rules, so no command or "
            "edit is built from it; change it by hand"
        )
    if not npm_version_ok(target):
        raise FixNotApplicable(f"the target {target[:40]!r} is not a plain SemVer version")
    from_lock = PurePosixPath(finding.path).name in _NPM_LOCKS
    lockfile = next((_in(folder, n) for n in _NPM_LOCKS if view.read(_in(folder, n)) is not None), None)
    manifest = _in(folder, "package.json")
    data = view.read(manifest)
    if data is None:
        command = npm_install_lock_only(package, target)
        raise FixNotApplicable(
            f"{package} is pinned only in {finding.path} and no package.json was found beside it, so "
            f"there is nothing to edit; re-lock it with `{command}` (in {where})"
        )
    text = decode_text(data)
    others = [c for c in _relock(view, folder) if not c.startswith("npm ")]
    if from_lock and direct is False:
        if not isinstance(current, str) or not npm_version_ok(current):
            raise FixNotApplicable(f"the installed version of {package} is unknown; add an override by hand")
        parents: list[str] = []
        if _declared_directly(text, package):
            # A version-keyed rule would clash with the direct dependency (npm: EOVERRIDE): scope
            # the rule to the packages that pull this copy in.
            lock_bytes = view.read(finding.path)
            parents = _nested_parents(decode_text(lock_bytes), package, current) if lock_bytes else []
            if not parents:
                raise FixNotApplicable(
                    f"{package} {current} is a nested copy of a package the project also depends on "
                    f"directly, and {finding.path} does not say which package pulls it in; add an "
                    f'override scoped to that package by hand ({{"overrides": {{"<parent>": '
                    f'{{"{package}": "{target}"}}}}}})'
                )
        edit = add_npm_override(text, package, current, target, parents)
        alternative = npm_install_lock_only(package, target)
        scope = (
            f"under {', '.join(parents)} (the rule is scoped so that it leaves the project's own "
            f"dependency on {package} alone)"
            if parents
            else f"wherever a dependent's range admits {current}"
        )
        notes = [
            *edit.notes,
            f"{package} {current} is a transitive dependency: the override makes npm (8.3 or later) "
            f"install {target} {scope}",
        ]
        if not parents:
            notes.append(
                f"without an override, `{alternative}` also works but adds {package} as a direct "
                "dependency of the project"
            )
        risks = [
            *_major_risk(package, current, target, npm=True),
            f"an override replaces the version {package}'s dependents asked for; run their tests",
        ]
        return Proposal(
            kind="dependency-override",
            summary=f"override transitive {package} {current} -> {target} (package.json `overrides`)",
            changes=[FileChange(manifest, data, encode_text(edit.text))],
            notes=notes,
            risks=risks,
            relock=[
                f"npm install --package-lock-only  (in {where}; applies the override to "
                f"{PurePosixPath(lockfile).name if lockfile else 'a new lockfile'}; lockfiles are never "
                "edited by hand)",
                *others,
            ],
        )
    edit = bump_package_json(text, package, target)
    if edit.text == text:
        raise FixNotApplicable(f"{manifest} already requires {package} >= {target}; re-lock to pick it up")
    notes = [*edit.notes]
    relock: list[str] = []
    prefix = _npm_save_prefix(edit.new_specs)
    if lockfile is not None:
        command = npm_install_lock_only(package, target, save="^" if prefix is None else prefix)
        relock.append(
            f"{command}  (in {where}; re-locks {package} to exactly {target} in "
            f"{PurePosixPath(lockfile).name}; lockfiles are never edited by hand)"
        )
        if prefix is None:
            notes.append(
                f"npm writes `^{target}` into package.json when it runs that command; to keep the "
                f"plan's `{edit.new_specs[0]}`, run `npm install --package-lock-only` instead"
            )
    relock.extend(others)
    if not relock:
        notes.append(
            "no npm lockfile found beside package.json; run `npm install` to install the new version"
        )
    return Proposal(
        kind="dependency-bump",
        summary=f"raise {package} to {target}" + (f" (from {current})" if isinstance(current, str) else ""),
        changes=[FileChange(manifest, data, encode_text(edit.text))],
        notes=notes,
        risks=edit.risks,
        relock=relock,
    )


def fix_dependency(finding: Finding, view: RepoView) -> Proposal:
    props = read_properties(DepsAdvisoryProperties, finding)
    package = props.package
    if package is None:
        raise FixNotApplicable("the finding does not say which package is affected")
    if finding.rule_id == MALICIOUS_RULE or props.malicious:
        raise _malicious_refusal(finding, package)
    if props.hashed:
        raise FixNotApplicable(
            f"{package} is pinned with --hash in {finding.path}: a hash-pinned file is regenerated, not "
            "edited (e.g. `pip-compile --generate-hashes`), so the new hash is the one the index serves"
        )
    target = _target(props)
    if props.ecosystem == NPM or PurePosixPath(finding.path).name in _NPM_FILES:
        return _fix_npm(finding, view, package, target)
    # The deps scanner reports a locked version on the lockfile line (the finding's path); for a
    # direct dependency it names the manifest that declares it, which is the file to edit.
    declared = props.declared_in
    manifest = declared if declared is not None else finding.path
    name = PurePosixPath(manifest).name
    folder = str(PurePosixPath(manifest).parent)
    folder = "" if folder == "." else folder
    if name in LOCKFILES or name in _PY_LOCKS:
        # The vulnerable version sits in a lockfile: edit the manifest next to it if it declares the
        # package directly, and re-lock.
        candidates = (
            ["package.json"]
            if name in ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
            else ["pyproject.toml"]
        )
        manifest = f"{folder}/{candidates[0]}" if folder else candidates[0]
        name = candidates[0]
        if view.read(manifest) is None:
            lock_command = LOCKFILES.get(PurePosixPath(finding.path).name, "the lock command")
            raise FixNotApplicable(
                f"{package} is pinned only in the lockfile and no {name} was found beside it; "
                f"update it with the lock tool (e.g. {lock_command})"
            )
    data = view.read(manifest)
    if data is None:
        raise FixNotApplicable(f"{manifest} no longer exists; run the audit again")
    text = decode_text(data)
    line = props.declared_line if declared is not None else finding.start_line
    if name == "package.json":
        edit = bump_package_json(text, package, target)
    elif name == "pyproject.toml":
        edit = bump_pyproject(text, package, target)
    elif (name.endswith(".txt") and "requirements" in name) or name.endswith(".in"):
        edit = bump_requirements(text, package, target, line=line)
    else:
        raise FixNotApplicable(
            f"{name}: dependency fixes edit requirements*.txt, pyproject.toml and package.json"
        )
    if edit.text == text:
        raise FixNotApplicable(f"{manifest} already requires {package} >= {target}; re-lock to pick it up")
    relock = _relock(view, folder, manifest if name.endswith(".txt") else None)
    notes = [*edit.notes]
    if name == "pyproject.toml":
        notes.extend(
            _check_satisfiable(
                _declared_in_pyproject(edit.text, canonicalize_name(package)),
                package,
                target,
                None,
                item="entry",
            )
        )
    elif name != "package.json":
        notes.extend(_satisfiable_requirements(view, manifest, edit.text, package, target, line))
    if name == "package.json" and not relock:
        notes.append(
            "no npm lockfile found beside package.json; run `npm install` to install the new version"
        )
    current = props.version
    summary = f"raise {package} to {target}" + (f" (from {current})" if current is not None else "")
    return Proposal(
        kind="dependency-bump",
        summary=summary,
        changes=[FileChange(manifest, data, encode_text(edit.text))],
        notes=notes,
        risks=edit.risks,
        relock=relock,
    )


class DepsFixer(Fixer):
    name = "deps"
    supported = (
        "any advisory with a smallest safe upgrade, in requirements*.txt, pyproject.toml or package.json",
    )

    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        if finding.rule_id == "deps.unpinned":
            raise FixNotApplicable(
                "an unpinned requirement has no known vulnerable version to move away from; pin it "
                "(or lock it) and audit again"
            )
        return fix_dependency

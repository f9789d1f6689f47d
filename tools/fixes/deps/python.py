"""Python dependency bumps: PEP 440 specifiers, pip requirements files, pyproject.toml (PEP 621 and
Poetry). Pure text functions, each editing only the version constraint and keeping everything else
byte-for-byte (markers, extras, comments, options, `${VAR}` references, line endings):

- `bump_requirements(text, package, target, line=None)`: a pip requirements file.
- `bump_pyproject(text, package, target)`: PEP 621 `dependencies` / `optional-dependencies`
  strings and Poetry dependency tables, edited through tomlkit so formatting and comments stay.


Rules for PEP 440 specifiers (T = the target version); the result never admits a version below T:
- `==V`, `===V` -> `==T`.   `>=V`, `>V` -> `>=T`.   `~=V` -> `~=T` (at least two release parts;
  when T has more parts than V this narrows the series, and a note says so).
- `==P.*` is kept when T matches it, otherwise moved to T's series; `>=T` is added beside it.
- `<V`, `<=V` are kept when T satisfies them, else replaced by `<{T.major + 1}` with a risk note.
- `!=V` is kept; if it excludes T exactly the fix is refused.
- no lower bound at all (bare name, only upper bounds) -> `>=T` is added.
Poetry: `^V` -> `^T`, `~V` -> `~T`, exact `V`/`==V`/`=V` -> T with the same operator, `*` -> `>=T`,
PEP 440 style lists go through the rules above; `||` unions are refused.
"""

from __future__ import annotations

import re
from typing import Any

import tomlkit
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from secaudit.tools.deps.sources.requirements import continues
from secaudit.tools.fixes.deps.common import (
    TextEdit,
    _dedupe,
    _major_risk,
    _split_bom,
    _version,
)
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    eol_of,
    split_lines,
)

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

"""npm dependency fixes: package.json ranges, `overrides`, and the npm re-lock commands.

- `bump_package_json(text, package, target)`: npm ranges, edited in place inside the JSON text
  (no re-dump, so indentation, key order and the final newline stay).

npm: `^V` -> `^T`, `~V` -> `~T`, exact `V`/`=V`/`vV` -> T, `>=V` -> `>=T`, `>=V <W` keeps `<W`
when T < W; unions, hyphen ranges, x-ranges, tags, URLs and aliases are refused (edit them by hand).


npm specifics (`fix_dependency`):
- a direct dependency: its `package.json` range is raised, and the plan's re-lock command is exactly
  `npm install <pkg>@<T> --package-lock-only` (with `--save-exact` or `--save-prefix=~` when the
  edited range is exact or a tilde range, so npm leaves package.json as the plan made it);
- a transitive one (in the lockfile only, or a nested copy of a package also declared directly):
  `add_npm_override` adds `"overrides": {"<pkg>@<installed>": "<T>"}` to package.json (the key names
  the installed version, so only dependents whose range admits it move), re-locked with
  `npm install --package-lock-only`; the notes give the exact JSON. When the project also depends on
  the package directly, npm refuses that key (EOVERRIDE), so the rule is scoped to the packages the
  removal recipe (`secaudit.tools.deps.remedy.removal_steps`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import PurePosixPath
from typing import Any

from secaudit.tools.deps.remedy import (
    npm_install_lock_only,
    npm_name_ok,
    npm_version_ok,
    overrides_for,
)
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.deps.common import (
    _NPM_LOCKS,
    TextEdit,
    _dedupe,
    _folder_of,
    _in,
    _major_risk,
    _relock,
    _split_bom,
)
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    FileChange,
    Proposal,
    RepoView,
    decode_text,
    dominant_eol,
    encode_text,
)
from secaudit.tools.scanners.contracts import DepsAdvisoryProperties, read_properties

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

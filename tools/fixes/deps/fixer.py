"""The dependency fixer: `fix_dependency` (one proposal per advisory finding, dispatched to the
Python or npm edits), the malicious-package refusal, and the `DepsFixer` plug-in.

- a malicious package (`deps.malicious-package`): no bump is ever planned; the refusal gives the
  removal recipe (`secaudit.tools.deps.remedy.removal_steps`).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from packaging.utils import canonicalize_name

from secaudit.tools.advisories.names import NPM
from secaudit.tools.deps.remedy import (
    removal_steps,
)
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.deps.common import (
    _NPM_FILES,
    _PY_LOCKS,
    LOCKFILES,
    _relock,
)
from secaudit.tools.fixes.deps.npm import _fix_npm, bump_package_json
from secaudit.tools.fixes.deps.python import bump_pyproject, bump_requirements
from secaudit.tools.fixes.deps.satisfiable import (
    _check_satisfiable,
    _declared_in_pyproject,
    _satisfiable_requirements,
)
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    FileChange,
    Fixer,
    Generator,
    Proposal,
    RepoView,
    decode_text,
    encode_text,
)
from secaudit.tools.scanners.contracts import DepsAdvisoryProperties, read_properties

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

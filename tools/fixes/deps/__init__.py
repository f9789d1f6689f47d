"""Dependency fixes: raise a requirement to a target (the smallest non-vulnerable) version.

One module per concern:
- `common`: the `TextEdit` result, version and risk helpers, byte order mark helpers, the lockfile
  table and the re-lock commands;
- `python`: PEP 440 specifiers, requirements files, pyproject.toml (PEP 621 and Poetry) bumps;
- `satisfiable`: the check that an edited Python manifest still admits the target;
- `npm`: package.json ranges, `overrides`, and the npm fix with its re-lock commands;
- `fixer`: `fix_dependency`, the malicious-package refusal and the `DepsFixer` plug-in.

A major-version change (or a minor change below 1.0) is reported as a risk. Lockfiles are never
edited: the proposal names the command that re-locks.
"""

from __future__ import annotations

from secaudit.tools.fixes.deps.common import LOCKFILES, TextEdit
from secaudit.tools.fixes.deps.fixer import MALICIOUS_RULE, DepsFixer, fix_dependency
from secaudit.tools.fixes.deps.npm import add_npm_override, bump_npm_range, bump_package_json
from secaudit.tools.fixes.deps.python import (
    bump_pep440,
    bump_poetry_constraint,
    bump_pyproject,
    bump_requirements,
)

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

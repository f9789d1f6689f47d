"""The commands and recipes shown for a vulnerable or malicious dependency: one home for their text,
used by the `deps` scanner (finding messages) and the dependency fixer (plans and refusals).

Every command here is text shown to a person or an agent, never run by us. Package names and
versions come from the audited repository or an advisory, so they are untrusted: a command is built
only from a name that passes npm's naming rules restricted to characters no shell treats specially
(`npm_name_ok`) and a plain SemVer version (`npm_version_ok`); anything else yields no command,
and the caller says to act by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from secaudit.tools.advisories.names import NPM, PYPI, valid_name

__all__ = [
    "npm_install_lock_only",
    "npm_name_ok",
    "npm_version_ok",
    "overrides_for",
    "removal_steps",
]

_SEMVER = re.compile(
    r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_PYPI_MAX_NAME = 200  # a name in a shown command; longer ones are refused (no real name is)


def npm_name_ok(name: str) -> bool:
    """Whether `name` is a valid npm package name made only of shell-inert characters
    (`names.valid_name`: npm's rules, narrowed to letters, digits, `.`, `_`, `-`)."""
    return valid_name(NPM, name)


def npm_version_ok(version: str) -> bool:
    return len(version) <= 100 and _SEMVER.match(version) is not None


def npm_install_lock_only(name: str, version: str, *, save: str = "^") -> str | None:
    """`npm install <name>@<version> --package-lock-only`: re-locks one package to one version.

    npm also rewrites the package.json range with its save prefix; `save` is the prefix the plan's
    own edit used ("^" npm's default, "~" or "" for an exact pin), and the matching flag is added so
    the command leaves package.json as the plan made it. None when the name or version is unsafe.
    """
    if not (npm_name_ok(name) and npm_version_ok(version)):
        return None
    command = f"npm install {name}@{version} --package-lock-only"
    if save == "":
        command += " --save-exact"
    elif save == "~":
        command += " --save-prefix=~"
    return command


def overrides_for(
    name: str, installed: str, target: str, parents: Sequence[str] = ()
) -> dict[str, str | dict[str, str]] | None:
    """The `overrides` members moving `name` at `installed` to `target`, or None when a name or
    version is unsafe.

    Without `parents` the key names the installed version (`"pkg@1.2.3": T`), so only dependents
    whose range admits that version are moved; copies on other major lines stay. npm refuses such a
    key (EOVERRIDE) when the project also depends on the package directly with a range admitting the
    installed version; for that case the caller names the dependents that pull the copy in, and each
    gets a scoped rule (`"parent": {"pkg": T}`), which npm accepts beside the direct dependency.
    """
    names = [name, *parents]
    if not (all(npm_name_ok(n) for n in names) and npm_version_ok(installed) and npm_version_ok(target)):
        return None
    if parents:
        return {parent: {name: target} for parent in parents}
    return {f"{name}@{installed}": target}


def removal_steps(ecosystem: str, name: str, direct: bool | None) -> list[str]:
    """How to get rid of a malicious package, and what to do about what it could reach."""
    steps: list[str] = []
    if ecosystem == NPM and npm_name_ok(name):
        if direct is not False:
            steps.append(f"remove it: `npm uninstall {name}` (updates package.json and the lockfile)")
        if direct is not True:
            steps.append(
                f"find what pulls it in: `npm explain {name}`; remove or replace that dependency, then "
                "re-lock (`npm install --package-lock-only`)"
            )
        steps.append("delete node_modules and install again from the cleaned lockfile")
    elif ecosystem == PYPI and len(name) <= _PYPI_MAX_NAME and valid_name(PYPI, name):
        steps.append(
            f"remove it from every requirements file or pyproject.toml that names it, then "
            f"`pip uninstall {name}` in each environment that installed it"
        )
        if direct is not True:
            steps.append(f"find what pulls it in (`pipdeptree -r -p {name}`) and remove or replace that")
    else:
        steps.append(
            "remove it from the manifest and lockfile by hand (its name is not shown in a command: "
            "it does not follow the registry's naming rules)"
        )
    steps.append(
        "treat every machine that installed it as exposed: its install scripts may have run with "
        "everything the install environment could read. Rotate the credentials available there "
        "(registry tokens, cloud and CI secrets, SSH keys, values in .env files) and review what ran"
    )
    return steps

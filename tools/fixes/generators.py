"""Which generator fixes which finding: dispatch on the exact scanner names and rule ids the
built-in scanners emit (tools/scanners/). docs/fixes.md lists the same table.

    bandit    B506 B501 B306 B201 B324 B303             -> code fixes (libcst)
    deps      any advisory id (not `deps.unpinned`)     -> pin bump in the manifest declaring it
    secrets   every `secrets.*` rule, in Python code    -> the literal becomes an environment lookup
    config    config.env-file-not-ignored               -> `.gitignore` entry
              config.docker-root-user                   -> a non-root USER in the final stage
    semgrep   js-express-x-powered-by                   -> JS/TS text edits bounded by the reported
              js-tls-reject-unauthorized-off               span (tools/fixes/javascript.py); every
              js-jwt-verify-no-algorithms                  other semgrep rule is refused with its
              js-math-random-secret                        manual recipe (`fix_recipe`)

The secrets fix checks, with the store's key, that the literal it replaces is the secret the scanner
hashed (`properties["secret_id"]`), so a file edited since the audit is never "fixed" at the wrong
string; that is why `generator_for` takes the key.
"""

from __future__ import annotations

import functools

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.code import BANDIT_FIXES, fix_bandit
from secaudit.tools.fixes.config import fix_dockerfile_user, fix_env_ignored
from secaudit.tools.fixes.deps import fix_dependency
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.javascript import JS_FIXES, fix_semgrep, refuse_semgrep
from secaudit.tools.fixes.model import Generator
from secaudit.tools.fixes.secrets import fix_secret

__all__ = ["CONFIG_FIXES", "SUPPORTED", "generator_for"]

CONFIG_FIXES: dict[str, Generator] = {
    "config.env-file-not-ignored": fix_env_ignored,
    "config.docker-root-user": fix_dockerfile_user,
}

# Config rules whose remedy is not an edit of the working tree: the refusal says what to do.
_CONFIG_BY_HAND = {
    "config.env-file-committed": (
        "git already tracks this file, so ignoring it changes nothing: run `git rm --cached <file>`, "
        "rotate every secret it held (it stays in the history), then plan again to add it to .gitignore"
    ),
}

SUPPORTED = {
    "bandit": sorted(BANDIT_FIXES),
    "deps": [
        "any advisory with a smallest safe upgrade, in requirements*.txt, pyproject.toml or package.json"
    ],
    "secrets": ["every secrets.* rule, for a string literal in Python code"],
    "config": sorted(CONFIG_FIXES),
    "semgrep": sorted(JS_FIXES),
}


def generator_for(finding: Finding, *, secret_key: bytes | None = None) -> Generator:
    scanner, rule = finding.scanner, finding.rule_id
    if scanner == "bandit" and rule in BANDIT_FIXES:
        return fix_bandit
    if scanner == "deps" and rule != "deps.unpinned":
        return fix_dependency
    if scanner == "deps":
        raise FixNotApplicable(
            "an unpinned requirement has no known vulnerable version to move away from; pin it "
            "(or lock it) and audit again"
        )
    if scanner == "secrets" and rule.startswith("secrets."):
        return functools.partial(fix_secret, secret_key=secret_key)
    if scanner == "config" and rule in CONFIG_FIXES:
        return CONFIG_FIXES[rule]
    if scanner == "config" and rule in _CONFIG_BY_HAND:
        raise FixNotApplicable(_CONFIG_BY_HAND[rule])
    if scanner == "semgrep" and rule in JS_FIXES:
        return fix_semgrep
    if scanner == "semgrep":
        raise refuse_semgrep(finding)
    raise FixNotApplicable(
        f"no automatic fix for {scanner} rule {rule}; fixes exist for: "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in SUPPORTED.items())
    )

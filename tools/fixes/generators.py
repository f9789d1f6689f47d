"""Which generator fixes which finding: one `Fixer` per scanner (`secaudit.tools.fixes.model`),
registered here under the scanner's name; each picks by the exact rule ids its scanner emits.
docs/fixes.md lists the same table.

    bandit    B506 B501 B306 B201 B324 B303             -> code fixes (libcst)
    deps      any advisory id (not `deps.unpinned`)     -> pin bump in the manifest declaring it
    secrets   every `secrets.*` rule, in Python code    -> the literal becomes an environment lookup
    config    config.env-file-not-ignored               -> `.gitignore` entry
              config.docker-root-user                   -> a non-root USER in the final stage
    semgrep   js-express-x-powered-by                   -> JS/TS text edits bounded by the reported
              js-tls-reject-unauthorized-off               span (tools/fixes/javascript.py); every
              js-jwt-verify-no-algorithms                  other semgrep rule is refused with its
              js-math-random-secret                        manual recipe (`fix_recipe`)

The secrets fix needs the store's key (see `SecretsFixer`); that is why `generator_for` takes it.
"""

from __future__ import annotations

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import Fixer, Generator
from secaudit.tools.plugins import Registry

__all__ = ["FIXERS", "generator_for", "supported"]

FIXERS: Registry[Fixer] = Registry("fix generator", Fixer)
FIXERS.register("bandit", "secaudit.tools.fixes.code:BanditFixer")
FIXERS.register("deps", "secaudit.tools.fixes.deps:DepsFixer")
FIXERS.register("secrets", "secaudit.tools.fixes.secrets:SecretsFixer")
FIXERS.register("config", "secaudit.tools.fixes.config:ConfigFixer")
FIXERS.register("semgrep", "secaudit.tools.fixes.javascript:SemgrepFixer")


def supported() -> dict[str, list[str]]:
    """What each registered fixer fixes, by scanner name."""
    return {fixer.name: list(fixer.supported) for fixer in FIXERS.all()}


def generator_for(finding: Finding, *, secret_key: bytes | None = None) -> Generator:
    generator = None
    if finding.scanner in FIXERS:
        generator = FIXERS.get(finding.scanner)().generator_for(finding, secret_key=secret_key)
    if generator is None:
        raise FixNotApplicable(
            f"no automatic fix for {finding.scanner} rule {finding.rule_id}; fixes exist for: "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in supported().items())
        )
    return generator

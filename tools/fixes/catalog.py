"""Which findings a fix generator can handle, told cheaply from the finding alone (no plan, no file
read): the `fixable` / `fix_kind` of every listed finding, and the `plan_fix` hint of a run.

Light on purpose (no libcst, no scanner): listings in the light CLI commands use it. It answers
"would `generator_for` hand this finding to a generator", mirroring the `Fixer`s registered in
`generators.py`; tests/tools/fixes/test_catalog.py keeps the two in agreement. A planned fix may
still refuse (the file changed, the code is not the shape the rewrite needs); `fixable` says a
generator exists, not that its plan will succeed.

The findings service is handed `fix_kind` by the composition root (`secaudit.server.context`):
`tools.findings` cannot import `tools.fixes` (fixes read findings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["FIX_KINDS", "FixKind", "fix_kind"]

FixKind = Literal["code", "dependency", "secret", "config"]
FIX_KINDS: tuple[FixKind, ...] = ("code", "dependency", "secret", "config")

# The rule ids with a generator, per scanner (code.py BANDIT_FIXES, config.py CONFIG_FIXES,
# javascript.py JS_FIXES).
BANDIT_RULES = frozenset({"B201", "B303", "B306", "B324", "B501", "B506"})
CONFIG_RULES = frozenset({"config.docker-root-user", "config.env-file-not-ignored"})
SEMGREP_RULES = frozenset(
    {
        "js-express-x-powered-by",
        "js-jwt-verify-no-algorithms",
        "js-math-random-secret",
        "js-tls-reject-unauthorized-off",
    }
)
# deps rules refused outright (deps/fixer.py): nothing to bump to, or a package to remove.
DEPS_REFUSED = frozenset({"deps.unpinned", "deps.malicious-package"})
_BANDIT_KEY = re.compile(r"B\d{3}")


def _deps_fixable(properties: Mapping[str, Any]) -> bool:
    # The keys of DepsAdvisoryProperties (tools/scanners/contracts.py) the dependency fix refuses on.
    package = properties.get("package") or properties.get("name")
    return bool(
        package
        and properties.get("smallest_safe_upgrade")
        and not properties.get("malicious")
        and not properties.get("hashed")
    )


def fix_kind(scanner: str, rule_id: str, path: str, properties: Mapping[str, Any] | None) -> FixKind | None:
    """The kind of automatic fix `plan_fix` has for a finding, or None when it has none.

    `properties` are the finding's stored properties; only deps findings need them (None: unknown,
    so a deps finding is not called fixable).
    """
    if scanner == "bandit":
        key = _BANDIT_KEY.match(rule_id.strip().upper())
        return "code" if key is not None and key.group(0) in BANDIT_RULES else None
    if scanner == "semgrep":
        return "code" if rule_id in SEMGREP_RULES else None
    if scanner == "config":
        return "config" if rule_id in CONFIG_RULES else None
    if scanner == "secrets":
        return "secret" if rule_id.startswith("secrets.") and path.endswith((".py", ".pyi")) else None
    if scanner == "deps":
        if rule_id in DEPS_REFUSED or properties is None:
            return None
        return "dependency" if _deps_fixable(properties) else None
    return None

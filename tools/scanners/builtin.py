"""The scanner modules shipped with secaudit; importing one registers its scanner.

Areas append their module here, one line each. The engine imports this list once, lazily.
"""

from __future__ import annotations

import importlib

__all__ = ["BUILTIN_SCANNER_MODULES", "load_builtin_scanners"]

BUILTIN_SCANNER_MODULES: list[str] = [
    "secaudit.tools.scanners.bandit_scanner",
    "secaudit.tools.scanners.deps",
    "secaudit.tools.scanners.secrets_scanner",
    "secaudit.tools.scanners.config_scanner",
    "secaudit.tools.scanners.semgrep.scanner",
]


def load_builtin_scanners() -> None:
    for module in BUILTIN_SCANNER_MODULES:
        importlib.import_module(module)

"""The scanner registry, with the scanners shipped with secaudit.

A new scanner is one `SCANNERS.register` line here (by reference: the module is imported on first
use, not when the server starts) and a class implementing `secaudit.tools.scanners.interface.Scanner`.
"""

from __future__ import annotations

from secaudit.tools.plugins import Registry
from secaudit.tools.scanners.interface import Scanner, ScannerError

__all__ = ["SCANNERS", "get_scanner"]

SCANNERS: Registry[Scanner] = Registry("scanner", Scanner)
SCANNERS.register("bandit", "secaudit.tools.scanners.bandit_scanner:BanditScanner")
SCANNERS.register("deps", "secaudit.tools.scanners.deps:DepsScanner")
SCANNERS.register("secrets", "secaudit.tools.scanners.secrets_scanner:SecretsScanner")
SCANNERS.register("config", "secaudit.tools.scanners.config_scanner:ConfigScanner")


def get_scanner(name: str) -> Scanner:
    """A new instance of the scanner registered as `name`; ScannerError when there is none."""
    if name not in SCANNERS:
        raise ScannerError(
            f"unknown scanner {name!r}; available: {', '.join(sorted(SCANNERS.names())) or 'none'}"
        )
    return SCANNERS.get(name)()

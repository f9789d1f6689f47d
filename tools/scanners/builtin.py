"""The scanner registry, with the scanners shipped with secaudit.

A new scanner is one `SCANNERS.register` line here (by reference: the module is imported on first
use, not when the server starts) and a class implementing `secaudit.tools.scanners.interface.Scanner`.

`validate_scanner_options` turns configured values (per scanner name) into each scanner's frozen `Options`.
"""

from __future__ import annotations

from collections.abc import Mapping

from secaudit.tools.plugins import Registry
from secaudit.tools.scanners.interface import Scanner, ScannerError, ScannerOptions, ScannerOptionsError

__all__ = ["SCANNERS", "get_scanner", "validate_scanner_options"]

SCANNERS: Registry[Scanner] = Registry("scanner", Scanner)
SCANNERS.register("bandit", "secaudit.tools.scanners.bandit_scanner:BanditScanner")
SCANNERS.register("deps", "secaudit.tools.scanners.deps:DepsScanner")
SCANNERS.register("secrets", "secaudit.tools.scanners.secrets_scanner:SecretsScanner")
SCANNERS.register("config", "secaudit.tools.scanners.config.scanner:ConfigScanner")
SCANNERS.register("semgrep", "secaudit.tools.scanners.semgrep.scanner:SemgrepScanner")


def get_scanner(name: str) -> Scanner:
    """A new instance of the scanner registered as `name`; ScannerError when there is none."""
    if name not in SCANNERS:
        raise ScannerError(
            f"unknown scanner {name!r}; available: {', '.join(sorted(SCANNERS.names())) or 'none'}"
        )
    return SCANNERS.get(name)()


def validate_scanner_options(
    configured: Mapping[str, ScannerOptions | Mapping[str, object]] | None,
) -> dict[str, ScannerOptions]:
    """Each configured scanner's options, validated into its own `Options` type.

    ScannerOptionsError for options of a scanner that is not registered, an unknown option, or a
    value of the wrong type."""
    out: dict[str, ScannerOptions] = {}
    for name, values in (configured or {}).items():
        if name not in SCANNERS:
            raise ScannerOptionsError(
                f"options given for unknown scanner {name[:60]!r}; "
                f"available: {', '.join(sorted(SCANNERS.names()))}"
            )
        kind = SCANNERS.get(name).Options
        if isinstance(values, ScannerOptions):
            if not isinstance(values, kind):
                raise ScannerOptionsError(
                    f"{name} scanner options must be {kind.__name__}, not {type(values).__name__}"
                )
            out[name] = values
        else:
            out[name] = kind.parse(name, values)
    return out

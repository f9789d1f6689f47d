"""Scanner plug-ins behind one interface (`secaudit.tools.scanners.interface`), registered in
`secaudit.tools.scanners.builtin`."""

from secaudit.tools.scanners.builtin import SCANNERS, get_scanner, validate_scanner_options
from secaudit.tools.scanners.interface import (
    CancelToken,
    FileRef,
    FileSkip,
    NoOptions,
    ResultCache,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerOptions,
    ScannerOptionsError,
    ScannerUnavailable,
    ScanResult,
)

__all__ = [
    "SCANNERS",
    "CancelToken",
    "FileRef",
    "FileSkip",
    "NoOptions",
    "ResultCache",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "ScannerOptions",
    "ScannerOptionsError",
    "ScannerUnavailable",
    "get_scanner",
    "validate_scanner_options",
]

"""Scanner plug-ins behind one interface (`secaudit.tools.scanners.interface`), registered in
`secaudit.tools.scanners.builtin`."""

from secaudit.tools.scanners.builtin import SCANNERS, get_scanner
from secaudit.tools.scanners.interface import (
    CancelToken,
    FileRef,
    FileSkip,
    ResultCache,
    ScanContext,
    Scanner,
    ScannerError,
    ScannerUnavailable,
    ScanResult,
)

__all__ = [
    "SCANNERS",
    "CancelToken",
    "FileRef",
    "FileSkip",
    "ResultCache",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "ScannerUnavailable",
    "get_scanner",
]

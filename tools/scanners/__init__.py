"""Scanner plug-ins behind one interface (`secaudit.tools.scanners.interface`)."""

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
    available_scanners,
    get_scanner,
    register_scanner,
)

__all__ = [
    "CancelToken",
    "FileRef",
    "FileSkip",
    "ResultCache",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "ScannerUnavailable",
    "available_scanners",
    "get_scanner",
    "register_scanner",
]

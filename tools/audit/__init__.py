"""The audit engine: walk a repository once, run the scanners, record the run."""

from secaudit.tools.audit.cache import StoreCache
from secaudit.tools.audit.engine import AuditService, ProgressFn, test_path_options
from secaudit.tools.walker import DEFAULT_EXCLUDED_DIRS, WalkResult, walk

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "AuditService",
    "ProgressFn",
    "StoreCache",
    "WalkResult",
    "test_path_options",
    "walk",
]

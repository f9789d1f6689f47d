"""Fixes: planned (exact diff), locked and atomic, verified, revertible; with their history.

The service (`FixService`) is imported from `secaudit.tools.fixes.service`; this package keeps its
import light so the store's migration list can name `tables.MIGRATIONS` without loading libcst.
"""

from secaudit.tools.fixes.errors import BackupUnavailable, FixError, FixNotApplicable

__all__ = ["BackupUnavailable", "FixError", "FixNotApplicable"]

"""Every migration of the main store, by component. Areas append their tuple here, one line each.

The tasks component is migrated separately, in the tasks database (which may be another file).
"""

from __future__ import annotations

from secaudit.tools import events, findings
from secaudit.tools.advisories.schema import MIGRATIONS as ADVISORY_MIGRATIONS
from secaudit.tools.fixes.tables import MIGRATIONS as FIXES_MIGRATIONS
from secaudit.tools.hooks.schema import MIGRATIONS as HOOKS_MIGRATIONS
from secaudit.tools.store import Migration

__all__ = ["STORE_MIGRATIONS"]

STORE_MIGRATIONS: tuple[Migration, ...] = (
    # e.g. *findings.MIGRATIONS,
    *ADVISORY_MIGRATIONS,
    *events.MIGRATIONS,
    *findings.MIGRATIONS,
    *FIXES_MIGRATIONS,
    *HOOKS_MIGRATIONS,
)

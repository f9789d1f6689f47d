"""Schema migrations, numbered per component.

Each feature area (tasks, findings, advisories, fixes, events) owns a component name and an ordered
list of migrations. The store applies the ones not yet recorded in `secaudit_migrations`, each in its
own transaction, so the schema only ever changes here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Migration"]


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]

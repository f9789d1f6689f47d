"""Offline OSV advisory database: parsing, version matching, storage, download.

The names below are loaded from their modules on first use (PEP 562): opening the store needs only
the tables' migrations (schema.py), and an agent hook or a light command that never matches a
version does not pay for importing the parser, the version schemes and CVSS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secaudit.tools.advisories.db import (
        AdvisoryDB,
        DBStatus,
        EcosystemCount,
        ImportReport,
        PackageAdvisory,
        SourceInfo,
    )
    from secaudit.tools.advisories.matching import MatchResult, Upgrade, is_affected, smallest_safe_upgrade
    from secaudit.tools.advisories.model import (
        Advisory,
        AdvisoryError,
        AdvisoryFormatError,
        AdvisorySeverity,
        AffectedPackage,
        AffectedRange,
        DatabaseUpdateFailed,
        Event,
        Reference,
    )
    from secaudit.tools.advisories.names import NPM, PYPI, SUPPORTED_ECOSYSTEMS, normalize_name
    from secaudit.tools.advisories.osv import iter_documents, parse_record
    from secaudit.tools.advisories.schema import MIGRATIONS

__all__ = [
    "MIGRATIONS",
    "NPM",
    "PYPI",
    "SUPPORTED_ECOSYSTEMS",
    "Advisory",
    "AdvisoryDB",
    "AdvisoryError",
    "AdvisoryFormatError",
    "AdvisorySeverity",
    "AffectedPackage",
    "AffectedRange",
    "DBStatus",
    "DatabaseUpdateFailed",
    "EcosystemCount",
    "Event",
    "ImportReport",
    "MatchResult",
    "PackageAdvisory",
    "Reference",
    "SourceInfo",
    "Upgrade",
    "is_affected",
    "iter_documents",
    "normalize_name",
    "parse_record",
    "smallest_safe_upgrade",
]

_HOMES: dict[str, str] = {
    "Advisory": "model",
    "AdvisoryDB": "db",
    "AdvisoryError": "model",
    "AdvisoryFormatError": "model",
    "AdvisorySeverity": "model",
    "AffectedPackage": "model",
    "AffectedRange": "model",
    "DBStatus": "db",
    "DatabaseUpdateFailed": "model",
    "EcosystemCount": "db",
    "Event": "model",
    "ImportReport": "db",
    "MIGRATIONS": "schema",
    "MatchResult": "matching",
    "NPM": "names",
    "PYPI": "names",
    "PackageAdvisory": "db",
    "Reference": "model",
    "SUPPORTED_ECOSYSTEMS": "names",
    "SourceInfo": "db",
    "Upgrade": "matching",
    "is_affected": "matching",
    "iter_documents": "osv",
    "normalize_name": "names",
    "parse_record": "osv",
    "smallest_safe_upgrade": "matching",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value

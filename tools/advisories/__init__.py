"""Offline OSV advisory database: parsing, version matching, storage, download."""

from secaudit.tools.advisories.db import (
    MIGRATIONS,
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

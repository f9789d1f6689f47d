"""The contract between a scanner and the code that reads its findings' `properties` (the fix
generators): one frozen model per scanner, naming each property that is read and its type.

A reader never indexes `finding.properties` for these: it calls `read_properties(Model, finding)`,
which validates the types (a property whose type changed fails loudly, with the finding named) and
answers with attributes (reading a property the contract lacks is an AttributeError at run time and
a mypy error before). The scanners' tests check that what each scanner emits satisfies its model
and carries every property the model names, so renaming or dropping one on either side breaks a
test instead of silently turning a fix into "not applicable".

Every property has a default: findings imported from SARIF, written by hand in a findings file, or
stored by an older version carry fewer properties, and the fix then refuses with its usual reason.
As before, an empty value (None, "", []) counts as absent.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.model import Finding

__all__ = [
    "DepsAdvisoryProperties",
    "FindingProperties",
    "FindingPropertiesError",
    "SecretProperties",
    "read_properties",
]


class FindingPropertiesError(InvalidInput):
    code = "finding_properties_invalid"


class FindingProperties(BaseModel):
    """Base of a contract: frozen; properties the reader does not name are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    scanner: ClassVar[str]
    # Properties read when present that the scanner itself never emits (a caller's findings file
    # may carry them); the contract test does not expect them in the scanner's output.
    not_emitted: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in (None, "", [], ())}
        return data


class DepsAdvisoryProperties(FindingProperties):
    """What the dependency fix reads from a `deps` advisory finding (tools/fixes/deps.py)."""

    scanner = "deps"

    package: str | None = Field(default=None, validation_alias=AliasChoices("package", "name"))
    version: str | None = None  # the vulnerable version, for the plan's summary
    smallest_safe_upgrade: str | None = None  # the lowest version no known advisory affects
    fixed_versions: tuple[str, ...] = ()
    upgrade_note: str | None = None  # why there is no safe upgrade
    hashed: bool = False  # pinned with --hash: regenerated, never edited
    declared_in: str | None = None  # for a locked direct dependency: the manifest declaring it
    declared_line: int | None = None
    ecosystem: str | None = None  # "npm" takes the npm path (package.json, overrides, re-lock)
    direct: bool | None = None  # a direct dependency (True), transitive (False), unknown (None)
    malicious: bool = False  # an OSV MAL- record: remove the package, never bump it
    advisory_id: str | None = None


class SecretProperties(FindingProperties):
    """What the secrets fix reads from a `secrets` finding (tools/fixes/secrets.py)."""

    scanner = "secrets"
    not_emitted = frozenset({"env_name"})

    # The keyed hash of the value: the fix checks the literal it replaces is that very secret.
    secret_id: str | None = None
    preview: str | None = Field(
        default=None, validation_alias=AliasChoices("preview", "masked", "masked_preview")
    )
    env_name: str | None = None  # a caller's choice of environment variable name


_P = TypeVar("_P", bound=FindingProperties)


def read_properties(contract: type[_P], finding: Finding) -> _P:
    """`finding.properties` through `contract`; FindingPropertiesError when a type does not fit."""
    try:
        return contract.model_validate(finding.properties)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'properties'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise FindingPropertiesError(
            f"the {finding.scanner} finding {finding.rule_id} at {finding.path} does not carry the "
            f"properties a fix reads ({problems}); run the audit again to refresh it"
        ) from None

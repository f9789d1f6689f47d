"""db_status: what the offline advisory database holds, so an agent knows what a deps audit covers."""

from __future__ import annotations

import anyio.to_thread
from pydantic import BaseModel, Field

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.toolkit import StrictInput, ToolSpec
from secaudit.tools.advisories import AdvisoryDB

__all__ = ["TOOLS"]


class DBStatusInput(StrictInput):
    pass


class EcosystemOut(BaseModel):
    ecosystem: str
    advisories: int
    packages: int


class SourceOut(BaseModel):
    location: str = Field(description="URL, or path (shown only when inside an allowed root)")
    kind: str
    imported_at: str
    records: int
    errors: int


class DBStatusOutput(BaseModel):
    empty: bool
    advisories: int
    withdrawn: int
    malicious: int = Field(description="non-withdrawn malicious-package reports (OSV `MAL-` records)")
    ecosystems: list[EcosystemOut]
    sources: list[SourceOut]
    last_import_at: str | None
    newest_modified: str | None
    age_seconds: float | None


async def db_status(app: AppContext, args: DBStatusInput, call: CallInfo) -> DBStatusOutput:
    status = await anyio.to_thread.run_sync(lambda: AdvisoryDB(app.store).status())
    return DBStatusOutput(
        empty=status.empty,
        advisories=status.advisories,
        withdrawn=status.withdrawn,
        malicious=status.malicious,
        ecosystems=[
            EcosystemOut(ecosystem=e.ecosystem, advisories=e.advisories, packages=e.packages)
            for e in status.ecosystems
        ],
        sources=[
            SourceOut(
                location=s.shown_location(app.settings.allowed_roots),
                kind=s.kind,
                imported_at=s.imported_at,
                records=s.records,
                errors=s.errors,
            )
            for s in status.sources
        ],
        last_import_at=status.last_import_at,
        newest_modified=status.newest_modified,
        age_seconds=status.age_seconds,
    )


TOOLS = [
    ToolSpec(
        name="db_status",
        title="Advisory database status",
        description=(
            "What the offline advisory database holds per ecosystem, its sources and age; an empty "
            "ecosystem's dependencies go unchecked by the deps scanner."
        ),
        input_model=DBStatusInput,
        output_model=DBStatusOutput,
        handler=db_status,
        scope="read",
        cost="read",
        read_only=True,
        idempotent=True,
    )
]

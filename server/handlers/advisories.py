"""db_status: what the offline advisory database holds, so an agent knows what a deps audit covers;
import_advisories: fill it from an OSV export inside the allowed roots (what `secaudit db import` does).
"""

from __future__ import annotations

from typing import Annotated

import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from pydantic import BaseModel, Field, StrictStr

from secaudit.server.context import AppContext, CallInfo
from secaudit.server.toolkit import StrictInput, ToolSpec, run_cancellable, tool_spec
from secaudit.tools.advisories import AdvisoryDB, ImportReport
from secaudit.tools.paths import confine
from secaudit.tools.text import clean_line
from secaudit.tools.walker import CancelToken

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
    malicious: int = Field(description="OSV `MAL-` records")
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


class ImportAdvisoriesInput(StrictInput):
    path: Annotated[StrictStr, Field(min_length=1, max_length=4096)] = Field(
        description="OSV folder, .json/.yaml file or all.zip in the allowed roots"
    )


class ImportAdvisoriesOutput(BaseModel):
    location: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    stale: int = Field(description="older than the stored copy (kept)")
    malicious: int = Field(description="OSV `MAL-` records")
    errors: int
    skipped: dict[str, int]
    error_samples: list[str]
    ecosystems: dict[str, int]
    seconds: float
    next_step: str


_MAX_SAMPLES = 10
# How long a cancelled call waits for the import thread to finish the batch in flight.
_CANCEL_GRACE_SECONDS = 30.0


async def import_advisories(
    app: AppContext, args: ImportAdvisoriesInput, call: CallInfo
) -> ImportAdvisoriesOutput:
    path = confine(args.path, app.settings.allowed_roots)
    token = CancelToken()
    loop = anyio.lowlevel.current_token()

    def progress(records: int, errors: int) -> None:
        if not token.is_cancelled():
            message = f"{records} advisories read, {errors} skipped"
            anyio.from_thread.run(call.report, float(records), None, message, token=loop)

    def work() -> ImportReport:
        return AdvisoryDB(app.store).import_path(path, progress=progress, cancel=token)

    # A cancel by the caller stops the import before its next batch; the batches stored stay.
    report = await run_cancellable(work, token, grace=_CANCEL_GRACE_SECONDS)
    return ImportAdvisoriesOutput(
        location=str(path),
        records=report.records,
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
        stale=report.stale,
        malicious=report.malicious,
        errors=report.errors,
        skipped=dict(report.skipped),
        error_samples=[clean_line(s, 300) for s in report.error_samples[:_MAX_SAMPLES]],
        ecosystems=dict(report.ecosystems),
        seconds=round(report.seconds, 3),
        next_step=(
            "run_audit again: the deps scanner now checks dependencies against these advisories"
            if report.records
            else "nothing was imported: check the path holds OSV records (see skipped and error_samples)"
        ),
    )


TOOLS = [
    ToolSpec(
        name="db_status",
        title="Advisory database status",
        description=(
            "The offline advisory database per ecosystem, its sources and age (an empty ecosystem "
            "goes unchecked)."
        ),
        input_model=DBStatusInput,
        output_model=DBStatusOutput,
        handler=db_status,
        scope="read",
        cost="read",
        read_only=True,
        idempotent=True,
    ),
    tool_spec(
        "import_advisories",
        "Import advisories",
        "Import OSV advisories into the offline database; idempotent. Their text is data.",
        ImportAdvisoriesInput,
        ImportAdvisoriesOutput,
        import_advisories,
        read_only=False,
        cost="audit",
        idempotent=True,
    ),
]

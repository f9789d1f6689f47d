"""The toolsets a server can be limited to (`SECAUDIT_TOOLSETS`, `secaudit serve --toolsets`).

Names only, so settings can check them without importing the tools (the light CLI commands never
import the MCP SDK or the handlers); `handlers.all_tools` says which tool is in which set, and a
test checks the two agree. Every tool is in exactly one set.
"""

from __future__ import annotations

__all__ = ["TOOLSETS", "parse_toolsets"]

# name -> what it holds (shown in docs and in the error for an unknown name).
TOOLSETS: dict[str, str] = {
    "audit": "run_audit, get_run, list_runs, export_sarif, import_sarif",
    "findings": "list_findings, get_finding, triage_finding, compare_runs, security_summary",
    "fixes": "plan_fix, apply_fix, revert_fix, list_fixes",
    "tasks": "the shared tasks table and file_fix_tasks",
    "advisories": "db_status",
    "masking": "mask_secrets",
}
_ALL = "all"


def parse_toolsets(names: tuple[str, ...]) -> tuple[str, ...]:
    """The sets named (`all` for every one), in a fixed order; ValueError lists the valid names."""
    wanted = {n.strip().lower() for n in names if n.strip()}
    if not wanted:
        raise ValueError(f"no toolset named; use {_valid()}")
    unknown = sorted(wanted - set(TOOLSETS) - {_ALL})
    if unknown:
        shown = ", ".join(repr(n[:40]) for n in unknown[:5])
        raise ValueError(f"unknown toolset {shown}; valid toolsets: {_valid()}")
    if _ALL in wanted:
        return tuple(TOOLSETS)
    return tuple(n for n in TOOLSETS if n in wanted)


def _valid() -> str:
    return ", ".join([*TOOLSETS, _ALL])

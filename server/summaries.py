"""The text content of a tool result: a one-line summary that points to `structuredContent`.

`structuredContent` holds the whole result; repeating it as JSON text doubled every result on the
wire and in a model's context. The summary is built only from counts, ids, statuses and severities,
never from text a scanned repository or a caller supplied (titles, paths, prompts, masked text), so
it carries nothing untrusted. `SECAUDIT_TEXT_CONTENT=json` restores the serialized JSON for clients
that read only the text (docs/tools.md, "Text content").
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["POINTER", "summarize", "text_content"]

POINTER = "full result in structuredContent"
_SEVERITIES = ("critical", "high", "medium", "low", "info")
# Top-level values a summary may quote: short vocabularies, never free text.
_QUOTABLE = frozenset({"status", "status_name", "state", "kind", "dry_run", "claimed", "empty"})

Data = Mapping[str, Any]


def text_content(tool: str, data: Data, mode: str) -> str:
    """The text block of a successful result: the summary, or (`json` mode) the whole JSON."""
    if mode == "json":
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return summarize(tool, data)


def summarize(tool: str, data: Data) -> str:
    special = _SPECIAL.get(tool)
    head = special(data) if special is not None else _generic(data)
    return f"{head}; {POINTER}" if head else POINTER.capitalize()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _by_severity(items: Any) -> str:
    if not isinstance(items, list):
        return ""
    counts = Counter(i.get("severity") for i in items if isinstance(i, dict))
    parts = [f"{counts[s]} {s}" for s in _SEVERITIES if counts.get(s)]
    return f" ({', '.join(parts)})" if parts else ""


def _more(data: Data) -> str:
    return "; more with next_cursor" if data.get("next_cursor") else ""


def _run(run: Any) -> str:
    if not isinstance(run, dict):
        return ""
    return (
        f"run {run.get('id')} {run.get('status')}: {_count(int(run.get('findings_total') or 0), 'finding')} "
        f"({run.get('findings_new', 0)} new, {run.get('findings_fixed', 0)} fixed), "
        f"{run.get('files_scanned', 0)} files scanned, {run.get('files_skipped', 0)} skipped"
    )


def _run_audit(data: Data) -> str:
    findings = data.get("findings") or []
    page = f"; first {len(findings)}{_by_severity(findings)}" if findings else ""
    return _run(data.get("run")) + page + _more(data)


def _findings_page(data: Data) -> str:
    items = data.get("items") or []
    return f"{_count(len(items), 'finding')} on this page{_by_severity(items)}" + _more(data)


def _one(key: str) -> Callable[[Data], str]:
    def head(data: Data) -> str:
        record = data.get(key)
        if not isinstance(record, dict):
            return f"no {key}"
        ident = record.get("id", record.get(f"{key}_id", ""))
        status = record.get("status_name", record.get("status", record.get("severity", "")))
        return f"{key} {ident} ({status})" if status else f"{key} {ident}"

    return head


def _summary(data: Data) -> str:
    s = data.get("summary") or {}
    by = s.get("open_by_severity") or {}
    parts = [f"{by[k]} {k}" for k in _SEVERITIES if by.get(k)]
    return f"{_count(int(s.get('open_total') or 0), 'open finding')}" + (
        f" ({', '.join(parts)})" if parts else ""
    )


def _comparison(data: Data) -> str:
    c = data.get("comparison") or {}
    return (
        f"run {c.get('head_run')} vs {c.get('base_run')}: {c.get('new_count', 0)} new, "
        f"{c.get('fixed_count', 0)} fixed, {c.get('not_covered_count', 0)} not covered"
    )


def _mask(data: Data) -> str:
    return f"{_count(int(data.get('count') or 0), 'secret')} masked; the masked text is in `masked`"


def _apply(data: Data) -> str:
    fix = data.get("fix")
    if data.get("dry_run"):
        return "dry run: nothing written; the diff is in plan.diff"
    if isinstance(fix, dict):
        return f"fix {fix.get('fix_id')} {fix.get('status')}"
    return "nothing applied"


def _file_tasks(data: Data) -> str:
    verb = "would file" if data.get("dry_run") else "filed"
    return (
        f"{verb} {_count(int(data.get('tasks_filed') or 0), 'task')} for "
        f"{_count(int(data.get('findings_filed') or 0), 'finding')} of run {data.get('run_id')} "
        f"({data.get('findings_existing', 0)} already filed)"
    )


def _generic(data: Data) -> str:
    parts: list[str] = []
    for key, value in data.items():
        if isinstance(value, list):
            parts.append(f"{len(value)} {key[:-1] if len(value) == 1 and key.endswith('s') else key}")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{key} {value}")
        elif key in _QUOTABLE and isinstance(value, str | bool) and len(str(value)) <= 40:
            parts.append(f"{key} {str(value).lower()}")
    return ", ".join(parts[:6]) + _more(data)


_SPECIAL: dict[str, Callable[[Data], str]] = {
    "run_audit": _run_audit,
    "get_run": lambda d: _run(d.get("run")),
    "import_sarif": lambda d: _run(d.get("run")),
    "list_findings": _findings_page,
    "get_finding": _one("finding"),
    "triage_finding": _one("finding"),
    "security_summary": _summary,
    "compare_runs": _comparison,
    "mask_secrets": _mask,
    "apply_fix": _apply,
    "plan_fix": lambda d: f"plan {(d.get('plan') or {}).get('plan_id')}: the diff is in plan.diff",
    "revert_fix": lambda d: f"fix {(d.get('fix') or {}).get('fix_id')} {(d.get('fix') or {}).get('status')}",
    "file_fix_tasks": _file_tasks,
    "get_task": _one("task"),
    "create_task": _one("task"),
    "update_task": _one("task"),
    "complete_task": _one("task"),
    "archive_task": _one("task"),
    "backlog_task": _one("task"),
    "ready_task": _one("task"),
    "claim_next_task": lambda d: _one("task")(d) if d.get("claimed") else "no ready task to claim",
}

"""From semgrep's JSON output to per-file results (what is cached) and from those to findings.

A per-file result is plain JSON: `{"matches": [...]}` plus, when semgrep could not check the whole
file, `"skip": reason` (and `"retry": true` when the reason is not a property of the file, such as a
timeout: the scanner then counts the file as not fully analysed, even when it serves the result
from the cache). A match keeps only what a finding needs, with semgrep's message already passed
through the redactor (it can quote code); semgrep's own `lines` field is never used (it says
"requires login" unless logged in, and would copy secrets into the store): snippets are re-read
from the file and masked.

Identity: the fingerprint covers the scanner, the rule id, the path and the normalised text the
rule matched (its first lines), never line numbers, so inserting lines above keeps it; two matches
of one rule on the same code in one file are numbered in file order.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from secaudit.tools.findings.model import Confidence, Finding, Severity, fingerprint
from secaudit.tools.masking import get_redactor
from secaudit.tools.text import clean_line, clean_text, first_few

__all__ = ["ChunkOutcome", "findings_from_matches", "parse_output"]

_CONTEXT_LINES = 20
_ANCHOR_LINES = 3
_ANCHOR_CHARS = 600
_MAX_MATCHES_PER_FILE = 500
_CWE = re.compile(r"CWE-(\d{1,5})", re.I)
_NOSEM = re.compile(r"\bnosem(?:grep)?\b(?:\s*:\s*([A-Za-z0-9_.,\- ]+))?", re.I)
_SEVERITY_NAMES = {s.value: s for s in Severity}
_SEMGREP_SEVERITY = {
    "CRITICAL": Severity.CRITICAL, "ERROR": Severity.HIGH, "HIGH": Severity.HIGH,
    "WARNING": Severity.MEDIUM, "MEDIUM": Severity.MEDIUM, "INFO": Severity.LOW, "LOW": Severity.LOW,
    "INVENTORY": Severity.INFO, "EXPERIMENT": Severity.INFO,
}  # fmt: skip
_CONFIDENCE = {"high": Confidence.HIGH, "medium": Confidence.MEDIUM, "low": Confidence.LOW}
_META_KEYS = ("secaudit-severity", "confidence", "cwe", "references", "fix-recipe", "title")
# semgrep error types that say the analysis did not finish for a reason that may not recur.
_TRANSIENT = ("timeout", "out of memory", "outofmemory", "stack overflow", "fixpoint")


def _norm(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/").removeprefix("./")


def _type_name(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if isinstance(kind, list) and kind:
        kind = kind[0]
    return str(kind or "error")


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _safe_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    out: dict[str, Any] = {}
    for key in _META_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            out[key] = clean_line(value, 500)
        elif isinstance(value, list):
            out[key] = [clean_line(str(v), 500) for v in value[:20] if isinstance(v, (str, int))]
    return out


@dataclass
class ChunkOutcome:
    """One semgrep invocation, read: per-file results for the files it was given, and problems
    that concern the whole run (a broken rule) or no file in particular."""

    per_file: dict[str, dict[str, Any]] = field(default_factory=dict)
    fatal: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_output(doc: Mapping[str, Any], targets: Iterable[str], rule_ids: Mapping[str, str]) -> ChunkOutcome:
    """Read semgrep's `--json` document for one invocation over `targets` (repository-relative).

    `rule_ids` maps every check_id semgrep may print to the YAML rule id (`--no-rewrite-rule-ids`
    makes them equal; the map also accepts the dotted-folder prefix semgrep adds otherwise).
    """
    redact = get_redactor().redact
    wanted = {_norm(t): t for t in targets}
    outcome = ChunkOutcome()
    per = outcome.per_file
    for target in wanted.values():
        per[target] = {"matches": []}
    scanned = {_norm(str(p)) for p in (doc.get("paths") or {}).get("scanned") or []}
    for item in doc.get("results") or []:
        if not isinstance(item, dict):
            continue
        rel = wanted.get(_norm(str(item.get("path", ""))))
        rule = _rule_id(str(item.get("check_id", "")), rule_ids)
        if rel is None or rule is None:
            continue
        matches = per[rel]["matches"]
        if len(matches) >= _MAX_MATCHES_PER_FILE:
            continue
        start = item.get("start") or {}
        end = item.get("end") or {}
        extra = item.get("extra") or {}
        matches.append(
            {
                "rule": rule,
                "sl": _int(start.get("line"), 1),
                "sc": _int(start.get("col"), 1),
                "so": _int(start.get("offset"), -1),
                "el": _int(end.get("line"), _int(start.get("line"), 1)),
                "ec": _int(end.get("col"), 1),
                "eo": _int(end.get("offset"), -1),
                "msg": clean_text(redact(clean_text(str(extra.get("message") or rule), 8000)), 4000),
                "sev": clean_line(str(extra.get("severity") or ""), 20),
                "meta": _safe_meta(extra.get("metadata")),
            }
        )
    problems: dict[str, list[tuple[str, str, str | None]]] = collections.defaultdict(list)
    for error in doc.get("errors") or []:
        if not isinstance(error, dict):
            continue
        kind = _type_name(error)
        message = clean_line(redact(" ".join(str(error.get("message") or kind).split())), 300)
        where = wanted.get(_norm(str(error.get("path") or "")))
        if where is not None:
            failed = error.get("rule_id")
            problems[where].append((kind, message, failed if isinstance(failed, str) else None))
        elif str(error.get("level", "")).lower() == "error":
            outcome.fatal.append(f"{kind}: {message}")
        else:
            outcome.notes.append(f"semgrep warning: {kind}: {message}")
    for norm, target in wanted.items():
        reason, transient = _skip_reason(problems.get(target, []), norm in scanned)
        if reason is not None:
            per[target]["skip"] = reason
            if transient:
                per[target]["retry"] = True
    return outcome


def _rule_id(check_id: str, rule_ids: Mapping[str, str]) -> str | None:
    if check_id in rule_ids:
        return rule_ids[check_id]
    # Without --no-rewrite-rule-ids semgrep prefixes the config's folder in dots: the longest
    # known id that ends the check_id after a dot is the rule.
    best = None
    for known, rule in rule_ids.items():
        if check_id.endswith("." + known) and (best is None or len(known) > len(best[0])):
            best = (known, rule)
    return best[1] if best else None


def _skip_reason(problems: list[tuple[str, str, str | None]], scanned: bool) -> tuple[str | None, bool]:
    """Why a file was not fully checked (None when it was), and whether that may change on retry."""
    if not problems:
        if scanned:
            return None, False
        return "semgrep did not scan this file (its language was not recognised or it was filtered)", False
    kinds = [k for k, _, _ in problems]
    transient = any(any(t in k.lower().replace("_", " ") for t in _TRANSIENT) for k in kinds)
    if all(k.lower().startswith("timeout") for k in kinds):
        rules = sorted({r for _, _, r in problems if r})
        shown = first_few(rules, 5)
        return (
            f"semgrep timed out on this file (rules: {shown or 'unknown'}); findings of other rules kept",
            True,
        )
    if all(k == "PartialParsing" for k in kinds):
        return f"parsed only in part ({problems[0][1]}); findings in the parsed part are kept", False
    kind, message, _ = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"semgrep could not fully analyse this file: {kind}: {message}{more}", transient


def _severity(meta: Mapping[str, Any], semgrep: str) -> Severity:
    ours = str(meta.get("secaudit-severity") or "").strip().lower()
    if ours in _SEVERITY_NAMES:
        return _SEVERITY_NAMES[ours]
    return _SEMGREP_SEVERITY.get(semgrep.upper(), Severity.MEDIUM)


def _cwes(meta: Mapping[str, Any]) -> list[int]:
    raw = meta.get("cwe")
    items = raw if isinstance(raw, list) else [raw] if raw else []
    out: list[int] = []
    for item in items:
        for m in _CWE.finditer(str(item)):
            n = int(m.group(1))
            if n not in out:
                out.append(n)
    return out


def _suppressed(lines: list[str], start: int, rule: str) -> bool:
    """A `nosemgrep` (or `nosem`) comment on the match's first line, or alone on the line above,
    optionally naming rule ids (`nosemgrep: id1, id2`), as semgrep itself reads them."""
    for n in (start, start - 1):
        if not 0 < n <= len(lines):
            continue
        line = lines[n - 1]
        if n < start and not line.lstrip().startswith(("//", "#", "/*", "*")):
            continue  # a trailing comment covers its own line only
        m = _NOSEM.search(line)
        if m is None:
            continue
        if m.group(1) is None:
            return True
        ids = {i.strip() for i in m.group(1).split(",") if i.strip()}
        if any(i == rule or rule.endswith("." + i) or i.endswith("." + rule) for i in ids):
            return True
    return False


def _title(meta: Mapping[str, Any], message: str, rule: str) -> str:
    title = str(meta.get("title") or "").strip()
    if title:
        return title
    first = message.strip().split("\n", 1)[0]
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return sentence or rule


def findings_from_matches(rel: str, content: bytes, matches: list[dict[str, Any]]) -> list[Finding]:
    """Turn one file's cached matches into findings; the same input always gives the same findings."""
    redact = get_redactor().redact
    text = content.decode("utf-8", errors="replace")
    lines = text.splitlines()
    ordered = sorted(matches, key=lambda m: (_int(m.get("sl")), _int(m.get("sc")), str(m.get("rule"))))
    occurrences: collections.Counter[tuple[str, str]] = collections.Counter()
    out: list[Finding] = []
    for m in ordered:
        rule = str(m.get("rule") or "")
        if not rule:
            continue
        start = max(_int(m.get("sl"), 1), 1)
        end = max(_int(m.get("el"), start), start)
        snippet = "\n".join(lines[start - 1 : min(end, start + _CONTEXT_LINES - 1)])
        so, eo = _int(m.get("so"), -1), _int(m.get("eo"), -1)
        matched = (
            content[so:eo].decode("utf-8", errors="replace") if 0 <= so <= eo <= len(content) else snippet
        )
        anchor = "\n".join(matched.splitlines()[:_ANCHOR_LINES])[:_ANCHOR_CHARS]
        key = (rule, " ".join(anchor.split()))
        occurrences[key] += 1
        extra = "" if occurrences[key] == 1 else str(occurrences[key])
        meta = m.get("meta") if isinstance(m.get("meta"), dict) else {}
        assert isinstance(meta, dict)
        message = str(m.get("msg") or rule)
        cwe = _cwes(meta)
        refs_raw = meta.get("references")
        refs = [str(r) for r in (refs_raw if isinstance(refs_raw, list) else [refs_raw] if refs_raw else [])]
        refs.extend(f"https://cwe.mitre.org/data/definitions/{n}.html" for n in cwe)
        confidence = _CONFIDENCE.get(str(meta.get("confidence") or "").strip().lower(), Confidence.MEDIUM)
        recipe = meta.get("fix-recipe")
        out.append(
            Finding(
                scanner="semgrep",
                rule_id=rule,
                severity=_severity(meta, str(m.get("sev") or "")),
                confidence=confidence,
                path=rel,
                start_line=start,
                end_line=end,
                title=_title(meta, message, rule),
                message=message,
                snippet=redact(snippet) if snippet else None,
                cwe=cwe,
                references=list(dict.fromkeys(refs)),
                fingerprint=fingerprint("semgrep", rule, rel, anchor, extra=extra),
                suppressed_in_code=_suppressed(lines, start, rule),
                properties={
                    "start_col": _int(m.get("sc"), 1),
                    "end_col": _int(m.get("ec"), 1),
                    "start_offset": so,
                    "end_offset": eo,
                    "fix_recipe": str(recipe) if isinstance(recipe, str) and recipe else None,
                    "semgrep_severity": str(m.get("sev") or ""),
                },
            )
        )
    return out

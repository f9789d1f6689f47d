"""SARIF 2.1.0 out (one run, the fields GitHub code scanning reads) and in (another tool's results).

Export: relative URIs against `%SRCROOT%`, `partialFingerprints` carrying our fingerprint (so GitHub
and our own import keep identities), one rule per (scanner, rule) with help text, GitHub's
`security-severity`, and `suppressions` for `# nosec` and live triage decisions.

Import treats the file as untrusted: size and count bounds, every text cleaned and cut (through the
Finding model), every location confined to the chosen root (a result pointing outside is dropped and
counted), no URI ever fetched.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from secaudit.tools.confined_io import read_bytes
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.model import (
    ORIGINAL_SEVERITY,
    SEVERITY_RULE,
    Confidence,
    Finding,
    Severity,
    fingerprint,
)
from secaudit.tools.findings.records import FindingRecord, RunRecord, RunSkip, RunStatus, ScannerCoverage
from secaudit.tools.findings.service import FindingsService, RunCoverage
from secaudit.tools.masking import get_redactor
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.paths import confine, is_within, normalize_relpath
from secaudit.tools.severity import severity_from_sarif_level, severity_from_score
from secaudit.tools.text import clean_line

__all__ = [
    "DEFAULT_SARIF_CATEGORY",
    "SARIF_INLINE_MAX_BYTES",
    "SARIF_SCHEMA_URI",
    "SarifPage",
    "check_sarif_category",
    "check_sarif_root",
    "export_sarif",
    "import_sarif",
    "page_sarif",
]

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "secaudit/v1"
MAX_SARIF_BYTES = 64 * 1024 * 1024
MAX_RESULTS = 100_000
MAX_RUNS = 50
# A log larger than this is not put whole into one tool result (it would fill an agent's context):
# the caller pages through it, or reads the run's SARIF resource.
SARIF_INLINE_MAX_BYTES = 256 * 1024
_DEFAULT_PAGE = 100
_MAX_NOTIFICATIONS = 1000
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


# `automationDetails.id` is `<category>/<run id>`: GitHub code scanning takes everything before the
# last `/` as the analysis category (and then ignores upload-sarif's `category` input).
DEFAULT_SARIF_CATEGORY = "secaudit/run"
SARIF_CATEGORY_MAX_CHARS = 100
_CATEGORY = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


def check_sarif_category(text: str) -> str:
    """A code scanning category for `automationDetails.id`: 1 to 100 characters of letters, digits,
    `.`, `_`, `-` and `/` (between names; a trailing `/` is dropped). Raises InvalidInput."""
    value = text.strip().rstrip("/")
    if not value or len(value) > SARIF_CATEGORY_MAX_CHARS or not _CATEGORY.fullmatch(value):
        raise InvalidInput(
            f"the SARIF category must be 1 to {SARIF_CATEGORY_MAX_CHARS} characters of letters, digits, "
            "'.', '_', '-' and '/' between names (e.g. secaudit or secaudit/backend), got "
            f"{clean_line(text, 120)!r}"
        )
    return value


def check_sarif_root(
    source_root: str | os.PathLike[str], audited: str | os.PathLike[str]
) -> tuple[Path, str]:
    """The real `source_root` and the audited folder's path under it (`""` or `"sub/dir/"`).
    Raises InvalidInput when `source_root` is not a folder holding `audited`."""
    base = Path(os.path.realpath(source_root))
    root = Path(os.path.realpath(audited))
    if not base.is_dir() or not is_within(root, base):
        raise InvalidInput(
            f"the SARIF root {clean_line(str(source_root), 300)} is not a folder holding the audited "
            f"folder {clean_line(str(root), 300)}: give the repository's top folder (git rev-parse "
            "--show-toplevel) or another folder that contains the audited one"
        )
    rel = root.relative_to(base).as_posix()
    return base, ("" if rel == "." else rel + "/")


def _uri(path: str) -> str:
    return quote(path, safe="/-._~")


def export_sarif(
    service: FindingsService,
    run_id: int,
    *,
    tool_version: str,
    category: str | None = None,
    source_root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The run as a SARIF 2.1.0 log.

    `category` (checked by `check_sarif_category`) makes `automationDetails.id`
    `<category>/<run id>` instead of `secaudit/run/<run id>`. `source_root`, a folder holding the
    run's root (e.g. the git work tree's top), makes `%SRCROOT%` that folder and every URI relative
    to it (the audited folder's path is prefixed), as GitHub code scanning expects of a subfolder
    audit. Raises InvalidInput for a bad category or a `source_root` that does not hold the root."""
    category = DEFAULT_SARIF_CATEGORY if category is None else check_sarif_category(category)
    run = service.get_run(run_id, max_skips=_MAX_NOTIFICATIONS)
    base = Path(run.root)
    prefix = ""
    if source_root is not None:
        base, prefix = check_sarif_root(source_root, run.root)

    def uri(path: str) -> str:
        return _uri(prefix + path)

    records = service.run_findings(run_id)
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for rec in records:
        rule_key = f"{rec.scanner}/{rec.rule_id}"
        if rule_key not in rules:
            rules[rule_key] = _rule(rule_key, rec)
        rule_index = list(rules).index(rule_key)
        results.append(_result(rec, rule_key, rule_index, uri))
    root_uri = base.as_uri().rstrip("/") + "/"
    invocation: dict[str, Any] = {
        # Only a run that checked everything it selected succeeded: a partial run is not reported
        # as a successful execution (its results are not the whole picture).
        "executionSuccessful": run.status == RunStatus.SUCCEEDED,
        "startTimeUtc": run.started_at,
        "toolExecutionNotifications": _status_notifications(run)
        + [
            {
                "level": "note",
                "message": {"text": f"not examined ({s.scanner}): {s.reason}"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": uri(s.path), "uriBaseId": "%SRCROOT%"}}}
                ],
            }
            for s in run.skips
        ],
    }
    if run.finished_at:
        invocation["endTimeUtc"] = run.finished_at
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "secaudit",
                        "version": tool_version,
                        "informationUri": "https://github.com/secaudit-mcp/secaudit-mcp",
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"{category}/{run.id}"},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "secaudit": {
                        "run_id": run.id,
                        "status": run.status.value,
                        "scanners": run.scanners,
                        "files_total": run.files_total,
                        "files_scanned": run.files_scanned,
                        "files_skipped": run.files_skipped,
                        "notes": run.notes,
                    }
                },
            }
        ],
    }


@dataclass(frozen=True)
class SarifPage:
    """One answer of `export_sarif`: the log (whole, or with one page of its results), or none when
    the whole log is too large to return inline (`too_large`: page it, or read the resource)."""

    doc: dict[str, Any] | None
    total: int
    returned: int
    offset: int
    next_cursor: str | None
    size_bytes: int
    too_large: bool


def page_sarif(
    doc: dict[str, Any],
    run_id: int,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    inline_max_bytes: int | None = None,
) -> SarifPage:
    """The whole log when it is small and no page was asked for; else one page of its results.

    Every page is a complete SARIF log (tool, rules, invocations) holding a slice of the results,
    so `ruleIndex` stays valid and the pages' results concatenate to the whole run's. A cursor is
    bound to the run it was made for."""
    results: list[Any] = doc["runs"][0]["results"]
    total = len(results)
    size = len(json.dumps(doc, separators=(",", ":")))
    if limit is None and cursor is None:
        if size <= (SARIF_INLINE_MAX_BYTES if inline_max_bytes is None else inline_max_bytes):
            return SarifPage(doc, total, total, 0, None, size, too_large=False)
        return SarifPage(None, total, 0, 0, None, size, too_large=True)
    limit = check_limit(limit if limit is not None else _DEFAULT_PAGE)
    digest = query_digest("sarif", run_id)
    offset = 0
    if cursor is not None:
        key = decode_cursor(cursor, digest)
        if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool) or key[0] < 0:
            raise InvalidInput("the cursor is not valid for this query; start again without a cursor")
        offset = key[0]
    chunk = results[offset : offset + limit]
    page = copy.copy(doc)
    run = dict(doc["runs"][0])
    run["results"] = chunk
    page["runs"] = [run]
    end = offset + len(chunk)
    next_cursor = encode_cursor(digest, [end]) if end < total else None
    return SarifPage(page, total, len(chunk), offset, next_cursor, size, too_large=False)


_STATUS_TEXT = {
    RunStatus.PARTIAL: "the run is partial: not everything it selected was checked",
    RunStatus.FAILED: "the run failed: no scanner could run",
    RunStatus.CANCELLED: "the run was cancelled: its results are incomplete",
    RunStatus.RUNNING: "the run has not finished",
}


def _status_notifications(run: RunRecord) -> list[dict[str, Any]]:
    """What a run that did not succeed missed: its status, then each incomplete scanner and why."""
    text = _STATUS_TEXT.get(run.status)
    if text is None:
        return []
    level = "error" if run.status in (RunStatus.FAILED, RunStatus.CANCELLED) else "warning"
    out: list[dict[str, Any]] = [
        {"level": level, "message": {"text": f"{text} (status {run.status.value}); see the notes"}}
    ]
    for cov in run.coverage:
        if cov.complete:
            continue
        why = cov.error or "; ".join(cov.notes[:3]) or "it stopped before the end"
        out.append(
            {
                "level": "warning",
                "message": {"text": clean_line(f"{cov.scanner} did not check everything: {why}", 1000)},
                "descriptor": {"id": cov.scanner},
            }
        )
    return out


def _rule(rule_key: str, rec: FindingRecord) -> dict[str, Any]:
    tags = ["security", rec.scanner] + [f"external/cwe/cwe-{c}" for c in rec.cwe]
    help_lines = [rec.title]
    if rec.references:
        help_lines.append("References: " + ", ".join(rec.references))
    rule: dict[str, Any] = {
        "id": rule_key,
        "name": rec.rule_id,
        "shortDescription": {"text": rec.title},
        "fullDescription": {"text": rec.message or rec.title},
        "help": {
            "text": "\n".join(help_lines),
            "markdown": "\n\n".join([rec.title, *(f"- <{r}>" for r in rec.references)]),
        },
        "defaultConfiguration": {"level": _LEVEL[rec.severity]},
        "properties": {
            "tags": tags,
            "precision": rec.confidence.value,
            "security-severity": _SECURITY_SEVERITY[rec.severity],
        },
    }
    if rec.references:
        rule["helpUri"] = rec.references[0]
    return rule


# Kept from a project configuration rule that re-rated the finding (tools/project/config.py).
_RERATE_KEYS = (ORIGINAL_SEVERITY, SEVERITY_RULE)


def _message_text(title: str, message: str) -> str:
    """The title, then the message, unless the message already says the title (semgrep's messages
    open with it): said once either way."""
    if not message or message == title or message.startswith(title):
        return message or title
    return f"{title}\n{message}"


def _result(
    rec: FindingRecord, rule_key: str, rule_index: int, uri: Callable[[str], str] = _uri
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": uri(rec.path), "uriBaseId": "%SRCROOT%"}}
    }
    if rec.start_line:
        region: dict[str, Any] = {
            "startLine": rec.start_line,
            "endLine": max(rec.end_line or rec.start_line, rec.start_line),
        }
        if rec.snippet:
            region["snippet"] = {"text": rec.snippet}
        location["physicalLocation"]["region"] = region
    result: dict[str, Any] = {
        "ruleId": rule_key,
        "ruleIndex": rule_index,
        "level": _LEVEL[rec.severity],
        "message": {"text": _message_text(rec.title, rec.message)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: rec.fingerprint},
        "properties": {
            "secaudit": {
                "id": rec.id,
                "scanner": rec.scanner,
                "rule_id": rec.rule_id,
                "severity": rec.severity.value,
                "confidence": rec.confidence.value,
                "status": rec.status,
                "cwe": rec.cwe,
                "references": rec.references,
                "suppressed_in_code": rec.suppressed_in_code,
            },
            "security-severity": _SECURITY_SEVERITY[rec.severity],
        },
    }
    for key in _RERATE_KEYS:
        value = rec.properties.get(key)
        if isinstance(value, str) and value:
            result["properties"]["secaudit"][key] = value
    suppressions = []
    if rec.suppressed_in_code:
        suppressions.append(
            {"kind": "inSource", "status": "accepted", "justification": "# nosec in the source"}
        )
    if rec.triage is not None and not rec.triage.expired and rec.triage.status.value != "open":
        suppressions.append(
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{rec.triage.status.value}: {rec.triage.reason}",
            }
        )
    if suppressions:
        result["suppressions"] = suppressions
    return result


# -- import -------------------------------------------------------------------------------------

_SLUG = re.compile(r"[^a-z0-9._-]+")


def _d(value: object) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one: untrusted input has any shape."""
    return value if isinstance(value, dict) else {}


def _l(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _scanner_name(driver: str) -> str:
    slug = _SLUG.sub("-", driver.strip().lower()).strip("-")[:60]
    return slug or "sarif"


def _severity(result: dict[str, Any], rule: dict[str, Any]) -> Severity:
    for props in (result.get("properties"), rule.get("properties")):
        if isinstance(props, dict) and "security-severity" in props:
            try:
                score = float(str(props["security-severity"]))
            except ValueError:
                continue
            return severity_from_score(score)
    level = result.get("level")
    if not isinstance(level, str):
        conf = rule.get("defaultConfiguration")
        level = conf.get("level") if isinstance(conf, dict) else None
    return severity_from_sarif_level(level)


def _rel_path(uri: str, base_uri: str | None, root: Path) -> str | None:
    """The result's path relative to `root`, or None when it points outside (or nowhere sane)."""
    if not uri or len(uri) > 4096 or "\x00" in uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        target = Path(unquote(parsed.path))
        real = Path(os.path.normpath(target))
        if not is_within(real, root):
            return None
        return real.relative_to(root).as_posix() or None
    if parsed.scheme and len(parsed.scheme) > 1:
        return None  # http:, https:, ...: never followed, not a file of this repository
    text = unquote(uri).replace("\\", "/")
    if base_uri:
        base = urlparse(base_uri)
        if base.scheme == "file":
            base_path = Path(os.path.normpath(unquote(base.path)))
            if not is_within(base_path, root):
                return None
            prefix = base_path.relative_to(root).as_posix()
            text = f"{prefix}/{text}" if prefix not in ("", ".") else text
    try:
        return normalize_relpath(text)
    except InvalidInput:
        return None


def _file_context(root: Path, rel: str, start: int | None, end: int | None) -> str | None:
    if not start:
        return None
    try:
        data = read_bytes(root, rel, 4 * 1024 * 1024, follow_links=False)
    except (InvalidInput, OSError):
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    last = min(end or start, start + 19)
    return "\n".join(lines[start - 1 : last]) or None


def import_sarif(
    service: FindingsService,
    file: str,
    *,
    allowed_roots: list[Path],
    root: str | None = None,
    max_bytes: int = MAX_SARIF_BYTES,
    own_scanners: set[str] | None = None,
) -> RunRecord:
    """Ingest a SARIF file as a run of findings under `root` (default: the file's folder)."""
    sarif_path = confine(file, allowed_roots)
    st = sarif_path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput("the SARIF path is not a regular file")
    if st.st_size > max_bytes:
        raise InvalidInput(f"the SARIF file is larger than the {max_bytes}-byte limit")
    root_path = confine(root, allowed_roots) if root is not None else sarif_path.parent
    if not root_path.is_dir():
        raise InvalidInput("root must be a folder inside the allowed roots")
    try:
        raw = sarif_path.read_bytes()
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError):
        raise InvalidInput("the SARIF file cannot be read as UTF-8 text") from None
    except (ValueError, RecursionError):
        raise InvalidInput("the SARIF file is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise InvalidInput("not a SARIF log: the top level needs a `runs` list")
    if str(data.get("version", "2.1.0")) != "2.1.0":
        raise InvalidInput("only SARIF version 2.1.0 is supported")
    runs = data["runs"]
    if len(runs) > MAX_RUNS:
        raise InvalidInput(f"the SARIF file has more than {MAX_RUNS} runs")
    findings: list[Finding] = []
    notes: list[str] = []
    skips: list[RunSkip] = []
    tools: list[str] = []
    scanners: set[str] = set()
    outside = 0
    total = 0
    for run in runs:
        if not isinstance(run, dict):
            continue
        driver = _d(_d(run.get("tool")).get("driver"))
        # The driver name is file text that becomes the run's tool and the scanner name of every
        # result (lower-cased, which would keep most of a secret): redacted before either is made.
        raw_name = clean_line(str(driver.get("name") or "sarif"), 400)
        tool_name = clean_line(get_redactor().redact(raw_name), 100)
        tools.append(tool_name)
        default_scanner = _scanner_name(tool_name)
        rules_list = _l(driver.get("rules"))
        rules_by_id = {str(r.get("id")): r for r in rules_list if isinstance(r, dict)}
        bases = _d(run.get("originalUriBaseIds"))
        results = _l(run.get("results"))
        counter: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
        for res in results:
            total += 1
            if total > MAX_RESULTS:
                raise InvalidInput(f"the SARIF file has more than {MAX_RESULTS} results")
            if not isinstance(res, dict):
                continue
            finding = _import_result(
                res, run, rules_list, rules_by_id, bases, root_path, default_scanner, counter
            )
            if finding is None:
                outside += 1
                continue
            findings.append(finding)
            scanners.add(finding.scanner)
    if outside:
        notes.append(f"{outside} results were dropped: no location inside the root, or an unusable URI")
        skips.append(
            RunSkip(scanner="sarif", path=sarif_path.name, reason=f"{outside} results outside the root")
        )
    tool = ", ".join(dict.fromkeys(tools))[:200] or "sarif"
    notes.insert(0, f"imported from {sarif_path.name}: {len(findings)} results from {tool}")
    run_id = service.start_run(str(root_path), kind="import", scanners=sorted(scanners), tool=tool)
    own = own_scanners or set()
    # An import speaks for its own tool only: it marks that tool's earlier findings fixed, never
    # those of scanners this server runs itself (a partial SARIF must not "fix" an audit's results).
    fixing = {s for s in scanners if s not in own}
    coverage = [
        ScannerCoverage(
            scanner=s,
            selected=0,
            scanned=0,
            cached=0,
            complete=True,
            findings=sum(1 for f in findings if f.scanner == s),
        )
        for s in sorted(scanners)
    ]
    return service.finish_run(
        run_id,
        status=RunStatus.SUCCEEDED,
        findings=findings,
        coverage=coverage,
        skips=skips,
        notes=notes,
        run_coverage=RunCoverage(complete_scanners=fixing, everything=True),
        files_total=0,
        files_scanned=0,
        files_cached=0,
    )


def _import_result(
    res: dict[str, Any],
    run: dict[str, Any],
    rules_list: list[Any],
    rules_by_id: dict[str, Any],
    bases: dict[str, Any],
    root: Path,
    default_scanner: str,
    counter: collections.Counter[tuple[str, str, str, str]],
) -> Finding | None:
    rule_id = str(res.get("ruleId") or "")
    rule: dict[str, Any] = {}
    index = res.get("ruleIndex")
    if isinstance(index, int) and 0 <= index < len(rules_list) and isinstance(rules_list[index], dict):
        rule = rules_list[index]
        rule_id = rule_id or str(rule.get("id") or "")
    elif rule_id in rules_by_id:
        rule = rules_by_id[rule_id]
    rule_id = rule_id or "unknown-rule"
    ours: dict[str, Any] | None = _d(_d(res.get("properties")).get("secaudit")) or None
    scanner = (
        _scanner_name(get_redactor().redact(clean_line(str(ours["scanner"]), 400)))
        if ours and ours.get("scanner")
        else default_scanner
    )
    if ours and ours.get("rule_id"):
        rule_id = str(ours["rule_id"])
    message = _d(res.get("message"))
    text = str(message.get("text") or message.get("markdown") or "")
    if not text and isinstance(rule.get("shortDescription"), dict):
        text = str(rule["shortDescription"].get("text") or "")
    text = text or rule_id
    path: str | None = None
    start = end = None
    snippet = None
    locations = _l(res.get("locations"))
    if locations and isinstance(locations[0], dict):
        phys = locations[0].get("physicalLocation")
        if isinstance(phys, dict):
            art = _d(phys.get("artifactLocation"))
            base_id = art.get("uriBaseId")
            base = bases.get(base_id) if isinstance(base_id, str) else None
            base_uri = base.get("uri") if isinstance(base, dict) else None
            if base_uri is None and isinstance(base_id, str) and base_id != "%SRCROOT%":
                return None  # an unknown base: we cannot tell where it points
            path = _rel_path(str(art.get("uri") or ""), base_uri if isinstance(base_uri, str) else None, root)
            if path is None:
                return None
            region = _d(phys.get("region"))
            if isinstance(region.get("startLine"), int) and region["startLine"] >= 1:
                start = int(region["startLine"])
                end_raw = region.get("endLine")
                end = int(end_raw) if isinstance(end_raw, int) and end_raw >= start else start
            snip = region.get("snippet")
            if isinstance(snip, dict) and isinstance(snip.get("text"), str):
                snippet = snip["text"]
    if path is None:
        return None
    if (
        ours
        and isinstance(res.get("partialFingerprints"), dict)
        and res["partialFingerprints"].get(FINGERPRINT_KEY)
    ):
        fp = str(res["partialFingerprints"][FINGERPRINT_KEY])
        if not re.fullmatch(r"[0-9a-f]{64}", fp):
            fp = ""
    else:
        fp = ""
    if not fp:
        partial = _d(res.get("partialFingerprints"))
        context = (
            snippet
            or _file_context(root, path, start, end)
            or str(partial.get("primaryLocationLineHash") or "")
            or text
        )
        key = (scanner, rule_id, path, " ".join(context.split()))
        counter[key] += 1
        fp = fingerprint(
            scanner, rule_id, path, context, extra="" if counter[key] == 1 else str(counter[key])
        )
    severity = _severity(res, rule)
    if ours and ours.get("severity") in {s.value for s in Severity}:
        severity = Severity(str(ours["severity"]))
    confidence = Confidence.MEDIUM
    if ours and ours.get("confidence") in {c.value for c in Confidence}:
        confidence = Confidence(str(ours["confidence"]))
    cwe: list[int] = []
    refs: list[str] = []
    if ours:
        cwe = [int(c) for c in ours.get("cwe", []) if isinstance(c, int)][:10]
        refs = [str(r) for r in ours.get("references", []) if isinstance(r, str)][:20]
    else:
        props = _d(rule.get("properties"))
        for tag in _l(props.get("tags")):
            m = re.fullmatch(r"external/cwe/cwe-(\d{1,6})", str(tag).lower())
            if m:
                cwe.append(int(m.group(1)))
        if isinstance(rule.get("helpUri"), str):
            refs.append(rule["helpUri"])
    title = text.splitlines()[0] if text else rule_id
    suppressed = False
    for sup in _l(res.get("suppressions")):
        if isinstance(sup, dict) and sup.get("kind") == "inSource":
            suppressed = True
    return Finding(
        scanner=scanner,
        rule_id=clean_line(rule_id, 200),
        severity=severity,
        confidence=confidence,
        path=clean_line(path, 1000),
        start_line=start,
        end_line=end,
        title=title,
        message=("\n".join(text.splitlines()[1:]) or title) if ours else text,
        snippet=snippet,
        cwe=cwe,
        references=refs,
        fingerprint=fp,
        suppressed_in_code=suppressed,
        properties={"imported": True, "tool": clean_line(default_scanner, 100)},
    )

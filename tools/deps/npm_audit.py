"""Opt-in online check through `npm audit` (the npm registry's bulk advisory endpoint).

The audited repository is never handed to npm. Only copies of one `package-lock.json` (or
`npm-shrinkwrap.json`) and the `package.json` beside it, read through the confined reader, go into a
private temporary folder; npm runs there with `--package-lock-only --ignore-scripts`, so it reads the
lockfile and sends the audit request, and installs, builds or runs nothing. Its environment cannot
reach the repository's `.npmrc` (a project `.npmrc` is looked up in the project folder, which is our
temporary folder; the user config points at an empty file; inherited `npm_config_*` variables are
dropped), so a repo cannot redirect the request or inject settings. The registry stays npm's
default (or the machine's global npmrc).

npm answers an unreachable service with an error object on stdout (ENOTFOUND, EAI_AGAIN,
ECONNREFUSED, an HTTP error from the audit endpoint): that is reported as "did not answer", never as
a clean result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.tools.text import clean_line

from .interface import AdvisoryBackendUnavailable, SourceError
from .safe_io import is_regular_within, read_bytes_within, safe_relpath

__all__ = ["NpmAdvisory", "NpmAuditResult", "npm_audit_check", "parse_npm_audit"]

_LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
_GHSA = re.compile(r"GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
_NET_CODES = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH",
              "ENETUNREACH", "ECONNABORTED", "CERT_", "SELF_SIGNED", "UNABLE_TO_")  # fmt: skip
# Absolute paths in npm's messages (our temporary folder, its log file) say nothing useful.
_PATH = re.compile(r"(?<![\w:/.])/(?:[^\s/]+/)*[^\s/]*")
_MAX_ADVISORIES = 5000
_MAX_PATHS = 20


@dataclass(frozen=True)
class NpmAdvisory:
    """One advisory npm reported for one package (text from the registry: cleaned and bounded)."""

    name: str
    id: str  # the GHSA id when npm names one, else "npm-<source>"
    title: str
    severity: str
    range: str  # the vulnerable range, as npm states it
    url: str
    versions: tuple[str, ...]  # installed versions of `name` npm flagged (from the lockfile)
    paths: tuple[str, ...]  # install paths (`node_modules/...`), bounded
    fix: str


@dataclass
class NpmAuditResult:
    lockfile: str
    advisories: list[NpmAdvisory] = field(default_factory=list)
    dependencies: int | None = None  # npm's count of the dependencies it audited


def _short_reason(data: Mapping[str, Any] | None, stderr: str) -> str:
    """Why npm did not answer, in a line: the network error code or HTTP status when there is one.

    stderr is only searched for those; its free text (log file paths, notices) is not echoed.
    """
    parts: list[str] = []
    if data is not None:
        err = data.get("error")
        if isinstance(err, Mapping):
            parts.extend(str(err.get(k) or "") for k in ("code", "summary", "detail"))
        elif isinstance(err, str):
            parts.append(err)
        parts.extend(str(data.get(k) or "") for k in ("code", "message"))
        if isinstance(data.get("statusCode"), int):
            parts.append(f"{data['statusCode']} HTTP error")
    said = " ".join(p.strip() for p in parts if p.strip())
    text = f"{said} {stderr}"
    code = next((c for c in _NET_CODES if c in text), None)
    status = re.search(r"\b[45]\d\d [A-Z][A-Za-z ]*[a-z]", text)
    if code in ("ENOTFOUND", "EAI_AGAIN"):
        reason = f"the registry host could not be resolved ({code}; offline?)"
    elif code is not None:
        reason = f"the registry could not be reached ({code.rstrip('_')})"
    elif status is not None:
        reason = f"the audit endpoint answered {status.group(0)}"
    elif said:
        reason = _PATH.sub("<path>", _URL_USERINFO.sub(r"\1", said))
    else:
        reason = "npm printed no audit report"
    return clean_line(reason, 200)


def _unavailable(reason: str) -> AdvisoryBackendUnavailable:
    return AdvisoryBackendUnavailable(f"npm audit did not answer: {reason}; the offline result stands")


def _node(lock: Mapping[str, Any] | None, path: str) -> Mapping[str, Any] | None:
    """The lockfile entry at an install path, in v2/v3 (`packages`) or v1 (nested `dependencies`)."""
    if not isinstance(lock, Mapping):
        return None
    packages = lock.get("packages")
    if isinstance(packages, Mapping):
        entry = packages.get(path)
        return entry if isinstance(entry, Mapping) else None
    tree: Any = lock
    for name in [p for p in path.split("node_modules/") if p][:200]:
        deps = tree.get("dependencies") if isinstance(tree, Mapping) else None
        tree = deps.get(name.rstrip("/")) if isinstance(deps, Mapping) else None
    return tree if isinstance(tree, Mapping) and tree is not lock else None


def _fix_text(fix: object) -> str:
    if fix is True:
        return "npm reports a fix within the declared ranges"
    if isinstance(fix, Mapping) and isinstance(fix.get("name"), str):
        major = " (a semver-major change)" if fix.get("isSemVerMajor") else ""
        return f"npm reports a fix by moving {clean_line(fix['name'], 214)} to " \
               f"{clean_line(str(fix.get('version', '?')), 60)}{major}"  # fmt: skip
    return "npm reports no fix"


def parse_npm_audit(
    stdout: str | bytes, *, lockfile: str = "package-lock.json", lock: Mapping[str, Any] | None = None,
    stderr: str = "",
) -> NpmAuditResult:  # fmt: skip
    """npm 7+ `npm audit --json` output -> advisories; AdvisoryBackendUnavailable for npm's error shapes.

    `lock` (the parsed lockfile) gives the installed version behind each install path npm names.
    """
    text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else stdout
    try:
        data = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, Mapping):
        raise _unavailable(_short_reason(None, stderr))
    vulns = data.get("vulnerabilities")
    if "error" in data or not isinstance(vulns, Mapping):
        if isinstance(data.get("advisories"), Mapping) and "error" not in data:
            raise _unavailable("this npm writes the npm 6 report format, not read here; use npm 7 or later")
        raise _unavailable(_short_reason(data, stderr))
    result = NpmAuditResult(lockfile=lockfile)
    meta = data.get("metadata")
    deps = meta.get("dependencies") if isinstance(meta, Mapping) else None
    total = deps.get("total") if isinstance(deps, Mapping) else deps
    if isinstance(total, int) and not isinstance(total, bool):
        result.dependencies = total
    seen: set[tuple[str, str]] = set()
    for key, entry in vulns.items():
        if not isinstance(entry, Mapping):
            continue
        nodes = entry.get("nodes")
        raw_paths: list[Any] = nodes if isinstance(nodes, list) else []
        paths = tuple(clean_line(p, 300) for p in raw_paths if isinstance(p, str))[:_MAX_PATHS]
        versions = []
        for p in raw_paths[:1000]:
            node = _node(lock, p) if isinstance(p, str) else None
            if node is not None and isinstance(node.get("version"), str):
                versions.append(clean_line(node["version"], 100))
        for via in entry.get("via") or []:
            # A string names another vulnerable package this one depends on: its own entry says it.
            if not isinstance(via, Mapping):
                continue
            name = clean_line(str(via.get("name") or via.get("dependency") or key), 214)
            url = clean_line(str(via.get("url") or ""), 300)
            ghsa = _GHSA.search(url) or _GHSA.search(str(via.get("title") or ""))
            aid = ghsa.group(0) if ghsa else f"npm-{clean_line(str(via.get('source', 'unknown')), 40)}"
            if (name, aid) in seen or len(result.advisories) >= _MAX_ADVISORIES:
                continue
            seen.add((name, aid))
            result.advisories.append(
                NpmAdvisory(
                    name=name, id=aid, title=clean_line(str(via.get("title") or ""), 300),
                    severity=clean_line(str(via.get("severity") or entry.get("severity") or "unknown"), 20),
                    range=clean_line(str(via.get("range") or ""), 200),
                    url=url if url.startswith(("https://", "http://")) else "",
                    versions=tuple(dict.fromkeys(versions)), paths=paths,
                    fix=_fix_text(entry.get("fixAvailable")),
                )
            )  # fmt: skip
    return result


def _clean_env(userconfig: Path, cache: Path) -> dict[str, str]:
    # Inherited npm_config_* variables (npm reads them in any case) could point npm at another
    # userconfig or registry; they are dropped, and ours set.
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(
        npm_config_userconfig=str(userconfig),
        npm_config_cache=str(cache),
        npm_config_update_notifier="false",
        npm_config_fund="false",
        npm_config_ignore_scripts="true",
    )
    return env


def npm_audit_check(
    root: Path, lockfile: str, *, timeout: float = 60.0, npm: str | None = None
) -> NpmAuditResult:
    """Run `npm audit` on a private copy of `lockfile` (repo-relative) and its package.json.

    AdvisoryBackendUnavailable (with a one-line reason) when npm is missing, the files cannot be read, npm
    does not answer within `timeout`, or it answers with an error.
    """
    rel = safe_relpath(lockfile)
    base = rel.rsplit("/", 1)[-1]
    if base not in _LOCKFILES:
        raise AdvisoryBackendUnavailable(
            f"npm audit needs a package-lock.json or npm-shrinkwrap.json, not {rel}"
        )
    exe = npm or shutil.which("npm")
    if not exe:
        raise AdvisoryBackendUnavailable(
            "npm audit did not run: `npm` is not on PATH; the offline result stands"
        )
    manifest = f"{rel.rsplit('/', 1)[0]}/package.json" if "/" in rel else "package.json"
    try:
        lock_bytes = read_bytes_within(root, rel)
        manifest_bytes = read_bytes_within(root, manifest) if is_regular_within(root, manifest) else None
    except SourceError as exc:
        raise AdvisoryBackendUnavailable(
            f"npm audit did not run: {exc.message}; the offline result stands"
        ) from None
    try:
        lock = json.loads(lock_bytes.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        raise AdvisoryBackendUnavailable(f"npm audit did not run: {rel} is not valid JSON") from None
    with tempfile.TemporaryDirectory(prefix="secaudit-npm-audit-") as tmp:
        work = Path(tmp, "project")
        work.mkdir(mode=0o700)
        Path(work, base).write_bytes(lock_bytes)
        if manifest_bytes is not None:
            Path(work, "package.json").write_bytes(manifest_bytes)
        userconfig = Path(tmp, "empty-npmrc")
        userconfig.write_bytes(b"")
        fetch_ms = max(int(timeout * 1000 * 0.8), 1000)
        argv = [
            exe, "audit", "--json", "--package-lock-only", "--ignore-scripts",
            "--fetch-retries=0", f"--fetch-timeout={fetch_ms}",
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                argv, cwd=work, env=_clean_env(userconfig, Path(tmp, "cache")), capture_output=True,
                stdin=subprocess.DEVNULL, timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise _unavailable(f"no answer within {timeout:.0f}s") from None
        except OSError as exc:
            raise AdvisoryBackendUnavailable(
                f"npm audit did not run: npm could not be started ({exc.strerror or 'error'}); "
                "the offline result stands"
            ) from None
    stderr = proc.stderr.decode("utf-8", "replace")
    return parse_npm_audit(proc.stdout, lockfile=rel, lock=lock if isinstance(lock, Mapping) else None,
                           stderr=stderr)  # fmt: skip

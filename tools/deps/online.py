"""Opt-in online check through pip-audit's PyPI or OSV service.

pip-audit runs as a subprocess (argv list, timeout) on a requirements file WE write from the pins we
parsed, with `--no-deps --disable-pip`: the audited repo's own files are never handed to pip, so
nothing is resolved, built or installed. Offline, pip-audit's PyPI service marks every package
"not found" and still prints "No known vulnerabilities found" with exit code 0: that is detected and
reported as "service unavailable", never as a clean result.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from secaudit.tools.advisories.names import PYPI
from secaudit.tools.text import clean_line

from .interface import AdvisoryBackendUnavailable, Dependency

__all__ = ["OnlineFinding", "OnlineResult", "pip_audit_check"]

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
_SERVICES = ("pypi", "osv")


@dataclass(frozen=True)
class OnlineFinding:
    name: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str


@dataclass
class OnlineResult:
    service: str
    audited: int = 0
    findings: list[OnlineFinding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def pip_audit_check(
    deps: Sequence[Dependency], *, service: str = "pypi", timeout: float = 60.0
) -> OnlineResult:
    """Ask pip-audit's `service` about the pinned PyPI dependencies; AdvisoryBackendUnavailable when the
    service does not answer (offline) or pip-audit fails."""
    if service not in _SERVICES:
        raise AdvisoryBackendUnavailable(
            f"unknown pip-audit service {service!r}; use one of {', '.join(_SERVICES)}"
        )
    pins = sorted(
        {
            (d.normalized_name, d.version)
            for d in deps
            if d.ecosystem == PYPI and d.version and _SAFE_NAME.match(d.normalized_name)
            and _SAFE_VERSION.match(d.version)
        }
    )  # fmt: skip
    result = OnlineResult(service=service)
    if not pins:
        return result
    with tempfile.TemporaryDirectory(prefix="secaudit-pip-audit-") as tmp:
        req = Path(tmp, "requirements.txt")
        req.write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
        argv = [
            sys.executable, "-m", "pip_audit", "-r", str(req), "--no-deps", "--disable-pip",
            "--format", "json", "--progress-spinner", "off", "--vulnerability-service", service,
            "--timeout", str(max(int(timeout // 4), 5)), "--cache-dir", str(Path(tmp, "cache")),
        ]  # fmt: skip
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise AdvisoryBackendUnavailable(
                f"pip-audit ({service}) did not answer within {timeout:.0f}s; the offline result stands"
            ) from None
        except OSError:
            raise AdvisoryBackendUnavailable(
                "pip-audit could not be started; the offline result stands"
            ) from None
    try:
        data = json.loads(proc.stdout or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise AdvisoryBackendUnavailable(
            f"pip-audit ({service}) failed (exit {proc.returncode}: {clean_line(tail[0], 200)}); "
            "the service may be unreachable (offline?). The offline result stands"
        )
    for entry in data["dependencies"]:
        if not isinstance(entry, dict):
            continue
        name = clean_line(str(entry.get("name", "")), 200)
        if entry.get("skip_reason"):
            result.skipped.append(f"{name}: {clean_line(str(entry['skip_reason']), 200)}")
            continue
        result.audited += 1
        for vuln in entry.get("vulns") or []:
            if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                result.findings.append(
                    OnlineFinding(
                        name=name,
                        version=clean_line(str(entry.get("version", "")), 100),
                        id=clean_line(vuln["id"], 100),
                        aliases=tuple(clean_line(str(a), 100) for a in vuln.get("aliases") or []),
                        fix_versions=tuple(clean_line(str(v), 100) for v in vuln.get("fix_versions") or []),
                        description=clean_line(str(vuln.get("description") or ""), 300),
                    )
                )
    if result.audited == 0:
        # pip-audit says "No known vulnerabilities found" here, having looked at nothing.
        raise AdvisoryBackendUnavailable(
            f"pip-audit ({service}) audited none of {len(pins)} packages "
            f"({result.skipped[0] if result.skipped else 'no answer'}); the service is unreachable "
            "(offline?). The offline result stands"
        )
    return result

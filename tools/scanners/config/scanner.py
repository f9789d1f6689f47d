"""The `config` scanner: configuration hygiene, by rule ids that never change (see docs/rules.md).

It reads, never runs: Python settings through `ast`, compose files through PyYAML's SafeLoader
(node tree, for line numbers; nothing is constructed), Dockerfiles and dotenv files line by line.
Whatever value a rule reports about a credential is masked (`secrets_detect.mask_value`).
A file that cannot be read or parsed is a per-file skip with its reason; the scan goes on. One
module per file kind beside this one; `.gitignore` rules come from the audit walk's `GitIgnore`.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Sequence
from pathlib import Path

import pathspec
import yaml

from secaudit.tools.findings.model import Finding, fingerprint
from secaudit.tools.scanners.interface import (
    FileRef,
    FileSkip,
    ScanContext,
    Scanner,
    ScanResult,
)
from secaudit.tools.walker import GitIgnore

from .agent_setup import is_agent_config, scan_agent_config
from .common import Hit, Skip, basename, read_text
from .compose import is_compose, scan_compose
from .dockerfile import is_dockerfile, scan_dockerfile
from .dotenv import git_tracked, is_env_file, is_env_template, scan_env_file
from .keys import is_key_file, key_file
from .python_settings import is_settings_candidate, read_python, scan_python
from .rules import RULES

__all__ = ["ConfigScanner"]

SCANNER_VERSION = "2"  # 2: the agent-setup rules (agent_setup.py)


class ConfigScanner(Scanner):
    name = "config"
    description = (
        "Configuration hygiene: committed .env files, private key files, Dockerfile and compose "
        "risks, Django/Flask settings, world-writable files, the AI agent's own MCP/hook/permission "
        "setup. Stable rule ids, see docs/rules.md."
    )

    def version(self) -> str:
        return f"config-{SCANNER_VERSION}+pyyaml-{yaml.__version__}+pathspec-{pathspec.__version__}"

    def selects(self, file: FileRef) -> bool:
        name = basename(file.rel)
        return bool(
            file.mode & stat.S_IWOTH
            or is_env_file(name)
            or is_dockerfile(name)
            or is_compose(name)
            or is_key_file(name)
            or is_settings_candidate(file.rel)
            or is_agent_config(file.rel)
        )

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        result = ScanResult()
        ignore = GitIgnore(ctx.root)
        env_files = [
            f.rel for f in files if is_env_file(basename(f.rel)) and not is_env_template(basename(f.rel))
        ]
        tracked = git_tracked(ctx.root, env_files)
        if env_files and tracked is None:
            result.notes.append(
                "config: could not ask git which .env files are tracked (no repository or git unavailable); "
                "judged by .gitignore only"
            )
        done = 0
        for index, file in enumerate(files):
            if ctx.cancel.is_cancelled() or time.monotonic() >= ctx.deadline:
                reason = "cancelled" if ctx.cancel.is_cancelled() else "time budget exhausted"
                result.skipped.extend(FileSkip(f.rel, reason) for f in files[index:])
                result.notes.append(f"config scan stopped early ({reason})")
                result.complete = False
                break
            try:
                hits = self._scan_file(ctx.root, file, ignore, tracked)
            except Skip as skip:
                result.skipped.append(FileSkip(file.rel, str(skip)))
            else:
                result.scanned.append(file.rel)
                seen: dict[tuple[str, str], int] = {}
                for hit in sorted(hits, key=lambda h: h.line or 0):
                    # The same rule twice in a file (two DEBUG = True) needs two fingerprints.
                    count = seen[(hit.rule, hit.context)] = seen.get((hit.rule, hit.context), 0) + 1
                    result.findings.append(_finding(file.rel, hit, count))
            done += 1
            if done % 64 == 0:
                ctx.progress(64)
        if done % 64:
            ctx.progress(done % 64)
        return result

    def _scan_file(self, root: Path, file: FileRef, ignore: GitIgnore, tracked: set[str] | None) -> list[Hit]:
        name = basename(file.rel)
        hits: list[Hit] = []
        if file.mode & stat.S_IWOTH:
            hits.append(
                Hit("config.world-writable", None, f"mode {stat.filemode(file.mode)}", "world-writable")
            )
        if is_agent_config(file.rel):
            hits.extend(scan_agent_config(root, file.rel, file.mode))
        elif is_env_file(name):
            hits.extend(scan_env_file(root, file.rel, ignore, tracked))
        elif is_dockerfile(name):
            hits.extend(scan_dockerfile(file.rel, read_text(root, file.rel)))
        elif is_compose(name):
            hits.extend(scan_compose(file.rel, read_text(root, file.rel)))
        elif is_key_file(name):
            hits.extend(key_file(root, file.rel))
        elif is_settings_candidate(file.rel):
            head = read_python(root, file.rel)
            if head is not None:
                hits.extend(scan_python(file.rel, head))
        return hits


def _finding(rel: str, hit: Hit, occurrence: int = 1) -> Finding:
    rule = RULES[hit.rule]
    return Finding(
        scanner="config",
        rule_id=rule.id,
        severity=rule.severity,
        confidence=hit.confidence,
        path=rel,
        start_line=hit.line,
        end_line=hit.line,
        title=rule.title,
        message=f"{rule.title}: {hit.detail}. Fix: {rule.fix}",
        snippet=hit.snippet,
        cwe=[rule.cwe],
        references=[f"https://cwe.mitre.org/data/definitions/{rule.cwe}.html"],
        fingerprint=fingerprint(
            "config", rule.id, rel, hit.context, extra="" if occurrence == 1 else str(occurrence)
        ),
        properties={"fix": rule.fix},
    )

"""Helpers for the fix tests: findings, verifiers, a service on a real store file."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.findings.model import Finding, Severity, fingerprint
from secaudit.tools.fixes.service import FixService
from secaudit.tools.fixes.vault import BlobCipher
from secaudit.tools.fixes.verify import ScannerVerifier, ScanSnapshot, Verifier
from secaudit.tools.locks import Locker
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store


def finding(scanner: str, rule_id: str, path: str, line: int | None = None, **props: Any) -> Finding:
    return Finding(
        scanner=scanner,
        rule_id=rule_id,
        severity=Severity.HIGH,
        path=path,
        start_line=line,
        title=f"{rule_id} in {path}",
        fingerprint=fingerprint(scanner, rule_id, path, str(line), extra=json.dumps(props, sort_keys=True)),
        properties=props,
    )


# A small OSV fixture for the deps scanner: requests < 2.20.0 and urllib3 < 1.24.2 are affected.
OSV_RECORDS = [
    {
        "id": "PYSEC-TEST-REQ",
        "modified": "2024-01-01T00:00:00Z",
        "summary": "requests leaks credentials on redirect",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}],
    },
    {
        "id": "PYSEC-TEST-URL",
        "modified": "2024-01-01T00:00:00Z",
        "summary": "urllib3 CRLF injection",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.24.2"}]}]}],
    },
]  # fmt: skip


def import_osv(store: Store, folder: Path) -> None:
    """Write the OSV fixture as files under `folder` and import it into the store's advisory DB."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in OSV_RECORDS:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    report = AdvisoryDB(store).import_path(folder)
    assert report.errors == 0 and report.records == len(OSV_RECORDS), report.error_samples


def scanner_verifier(store: Store) -> ScannerVerifier:
    """The real verifier over the registered scanners, with the options the audit gives them."""
    return ScannerVerifier(timeout_seconds=120, store=store)


class PredicateVerifier:
    """Reports `target` while `present(root)` is true; optionally extra findings from `extra(root)`."""

    def __init__(
        self,
        target: Finding,
        present: Callable[[Path], bool],
        extra: Callable[[Path], list[Finding]] | None = None,
    ) -> None:
        self.target = target
        self.present = present
        self.extra = extra or (lambda _root: [])
        self.calls = 0

    def scan(self, root: Path, f: Finding, paths: Sequence[str]) -> ScanSnapshot:
        self.calls += 1
        found = [self.target] if self.present(root) else []
        return ScanSnapshot(findings=found + self.extra(root))


def make_service(
    tmp: Path,
    roots: Sequence[Path],
    *,
    verifier: Verifier | None = None,
    locker: Locker | None = None,
    **kwargs: Any,
) -> FixService:
    store = Store(tmp / "store" / "secaudit.db")
    store.migrate(STORE_MIGRATIONS)
    return FixService(
        store,
        roots,
        cipher=BlobCipher(tmp / "store" / "secaudit.db.fixkey"),
        locker=locker,
        lock_dir=tmp / "store" / "fix-locks",
        verifier=verifier,
        **kwargs,
    )


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".secaudit-tmp-" in p.name)

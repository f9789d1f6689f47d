"""The scanner-to-fixer contract: what the real scanners emit satisfies the models the fix
generators read through, and a fix reading outside its contract fails loudly."""

from __future__ import annotations

import secrets
import string
import time
from pathlib import Path

import pytest

from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.fixes.deps import fix_dependency
from secaudit.tools.fixes.generators import FIXERS
from secaudit.tools.fixes.secrets import fix_secret
from secaudit.tools.scanners.builtin import SCANNERS
from secaudit.tools.scanners.contracts import (
    DepsAdvisoryProperties,
    FindingProperties,
    FindingPropertiesError,
    SecretProperties,
    read_properties,
)
from secaudit.tools.scanners.deps import DepsScanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, Scanner
from secaudit.tools.scanners.secrets_scanner import SecretsScanner
from secaudit.tools.store import Store
from tests.support.fixes import import_osv

CONTRACTS: list[type[FindingProperties]] = [DepsAdvisoryProperties, SecretProperties]


def _scan(scanner: Scanner, root: Path, ctx: ScanContext) -> list[Finding]:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        ref = FileRef(path=path, rel=path.relative_to(root).as_posix(), size=st.st_size, mode=st.st_mode)
        if scanner.selects(ref):
            files.append(ref)
    return scanner.scan(ctx, files).findings


def _emits_every_field(contract: type[FindingProperties], finding: Finding) -> None:
    expected = set(contract.model_fields) - contract.not_emitted
    missing = sorted(expected - set(finding.properties))
    assert not missing, f"{finding.scanner} no longer emits {missing}, which its fix reads"
    read_properties(contract, finding)


def test_each_contract_belongs_to_a_registered_scanner_with_a_fixer() -> None:
    for contract in CONTRACTS:
        assert contract.scanner in SCANNERS.names() and contract.scanner in FIXERS.names()
        assert contract.not_emitted <= set(contract.model_fields)


def test_the_deps_scanner_emits_what_the_dependency_fix_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    import_osv(store, tmp_path / "osv")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.19.0\nurllib3==1.24.1\n")
    ctx = ScanContext(root=root, cancel=CancelToken(), deadline=time.monotonic() + 60, store=store)
    advisories = [f for f in _scan(DepsScanner(), root, ctx) if f.rule_id.startswith("PYSEC-")]
    assert {f.properties["package"] for f in advisories} == {"requests", "urllib3"}
    for finding in advisories:
        _emits_every_field(DepsAdvisoryProperties, finding)
        props = read_properties(DepsAdvisoryProperties, finding)
        assert props.package == finding.properties["package"] and props.smallest_safe_upgrade
    store.close()


def test_the_secrets_scanner_emits_what_the_secrets_fix_reads(tmp_path: Path) -> None:
    value = "".join(secrets.choice(string.ascii_letters) for _ in range(20)) + "#7"
    (tmp_path / "settings.py").write_text(f'DB_PASSWORD = "{value}"\n')
    ctx = ScanContext(
        root=tmp_path,
        cancel=CancelToken(),
        deadline=time.monotonic() + 60,
        options=SecretsScanner.Options.parse("secrets", {"secret_key": b"k" * 32}),
    )
    found = _scan(SecretsScanner(), tmp_path, ctx)
    assert found, "the secrets scanner found nothing to check the contract on"
    for finding in found:
        _emits_every_field(SecretProperties, finding)
        assert read_properties(SecretProperties, finding).secret_id == finding.properties["secret_id"]


def _deps_finding(**props: object) -> Finding:
    return Finding(
        scanner="deps",
        rule_id="PYSEC-X",
        severity=Severity.HIGH,
        path="requirements.txt",
        start_line=1,
        title="t",
        fingerprint="0" * 64,
        properties=props,
    )


_FILES = {"requirements.txt": b"a==1.0\n", "a.py": b'TOKEN = "x"\n'}


class _View:
    root = Path("/nonexistent")

    def read(self, rel: str) -> bytes | None:
        return _FILES.get(rel)


def test_reading_a_property_the_contract_lacks_fails() -> None:
    props = read_properties(DepsAdvisoryProperties, _deps_finding(package="a", cvss_score=9.8))
    # The scanner emits cvss_score, but the contract does not name it: a fix cannot read it.
    with pytest.raises(AttributeError):
        _ = props.cvss_score  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = read_properties(SecretProperties, _deps_finding()).kind  # type: ignore[attr-defined]


def test_a_property_of_the_wrong_type_fails_loudly() -> None:
    broken = _deps_finding(package="a", version="1.0", smallest_safe_upgrade=["1.1"])
    with pytest.raises(
        FindingPropertiesError, match=r"smallest_safe_upgrade: Input should be a valid string"
    ):
        fix_dependency(broken, _View())
    secret = Finding(
        scanner="secrets",
        rule_id="secrets.keyword",
        severity=Severity.HIGH,
        path="a.py",
        start_line=1,
        title="t",
        fingerprint="0" * 64,
        properties={"secret_id": 1234},
    )
    with pytest.raises(FindingPropertiesError, match="the secrets finding secrets.keyword at a.py"):
        fix_secret(secret, _View())


def test_empty_values_count_as_absent_and_aliases_are_read() -> None:
    props = read_properties(
        DepsAdvisoryProperties,
        _deps_finding(name="a", package="", smallest_safe_upgrade="", declared_in=None, fixed_versions=[]),
    )
    assert props.package == "a" and props.smallest_safe_upgrade is None and props.declared_in is None
    assert props.fixed_versions == ()
    assert read_properties(SecretProperties, _deps_finding(masked="ab***yz")).preview == "ab***yz"
    proposal = fix_dependency(_deps_finding(package="a", version="1.0", smallest_safe_upgrade="1.1"), _View())
    assert proposal.summary == "raise a to 1.1 (from 1.0)"

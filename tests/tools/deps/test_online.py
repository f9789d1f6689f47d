"""The opt-in online check through pip-audit: never reported clean when it audited nothing."""

from __future__ import annotations

from secaudit.tools.deps import AdvisoryBackendUnavailable, Dependency
from secaudit.tools.deps.online import pip_audit_check


def test_pip_audit_offline_is_never_reported_clean() -> None:
    dep = Dependency(
        ecosystem="PyPI",
        name="requests",
        normalized_name="requests",
        version="2.19.0",
        specifier="==2.19.0",
        direct=True,
        manifest="requirements.txt",
        line=1,
        source="requirements",
    )
    try:
        result = pip_audit_check([dep], service="pypi", timeout=60)
    except AdvisoryBackendUnavailable as exc:
        # Offline (the normal case on build machines): pip-audit printed "No known vulnerabilities
        # found" having audited nothing; we must say so.
        assert "offline" in str(exc)
        return
    # Online: it really audited the package, and requests 2.19.0 has known advisories.
    assert result.audited == 1 and result.findings

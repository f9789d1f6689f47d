"""The test helper `tests.support.shared` itself (not a module of secaudit): where `../shared` is
looked up, and that a missing one fails in CI and skips elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import shared


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root at tmp/repo, so `../shared` is tmp/shared; nothing from the real environment."""
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(shared, "REPO_ROOT", repo)
    monkeypatch.delenv("SECAUDIT_SHARED_DIR", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def _put(base: Path, relative: str) -> Path:
    path = base / relative
    path.mkdir(parents=True)
    return path


def test_beside_the_repository_comes_first(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    beside = _put(layout / "shared", "advisories/pypa/vulns")
    _put(layout / "elsewhere", "advisories/pypa/vulns")
    monkeypatch.setenv("SECAUDIT_SHARED_DIR", str(layout / "elsewhere"))
    assert shared.require_shared("advisories/pypa/vulns") == beside
    assert shared.shared_dir() == layout / "shared"


def test_the_environment_variable_is_the_fallback(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_SHARED_DIR", str(layout / "elsewhere"))
    found = _put(layout / "elsewhere", "schemas")
    assert shared.require_shared("schemas") == found
    # A ../shared that lacks the path does not stop the lookup.
    _put(layout / "shared", "advisories")
    assert shared.require_shared("schemas") == found


def test_no_hard_coded_location(layout: Path) -> None:
    # Whatever exists elsewhere on this machine (e.g. /work/shared) is not looked at.
    assert shared.shared_candidates() == [layout / "shared"]
    assert shared.shared_dir() is None


def test_missing_outside_ci_skips_with_the_reason(layout: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as exc:
        shared.require_shared("advisories/pypa/vulns")
    message = str(exc.value)
    assert "../shared/advisories/pypa/vulns is absent" in message
    assert str(layout / "shared" / "advisories" / "pypa" / "vulns") in message
    assert "SECAUDIT_SHARED_DIR" in message


def test_missing_in_ci_fails_with_the_reason(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as exc:
        shared.require_shared("advisories/pypa/vulns")
    message = str(exc.value)
    assert "../shared/advisories/pypa/vulns is absent" in message and "CI is set" in message

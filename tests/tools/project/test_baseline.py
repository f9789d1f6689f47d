"""The baseline file: strict reading (errors name the entry), deterministic writing, the merge."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from secaudit.tools.confined_io import LinkRefused
from secaudit.tools.findings.baseline import Decision
from secaudit.tools.findings.records import TriageStatus
from secaudit.tools.project.baseline import (
    BASELINE_FILE,
    load_baseline,
    merge_decisions,
    render_baseline,
    write_baseline,
)
from secaudit.tools.project.config import ProjectConfigError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _d(fp: str, at: str, status: TriageStatus = TriageStatus.ACCEPTED_RISK, **kw: object) -> Decision:
    values: dict[str, object] = {
        "fingerprint": fp * 64 if len(fp) == 1 else fp, "scanner": "bandit", "rule_id": "B101",
        "path": "a.py", "status": status, "reason": "because", "expires_at": None, "who": "cli", "at": at,
    }  # fmt: skip
    values.update(kw)
    return Decision(**values)  # type: ignore[arg-type]


def _entry(**kw: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "fingerprint": "a" * 64, "scanner": "bandit", "rule_id": "B101", "path": "tests/t.py",
        "status": "accepted_risk", "reason": "pytest", "expires_at": None, "who": "cli",
        "at": "2026-01-01T00:00:00.000Z",
    }  # fmt: skip
    entry.update(kw)
    return entry


def _write(root: Path, doc: object) -> None:
    (root / ".secaudit").mkdir(exist_ok=True)
    (root / BASELINE_FILE).write_text(json.dumps(doc))


def test_round_trip_is_deterministic(tmp_path: Path) -> None:
    decisions = merge_decisions(
        [_d("b", "2026-01-02T00:00:00.000Z", path="z.py"), _d("a", "2026-01-01T00:00:00.000Z", path="a.py")],
        now=NOW,
    )
    data = render_baseline(decisions)
    assert data.endswith(b"}\n") and data == render_baseline(list(reversed(decisions)))
    assert write_baseline(tmp_path, data) is True
    assert write_baseline(tmp_path, data) is False  # unchanged: not rewritten
    loaded = load_baseline(tmp_path)
    assert loaded is not None and [d.path for d in loaded.entries] == ["a.py", "z.py"]
    assert render_baseline(loaded.entries) == data


def test_merge_newest_wins_and_drops_open_and_expired() -> None:
    old = _d("a", "2026-01-01T00:00:00.000Z", reason="old")
    new = _d("a", "2026-02-01T00:00:00.000Z", reason="new")
    reopened = _d("b", "2026-03-01T00:00:00.000Z", TriageStatus.OPEN)
    earlier_b = _d("b", "2026-01-01T00:00:00.000Z")
    expired = _d("c", "2026-01-01T00:00:00.000Z", expires_at="2026-05-01T00:00:00.000Z")
    later = _d("d", "2026-01-01T00:00:00.000Z", expires_at="2026-07-01T00:00:00.000Z")
    merged = merge_decisions([new, earlier_b, expired], [old, reopened, later], now=NOW)
    assert [(d.fingerprint[0], d.reason) for d in merged] == [("a", "new"), ("d", "because")]
    # --include-open: only fingerprints nobody decided on (a re-opened one stays open).
    extra = [_d("b", "2026-06-01T00:00:00.000Z"), _d("e", "2026-06-01T00:00:00.000Z")]
    assert {d.fingerprint[0] for d in merge_decisions([new], [reopened], now=NOW, extra=extra)} == {"a", "e"}


def test_no_file_is_no_baseline(tmp_path: Path) -> None:
    assert load_baseline(tmp_path) is None


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"version": 1, "entries": [_entry(status="maybe")]}, "entries[0] (fingerprint aaaaaaaaaaaa).status"),
        ({"version": 1, "entries": [_entry(), _entry(fingerprint="xyz")]}, "entries[1].fingerprint"),
        (
            {"version": 1, "entries": [_entry(extra=1)]},
            "entries[0] (fingerprint aaaaaaaaaaaa).extra: unknown key",
        ),
        (
            {"version": 1, "entries": [_entry(path="../etc/passwd")]},
            "entries[0] (fingerprint aaaaaaaaaaaa).path",
        ),
        ({"version": 1, "entries": [_entry(at="yesterday")]}, ".at: expected an ISO 8601 date-time"),
        ({"version": 1, "entries": [_entry(reason="")]}, ".reason"),
        ({"version": 2, "entries": []}, "version"),
        ({"entries": []}, "version: Field required"),
        ([], "Input should be"),
        (
            {"version": 1, "entries": [_entry(), _entry()]},
            "entries[1] (fingerprint aaaaaaaaaaaa): the fingerprint appears twice",
        ),
    ],
)
def test_an_invalid_baseline_names_the_entry(tmp_path: Path, doc: object, expected: str) -> None:
    _write(tmp_path, doc)
    with pytest.raises(ProjectConfigError) as info:
        load_baseline(tmp_path)
    assert BASELINE_FILE in str(info.value) and expected in str(info.value)


def test_not_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".secaudit").mkdir()
    (tmp_path / BASELINE_FILE).write_bytes(b"{not json")
    with pytest.raises(ProjectConfigError, match="not valid UTF-8 JSON"):
        load_baseline(tmp_path)


def test_writing_follows_no_link(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / ".secaudit")
    with pytest.raises(LinkRefused):
        write_baseline(root, render_baseline([]))
    assert not (outside / "baseline.json").exists()


def test_expiry_splits_live_and_expired(tmp_path: Path) -> None:
    soon = (NOW + timedelta(days=1)).isoformat()
    _write(
        tmp_path,
        {
            "version": 1,
            "entries": [
                _entry(expires_at="2026-05-01T00:00:00Z"),
                _entry(fingerprint="b" * 64, expires_at=soon),
            ],
        },
    )
    loaded = load_baseline(tmp_path)
    assert loaded is not None
    assert [d.fingerprint[0] for d in loaded.live(NOW)] == ["b"]
    assert [d.fingerprint[0] for d in loaded.expired(NOW)] == ["a"]
    assert loaded.entries[0].expires_at == "2026-05-01T00:00:00.000Z"  # normalised to the stored shape

"""The secrets scanner reads its detect-secrets baseline through the confined reader."""

from __future__ import annotations

import json
from pathlib import Path

from secaudit.tools.scanners import secrets_scanner
from secaudit.tools.scanners.secrets_scanner import BASELINE_NAME, load_baseline

BASELINE = {"results": {"./a.py": [{"type": "AWS Access Key", "hashed_secret": "ab"}]}}


def test_baseline_read_and_normalised(tmp_path: Path) -> None:
    (tmp_path / BASELINE_NAME).write_text(json.dumps(BASELINE))
    assert load_baseline(tmp_path) == ({"a.py": (("AWS Access Key", "ab"),)}, None)


def test_a_linked_baseline_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(BASELINE))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / BASELINE_NAME).symlink_to(elsewhere)
    assert load_baseline(repo) == ({}, None)


def test_oversized_or_broken_baseline_is_a_note(tmp_path: Path) -> None:
    (tmp_path / BASELINE_NAME).write_text("{not json")
    baseline, note = load_baseline(tmp_path)
    assert baseline == {} and note is not None and "could not be read" in note
    (tmp_path / BASELINE_NAME).write_text(json.dumps(BASELINE) + " " * secrets_scanner.MAX_BASELINE_BYTES)
    baseline, note = load_baseline(tmp_path)
    assert baseline == {} and note is not None and "larger than" in note

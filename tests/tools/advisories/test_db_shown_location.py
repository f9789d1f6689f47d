"""Which import locations the db_status tool may echo."""

from __future__ import annotations

from pathlib import Path

from secaudit.tools.advisories import SourceInfo


def _source(location: str) -> SourceInfo:
    return SourceInfo(
        location=location, kind="directory", imported_at="2025-01-01T00:00:00Z", records=1, errors=0
    )


def test_urls_and_paths_inside_a_root_are_shown_as_stored(tmp_path: Path) -> None:
    url = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
    assert _source(url).shown_location([tmp_path]) == url
    inside = str(tmp_path / "osv" / "vulns")
    assert _source(inside).shown_location([Path("/elsewhere"), tmp_path]) == inside


def test_a_path_outside_every_root_shows_its_last_component_only(tmp_path: Path) -> None:
    outside = _source("/home/someone/secret-project/advisories")
    assert outside.shown_location([tmp_path]) == "(outside the allowed roots)/advisories"
    # A sibling whose name starts like the root is outside too.
    assert _source(f"{tmp_path}-other/osv").shown_location([tmp_path]) == "(outside the allowed roots)/osv"

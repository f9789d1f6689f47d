"""OSV parsing and version matching on small records written here."""

from __future__ import annotations

from typing import Any

import pytest

from secaudit.tools.advisories import (
    AdvisoryFormatError,
    AffectedPackage,
    is_affected,
    normalize_name,
    parse_record,
    smallest_safe_upgrade,
)

CVSS3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
CVSS4_HIGH_OR_MORE = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


def record(
    events: list[dict[str, str]] | None = None,
    *,
    eco: str = "PyPI",
    name: str = "demo",
    versions: list[str] | None = None,
    rtype: str = "ECOSYSTEM",
    **extra: Any,
) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": eco, "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": rtype, "events": events}]
    if versions is not None:
        affected["versions"] = versions
    rec: dict[str, Any] = {"id": "PYSEC-0000-1", "modified": "2024-01-01T00:00:00Z", "affected": [affected]}
    rec.update(extra)
    return rec


def pkg(events: list[dict[str, str]] | None = None, **kw: Any) -> AffectedPackage:
    return parse_record(record(events, **kw)).affected[0]


def affected(p: AffectedPackage, version: str) -> bool:
    return is_affected(p, version).affected


def test_introduced_and_fixed() -> None:
    p = pkg([{"introduced": "1.0"}, {"fixed": "1.5"}])
    assert [affected(p, v) for v in ("0.9", "1.0", "1.4.9", "1.5", "2.0")] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_introduced_zero_means_from_the_start() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "2.0"}])
    assert affected(p, "0.0.1") and affected(p, "1.9") and not affected(p, "2.0")


def test_introduced_without_fix_affects_everything_after() -> None:
    p = pkg([{"introduced": "3.0"}])
    assert not affected(p, "2.9") and affected(p, "3.0") and affected(p, "99")


def test_last_affected_is_inclusive() -> None:
    p = pkg([{"introduced": "1.0"}, {"last_affected": "1.4"}])
    assert affected(p, "1.4") and not affected(p, "1.4.1") and not affected(p, "0.9")


def test_limit_caps_the_range() -> None:
    p = pkg([{"introduced": "1.0"}, {"limit": "2.0"}])
    assert affected(p, "1.9") and not affected(p, "2.0") and not affected(p, "3.0")


def test_several_intervals_in_one_range_and_event_order_does_not_matter() -> None:
    p = pkg([{"fixed": "2.3"}, {"introduced": "2.0"}, {"fixed": "1.2"}, {"introduced": "1.0"}])
    got = [affected(p, v) for v in ("0.5", "1.1", "1.2", "1.9", "2.0", "2.2", "2.3", "3.0")]
    assert got == [False, True, False, False, True, True, False, False]


def test_prereleases_follow_pep440_order() -> None:
    p = pkg([{"introduced": "2.0"}, {"fixed": "2.1"}])
    # 2.0rc1 < 2.0 (not affected), 2.1rc1 < 2.1 (affected), 2.1.dev0 < 2.1rc1
    assert not affected(p, "2.0rc1")
    assert affected(p, "2.1rc1") and affected(p, "2.1.dev0")
    assert not affected(p, "2.1")
    assert affected(p, "2.0.post1")


def test_fixed_in_a_prerelease() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "3.0.0b1"}])
    assert affected(p, "3.0.0a9") and not affected(p, "3.0.0b1") and not affected(p, "3.0.0")


def test_versions_list_alone_and_pep440_equality() -> None:
    p = pkg(None, versions=["1.0", "1.1", "1.3"])
    assert affected(p, "1.1") and affected(p, "1.0.0")  # 1.0.0 == 1.0 in PEP 440
    assert not affected(p, "1.2")
    hit = is_affected(p, "1.3")
    assert hit.via == "versions"


def test_versions_list_or_range() -> None:
    p = pkg([{"introduced": "2.0"}, {"fixed": "2.1"}], versions=["1.0"])
    assert affected(p, "1.0") and affected(p, "2.0") and not affected(p, "1.5")


def test_invalid_dependency_version_gives_a_note_and_still_matches_the_list() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "2.0"}], versions=["1.0-custom-build"])
    res = is_affected(p, "not a version")
    assert not res.affected and any("not a valid PEP 440" in n for n in res.notes)
    assert is_affected(p, "1.0-custom-build").affected


def test_invalid_event_version_skips_that_range_with_a_note() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "2.0.0-final"}])
    res = is_affected(p, "1.0")
    assert not res.affected and "not evaluated" in res.notes[0]


def test_git_ranges_are_not_matched_against_versions() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "a" * 40}], rtype="GIT")
    assert not affected(p, "1.0")


def test_npm_semver_ranges() -> None:
    p = pkg([{"introduced": "4.0.0"}, {"fixed": "4.17.21"}], eco="npm", name="lodash", rtype="SEMVER")
    assert affected(p, "4.17.20") and not affected(p, "4.17.21") and not affected(p, "3.10.1")
    # SemVer pre-release precedence: 4.17.21-beta.1 < 4.17.21; build metadata is ignored.
    assert affected(p, "4.17.21-beta.1")
    assert not affected(p, "4.17.21+build.5")
    assert affected(p, "v4.17.0")
    res = is_affected(p, "4.17")
    assert not res.affected and any("SemVer" in n for n in res.notes)


def test_npm_ecosystem_range_uses_semver() -> None:
    p = pkg([{"introduced": "0"}, {"fixed": "1.10.0"}], eco="npm", name="x")
    assert affected(p, "1.9.9") and not affected(p, "1.10.0")  # numeric, not string, order


def test_names_pep503_and_lookalikes() -> None:
    assert normalize_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    cyrillic = "r\u0435quests"
    assert normalize_name("PyPI", cyrillic) != "requests"
    # str.lower() would fold the Kelvin sign into ASCII "k"; we must not.
    assert normalize_name("PyPI", "\u212aeyring") != "keyring"
    # npm: ASCII case folded (advisory data such as `Axios` for axios), non-ASCII kept as written.
    assert normalize_name("npm", "JSONStream") == "jsonstream"
    assert normalize_name("npm", "\u212aeyv") != "keyv"


def test_smallest_safe_upgrade_across_advisories() -> None:
    a = pkg([{"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.0.3"}])
    b = pkg([{"introduced": "1.1"}, {"fixed": "1.3"}])
    c = pkg([{"introduced": "0"}, {"fixed": "1.2.5"}])
    assert smallest_safe_upgrade([a, b, c], "1.0", "PyPI").version == "1.3"
    assert smallest_safe_upgrade([a, b, c], "2.0.1", "PyPI").version == "2.0.3"
    assert smallest_safe_upgrade([a, b, c], "1.5", "PyPI").version == "1.5"  # already safe


def test_smallest_safe_upgrade_none_when_no_fix() -> None:
    a = pkg([{"introduced": "0"}])
    up = smallest_safe_upgrade([a], "1.0", "PyPI")
    assert up.version is None and "no fixed version" in up.note
    b = pkg([{"introduced": "1.0"}, {"last_affected": "1.4"}])
    assert smallest_safe_upgrade([b], "1.2", "PyPI").version is None


def test_smallest_safe_upgrade_skips_prereleases_unless_current_is_one() -> None:
    a = pkg([{"introduced": "0"}, {"fixed": "2.0rc1"}, {"introduced": "2.0rc2"}, {"fixed": "2.0.1"}])
    assert smallest_safe_upgrade([a], "1.0", "PyPI").version == "2.0.1"
    assert smallest_safe_upgrade([a], "2.0b1", "PyPI").version == "2.0rc1"
    only_pre = pkg([{"introduced": "0"}, {"fixed": "3.0a1"}])
    up = smallest_safe_upgrade([only_pre], "1.0", "PyPI")
    assert up.version is None and "pre-release" in up.note


def test_smallest_safe_upgrade_npm() -> None:
    a = pkg([{"introduced": "0"}, {"fixed": "1.10.0"}], eco="npm", name="x", rtype="SEMVER")
    b = pkg([{"introduced": "1.10.0"}, {"fixed": "1.10.2"}], eco="npm", name="x", rtype="SEMVER")
    assert smallest_safe_upgrade([a, b], "1.2.0", "npm").version == "1.10.2"


def test_severity_from_cvss_vectors_and_labels() -> None:
    v3 = parse_record(record([{"introduced": "0"}], severity=[{"type": "CVSS_V3", "score": CVSS3_CRITICAL}]))
    assert v3.severity.level == "critical" and v3.severity.score == 9.8 and v3.severity.source == "CVSS_V3"
    v4 = parse_record(
        record(
            [{"introduced": "0"}],
            severity=[
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"},
                {"type": "CVSS_V4", "score": CVSS4_HIGH_OR_MORE},
            ],
        )
    )
    assert v4.severity.source == "CVSS_V4" and v4.severity.level == "critical"
    label = parse_record(record([{"introduced": "0"}], database_specific={"severity": "MODERATE"}))
    assert label.severity.level == "medium" and label.severity.source == "database_specific"
    bad = parse_record(record([{"introduced": "0"}], severity=[{"type": "CVSS_V3", "score": "garbage"}]))
    assert bad.severity.level == "unknown"
    none = parse_record(record([{"introduced": "0"}]))
    assert none.severity.level == "unknown" and none.severity.score is None


def test_untrusted_text_is_cleaned_and_bounded() -> None:
    rec = record(
        [{"introduced": "0"}],
        summary="ok\x1b[31m red\u202e evil",
        details="x" * 100_000,
        references=[{"type": "WEB", "url": "javascript:alert(1)"}, {"type": "WEB", "url": "https://e.x/a"}],
    )
    adv = parse_record(rec)
    assert "\x1b" not in adv.summary and "\u202e" not in adv.summary
    assert len(adv.details) <= 8000
    assert [r.url for r in adv.references] == ["https://e.x/a"]


@pytest.mark.parametrize(
    "bad",
    [
        {"modified": "2024-01-01T00:00:00Z"},
        {"id": "../../etc", "modified": "2024-01-01T00:00:00Z"},
        {"id": "X-1"},
        {"id": "X-1", "modified": "yesterday"},
        {"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": "nope"},
        {
            "id": "X-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {"package": {"ecosystem": "PyPI", "name": "a"}, "ranges": [{"type": "WEIRD", "events": []}]}
            ],
        },
        {
            "id": "X-1",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "a"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "1"}]}],
                }
            ],
        },
        ["not", "a", "record"],
    ],
)
def test_malformed_records_are_refused(bad: object) -> None:
    with pytest.raises(AdvisoryFormatError):
        parse_record(bad)


def test_aliases_and_timestamps() -> None:
    adv = parse_record(
        record(
            [{"introduced": "0"}],
            aliases=["CVE-2024-1", "GHSA-aaaa-bbbb-cccc", "bad alias!"],
            modified="2024-01-01T02:00:00+02:00",
            withdrawn="2024-02-01T00:00:00Z",
        )
    )
    assert adv.aliases == ("CVE-2024-1", "GHSA-aaaa-bbbb-cccc")
    assert adv.modified == "2024-01-01T00:00:00.000000Z"
    assert adv.is_withdrawn

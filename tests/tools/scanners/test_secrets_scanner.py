"""The `secrets` scanner: each kind found and masked, placeholders and fixtures not reported.

Every token here is built at run time from a seeded RNG: nothing realistic is committed (push
protection style). The raw values are then searched for in everything the scanner returns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import string
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from secaudit.tools.scanners.builtin import get_scanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, ScanResult
from secaudit.tools.scanners.secrets_detect import mask_value
from secaudit.tools.scanners.secrets_scanner import SecretsScanner

KEY = b"test-store-key-0123456789abcdef!"
RNG = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
LOWER_DIGITS = string.ascii_lowercase + string.digits


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def fake_jwt() -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(
        json.dumps({"sub": rand(string.digits, 8), "name": rand(string.ascii_lowercase, 6)}).encode()
    )
    return f"{header}.{payload}.{b64url(RNG.randbytes(32))}"


def fake_pem_body() -> list[str]:
    raw = base64.b64encode(RNG.randbytes(600)).decode()
    return [raw[i : i + 64] for i in range(0, len(raw), 64)]


def strong(n: int = 14, symbols: str = "#%&*") -> str:
    """A value with several character classes and no placeholder word."""
    while True:
        value = rand(ALNUM, n - 2) + RNG.choice(symbols) + RNG.choice(string.digits)
        low = value.lower()
        if not any(w in low for w in ("test", "pass", "fake", "xxx", "your", "demo", "mock", "none", "null")):
            return value


# kind -> (line template holding {v}, raw value)
POSITIVES: dict[str, tuple[str, str]] = {
    "secrets.aws-access-key": ('aws_access_key_id = "{v}"\n', "AKIA" + rand(UPPER_DIGITS, 16)),
    "secrets.github-token": ('GITHUB = "{v}"\n', "ghp_" + rand(ALNUM, 36)),
    "secrets.gitlab-token": ('gitlab = "{v}"\n', "glpat-" + rand(ALNUM, 20)),
    "secrets.slack-token": (
        'slack = "{v}"\n',
        f"xoxb-{rand(string.digits, 11)}-{rand(string.digits, 12)}-{rand(LOWER_DIGITS, 24)}",
    ),
    "secrets.stripe-key": ('stripe.api = "{v}"\n', "sk_live_" + rand(ALNUM, 24)),
    "secrets.jwt": ('bearer = "{v}"\n', fake_jwt()),
    "secrets.url-credentials": (
        'REMOTE = "https://deploy:{v}@git.internal.corp/app.git"\n',
        strong(18, "-._~"),
    ),
    "secrets.keyword": ('db_password = "{v}"\n', strong(14)),
    "secrets.high-entropy-base64": ('signing_token = "{v}"\n', rand(ALNUM + "+/", 44)),
    "secrets.high-entropy-hex": ('session_token = "{v}"\n', rand("0123456789abcdef", 48)),
}

NEGATIVES: dict[str, str] = {
    "aws-doc-example": 'aws_key = "AKIAIOSFODNN7EXAMPLE"\n',
    "aws-too-short": 'aws_key = "AKIA1234"\n',
    "github-too-short": 'tok = "ghp_' + rand(ALNUM, 10) + '"\n',
    "gitlab-too-short": 'tok = "glpat-abc"\n',
    "slack-prefix-only": 'prefix = "xoxb-"\n',
    "stripe-test-key": 'stripe_key_name = "sk_test_' + rand(ALNUM, 24) + '"\n',
    "jwt-not-json": 'x = "eyJub3QganNvbg.eyJub3QganNvbg.abc"\n',
    "url-placeholder": 'URL = "https://user:password@example.com/db"\n',
    "url-no-password": 'URL = "https://git.internal.corp/app.git"\n',
    "keyword-placeholder": 'password = "changeme"\n',
    "keyword-short": 'password = "hunter"\n',
    "keyword-env": 'password = os.environ["DB_PASSWORD"]\n',
    "keyword-lowercase-word": 'password = "correcthorsebattery"\n',
    "keyword-template": 'password = "{{ vault_db_password }}"\n',
    "entropy-hash-context": 'sha256_checksum_token = "' + rand("0123456789abcdef", 64) + '"\n',
    "entropy-no-context": 'value = "' + rand(ALNUM, 44) + '"\n',
    "private-key-mention": 'doc = "files starting with -----BEGIN RSA PRIVATE KEY----- are keys"\n',
    "certificate": "-----BEGIN CERTIFICATE-----\n"
    + "\n".join(fake_pem_body())
    + "\n-----END CERTIFICATE-----\n",
}


def refs(root: Path) -> list[FileRef]:
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            st = path.lstat()
            out.append(FileRef(path, path.relative_to(root).as_posix(), st.st_size, st.st_mode))
    return sorted(out, key=lambda f: f.rel)


def run(
    root: Path, *, cache: Any = None, workers: int = 1, cancel: CancelToken | None = None, **options: Any
) -> ScanResult:
    scanner = SecretsScanner()
    ctx = ScanContext(
        root=root,
        cancel=cancel or CancelToken(),
        deadline=time.monotonic() + 120,
        cache=cache,
        workers=workers,
        options=SecretsScanner.Options.parse("secrets", {"secret_key": KEY, **options}),
    )
    return scanner.scan(ctx, [f for f in refs(root) if scanner.selects(f)])


def dump(result: ScanResult) -> str:
    return json.dumps(
        {
            "findings": [f.model_dump(mode="json") for f in result.findings],
            "skipped": [s.__dict__ for s in result.skipped],
            "notes": result.notes,
        }
    )


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.gets = 0

    def get(self, key: str) -> Any | None:
        self.gets += 1
        raw = self.data.get(key)
        return None if raw is None else json.loads(raw)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found = {k: self.get(k) for k in keys}
        return {k: v for k, v in found.items() if v is not None}

    def put(self, key: str, value: Any) -> None:
        self.data[key] = json.dumps(value)  # JSON round trip, as a real store would


@pytest.mark.parametrize("rule", sorted(POSITIVES))
def test_each_kind_is_found_masked_and_never_raw(tmp_path: Path, rule: str) -> None:
    template, value = POSITIVES[rule]
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "conf.py").write_text("import os\n\n" + template.format(v=value))
    result = run(tmp_path)
    hits = [f for f in result.findings if f.rule_id == rule]
    assert len(hits) == 1, [f.rule_id for f in result.findings]
    finding = hits[0]
    assert finding.start_line == 3
    assert finding.properties["preview"] == mask_value(value)
    assert finding.snippet is not None and mask_value(value) in finding.snippet
    assert not finding.suppressed_in_code
    assert value not in dump(result)
    # The masked preview shows at most 8 characters of a long value, none of a short one.
    if len(value) >= 16:
        assert finding.properties["preview"] == f"{value[:4]}...{value[-4:]}"


def test_private_key_is_found_and_its_body_never_returned(tmp_path: Path) -> None:
    body = fake_pem_body()
    (tmp_path / "deploy.txt").write_text(
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----\n"
    )
    result = run(tmp_path)
    assert [f.rule_id for f in result.findings] == ["secrets.private-key"]
    out = dump(result)
    assert all(chunk not in out for chunk in body)


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_placeholders_and_lookalikes_are_not_reported(tmp_path: Path, name: str) -> None:
    (tmp_path / "settings.py").write_text("import os\n" + NEGATIVES[name])
    result = run(tmp_path)
    assert result.findings == [], [(f.rule_id, f.snippet) for f in result.findings]
    assert result.scanned == ["settings.py"]


def test_guesses_in_test_paths_are_dismissed_but_token_formats_are_not(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    keyword_line = POSITIVES["secrets.keyword"][0].format(v=POSITIVES["secrets.keyword"][1])
    github_line = POSITIVES["secrets.github-token"][0].format(v=POSITIVES["secrets.github-token"][1])
    (tmp_path / "tests" / "test_login.py").write_text(keyword_line + github_line)
    result = run(tmp_path)
    assert [f.rule_id for f in result.findings] == ["secrets.github-token"]
    assert any("test-path=" in note for note in result.notes)
    assert {f.rule_id for f in run(tmp_path, include_tests=True).findings} == {
        "secrets.github-token",
        "secrets.keyword",
    }


def test_pragma_and_baseline_mark_suppressed_but_keep_the_finding(tmp_path: Path) -> None:
    gh = "ghp_" + rand(ALNUM, 36)
    gl = "glpat-" + rand(ALNUM, 22)
    aws = "AKIA" + rand(UPPER_DIGITS, 16)
    (tmp_path / "a.py").write_text(
        f'A = "{gh}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'B = "{gl}"\n'
        f'C = "{aws}"\n'
    )
    (tmp_path / "b.py").write_text(f'D = "{aws}"\n')
    sha1 = hashlib.sha1(aws.encode()).hexdigest()
    (tmp_path / ".secrets.baseline").write_text(
        json.dumps(
            {"results": {"b.py": [{"type": "AWS Access Key", "hashed_secret": sha1, "line_number": 1}]}}
        )
    )
    result = run(tmp_path)
    by = {(f.path, f.rule_id): f for f in result.findings}
    assert len(result.findings) == 4
    assert by[("a.py", "secrets.github-token")].properties["suppression"] == "pragma"
    assert by[("a.py", "secrets.gitlab-token")].suppressed_in_code
    assert not by[("a.py", "secrets.aws-access-key")].suppressed_in_code
    assert by[("b.py", "secrets.aws-access-key")].properties["suppression"] == "baseline"
    assert ".secrets.baseline" not in result.scanned


def test_fingerprint_survives_inserted_lines_and_depends_on_the_key(tmp_path: Path) -> None:
    value = "ghp_" + rand(ALNUM, 36)
    path = tmp_path / "x.py"
    path.write_text(f'T = "{value}"\n')
    first = run(tmp_path).findings[0]
    path.write_text("import os\n\n\n" + f'T = "{value}"\n')
    moved = run(tmp_path).findings[0]
    assert moved.start_line == 4 and moved.fingerprint == first.fingerprint
    other_key = run(tmp_path, secret_key=b"another-key-0123456789abcdef").findings[0]
    assert other_key.fingerprint != first.fingerprint
    # An unkeyed hash of the value must not be what is stored.
    assert hashlib.sha256(value.encode()).hexdigest() not in dump(run(tmp_path))


def test_repeated_value_in_one_file_gets_distinct_fingerprints(tmp_path: Path) -> None:
    value = "ghp_" + rand(ALNUM, 36)
    (tmp_path / "x.py").write_text(f'A = "{value}"\nB = "{value}"\n')
    findings = run(tmp_path).findings
    assert len(findings) == 2 and len({f.fingerprint for f in findings}) == 2


def test_cache_serves_unchanged_files_and_holds_no_raw_secret(tmp_path: Path) -> None:
    values = [POSITIVES[r][1] for r in sorted(POSITIVES)]
    for index, rule in enumerate(sorted(POSITIVES)):
        template, value = POSITIVES[rule]
        (tmp_path / f"m{index}.py").write_text(template.format(v=value))
    cache = DictCache()
    cold = run(tmp_path, cache=cache)
    assert len(cache.data) == len(POSITIVES)
    stored = json.dumps(cache.data)
    assert all(v not in stored for v in values)
    warm = run(tmp_path, cache=cache)
    assert sorted(f.fingerprint for f in warm.findings) == sorted(f.fingerprint for f in cold.findings)
    assert any(f"({len(POSITIVES)} from cache)" in note for note in warm.notes)
    # One change: only that file is rescanned, and its new finding appears.
    (tmp_path / "m0.py").write_text(POSITIVES["secrets.github-token"][0].format(v="ghp_" + rand(ALNUM, 36)))
    changed = run(tmp_path, cache=cache)
    assert any(f"({len(POSITIVES) - 1} from cache)" in note for note in changed.notes)
    assert {f.rule_id for f in changed.findings if f.path == "m0.py"} == {"secrets.github-token"}


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    value = "ghp_" + rand(ALNUM, 36)
    for index in range(80):
        (tmp_path / f"f{index:02d}.py").write_text(
            "x = 1\n" * 20 + (f'T = "{value}"\n' if index % 10 == 0 else "")
        )
    single = run(tmp_path, workers=1)
    pooled = run(tmp_path, workers=2)
    assert len(single.findings) == 8
    assert sorted(f.fingerprint for f in pooled.findings) == sorted(f.fingerprint for f in single.findings)
    assert sorted(pooled.scanned) == sorted(single.scanned)


def test_unreadable_and_binary_files_are_skips_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "latin.txt").write_bytes("caf\xe9 password".encode("latin-1"))
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run(tmp_path)
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons == {"blob.dat": "binary content (NUL bytes)", "latin.txt": "not UTF-8 text"}
    assert result.scanned == ["ok.py"]


def test_cancelled_scan_reports_every_file_as_skipped_not_clean(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('T = "ghp_' + rand(ALNUM, 36) + '"\n')
    token = CancelToken()
    token.cancel()
    result = run(tmp_path, cancel=token)
    assert result.findings == [] and result.scanned == []
    assert [s.reason for s in result.skipped] == ["cancelled"]
    assert result.complete is False


def test_detect_secrets_mode_matches_the_library_on_its_own_kinds(tmp_path: Path) -> None:
    """tuned=False reports what detect-secrets itself would (placeholders included)."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    lines = [t.format(v=v) for t, v in POSITIVES.values()] + list(NEGATIVES.values())
    (tmp_path / "mixed.py").write_text("".join(lines))
    ours = {(f.properties["kind"], f.start_line) for f in run(tmp_path, tuned=False).findings}
    plugins = [
        {"name": n}
        for n in (
            "AWSKeyDetector GitHubTokenDetector GitLabTokenDetector SlackDetector StripeDetector "
            "PrivateKeyDetector JwtTokenDetector BasicAuthDetector KeywordDetector"
        ).split()
    ] + [{"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "HexHighEntropyString", "limit": 3.0}]
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with transient_settings({"plugins_used": plugins}):
            theirs = {(s.type, s.line_number) for s in scan_file("mixed.py")}
    finally:
        os.chdir(cwd)
    assert theirs and ours == theirs


def test_registered_and_versioned() -> None:
    scanner = get_scanner("secrets")
    assert isinstance(scanner, SecretsScanner)
    assert "detect-secrets-" in scanner.version()


def test_short_key_is_refused(tmp_path: Path) -> None:
    from secaudit.tools.scanners.interface import ScannerError

    with pytest.raises(ScannerError, match="at least 16 bytes"):
        run(tmp_path, secret_key=b"short")


def test_dotenv_values_need_no_quotes(tmp_path: Path) -> None:
    value = strong(16)
    (tmp_path / ".env").write_text(f"DB_PASSWORD={value}\nDEBUG=1\n")
    result = run(tmp_path)
    assert [(f.rule_id, f.start_line) for f in result.findings] == [("secrets.keyword", 1)]
    assert value not in dump(result)


def test_item12_test_path_dismissals_are_listed_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 11 item 12: the dismissals were one total (`test-path=N`). Now the run's notes name each
    # file with its count (the first MAX_TEST_PATH_FILES, the rest counted) and how to include them.
    from secaudit.tools.scanners import secrets_scanner

    monkeypatch.setattr(secrets_scanner, "MAX_TEST_PATH_FILES", 2)  # the bound, on three files
    keyword = POSITIVES["secrets.keyword"][0].format(v=POSITIVES["secrets.keyword"][1])
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(keyword + keyword.replace("db_", "api_"))
    (tmp_path / "tests" / "test_b.py").write_text(keyword)
    (tmp_path / "tests" / "test_c.py").write_text(keyword)
    (tmp_path / "app.py").write_text("x = 1\n")
    result = run(tmp_path)
    assert result.findings == []
    [total] = [n for n in result.notes if n.startswith("candidates dismissed")]
    per_file = int(total.split("test-path=")[1].split(",")[0]) // 4  # four keyword lines in all
    [note] = [n for n in result.notes if n.startswith("test-path dismissals per file")]
    assert "(3 files;" in note and "--include-tests" in note and "include_test_paths=true" in note
    assert note.endswith(
        f"tests/test_a.py={2 * per_file}, tests/test_b.py={per_file}; 1 more files not listed"
    ), note
    assert "app.py" not in note

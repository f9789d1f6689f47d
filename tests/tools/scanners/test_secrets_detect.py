"""Detection misses found on public corpora (hardening issue, items 7, 9, 10, 11), pinned on the
pure per-file detector: one-line private keys, Google API keys, translation catalogues, long lines."""

from __future__ import annotations

import base64
import json
import random
import string

from secaudit.tools.scanners.secrets_detect import DetectConfig, SecretRecord, detect_in_text

KEY = b"test-store-key-0123456789abcdef!"
RNG = random.Random(20261203)
ALNUM = string.ascii_letters + string.digits
CFG = DetectConfig()


def rules(records: list[SecretRecord]) -> list[str]:
    return sorted(r.secret_type for r in records)


def google_key() -> str:
    return "AIza" + "".join(RNG.choice(ALNUM + "_-") for _ in range(35))


def pem_one_line() -> str:
    body = base64.b64encode(RNG.randbytes(900)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def test_google_api_key_is_found_and_masked() -> None:
    value = google_key()
    records, _ = detect_in_text("src/maps.js", f'const MAPS_KEY = "{value}";\n', KEY, CFG)
    assert rules(records) == ["Google API Key"]
    assert value not in json.dumps([r.to_json() for r in records])


def test_google_api_key_lookalikes_are_not_found() -> None:
    short = "AIza" + "b" * 20
    inside = "x" + google_key() + "y"  # part of a longer run: not a key
    text = f'a = "{short}"\nb = "{inside}"\n'
    records, _ = detect_in_text("src/a.py", text, KEY, CFG)
    assert "Google API Key" not in rules(records)


def test_private_key_in_a_json_string_is_found() -> None:
    # The shape of a GCP service-account file: the key on one line with its newlines escaped.
    doc = {"type": "service_account", "project_id": "demo-123", "private_key": pem_one_line()}
    text = json.dumps(doc, indent=2) + "\n"
    records, dismissed = detect_in_text("deploy/sa.json", text, KEY, CFG)
    assert "Private Key" in rules(records)
    assert "header-only" not in dismissed


def test_private_key_in_a_dotenv_value_is_found() -> None:
    escaped = pem_one_line().replace("\n", "\\n")
    records, _ = detect_in_text(".env", f'TLS_KEY="{escaped}"\n', KEY, CFG)
    assert "Private Key" in rules(records)


def test_a_header_mentioned_in_prose_is_still_not_a_key() -> None:
    text = 'doc = "files starting with -----BEGIN RSA PRIVATE KEY----- are keys"\n'
    records, dismissed = detect_in_text("src/doc.py", text, KEY, CFG)
    assert records == []
    assert dismissed.get("header-only") == 1


LABELS = (
    '{\n  "login": {\n    "password": "Kennwort eingeben",\n    "api_key": "API-Schlüssel (Konto)"\n  }\n}\n'
)


def test_translation_catalogue_labels_are_dismissed() -> None:
    for rel in ("i18n/fr.json", "src/locales/fr/common.json", "app/translations/de.yaml", "po/fr.po"):
        records, dismissed = detect_in_text(rel, LABELS, KEY, CFG)
        assert records == [], rel
        assert dismissed.get("translation-catalogue", 0) >= 1, rel


def test_the_same_labels_outside_a_catalogue_are_reported() -> None:
    records, _ = detect_in_text("src/settings.json", LABELS, KEY, CFG)
    assert records, "the heuristic must be about the path, not the values"


def test_token_formats_are_still_found_in_a_catalogue() -> None:
    token = "ghp_" + "".join(RNG.choice(ALNUM) for _ in range(36))
    records, _ = detect_in_text("locales/en.json", f'{{"token": "{token}"}}\n', KEY, CFG)
    assert rules(records) == ["GitHub Token"]


def test_a_token_past_column_4000_is_found_once() -> None:
    token = "ghp_" + "".join(RNG.choice(ALNUM) for _ in range(36))
    filler = "var a=1;" * 6000  # minified code: one 48,000-character line
    text = filler + f'var t="{token}";' + filler + "\n"
    records, _ = detect_in_text("dist/app.min.js", text, KEY, CFG)
    assert rules(records) == ["GitHub Token"]
    assert records[0].line == 1


def test_long_line_windows_do_not_duplicate_a_value_in_their_overlap() -> None:
    token = "ghp_" + "".join(RNG.choice(ALNUM) for _ in range(36))
    # Two key-like anchors 300 characters apart put the token in two overlapping windows.
    text = "x" * 5000 + "key=1;" + " " * 300 + f'"{token}"' + "y" * 5000 + "\n"
    records, _ = detect_in_text("dist/b.js", text, KEY, CFG)
    assert rules(records) == ["GitHub Token"]

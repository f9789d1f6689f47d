"""Canary secrets for the leak test: generated fresh per run, planted everywhere, searched byte by byte.

Every canary is a random value in a real secret shape (the detectors know these shapes), so it looks
like a secret to every layer, yet can only appear in an output by being copied there. A search looks
for the value in plain form and in the encodings a leak typically takes on the way out (URL-encoded,
JSON-escaped, base64 at every alignment), and for slices of its random middle, so a value cut short
(a preview longer than first-4/last-4, a truncated snippet) is found too.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["Canaries", "Evidence", "find_leaks", "format_leaks"]

_ALNUM = string.ascii_letters + string.digits
_UPPER_DIGITS = string.ascii_uppercase + string.digits
# Interior slices searched in plain form: long enough that chance matches are impossible, short
# enough that a partial copy of the value (more than a 4+4 preview) contains one.
_SLICE = 12


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Canaries:
    """Canaries by label (`where.kind`), so a leak names the route it took."""

    values: dict[str, str] = field(default_factory=dict)
    # The full PEM text of each private-key canary (its label's value is one random body line).
    pems: dict[str, str] = field(default_factory=dict)

    def _add(self, label: str, value: str) -> str:
        assert label not in self.values, label
        self.values[label] = value
        return value

    def github(self, where: str) -> str:
        return self._add(f"{where}.github", "ghp_" + _rand(_ALNUM, 36))

    def aws_key_id(self, where: str) -> str:
        return self._add(f"{where}.aws_key_id", "AKIA" + _rand(_UPPER_DIGITS, 16))

    def aws_secret(self, where: str, first: str = "") -> str:
        """`first` fixes the leading characters: one AWS secret in 32 starts with `+` or `/`, which
        a masking heuristic once took for code between two string literals."""
        return self._add(f"{where}.aws_secret", first + _rand(_ALNUM + "/+", 40 - len(first)))

    def slack(self, where: str) -> str:
        value = f"xoxb-{_rand(string.digits, 12)}-{_rand(string.digits, 13)}-{_rand(_ALNUM, 24)}"
        return self._add(f"{where}.slack", value)

    def jwt(self, where: str) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps({"sub": secrets.token_hex(12), "nonce": secrets.token_hex(16)}).encode())
        value = f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"
        # The header is the same for every HS256 token: the payload and signature are the canary.
        self._add(f"{where}.jwt", value.split(".", 1)[1])
        return value

    def password(self, where: str) -> str:
        return self._add(f"{where}.password", "pw" + secrets.token_urlsafe(18))

    def api_key(self, where: str) -> str:
        return self._add(f"{where}.api_key", secrets.token_urlsafe(32).replace("-", "x").replace("_", "y"))

    def http_token(self, where: str) -> str:
        return self._add(f"{where}.http_token", "sa_" + secrets.token_urlsafe(32))

    def private_key(self, where: str) -> str:
        """A real RSA private key in PEM; a random line of its body is the canary."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode("ascii")
        body = pem.strip().splitlines()[1:-1]
        self._add(f"{where}.private_key", body[len(body) // 2])
        self.pems[f"{where}.private_key"] = pem
        return pem

    def needles(self) -> list[tuple[str, str, bytes]]:
        """(label, encoding, bytes) for every canary and every form searched."""
        out: list[tuple[str, str, bytes]] = []
        for label, value in self.values.items():
            raw = value.encode()
            forms = {
                "plain": raw,
                "url-encoded": quote(value, safe="").encode(),
                "json-escaped": json.dumps(value)[1:-1].encode(),
                # A slug or a case-insensitive key keeps most of a value's entropy.
                "lower-cased": value.lower().encode(),
            }
            for name, form in forms.items():
                out.append((label, name, form))
            for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
                for shift in range(3):
                    enc = encode(b"\0" * shift + raw)
                    # Drop the characters that depend on the bytes around the value.
                    start = 4 if shift else 0
                    stable = enc[start : len(enc) - 4]
                    if len(stable) >= 16:
                        out.append((label, f"{alphabet}@{shift}", stable))
            interior = value[4:-4]
            for i in range(0, max(len(interior) - _SLICE + 1, 1), _SLICE):
                piece = interior[i : i + _SLICE]
                if len(piece) == _SLICE:
                    out.append((label, f"slice[{i + 4}:{i + 4 + _SLICE}]", piece.encode()))
        return out


@dataclass(frozen=True)
class Evidence:
    """One searched output: a file, a captured stream or a serialised tool result."""

    name: str
    data: bytes

    @staticmethod
    def from_files(files: Iterable[Path], prefix: str = "") -> list[Evidence]:
        return [Evidence(prefix + str(p), p.read_bytes()) for p in sorted(files) if p.is_file()]

    @staticmethod
    def from_tree(root: Path, prefix: str = "") -> list[Evidence]:
        return Evidence.from_files((p for p in root.rglob("*") if p.is_file()), prefix)

    @staticmethod
    def of(name: str, obj: object) -> Evidence:
        if isinstance(obj, bytes):
            return Evidence(name, obj)
        if isinstance(obj, str):
            return Evidence(name, obj.encode("utf-8", "surrogatepass"))
        # ensure_ascii=False keeps characters as they are; a second form covers \u-escaped output.
        text = json.dumps(obj, ensure_ascii=False, default=str)
        return Evidence(name, (text + "\n" + json.dumps(obj, default=str)).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Leak:
    label: str
    encoding: str
    source: str
    context: str


def find_leaks(canaries: Canaries, evidence: Iterable[Evidence]) -> list[Leak]:
    """Every (canary, output) pair where some form of the canary occurs; the first form found."""
    needles = canaries.needles()
    leaks: list[Leak] = []
    for item in evidence:
        seen: set[str] = set()
        for label, encoding, needle in needles:
            if label in seen:
                continue
            at = item.data.find(needle)
            if at < 0:
                continue
            seen.add(label)
            before = item.data[max(0, at - 120) : at]
            after = item.data[at + len(needle) : at + len(needle) + 60]
            leaks.append(Leak(label, encoding, item.name, _context(needles, before, label, after)))
    return leaks


def _context(needles: list[tuple[str, str, bytes]], before: bytes, label: str, after: bytes) -> str:
    """Where the value sat, with every canary in sight replaced by its label: a failing test's
    report must not print the secrets it caught."""
    text = before + b"<<" + label.encode() + b">>" + after
    plain = sorted(((n, o) for o, form, n in needles if form == "plain"), key=lambda x: -len(x[0]))
    for needle, other in plain:
        text = text.replace(needle, b"<<" + other.encode() + b">>")
    return text.decode("utf-8", "replace").replace("\n", "\\n")


def format_leaks(leaks: list[Leak]) -> str:
    lines = [f"{len(leaks)} canary occurrence(s) (canary, form, where):"]
    for leak in leaks[:80]:
        lines.append(f"- {leak.label} ({leak.encoding}) in {leak.source}: ...{leak.context}...")
    return "\n".join(lines)

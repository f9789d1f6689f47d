"""Parse OSV records (JSON or YAML) from a file, a directory tree or an OSV `all.zip` dump.

Records are third-party input: every field is type-checked, text is bounded and cleaned, and lists
are capped. A record that fails is reported by name and skipped; the others go on.

A zip is streamed (`zipstream`): one member is in memory at a time, never the archive nor its
directory, so a dump of any number of records is read in bounded memory; a member over
MAX_RECORD_BYTES is skipped with that reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from secaudit.tools.text import clean_line as _clean_line
from secaudit.tools.text import clean_text as _clean_text
from secaudit.tools.timefmt import iso_us

from .model import (
    RANGE_TYPES,
    SKIP_INVALID,
    SKIP_TOO_LARGE,
    SKIP_UNDECODABLE,
    SKIP_UNREADABLE,
    Advisory,
    AdvisoryFormatError,
    AffectedPackage,
    AffectedRange,
    Event,
    EventKind,
    Reference,
)
from .names import canonical_ecosystem, normalize_name
from .severity import severity_of
from .zipstream import ZipMemberError, ZipStreamError, iter_members, read_member

__all__ = [
    "MAX_RECORD_BYTES",
    "OsvDocument",
    "canonical_timestamp",
    "content_hash",
    "iter_documents",
    "load_document",
    "parse_record",
]

# Real OSV records are kilobytes (the largest PyPI and npm ones a few hundred); the cap bounds the
# memory one record's parse can take, and with it the whole import's.
MAX_RECORD_BYTES = 4 * 1024 * 1024
# Not a memory bound (members are streamed) but a time bound against a zip bomb made of many small,
# highly compressed members: far above any real dump (npm's expands to about 1 GiB).
MAX_ZIP_TOTAL_BYTES = 64 * 1024 * 1024 * 1024

_MAX_SUMMARY = 300
_MAX_DETAILS = 8000
_MAX_AFFECTED = 2000
_MAX_RANGES = 200
_MAX_EVENTS = 2000
_MAX_VERSIONS = 100_000
_MAX_REFERENCES = 200
_MAX_ALIASES = 200
_MAX_VERSION_LEN = 200
_MAX_NAME_LEN = 300
_MAX_URL_LEN = 2048

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")
_EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")
_OSV_SUFFIXES = (".json", ".yaml", ".yml")

# The C loader is ~10x faster than the pure-Python one, and parsing YAML is most of an import's cost.
# BaseLoader (not SafeLoader) keeps every scalar a string: an unquoted `1.10` stays "1.10" instead of
# becoming the float 1.1, and timestamps stay RFC 3339 text.
_YamlLoader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


@dataclass(frozen=True, slots=True)
class OsvDocument:
    """One record's raw form: `origin` names it for error reports (relative path or zip member);
    `size` is its share of the bytes it was decoded from (how much an import buffers)."""

    origin: str
    data: object
    size: int = 0


def clean_line(value: object, limit: int) -> str:
    # Most fields of a dump (ids, names, versions, dates) are short printable ASCII with single
    # spaces, which the cleaner returns unchanged: skip its regex, split and NFC for those.
    if (
        isinstance(value, str)
        and len(value) <= limit
        and value.isascii()
        and value.isprintable()
        and "  " not in value
        and value[:1] != " "
        and value[-1:] != " "
    ):
        return value
    return _clean_line(value if isinstance(value, str) else str(value), limit)


def clean_text(value: object, limit: int) -> str:
    return _clean_text(value if isinstance(value, str) else str(value), limit)


def _fail(msg: str, reason: str = SKIP_INVALID) -> AdvisoryFormatError:
    return AdvisoryFormatError(msg, reason)


def _opt_str(value: object, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return _timestamp(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _fail(f"{what} must be a string")
    if value.strip() in ("", "null", "~"):
        return None
    return clean_line(value, limit)


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$"
)


def canonical_timestamp(text: str) -> str | None:
    """RFC 3339 text to one fixed-width UTC form (so stored values compare as strings), else None."""
    m = _TS_RE.match(text.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return iso_us(value)


def _timestamp(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _list(value: object, what: str, cap: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{what} must be a list")
    if len(value) > cap:
        raise _fail(f"{what} has {len(value)} entries (more than {cap})")
    return value


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(f"{what} must be a mapping")
    return value


def _version(value: object, what: str) -> str:
    text = _opt_str(value, what, _MAX_VERSION_LEN + 1)
    if text is None or not text:
        raise _fail(f"{what} is empty")
    if len(text) > _MAX_VERSION_LEN:
        raise _fail(f"{what} is longer than {_MAX_VERSION_LEN} characters")
    return text


def _parse_range(raw: object, where: str) -> AffectedRange:
    rng = _mapping(raw, where)
    rtype = _opt_str(rng.get("type"), f"{where}.type", 32)
    if rtype not in RANGE_TYPES:
        raise _fail(f"{where}.type {rtype!r} is not one of {', '.join(RANGE_TYPES)}")
    events: list[Event] = []
    for j, raw_event in enumerate(_list(rng.get("events"), f"{where}.events", _MAX_EVENTS)):
        event = _mapping(raw_event, f"{where}.events[{j}]")
        kinds = [k for k in _EVENT_KINDS if k in event]
        if len(kinds) != 1:
            raise _fail(f"{where}.events[{j}] must have exactly one of {', '.join(_EVENT_KINDS)}")
        value = event[kinds[0]]
        if kinds[0] != "introduced" and (value is None or (isinstance(value, str) and not value.strip())):
            # GitHub writes `fixed: ""` when no fix exists (malware reports): an end that names no
            # version ends nothing, so the range stays open. Refusing the record would lose it.
            continue
        events.append(Event(kinds[0], _version(value, f"{where}.events[{j}].{kinds[0]}")))
    if not any(e.kind == "introduced" for e in events):
        raise _fail(f"{where} has no 'introduced' event")
    repo = _opt_str(rng.get("repo"), f"{where}.repo", _MAX_URL_LEN)
    return AffectedRange(type=rtype, events=tuple(events), repo=repo)


def _parse_affected(
    raw: object, where: str
) -> tuple[AffectedPackage, list[tuple[str, str]], list[Mapping[str, Any]]]:
    entry = _mapping(raw, where)
    package = _mapping(entry.get("package"), f"{where}.package")
    ecosystem = _opt_str(package.get("ecosystem"), f"{where}.package.ecosystem", 100)
    name = _opt_str(package.get("name"), f"{where}.package.name", _MAX_NAME_LEN)
    if not ecosystem or not name:
        raise _fail(f"{where}.package needs an ecosystem and a name")
    ecosystem = canonical_ecosystem(ecosystem)
    ranges = tuple(
        _parse_range(r, f"{where}.ranges[{k}]")
        for k, r in enumerate(_list(entry.get("ranges"), f"{where}.ranges", _MAX_RANGES))
    )
    versions = tuple(
        _version(v, f"{where}.versions[{k}]")
        for k, v in enumerate(_list(entry.get("versions"), f"{where}.versions", _MAX_VERSIONS))
    )
    severities = _severity_entries(entry.get("severity"), f"{where}.severity")
    specific = [
        m for m in (entry.get("database_specific"), entry.get("ecosystem_specific")) if isinstance(m, Mapping)
    ]
    affected = AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        normalized_name=normalize_name(ecosystem, name),
        ranges=ranges,
        versions=versions,
        purl=_opt_str(package.get("purl"), f"{where}.package.purl", _MAX_URL_LEN),
    )
    return affected, severities, specific


def _severity_entries(raw: object, where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, item in enumerate(_list(raw, where, 50)):
        sev = _mapping(item, f"{where}[{k}]")
        kind = _opt_str(sev.get("type"), f"{where}[{k}].type", 32)
        score = _opt_str(sev.get("score"), f"{where}[{k}].score", 400)
        if kind and score:
            out.append((kind, score))
    return out


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = clean_line(value, _MAX_URL_LEN + 1)
    # Only web links are kept: a reference is shown to people and agents, never fetched by us.
    if len(url) > _MAX_URL_LEN or not url.lower().startswith(("https://", "http://")):
        return None
    return url


def content_hash(data: object) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def parse_record(data: object) -> Advisory:
    """Validate one OSV record and return its bounded, cleaned form; AdvisoryFormatError if unusable."""
    rec = _mapping(data, "record")
    rid = rec.get("id")
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise _fail("record id is missing or not an OSV identifier")
    modified_text = _opt_str(rec.get("modified"), "modified", 64)
    modified = canonical_timestamp(modified_text) if modified_text else None
    if not modified:
        raise _fail(f"{rid}: 'modified' is required and must be an RFC 3339 timestamp")
    published = _opt_str(rec.get("published"), "published", 64)
    withdrawn = _opt_str(rec.get("withdrawn"), "withdrawn", 64)
    raw_aliases = (_opt_str(x, "aliases[]", 128) for x in _list(rec.get("aliases"), "aliases", _MAX_ALIASES))
    aliases = tuple(dict.fromkeys(a for a in raw_aliases if a and _ID_RE.match(a) and a != rid))
    affected: list[AffectedPackage] = []
    severities = _severity_entries(rec.get("severity"), "severity")
    specific: list[Mapping[str, Any]] = [m for m in (rec.get("database_specific"),) if isinstance(m, Mapping)]
    try:
        for i, raw in enumerate(_list(rec.get("affected"), "affected", _MAX_AFFECTED)):
            pkg, sev, spec = _parse_affected(raw, f"affected[{i}]")
            affected.append(pkg)
            severities.extend(sev)
            specific.extend(spec)
    except AdvisoryFormatError as exc:
        raise _fail(f"{rid}: {exc.message}") from None
    references: list[Reference] = []
    for item in _list(rec.get("references"), "references", _MAX_REFERENCES * 10)[:_MAX_REFERENCES]:
        if isinstance(item, Mapping):
            url = _url(item.get("url"))
            if url:
                references.append(Reference(type=clean_line(item.get("type") or "WEB", 32), url=url))
    return Advisory(
        id=rid,
        modified=modified,
        published=(canonical_timestamp(published) or published) if published else None,
        withdrawn=(canonical_timestamp(withdrawn) or withdrawn) if withdrawn else None,
        aliases=aliases,
        summary=clean_line(rec.get("summary") or "", _MAX_SUMMARY),
        details=clean_text(rec.get("details") or "", _MAX_DETAILS),
        affected=tuple(affected),
        references=tuple(references),
        severity=severity_of(severities, specific),
        content_hash=content_hash(data),
    )


def _too_large(origin: str) -> AdvisoryFormatError:
    return _fail(f"{origin}: larger than {MAX_RECORD_BYTES} bytes; skipped", SKIP_TOO_LARGE)


def _decode(origin: str, raw: bytes) -> object:
    if len(raw) > MAX_RECORD_BYTES:
        raise _too_large(origin)
    try:
        if origin.lower().endswith(".json"):
            return json.loads(raw)
        return yaml.load(raw, Loader=_YamlLoader)  # noqa: S506 - BaseLoader builds plain str/list/dict only
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        kind = "JSON" if origin.lower().endswith(".json") else "YAML"
        raise _fail(f"{origin}: not valid {kind} ({type(exc).__name__})", SKIP_UNDECODABLE) from None


def _explode(origin: str, data: object, size: int) -> Iterator[OsvDocument]:
    """A file may hold one record, a list of records, or an API-style {"vulns": [...]} answer."""
    items: list[Any] | None = None
    if isinstance(data, list):
        items = data
    elif isinstance(data, Mapping) and "id" not in data and isinstance(data.get("vulns"), list):
        items = data["vulns"]
    if items is None:
        yield OsvDocument(origin, data, size)
        return
    share = size // max(len(items), 1)
    for i, item in enumerate(items):
        yield OsvDocument(f"{origin}[{i}]", item, share)


def _read_regular(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _fail(f"{path.name}: not a regular file", SKIP_UNREADABLE)
        if st.st_size > MAX_RECORD_BYTES:
            raise _too_large(path.name)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_RECORD_BYTES + 1)
    finally:
        os.close(fd)


def load_document(origin: str, raw: bytes) -> Iterator[OsvDocument]:
    """Decode one file's bytes; raises AdvisoryFormatError for undecodable input."""
    yield from _explode(origin, _decode(origin, raw), len(raw))


def _iter_zip(path: Path) -> Iterator[OsvDocument | AdvisoryFormatError]:
    total = 0
    seen = 0
    members = iter_members(path)
    try:
        with path.open("rb") as data:
            while True:
                try:
                    member = next(members)
                    seen += 1
                except StopIteration:
                    return
                except ZipStreamError as exc:
                    if seen == 0:
                        raise _fail(
                            f"{path.name}: not a readable zip archive ({exc})", SKIP_UNREADABLE
                        ) from None
                    # Damage found part way: what was read stands, and the report says the rest was not.
                    yield _fail(f"{path.name}: {exc}; the members after it were not read", SKIP_UNREADABLE)
                    return
                if member.is_dir or not member.name.lower().endswith(_OSV_SUFFIXES):
                    continue
                origin = f"{path.name}:{clean_line(member.name, 200)}"
                total += min(member.file_size, MAX_RECORD_BYTES + 1)
                if total > MAX_ZIP_TOTAL_BYTES:
                    raise _fail(f"{path.name}: expands to more than {MAX_ZIP_TOTAL_BYTES} bytes")
                try:
                    raw = read_member(data, member, MAX_RECORD_BYTES)
                    yield from load_document(origin, raw)
                except ZipMemberError as exc:
                    if exc.too_large:
                        yield _too_large(origin)
                    else:
                        yield _fail(f"{origin}: {exc}", SKIP_UNREADABLE)
                except AdvisoryFormatError as exc:
                    yield exc
    except OSError as exc:
        raise _fail(
            f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})", SKIP_UNREADABLE
        ) from None
    finally:
        members.close()


def _iter_tree(root: Path) -> Iterator[OsvDocument | AdvisoryFormatError]:
    # os.walk does not follow symlinked directories by default; symlinked files are refused by
    # O_NOFOLLOW in _read_regular. Sorted for a stable import order and stable error reports.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith(".") or not filename.lower().endswith(_OSV_SUFFIXES):
                continue
            full = Path(dirpath, filename)
            origin = full.relative_to(root).as_posix()
            try:
                raw = _read_regular(full)
                yield from load_document(origin, raw)
            except AdvisoryFormatError as exc:
                yield exc
            except OSError as exc:
                yield _fail(
                    f"{origin}: cannot be read ({exc.strerror or type(exc).__name__})", SKIP_UNREADABLE
                )


def iter_documents(path: Path) -> Iterator[OsvDocument | AdvisoryFormatError]:
    """Every raw record under `path` (a directory, a .json/.yaml file, or a .zip), or the error for it.

    Raises AdvisoryFormatError only when `path` as a whole is unusable.
    """
    try:
        st = path.stat()
    except OSError:
        raise _fail("the advisory path does not exist or cannot be read") from None
    if stat.S_ISDIR(st.st_mode):
        yield from _iter_tree(path)
    elif stat.S_ISREG(st.st_mode) and path.name.lower().endswith(".zip"):
        yield from _iter_zip(path)
    elif stat.S_ISREG(st.st_mode) and path.name.lower().endswith(_OSV_SUFFIXES):
        try:
            yield from load_document(path.name, _read_regular(path))
        except OSError as exc:
            raise _fail(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    else:
        raise _fail("the advisory path must be a directory, a .json/.yaml OSV file or an OSV all.zip")

"""`db update`: download OSV's per-ecosystem `all.zip` dumps and import them.

Every dump is downloaded before anything is imported, so a failure half way changes nothing. The
timeouts are short on purpose: on a machine without network this must fail in seconds with a clear
message, not hang.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .model import DatabaseUpdateFailed
from .names import SUPPORTED_ECOSYSTEMS, canonical_ecosystem

if TYPE_CHECKING:
    from .db import AdvisoryDB, ImportReport

__all__ = ["DEFAULT_BASE_URL", "MAX_DUMP_BYTES", "download_dump", "update_database"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
MAX_DUMP_BYTES = 2 * 1024 * 1024 * 1024
_BLOCK = 1024 * 1024


def dump_url(base_url: str, ecosystem: str) -> str:
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(ecosystem)}/all.zip"


def download_dump(url: str, dest: Path, *, timeout: float = 10.0, max_bytes: int = MAX_DUMP_BYTES) -> int:
    """Stream `url` into `dest`; DatabaseUpdateFailed with the reason on any failure."""
    if not url.startswith(("https://", "http://")):
        raise DatabaseUpdateFailed("the advisory dump URL must be http(s)")
    request = urllib.request.Request(url, headers={"User-Agent": "secaudit-mcp (db update)"})  # noqa: S310
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, dest.open("wb") as out:  # noqa: S310
            while True:
                block = response.read(_BLOCK)
                if not block:
                    break
                size += len(block)
                if size > max_bytes:
                    raise DatabaseUpdateFailed(f"the dump at {url} is larger than {max_bytes} bytes; refused")
                out.write(block)
    except urllib.error.HTTPError as exc:
        raise DatabaseUpdateFailed(f"downloading {url} failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, ssl.SSLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatabaseUpdateFailed(
            f"cannot download {url} ({type(reason).__name__}: {str(reason)[:120]}). The machine may be "
            "offline or the service unreachable; the database was not changed. Without network, import "
            "a copy: `secaudit db import PATH` (a directory of OSV records or an all.zip)"
        ) from None
    except OSError as exc:
        raise DatabaseUpdateFailed(f"cannot store the download of {url}: {exc.strerror or 'error'}") from None
    return size


def update_database(
    db: AdvisoryDB,
    ecosystems: Sequence[str] = SUPPORTED_ECOSYSTEMS,
    *,
    base_url: str = DEFAULT_BASE_URL,
    timeout: float = 10.0,
) -> list[ImportReport]:
    wanted = [canonical_ecosystem(e) for e in ecosystems]
    unknown = [e for e in wanted if e not in SUPPORTED_ECOSYSTEMS]
    if unknown:
        raise DatabaseUpdateFailed(
            f"unsupported ecosystem(s) {', '.join(unknown)}; supported: {', '.join(SUPPORTED_ECOSYSTEMS)}"
        )
    tmp = Path(tempfile.mkdtemp(prefix="secaudit-osv-"))
    try:
        files: list[tuple[str, Path]] = []
        for eco in wanted:
            url = dump_url(base_url, eco)
            dest = tmp / f"{eco}-all.zip"
            size = download_dump(url, dest, timeout=timeout)
            log.info("downloaded %s (%d bytes)", url, size)
            files.append((url, dest))
        return [db.import_path(path, location=url) for url, path in files]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

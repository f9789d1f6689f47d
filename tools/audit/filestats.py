"""Stat-first re-audits: a file whose `lstat` is unchanged is neither read nor hashed again.

As git's index does, the store keeps, per audited root and file, the stat under which the file's
content hash (sha256 of its whole content) was taken: size, mtime_ns, ctime_ns, inode and device,
in the `audit_file_stats` table. A re-audit compares the walk's `lstat` with that row; when all
five match, the stored hash stands for the content and each scanner looks its cached result up
with it. The content hash stays the authority whenever the stat cannot vouch for it:

- Any field differs: the file is read and hashed (a same-size edit moves mtime; an edit whose mtime
  was put back with `os.utime` still moves ctime, which no program can set; a file replaced by an
  atomic rename has another inode).
- The racy rule. A timestamp has a granularity (nanoseconds on ext4, but taken from a clock that may
  lag ~10 ms; 2 s on FAT) so a file written again within the same tick as the write we hashed keeps
  the same mtime. git calls such an entry "racily clean" and compares content. Here the time the
  hash was taken is `checked_ns`, read from the clock before the walk started, so before the stat
  and the read: a row is trusted only when the file's mtime and ctime are both at least
  `RACY_WINDOW_NS` (3 s: FAT's 2 s plus the clock's lag) older than `checked_ns`. A file changed
  less than that before an audit is hashed again on the next one, and recorded anew; a time in the
  future is never trusted.
- No stat (a FileRef built by hand), a run without the cache (`use_cache=False`: `--no-cache`,
  `run_audit`'s `use_cache`): the file is hashed; the fresh rows are still stored.

A wrong stat row can cost a re-hash, never a wrong result, with one caveat git shares: a tool that
rewrites a file keeping its size, and then restores mtime and ctime (setting the clock back), or a
network filesystem whose server clock runs far behind this machine's. `--no-cache` re-reads every
file. Rows of files a full walk no longer sees are dropped with the run.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from secaudit.tools.store import Store
from secaudit.tools.walker import FileRef

__all__ = ["RACY_WINDOW_NS", "FileStats"]

RACY_WINDOW_NS = 3_000_000_000
_Row = tuple[int, int, int, int, int, str, int]  # size, mtime_ns, ctime_ns, ino, dev, sha256, checked_ns


class FileStats:
    """One root's stat rows for one run: loaded in one query, written in one transaction."""

    def __init__(self, store: Store, root: str, *, trust: bool = True, started_ns: int | None = None) -> None:
        """`trust=False`: vouch for nothing (every file is hashed) but still record. `started_ns`:
        the wall clock (time.time_ns) read before the walk: every hash of this run is younger."""
        self.store = store
        self.root = root
        self.trust = trust
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        self.vouched = 0
        self._rows: dict[str, _Row] = {}
        self._learned: dict[str, _Row] = {}
        if trust:
            self._rows = {
                str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), str(r[6]), int(r[7]))
                for r in store.query(
                    "SELECT rel, size, mtime_ns, ctime_ns, ino, dev, sha256, checked_ns"
                    " FROM audit_file_stats WHERE root = ?",
                    (root,),
                )
            }

    def known(self, file: FileRef) -> str | None:
        """The sha256 of `file`'s whole content when its stat vouches for the stored one, else None."""
        row = self._rows.get(file.rel) if file.mtime_ns else None
        if row is None:
            return None
        size, mtime_ns, ctime_ns, ino, dev, digest, checked_ns = row
        if (size, mtime_ns, ctime_ns, ino, dev) != (
            file.size,
            file.mtime_ns,
            file.ctime_ns,
            file.ino,
            file.dev,
        ):
            return None
        if max(mtime_ns, ctime_ns) > checked_ns - RACY_WINDOW_NS:
            return None  # racily clean: the same stat may hide a later write in the same tick
        self.vouched += 1
        return digest

    def learn(self, file: FileRef, digest: str) -> None:
        """`digest` is the sha256 of `file`'s whole content, read after the walk's lstat of it."""
        if not file.mtime_ns:
            return
        row = (file.size, file.mtime_ns, file.ctime_ns, file.ino, file.dev, digest, self.started_ns)
        if self._rows.get(file.rel) != row:
            self._learned[file.rel] = row

    def flush(self, *, present: Collection[str] | None = None) -> None:
        """Store what was learned; `present`: every file a full walk saw (rows of others are dropped),
        None when the walk was not full (a `paths` subset, capped, a fault)."""
        gone: list[str] = []
        if present is not None:
            if not self.trust:  # rows were not loaded: look at the stored names only
                self._rows = {
                    str(r[0]): (0, 0, 0, 0, 0, "", 0)
                    for r in self.store.query("SELECT rel FROM audit_file_stats WHERE root = ?", (self.root,))
                }
            gone = [rel for rel in self._rows if rel not in present]
        if not self._learned and not gone:
            return
        with self.store.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO audit_file_stats (root, rel, size, mtime_ns, ctime_ns, ino, dev,"
                " sha256, checked_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.root, rel, *row) for rel, row in self._learned.items()],
            )
            conn.executemany(
                "DELETE FROM audit_file_stats WHERE root = ? AND rel = ?", [(self.root, rel) for rel in gone]
            )
        self._rows.update(self._learned)
        self._learned.clear()

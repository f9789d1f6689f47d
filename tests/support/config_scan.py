"""Running the `config` scanner over a real folder in tests: the files it selects, one scan."""

from __future__ import annotations

import os
import time
from pathlib import Path

from secaudit.tools.scanners.config import ConfigScanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, ScanResult

__all__ = ["scan_tree"]


def scan_tree(root: Path) -> ScanResult:
    scanner = ConfigScanner()
    files = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(dirpath) / name
            st = path.lstat()
            ref = FileRef(path, path.relative_to(root).as_posix(), st.st_size, st.st_mode)
            if scanner.selects(ref):
                files.append(ref)
    ctx = ScanContext(root=root, cancel=CancelToken(), deadline=time.monotonic() + 60)
    return scanner.scan(ctx, sorted(files, key=lambda f: f.rel))

"""A bandit worker process: run as a script (`python bandit_worker.py`), never imported.

It is started by the bandit scanner, one per core, and lives for one scan. Running it as a file
rather than as `-m secaudit...` keeps its start-up to bandit itself: importing our package would
pull in pydantic and the finding model, which the worker never needs.

Protocol (one JSON document per line):
    stdin   {"files": [[absolute path, relative path], ...]}
    stdout  {"ready": true, "bandit": "<version>"}           once, after bandit has loaded
            {"rel": ..., "issues": [...]}                     one per file scanned
            {"rel": ..., "skip": "<reason>"}                  one per file bandit could not scan
            {"done": true}                                    after each request
EOF on stdin ends the worker.

Our configuration is bandit's built-in defaults (every plugin, no profile): the audited repository's
`.bandit`, `pyproject.toml` or `setup.cfg` are never read, so they cannot switch checks off.
`# nosec` is honoured the way bandit honours it, except that the finding is kept and flagged
`suppressed` instead of being dropped.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import tokenize
from typing import Any

from bandit.core import config as b_config  # type: ignore[import-untyped]
from bandit.core import (
    docs_utils,
    manager,
    metrics,
    node_visitor,
    test_set,
    tester,
)
from bandit.core import meta_ast as b_meta_ast

# Bandit emits several logger.debug calls per AST node; even disabled, the calls cost about 5 % of
# a scan. Replacing them with a no-op changes no result.
for _module in (node_visitor, tester, manager):
    _module.LOG.debug = lambda *a, **k: None
logging.getLogger("bandit").setLevel(logging.CRITICAL)


class _RecordingTester(tester.BanditTester):  # type: ignore[misc]
    """Keeps every result; remembers which `# nosec` would have suppressed it."""

    def _get_nosecs_from_contexts(self, context: Any, test_result: Any = None) -> Any:
        tests = super()._get_nosecs_from_contexts(context, test_result)
        if test_result is not None:
            test_result._secaudit_nosec = tests
        # None: "no nosec here", so bandit keeps the result (and does not log about it).
        return None


def _nosec_lines(data: bytes) -> dict[int, set[str] | None]:
    lines: dict[int, set[str] | None] = {}
    if b"nosec" not in data:
        # No comment can say nosec: skip tokenizing, the slowest part of bandit's file handling.
        return lines
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type == tokenize.COMMENT:
                lines[tok.start[0]] = manager._parse_nosec_comment(tok.string)
    except Exception:  # noqa: BLE001, S110 - bandit ignores tokenizer errors too; the AST parse decides
        pass
    return lines


def _scan(path: str, test_set_: Any, meta: Any) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return {"skip": f"cannot read the file: {exc.strerror or type(exc).__name__}"}
    nosec = _nosec_lines(data)
    fdata = io.BytesIO(data)
    met = metrics.Metrics()
    met.begin(path)
    try:
        visitor = node_visitor.BanditNodeVisitor(path, fdata, meta, test_set_, False, nosec, met)
        visitor.tester = _RecordingTester(test_set_, False, nosec, met)
        visitor.process(data)
    except SyntaxError as exc:
        if "null bytes" in str(exc.msg):
            return {"skip": "bandit cannot parse it (the file contains NUL bytes)"}
        # The compiler's message may quote the file (an invalid character): keep plain ASCII words.
        words = "".join(c if c.isascii() and (c.isalnum() or c in " ()-_.,:'") else "?" for c in str(exc.msg))
        where = f" at line {exc.lineno}" if isinstance(exc.lineno, int) else ""
        return {"skip": f"bandit cannot parse it (syntax error{where}: {words[:100]})"}
    except ValueError as exc:
        if "null bytes" in str(exc):
            return {"skip": "bandit cannot parse it (the file contains NUL bytes)"}
        return {"skip": "bandit cannot parse it (invalid source)"}
    except (RecursionError, MemoryError):
        return {"skip": "bandit cannot parse it (nested too deeply)"}
    except Exception as exc:  # noqa: BLE001 - one bad file must not end the scan
        return {"skip": f"bandit failed on this file ({type(exc).__name__})"}
    issues = []
    for res in visitor.tester.results:
        tests = getattr(res, "_secaudit_nosec", None)
        suppressed = tests is not None and (not tests or res.test_id in tests)
        issues.append(
            {
                "test_id": res.test_id,
                "test_name": res.test,
                "severity": res.severity,
                "confidence": res.confidence,
                "cwe": int(res.cwe.id) if res.cwe and res.cwe.id else 0,
                "text": res.text,
                "lineno": res.lineno,
                "linerange": list(res.linerange or [res.lineno]),
                "col_offset": res.col_offset,
                "more_info": docs_utils.get_url(res.test_id),
                "suppressed": suppressed,
            }
        )
    return {"issues": issues}


def main() -> int:
    import bandit  # type: ignore[import-untyped]

    conf = b_config.BanditConfig()
    tests = test_set.BanditTestSet(conf, {})
    meta = b_meta_ast.BanditMetaAst()
    out = sys.stdout
    out.write(json.dumps({"ready": True, "bandit": bandit.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        for path, rel in request["files"]:
            result = _scan(path, tests, meta)
            result["rel"] = rel
            out.write(json.dumps(result) + "\n")
            out.flush()
        out.write('{"done": true}\n')
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

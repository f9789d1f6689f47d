"""The JS/TS fixes for semgrep findings: exact rewrites, refusals, idempotence, and that every output
still parses (node --check for JavaScript, the TypeScript compiler's parser for TypeScript)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict
from secaudit.tools.findings.model import Finding, Severity, fingerprint
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.generators import generator_for, supported
from secaudit.tools.fixes.javascript import (
    JS_FIXES,
    JWT_ALGORITHMS,
    add_jwt_algorithms,
    disable_x_powered_by,
    enable_tls_verification,
    fix_semgrep,
    replace_math_random,
)
from secaudit.tools.fixes.model import FixStatus
from secaudit.tools.scanners.interface import (
    FileRef,
    ScanContext,
    Scanner,
    ScannerUnavailable,
    ScanResult,
)
from tests.support.fixes import PredicateVerifier, make_service, scanner_verifier
from tests.support.semgrep import find_semgrep

XPB = "js-express-x-powered-by"
TLS = "js-tls-reject-unauthorized-off"
JWT = "js-jwt-verify-no-algorithms"
RND = "js-math-random-secret"
FIXERS = {
    XPB: disable_x_powered_by,
    TLS: enable_tls_verification,
    JWT: add_jwt_algorithms,
    RND: replace_math_random,
}
NODE = shutil.which("node")


def semgrep_finding(
    rule: str, path: str, text: str, needle: str, occurrence: int = 0, **props: object
) -> Finding:
    """A finding as the semgrep scanner reports it: 1-based lines, semgrep's byte columns (end
    exclusive) for the `occurrence`-th `needle` in `text`."""
    idx = -1
    for _ in range(occurrence + 1):
        idx = text.index(needle, idx + 1)

    def line_col(offset: int) -> tuple[int, int]:
        line_start = text.rfind("\n", 0, offset) + 1
        return text.count("\n", 0, offset) + 1, len(text[line_start:offset].encode()) + 1

    (sl, sc), (el, ec) = line_col(idx), line_col(idx + len(needle))
    return Finding(
        scanner="semgrep",
        rule_id=rule,
        severity=Severity.HIGH,
        path=path,
        start_line=sl,
        end_line=el,
        title=f"{rule} in {path}",
        fingerprint=fingerprint("semgrep", rule, path, needle),
        properties={"start_col": sc, "end_col": ec, **props},
    )


@dataclass
class Case:
    name: str
    rule: str
    path: str
    before: str
    needle: str  # the reported span
    after: str


CASES = [
    # -- rejectUnauthorized ---------------------------------------------------------------------
    Case(
        "tls-cjs",
        TLS,
        "client.js",
        "const https = require('https');\n\nconst agent = new https.Agent({ rejectUnauthorized: false });\n",
        "rejectUnauthorized: false",
        "const https = require('https');\n\nconst agent = new https.Agent({ rejectUnauthorized: true });\n",
    ),
    Case(
        "tls-ts-quoted-key-multiline",
        TLS,
        "src/client.ts",
        'import axios from "axios"\nconst opts = {\n  "rejectUnauthorized": false, // self-signed in dev\n  timeout: 5000,\n}\nexport default opts\n',
        '"rejectUnauthorized": false',
        'import axios from "axios"\nconst opts = {\n  "rejectUnauthorized": true, // self-signed in dev\n  timeout: 5000,\n}\nexport default opts\n',
    ),
    Case(
        "tls-single-quoted-key-non-ascii-crlf",
        TLS,
        "tls.mjs",
        "const label = 'café'; const o = { 'rejectUnauthorized': false, ca: undefined };\r\nexport default o;\r\n",
        "'rejectUnauthorized': false",
        "const label = 'café'; const o = { 'rejectUnauthorized': true, ca: undefined };\r\nexport default o;\r\n",
    ),
    # -- x-powered-by ---------------------------------------------------------------------------
    Case(
        "xpb-esm-no-semicolons",
        XPB,
        "app.mjs",
        "import express from 'express'\n\nconst app = express()\napp.get('/', (req, res) => res.send('ok'))\nexport default app\n",
        "const app = express()",
        "import express from 'express'\n\nconst app = express()\napp.disable('x-powered-by')\napp.get('/', (req, res) => res.send('ok'))\nexport default app\n",
    ),
    Case(
        "xpb-cjs-double-quotes-call-span",
        XPB,
        "server.js",
        'const express = require("express");\nconst server = express();\nserver.listen(3000);\n',
        "express()",
        'const express = require("express");\nconst server = express();\nserver.disable("x-powered-by");\nserver.listen(3000);\n',
    ),
    Case(
        "xpb-ts-typed-in-function-with-comment",
        XPB,
        "src/app.ts",
        "import express, { Express } from 'express';\n\nexport function build(): Express {\n"
        "\tconst api: Express = express(); // the API\n\treturn api;\n}\n",
        "express()",
        "import express, { Express } from 'express';\n\nexport function build(): Express {\n"
        "\tconst api: Express = express(); // the API\n\tapi.disable('x-powered-by');\n\treturn api;\n}\n",
    ),
    Case(
        "xpb-require-call-export",
        XPB,
        "index.js",
        "var app = require('express')()\n;(async () => { app.listen(8080) })()\n",
        "var app = require('express')()",
        "var app = require('express')()\napp.disable('x-powered-by')\n;(async () => { app.listen(8080) })()\n",
    ),
    Case(
        "xpb-no-semicolons-next-line-hazard",
        XPB,
        "hazard.js",
        "const express = require('express')\nlet app\napp = express()\n[1, 2].forEach((n) => app.set('n' + n, n))\n",
        "app = express()",
        "const express = require('express')\nlet app\napp = express()\napp.disable('x-powered-by');\n[1, 2].forEach((n) => app.set('n' + n, n))\n",
    ),
    Case(
        "xpb-no-final-newline",
        XPB,
        "last.mjs",
        "import express from 'express';\nexport const app = express();",
        "export const app = express();",
        "import express from 'express';\nexport const app = express();\napp.disable('x-powered-by');",
    ),
    # -- jwt.verify -----------------------------------------------------------------------------
    Case(
        "jwt-two-args-default-hs256",
        JWT,
        "auth.js",
        "const jwt = require('jsonwebtoken');\n\nfunction check(token) {\n  return jwt.verify(token, process.env.JWT_SECRET);\n}\nmodule.exports = check;\n",
        "jwt.verify(token, process.env.JWT_SECRET)",
        "const jwt = require('jsonwebtoken');\n\nfunction check(token) {\n  return jwt.verify(token, process.env.JWT_SECRET, { algorithms: ['HS256'] });\n}\nmodule.exports = check;\n",
    ),
    Case(
        "jwt-sign-in-file-decides",
        JWT,
        "tokens.mjs",
        'import jwt from "jsonwebtoken"\nexport const issue = (p) => jwt.sign(p, privateKey, { algorithm: "ES384", expiresIn: "1h" })\n'
        "export const check = (t) => jwt.verify(t, key)\n",
        "jwt.verify(t, key)",
        'import jwt from "jsonwebtoken"\nexport const issue = (p) => jwt.sign(p, privateKey, { algorithm: "ES384", expiresIn: "1h" })\n'
        'export const check = (t) => jwt.verify(t, key, { algorithms: ["ES384"] })\n',
    ),
    Case(
        "jwt-public-key-callback",
        JWT,
        "verify.js",
        "jwt.verify(token, publicKey, (err, decoded) => {\n  done(err, decoded)\n})\n",
        "jwt.verify(token, publicKey, (err, decoded) => {\n  done(err, decoded)\n})",
        "jwt.verify(token, publicKey, { algorithms: ['RS256'] }, (err, decoded) => {\n  done(err, decoded)\n})\n",
    ),
    Case(
        "jwt-pem-file-key",
        JWT,
        "pem.js",
        "const d = jwt.verify(token, fs.readFileSync('keys/jwt.pem'));\n",
        "jwt.verify(token, fs.readFileSync('keys/jwt.pem'))",
        "const d = jwt.verify(token, fs.readFileSync('keys/jwt.pem'), { algorithms: ['RS256'] });\n",
    ),
    Case(
        "jwt-options-single-line",
        JWT,
        "opts.js",
        "jwt.verify(token, secret, { issuer: 'me' }, function (err, payload) { cb(err, payload) });\n",
        "jwt.verify(token, secret, { issuer: 'me' }, function (err, payload) { cb(err, payload) })",
        "jwt.verify(token, secret, { algorithms: ['HS256'], issuer: 'me' }, function (err, payload) { cb(err, payload) });\n",
    ),
    Case(
        "jwt-options-multiline-trailing-comma-ts",
        JWT,
        "src/verify.ts",
        "import * as jwt from 'jsonwebtoken';\n\nexport function check(token: string): jwt.JwtPayload {\n"
        "  return jwt.verify(token, process.env.SECRET as string, {\n    // who issued it\n    issuer: 'me',\n    audience: 'you',\n  }) as jwt.JwtPayload;\n}\n",
        "jwt.verify(token, process.env.SECRET as string, {\n    // who issued it\n    issuer: 'me',\n    audience: 'you',\n  })",
        "import * as jwt from 'jsonwebtoken';\n\nexport function check(token: string): jwt.JwtPayload {\n"
        "  return jwt.verify(token, process.env.SECRET as string, {\n    algorithms: ['HS256'],\n    // who issued it\n    issuer: 'me',\n    audience: 'you',\n  }) as jwt.JwtPayload;\n}\n",
    ),
    Case(
        "jwt-empty-options",
        JWT,
        "empty.cjs",
        "const p = jwt.verify(t, k, {})\n",
        "jwt.verify(t, k, {})",
        "const p = jwt.verify(t, k, { algorithms: ['HS256'] })\n",
    ),
    Case(
        "jwt-options-variable-with-callback",
        JWT,
        "four.js",
        "jwt.verify(token, secret, verifyOptions, onVerified);\n",
        "jwt.verify(token, secret, verifyOptions, onVerified)",
        "jwt.verify(token, secret, { algorithms: ['HS256'], ...verifyOptions }, onVerified);\n",
    ),
    Case(
        "jwt-options-variable-declared",
        JWT,
        "three.js",
        "const opts = { issuer: 'x' }\nmodule.exports = (t) => jwt.verify(t, secret, opts)\n",
        "jwt.verify(t, secret, opts)",
        "const opts = { issuer: 'x' }\nmodule.exports = (t) => jwt.verify(t, secret, { algorithms: ['HS256'], ...opts })\n",
    ),
    Case(
        "jwt-callback-variable-declared",
        JWT,
        "cbvar.js",
        "function done(err, p) { console.log(err, p) }\njwt.verify(token, secret, done)\n",
        "jwt.verify(token, secret, done)",
        "function done(err, p) { console.log(err, p) }\njwt.verify(token, secret, { algorithms: ['HS256'] }, done)\n",
    ),
    Case(
        "jwt-null-options",
        JWT,
        "null.js",
        "jwt.verify(token, secret, null, (e) => e);\n",
        "jwt.verify(token, secret, null, (e) => e)",
        "jwt.verify(token, secret, { algorithms: ['HS256'] }, (e) => e);\n",
    ),
    Case(
        "jwt-singular-algorithm-option",
        JWT,
        "singular.js",
        "jwt.verify(token, secret, { algorithm: 'HS512' });\n",
        "jwt.verify(token, secret, { algorithm: 'HS512' })",
        "jwt.verify(token, secret, { algorithms: ['HS512'], algorithm: 'HS512' });\n",
    ),
    Case(
        "jwt-named-import-ts-sign-none-ignored",
        JWT,
        "src/named.ts",
        'import { sign, verify } from "jsonwebtoken";\nexport const t = sign({}, "k", { algorithm: "none" });\n'
        "export const p = verify(t, secretKey, ) as object;\n",
        "verify(t, secretKey, )",
        'import { sign, verify } from "jsonwebtoken";\nexport const t = sign({}, "k", { algorithm: "none" });\n'
        'export const p = verify(t, secretKey, { algorithms: ["HS256"] }, ) as object;\n',
    ),
    # -- Math.random ----------------------------------------------------------------------------
    Case(
        "rnd-cjs-adds-require-after-last",
        RND,
        "lib/session.js",
        "'use strict';\nconst express = require('express');\nconst { promisify } = require('util');\n\n"
        "function newSessionToken() {\n  return Math.random().toString(36).substring(2) + Math.random().toString(36).substring(2);\n}\n"
        "module.exports = { newSessionToken, promisify, express };\n",
        "Math.random().toString(36).substring(2) + Math.random().toString(36).substring(2)",
        "'use strict';\nconst express = require('express');\nconst { promisify } = require('util');\nconst crypto = require('node:crypto');\n\n"
        "function newSessionToken() {\n  return crypto.randomBytes(32).toString('hex');\n}\n"
        "module.exports = { newSessionToken, promisify, express };\n",
    ),
    Case(
        "rnd-cjs-existing-crypto",
        RND,
        "id.js",
        'const nodeCrypto = require("crypto")\nconst requestId = Math.random().toString(16).slice(2, 10)\nconsole.log(nodeCrypto, requestId)\n',
        "Math.random().toString(16).slice(2, 10)",
        'const nodeCrypto = require("crypto")\nconst requestId = nodeCrypto.randomBytes(16).toString("hex")\nconsole.log(nodeCrypto, requestId)\n',
    ),
    Case(
        "rnd-esm-named-import-no-semicolons",
        RND,
        "nonce.mjs",
        "import express from 'express'\n\nexport const nonce = () => Math.random().toString(36).slice(2)\nexport default express\n",
        "Math.random().toString(36).slice(2)",
        "import express from 'express'\nimport { randomBytes } from 'node:crypto'\n\nexport const nonce = () => randomBytes(16).toString('hex')\nexport default express\n",
    ),
    Case(
        "rnd-ts-otp-range",
        RND,
        "src/otp.ts",
        'import { createHash } from "crypto";\n\nexport function otp(): number {\n  return Math.floor(100000 + Math.random() * 900000);\n}\n'
        "export const h = createHash;\n",
        "Math.floor(100000 + Math.random() * 900000)",
        'import { createHash } from "crypto";\nimport { randomInt } from "node:crypto";\n\nexport function otp(): number {\n  return randomInt(100000, 1000000);\n}\n'
        "export const h = createHash;\n",
    ),
    Case(
        "rnd-ts-existing-named-import",
        RND,
        "src/key.ts",
        "import { randomBytes as rb } from 'node:crypto';\nexport const apiKey: string = Math.random().toString(36).substr(2);\nexport const more = rb;\n",
        "Math.random().toString(36).substr(2)",
        "import { randomBytes as rb } from 'node:crypto';\nexport const apiKey: string = rb(32).toString('hex');\nexport const more = rb;\n",
    ),
    Case(
        "rnd-index-into-alphabet",
        RND,
        "code.cjs",
        "const chars = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'\nlet code = ''\n"
        "for (let i = 0; i < 8; i++) code += chars[Math.floor(Math.random() * chars.length)]\nmodule.exports = code\n",
        "Math.floor(Math.random() * chars.length)",
        "const crypto = require('node:crypto')\nconst chars = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'\nlet code = ''\n"
        "for (let i = 0; i < 8; i++) code += chars[crypto.randomInt(chars.length)]\nmodule.exports = code\n",
    ),
    Case(
        "rnd-decimal-pin-and-offset",
        RND,
        "pin.js",
        "#!/usr/bin/env node\n// One-time codes.\n\nconst pin = Math.random().toString().slice(2, 8);\nconst dice = Math.floor(Math.random() * 6) + 1;\nconsole.log(pin, dice);\n",
        "Math.random().toString().slice(2, 8);\nconst dice = Math.floor(Math.random() * 6) + 1",
        "#!/usr/bin/env node\n// One-time codes.\nconst crypto = require('node:crypto');\n\nconst pin = String(crypto.randomInt(1000000)).padStart(6, '0');\nconst dice = crypto.randomInt(6) + 1;\nconsole.log(pin, dice);\n",
    ),
    Case(
        "rnd-comment-attached-to-code-no-imports",
        RND,
        "salt.js",
        "/** Makes a salt. */\nfunction salt() { return Math.random().toString(36).slice(2) }\nmodule.exports = salt\n",
        "Math.random().toString(36).slice(2)",
        "const crypto = require('node:crypto')\n/** Makes a salt. */\nfunction salt() { return crypto.randomBytes(16).toString('hex') }\nmodule.exports = salt\n",
    ),
]


def _fix(case: Case) -> tuple[str, Finding]:
    finding = semgrep_finding(case.rule, case.path, case.before, case.needle)
    return FIXERS[case.rule](case.before, finding).text, finding


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fix_rewrites_exactly(case: Case) -> None:
    after, _finding = _fix(case)
    assert after == case.after


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixing_again_is_refused(case: Case) -> None:
    """Fixed content is never changed again: with the audit's stale span, and with the span a new
    audit would report on the same code (where it still matches)."""
    after, finding = _fix(case)
    with pytest.raises(FixNotApplicable):
        FIXERS[case.rule](after, finding)
    renewed = {
        TLS: re.sub(r"false$", "true", case.needle),
        XPB: case.needle,
        JWT: case.needle.split("(", 1)[0] + "(",
    }.get(case.rule)
    if renewed is not None and renewed in after:
        with pytest.raises(FixNotApplicable, match="nothing to change"):
            FIXERS[case.rule](after, semgrep_finding(case.rule, case.path, after, renewed))


def test_no_jwt_fix_ever_lists_none() -> None:
    for case in CASES:
        if case.rule != JWT:
            continue
        after, _finding = _fix(case)
        for listed in re.findall(r"algorithms: \[([^\]]*)\]", after):
            algorithms = [a.strip().strip("'\"") for a in listed.split(",")]
            assert algorithms and all(a in JWT_ALGORITHMS for a in algorithms), (case.name, algorithms)
            assert "none" not in (a.lower() for a in algorithms)


def test_jwt_mixed_families_in_sign_fall_back_to_the_key() -> None:
    text = (
        "jwt.sign(a, s, { algorithm: 'HS256' })\njwt.sign(b, k, { algorithm: 'RS256' })\n"
        "jwt.verify(t, PUBLIC_KEY)\n"
    )
    edit = add_jwt_algorithms(text, semgrep_finding(JWT, "m.js", text, "jwt.verify(t, PUBLIC_KEY)"))
    assert "jwt.verify(t, PUBLIC_KEY, { algorithms: ['RS256'] })" in edit.text
    assert "both HMAC and public-key" in edit.notes[0] and "`PUBLIC`" in edit.notes[0]


def test_plan_explains_the_algorithm_and_the_size() -> None:
    case = next(c for c in CASES if c.name == "jwt-sign-in-file-decides")
    edit = add_jwt_algorithms(case.before, semgrep_finding(JWT, case.path, case.before, case.needle))
    assert "ES384" in edit.notes[0] and "sign(...)" in edit.notes[0] and "change the list" in edit.notes[0]
    assert edit.summary == "verify JWTs only with ES384"
    case = next(c for c in CASES if c.name == "rnd-cjs-existing-crypto")
    edit = replace_math_random(case.before, semgrep_finding(RND, case.path, case.before, case.needle))
    assert any("16 random bytes" in n and "identifier" in n for n in edit.notes)
    assert any("32 hex characters" in r for r in edit.risks)


# -- output parses -------------------------------------------------------------------------------


def _node_check(path: Path) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("case", [c for c in CASES if not c.path.endswith(".ts")], ids=lambda c: c.name)
def test_javascript_output_parses_with_node(case: Case, tmp_path: Path) -> None:
    # node decides the module system by extension: ES module cases are .mjs, the rest CommonJS.
    esm = case.path.endswith(".mjs") or "export " in case.before or "import " in case.before
    after, _finding = _fix(case)
    for label, text in (("before", case.before), ("after", after)):
        target = tmp_path / f"{label}{'.mjs' if esm else '.cjs'}"
        target.write_text(text, encoding="utf-8", newline="")
        result = _node_check(target)
        assert result.returncode == 0, (label, result.stderr)


def _tsc() -> list[str] | None:
    npx = shutil.which("npx")
    return None if npx is None else [npx, "--prefer-offline", "-y", "-p", "typescript@5", "tsc"]


@pytest.mark.skipif(_tsc() is None, reason="npx is not installed")
def test_typescript_outputs_parse_with_tsc(tmp_path: Path) -> None:
    """One compiler run over every TypeScript case, before and after: only syntax errors (TS1xxx)
    count, since imports are not resolved here."""
    cases = [c for c in CASES if c.path.endswith(".ts")]
    assert len(cases) >= 5
    files: list[str] = []
    for case in cases:
        after, _finding = _fix(case)
        for label, text in (("before", case.before), ("after", after)):
            target = tmp_path / f"{case.name}-{label}.ts"
            target.write_text(text, encoding="utf-8")
            files.append(str(target))
    broken = tmp_path / "broken.ts"
    broken.write_text("export const x = jwt.verify(t, k, { algorithms: ['HS256'] },;\n")
    command = _tsc()
    assert command is not None
    try:
        result = subprocess.run(
            [*command, "--noEmit", "--noResolve", "--skipLibCheck", "--pretty", "false", *files, str(broken)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the TypeScript compiler did not answer within 300 s")
    if "broken.ts" not in result.stdout:
        pytest.skip(f"the TypeScript compiler could not run: {(result.stderr or result.stdout)[-300:]}")
    syntax = [line for line in result.stdout.splitlines() if re.search(r"error TS1\d{3}:", line)]
    assert any("broken.ts" in line for line in syntax), result.stdout  # the check can fail
    assert [line for line in syntax if "broken.ts" not in line] == []


# -- refusals --------------------------------------------------------------------------------------

RECIPE = "do it by hand like this"


@pytest.mark.parametrize(
    ("rule", "path", "text", "needle", "message"),
    [
        (TLS, "a.js", "new Agent({ rejectUnauthorized: process.env.TLS !== '0' })\n", "rejectUnauthorized: process.env.TLS !== '0'", RECIPE),
        (TLS, "a.js", "const a = { rejectUnauthorized: false }, b = { rejectUnauthorized: false }\n", "{ rejectUnauthorized: false }, b = { rejectUnauthorized: false }", RECIPE),
        (XPB, "a.js", "module.exports = express()\n", "express()", RECIPE),
        (XPB, "a.js", "const app = express(); app.listen(80)\n", "const app = express();", RECIPE),
        (XPB, "a.js", "const app = express()\napp.use(helmet())\n", "const app = express()", "helmet"),
        (XPB, "a.js", "const app = express()\napp.set('x-powered-by', false)\n", "const app = express()", "nothing to change"),
        (JWT, "a.js", "jwt.verify(token, secret, handler)\n", "jwt.verify(token, secret, handler)", RECIPE),
        (JWT, "a.js", "jwt.verify(token)\n", "jwt.verify(token)", RECIPE),
        (JWT, "a.js", "jwt.verify(t, k, { algorithms: ['RS256'] })\n", "jwt.verify(t, k, { algorithms: ['RS256'] })", "nothing to change"),
        (JWT, "a.js", "jwt.decode(token, secret)\n", "jwt.decode(token, secret)", "changed since the audit"),
        (JWT, "a.js", "const check = promisify(jwt.verify)\n", "promisify(jwt.verify)", RECIPE),
        (TLS, "a.js", "const o = { 'rejectUnauthorized': !1 }\n", "'rejectUnauthorized': !1", RECIPE),
        (RND, "a.js", "const coin = Math.random() < 0.5\n", "Math.random() < 0.5", RECIPE),
        (RND, "a.js", "const id = 'xxxx'.replace(/x/g, () => (Math.random() * 16 | 0).toString(16))\n", "'xxxx'.replace(/x/g, () => (Math.random() * 16 | 0).toString(16))", RECIPE),
        (RND, "a.js", "const t = Math.floor(Math.random() * 2.5)\n", "Math.floor(Math.random() * 2.5)", RECIPE),
        (RND, "src/App.tsx", "const t = Math.random().toString(36).slice(2)\n", "Math.random().toString(36).slice(2)", "browser"),
        (RND, "a.js", "const randomBytes = 1\nexport const t = Math.random().toString(36)\n", "Math.random().toString(36)", RECIPE),
        (RND, "a.js", "// Math.random().toString(36)\nconst t = 1\n", "Math.random().toString(36)", "changed since the audit"),
    ],
)  # fmt: skip
def test_unsupported_or_changed_code_is_refused_with_the_recipe(
    rule: str, path: str, text: str, needle: str, message: str
) -> None:
    finding = semgrep_finding(rule, path, text, needle, fix_recipe=RECIPE)
    with pytest.raises(FixNotApplicable, match=re.escape(message)):
        FIXERS[rule](text, finding)


@pytest.mark.parametrize("rule", sorted(FIXERS))
def test_span_on_other_code_means_the_file_changed(rule: str) -> None:
    text = "const a = 1;\nconst b = 2;\n"
    with pytest.raises(FixNotApplicable, match="changed since the audit"):
        FIXERS[rule](text, semgrep_finding(rule, "a.js", text, "const b = 2;"))
    finding = semgrep_finding(rule, "a.js", text + "x\n" * 5, "x", occurrence=4)
    with pytest.raises(FixNotApplicable, match="changed since the audit"):
        FIXERS[rule](text, finding)  # the reported line is past the end of the file now


def test_other_semgrep_rules_are_refused_with_their_recipe() -> None:
    recipe = "Use `execFile` with an argument list instead of `exec` with a string.\x1b[31m"
    finding = semgrep_finding("js-child-process-exec", "a.js", "exec(cmd)\n", "exec(cmd)", fix_recipe=recipe)
    with pytest.raises(FixNotApplicable, match="fix it by hand: Use `execFile`") as caught:
        generator_for(finding)
    assert "\x1b" not in str(caught.value)
    bare = semgrep_finding("js-child-process-exec", "a.js", "exec(cmd)\n", "exec(cmd)")
    with pytest.raises(FixNotApplicable, match="fixes exist for: " + re.escape(", ".join(sorted(JS_FIXES)))):
        generator_for(bare)
    assert supported()["semgrep"] == sorted(JS_FIXES) == sorted(FIXERS)
    for rule in FIXERS:
        assert generator_for(semgrep_finding(rule, "a.js", "x\n", "x")) is fix_semgrep


# -- through the generator, with a repository view ---------------------------------------------------


class _View:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str) -> bytes | None:
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None


def test_package_type_module_decides_the_import_of_a_plain_js_file(tmp_path: Path) -> None:
    text = "export function token() {\n  return Math.random().toString(36).slice(2)\n}\n"
    bare = "function token() {\n  return Math.random().toString(36).slice(2)\n}\n"
    (tmp_path / "pkg" / "src").mkdir(parents=True)
    (tmp_path / "package.json").write_text(json.dumps({"type": "commonjs"}))
    (tmp_path / "pkg" / "package.json").write_text(json.dumps({"name": "p", "type": "module"}))
    (tmp_path / "pkg" / "src" / "t.js").write_text(bare)
    (tmp_path / "other.js").write_text(bare)
    (tmp_path / "esm.js").write_text(text)
    view = _View(tmp_path)
    needle = "Math.random().toString(36).slice(2)"
    proposal = fix_semgrep(semgrep_finding(RND, "pkg/src/t.js", bare, needle), view)
    assert proposal.kind == "js-crypto-random"
    assert proposal.changes[0].after.decode().startswith("import { randomBytes } from 'node:crypto'\n")
    proposal = fix_semgrep(semgrep_finding(RND, "other.js", bare, needle), view)
    assert proposal.changes[0].after.decode().startswith("const crypto = require('node:crypto')\n")
    proposal = fix_semgrep(semgrep_finding(RND, "esm.js", text, needle), view)
    assert proposal.changes[0].after.decode().startswith("import { randomBytes } from 'node:crypto'\n")


def test_generator_refuses_missing_and_non_js_files(tmp_path: Path) -> None:
    view = _View(tmp_path)
    with pytest.raises(FixNotApplicable, match="no longer exists"):
        fix_semgrep(
            semgrep_finding(TLS, "gone.js", "rejectUnauthorized: false\n", "rejectUnauthorized: false"), view
        )
    (tmp_path / "conf.yaml").write_text("rejectUnauthorized: false\n")
    with pytest.raises(FixNotApplicable, match="not a JavaScript or TypeScript file"):
        fix_semgrep(
            semgrep_finding(TLS, "conf.yaml", "rejectUnauthorized: false\n", "rejectUnauthorized: false"),
            view,
        )


def test_character_columns_are_understood_too() -> None:
    """A scanner that reports character columns instead of semgrep's bytes still gets its fix."""
    text = "const s = 'naïve ünïcödé'; const o = { rejectUnauthorized: false };\n"
    start = text.index("rejectUnauthorized") + 1
    finding = semgrep_finding(TLS, "a.js", text, "rejectUnauthorized: false")
    finding = finding.model_copy(update={"properties": {"start_col": start, "end_col": start + 25}})
    assert "rejectUnauthorized: true" in enable_tls_verification(text, finding).text


# -- against real semgrep spans ----------------------------------------------------------------------

SEMGREP = find_semgrep()
_PROBE_RULES = {
    TLS: {"pattern": "{..., rejectUnauthorized: false, ...}", "languages": ["javascript", "typescript"]},
    XPB: {"pattern": "const $APP = express();", "languages": ["javascript", "typescript"]},
    JWT: {"pattern": "jwt.verify($T, $K)", "languages": ["javascript", "typescript"]},
    RND: {"pattern": "Math.random().toString(36).slice(2)", "languages": ["javascript", "typescript"]},
}


def test_spans_reported_by_real_semgrep_are_fixed(tmp_path: Path) -> None:
    """The column contract against the real tool: semgrep's own start/end (byte columns, end
    exclusive) on files with multi-byte text before the match."""
    assert SEMGREP is not None
    src = tmp_path / "src"
    src.mkdir()
    files = {
        "tls.js": "const é = 'ü'; const agent = new https.Agent({ rejectUnauthorized: false });\n",
        "app.ts": "import express from 'express';\n// café\nconst app = express();\nexport default app;\n",
        "auth.js": "const msg = 'ключ'; const d = jwt.verify(token, secret);\nmodule.exports = d;\n",
        "tok.mjs": "const label = 'żółć', sessionToken = Math.random().toString(36).slice(2);\nexport { label, sessionToken };\n",
    }
    for name, text in files.items():
        (src / name).write_text(text, encoding="utf-8")
    rules = {
        "rules": [
            {"id": rule, "message": rule, "severity": "WARNING", **spec}
            for rule, spec in _PROBE_RULES.items()
        ]
    }
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    result = subprocess.run(
        [SEMGREP, "scan", "--metrics=off", "--disable-version-check", "--json", "--quiet",
         "--config", str(tmp_path / "rules.json"), str(src)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    reported = json.loads(result.stdout)["results"]
    assert sorted(r["check_id"].rsplit(".", 1)[-1] for r in reported) == sorted(FIXERS)
    for r in reported:
        rule = r["check_id"].rsplit(".", 1)[-1]
        rel = Path(r["path"]).name
        finding = Finding(
            scanner="semgrep",
            rule_id=rule,
            severity=Severity.HIGH,
            path=rel,
            start_line=r["start"]["line"],
            end_line=r["end"]["line"],
            title=rule,
            fingerprint=fingerprint("semgrep", rule, rel, ""),
            properties={"start_col": r["start"]["col"], "end_col": r["end"]["col"]},
        )
        after = FIXERS[rule](files[rel], finding).text
        expected = {
            TLS: "rejectUnauthorized: true",
            XPB: "const app = express();\napp.disable('x-powered-by');\n",
            JWT: "jwt.verify(token, secret, { algorithms: ['HS256'] })",
            RND: "sessionToken = randomBytes(32).toString('hex')",
        }[rule]
        assert expected in after, (rule, after)


# -- through the fix service: plan, dry run, apply, verify, revert -------------------------------------


def _without_semgrep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scanner registry as on a machine without the semgrep plug-in."""
    from secaudit.tools.scanners.builtin import SCANNERS

    registry = {k: v for k, v in SCANNERS._entries.items() if k != "semgrep"}
    monkeypatch.setattr(SCANNERS, "_entries", registry)


SERVICE_CASES = [c for c in CASES if c.name in ("tls-cjs", "xpb-esm-no-semicolons", "jwt-options-multiline-trailing-comma-ts", "rnd-cjs-adds-require-after-last")]  # fmt: skip


@pytest.mark.parametrize("case", SERVICE_CASES, ids=[c.name for c in SERVICE_CASES])
def test_service_applies_and_reverts_but_cannot_verify_without_the_semgrep_scanner(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_semgrep(monkeypatch)
    repo = tmp_path / "repo"
    (repo / case.path).parent.mkdir(parents=True, exist_ok=True)
    (repo / case.path).write_bytes(case.before.encode())
    svc = make_service(tmp_path, [repo])
    svc.verifier = scanner_verifier(svc.store)
    finding = semgrep_finding(case.rule, case.path, case.before, case.needle, fix_recipe=RECIPE)

    plan = svc.plan(finding, repo)
    assert plan.kind == JS_FIXES[case.rule].kind and plan.scanner == "semgrep" and plan.rule_id == case.rule
    assert f"+++ b/{case.path}" in plan.diff
    added = [
        line[1:] for line in plan.diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert added and all(line in case.after.splitlines() for line in added)
    assert plan.notes
    dry = svc.apply(plan_id=plan.plan_id)
    assert dry.dry_run and dry.fix is None and (repo / case.path).read_text() == case.before

    fix = svc.apply(plan_id=plan.plan_id, dry_run=False).fix
    assert fix is not None
    assert fix.status == FixStatus.APPLIED  # written, never "verified" without the scanner
    assert fix.verification is not None and fix.verification.outcome == "inconclusive"
    assert "semgrep scanner is not available" in fix.verification.detail
    assert fix.message.startswith("applied, not verified: the semgrep scanner is not available")
    assert (repo / case.path).read_text() == case.after

    reverted = svc.revert(fix.fix_id)
    assert reverted.status == FixStatus.REVERTED
    assert (repo / case.path).read_bytes() == case.before.encode()


class _NoBinary(Scanner):
    """The semgrep plug-in registered, its binary missing: how the plug-in reports that."""

    name = "semgrep"

    def version(self) -> str:
        return "semgrep-unavailable"

    def selects(self, file: FileRef) -> bool:
        return file.rel.endswith((".js", ".ts"))

    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        raise ScannerUnavailable("semgrep is not installed")


def test_service_does_not_verify_when_the_semgrep_binary_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secaudit.tools.scanners.builtin import SCANNERS

    monkeypatch.setattr(SCANNERS, "_entries", {**SCANNERS._entries, "semgrep": _NoBinary})
    case = CASES[0]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / case.path).write_text(case.before)
    svc = make_service(tmp_path, [repo])
    svc.verifier = scanner_verifier(svc.store)
    fix = svc.apply(
        finding=semgrep_finding(case.rule, case.path, case.before, case.needle), root=repo, dry_run=False
    ).fix
    assert fix is not None and fix.status == FixStatus.APPLIED
    assert fix.verification is not None and fix.verification.outcome == "inconclusive"
    assert "semgrep scanner cannot run here (semgrep is not installed)" in fix.verification.detail
    assert (repo / case.path).read_text() == case.after


def test_service_marks_verified_when_the_verifier_sees_the_finding_gone(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "tls-ts-quoted-key-multiline")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / case.path).write_text(case.before)
    finding = semgrep_finding(case.rule, case.path, case.before, case.needle)
    svc = make_service(
        tmp_path,
        [repo],
        verifier=PredicateVerifier(finding, lambda root: b"false" in (root / case.path).read_bytes()),
    )
    fix = svc.apply(finding=finding, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.VERIFIED, fix.message
    assert (repo / case.path).read_text() == case.after
    assert svc.revert(fix.fix_id).status == FixStatus.REVERTED
    assert (repo / case.path).read_text() == case.before


def test_service_refuses_a_plan_whose_file_changed_before_apply(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "jwt-two-args-default-hs256")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / case.path).write_text(case.before)
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(semgrep_finding(case.rule, case.path, case.before, case.needle), repo)
    edited = case.before.replace("JWT_SECRET", "JWT_KEY")
    (repo / case.path).write_text(edited)
    with pytest.raises(Conflict, match="changed since"):
        svc.apply(plan_id=plan.plan_id, dry_run=False)
    assert (repo / case.path).read_text() == edited
    with pytest.raises(FixNotApplicable, match="changed since the audit"):
        svc.plan(semgrep_finding(case.rule, case.path, case.before, case.needle).model_copy(
            update={"start_line": 1, "end_line": 1}), repo)  # fmt: skip


def test_notes_never_quote_the_key_expression() -> None:
    text = "jwt.verify(token, 'cert-2f9a7c1e4b8d0f6a3c5e7b9d1f3a5c7e')\n"
    edit = add_jwt_algorithms(text, semgrep_finding(JWT, "a.js", text, text.strip()))
    assert "RS256" in edit.text
    assert all("2f9a7c1e" not in line for line in [*edit.notes, *edit.risks, edit.summary])


def test_very_large_files_are_left_to_a_person(tmp_path: Path) -> None:
    text = "const o = { rejectUnauthorized: false }\n" + "// padding\n" * 100_000
    (tmp_path / "big.js").write_text(text)
    finding = semgrep_finding(TLS, "big.js", text, "rejectUnauthorized: false", fix_recipe=RECIPE)
    with pytest.raises(FixNotApplicable, match=f"over 1000000 bytes.*{RECIPE}"):
        fix_semgrep(finding, _View(tmp_path))

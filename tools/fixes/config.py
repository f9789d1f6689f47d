"""Configuration fixes: `.env` ignored by git, a non-root `USER` in a Dockerfile, `.env.example` keys.

- `.gitignore` (rule `config.env-file-not-ignored`): appends the env file's name (`.env`,
  `.env.local`, ...: a name pattern, so the same file in any folder is covered) to the root
  `.gitignore`, unless it already ignores the file (checked with pathspec's gitignore semantics, so
  `*.env`, `.env*` or a later `!.env` are understood). The plan notes `git rm --cached`, since
  ignoring does not untrack a file git already tracks.
- Dockerfile: in the final stage (after the last `FROM`), unless a `USER` other than root/0 is
  already set there, inserts before the first `CMD`/`ENTRYPOINT` (else at the end):
  a system group and user `app` created with the base image's tools (Debian/Ubuntu/RHEL
  `groupadd`/`useradd`; Alpine/BusyBox `addgroup`/`adduser`), then `USER app`. Images without a
  shell (`scratch`, distroless) get `USER 65532:65532` only (distroless' nonroot uid).
  Line endings follow the file's.
"""

from __future__ import annotations

import re

from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import (
    FileChange,
    Fixer,
    Generator,
    Proposal,
    RepoView,
    decode_text,
    dominant_eol,
    encode_text,
    split_lines,
)
from secaudit.tools.walker import gitignore_ignores

__all__ = [
    "CONFIG_FIXES",
    "ConfigFixer",
    "add_env_key",
    "add_user_to_dockerfile",
    "ensure_env_ignored",
    "fix_dockerfile_user",
    "fix_env_ignored",
]


def _append_line(text: str, line: str) -> str:
    eol = dominant_eol(text) if text else "\n"
    if text and not text.endswith("\n"):
        text += eol
    return text + line + eol


def ensure_env_ignored(text: str | None, rel: str = ".env") -> str | None:
    """The new .gitignore text, or None when `rel` (an env file) is already ignored."""
    current = text or ""
    if gitignore_ignores(current, rel):
        return None
    new = _append_line(current, rel.rsplit("/", 1)[-1])
    if not gitignore_ignores(new, rel):
        # A later negation (`!.env`) wins over an appended name: leave that decision to a person.
        raise FixNotApplicable(
            f".gitignore explicitly keeps {rel} (a `!` rule); remove that rule by hand if it is a mistake"
        )
    return new


_KEY_LINE = r"^\s*(?:export\s+)?{key}\s*="


def add_env_key(text: str | None, key: str) -> str | None:
    """`.env.example` with `KEY=` (no value) added, or None when the key is already listed."""
    current = text or ""
    if re.search(_KEY_LINE.format(key=re.escape(key)), current, re.MULTILINE):
        return None
    return _append_line(current, f"{key}=")


def fix_env_ignored(finding: Finding, view: RepoView) -> Proposal:
    rel = finding.path
    data = view.read(".gitignore")
    new = ensure_env_ignored(None if data is None else decode_text(data), rel)
    if new is None:
        raise FixNotApplicable(f"the root .gitignore already ignores {rel}; nothing to change")
    notes = []
    if view.read(rel) is not None:
        notes.append(
            f"if git already tracks {rel}, also run `git rm --cached {rel}` and rotate every secret "
            "it held (it is in the history)"
        )
    return Proposal(
        kind="gitignore-env",
        summary=f"ignore {rel} in git",
        changes=[FileChange(".gitignore", data, encode_text(new))],
        notes=notes,
    )


_INSTR = re.compile(r"^\s*([A-Za-z]+)\b(.*)$", re.DOTALL)


def add_user_to_dockerfile(text: str) -> tuple[str, list[str]]:
    lines = split_lines(text)
    eol = dominant_eol(text)
    # Logical instructions: (index of first physical line, keyword, argument text).
    instructions: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        start = i
        body = lines[i].rstrip("\r\n")
        while body.endswith("\\") and i + 1 < len(lines):
            i += 1
            body = body[:-1] + lines[i].rstrip("\r\n")
        i += 1
        if body.lstrip().startswith("#") or not body.strip():
            continue
        match = _INSTR.match(body)
        if match:
            instructions.append((start, match[1].upper(), match[2].strip()))
    froms = [k for k, ins in enumerate(instructions) if ins[1] == "FROM"]
    if not froms:
        raise FixNotApplicable("no FROM instruction: this does not look like a Dockerfile")
    stage = instructions[froms[-1] :]
    users = [arg for _s, kw, arg in stage if kw == "USER"]
    if users and users[-1].split(":")[0].strip() not in ("root", "0"):
        raise FixNotApplicable("the final stage already switches to a non-root USER")
    image = stage[0][2].split()
    image_name = next((w for w in image if not w.startswith("--")), "").lower()
    notes: list[str] = []
    if image_name == "scratch" or "distroless" in image_name:
        block = [f"USER 65532:65532{eol}"]
        notes.append(
            "the image has no shell: it runs as uid 65532 (distroless' nonroot); make sure the "
            "files it needs are readable by that uid"
        )
    elif "alpine" in image_name or "busybox" in image_name:
        block = [f"RUN addgroup -S app && adduser -S -G app -H app{eol}", f"USER app{eol}"]
    else:
        block = [
            f"RUN groupadd --system app && useradd --system --gid app --no-create-home app{eol}",
            f"USER app{eol}",
        ]
        notes.append("assumes a Debian/Ubuntu/RHEL-style base with groupadd/useradd; adjust for others")
    notes.append(
        "files the app writes at run time must be writable by the new user "
        "(e.g. COPY --chown=app:app, or RUN chown before USER)"
    )
    run_at = next((s for s, kw, _a in stage if kw in ("CMD", "ENTRYPOINT")), None)
    out = list(lines)
    if run_at is None:
        if out and not out[-1].endswith("\n"):
            out[-1] += eol
        out.extend(block)
    else:
        out[run_at:run_at] = block
    return "".join(out), notes


def fix_dockerfile_user(finding: Finding, view: RepoView) -> Proposal:
    data = view.read(finding.path)
    if data is None:
        raise FixNotApplicable(f"{finding.path} no longer exists; run the audit again")
    new, notes = add_user_to_dockerfile(decode_text(data))
    return Proposal(
        kind="dockerfile-user",
        summary="run the container as a non-root user",
        changes=[FileChange(finding.path, data, encode_text(new))],
        notes=notes,
        risks=["the container no longer runs as root: ports below 1024 and root-owned paths stop working"],
    )


CONFIG_FIXES: dict[str, Generator] = {
    "config.env-file-not-ignored": fix_env_ignored,
    "config.docker-root-user": fix_dockerfile_user,
}

# Config rules whose remedy is not an edit of the working tree: the refusal says what to do.
_CONFIG_BY_HAND = {
    "config.env-file-committed": (
        "git already tracks this file, so ignoring it changes nothing: run `git rm --cached <file>`, "
        "rotate every secret it held (it stays in the history), then plan again to add it to .gitignore"
    ),
}


class ConfigFixer(Fixer):
    name = "config"
    supported = tuple(sorted(CONFIG_FIXES))

    def generator_for(self, finding: Finding, *, secret_key: bytes | None = None) -> Generator | None:
        if finding.rule_id in _CONFIG_BY_HAND:
            raise FixNotApplicable(_CONFIG_BY_HAND[finding.rule_id])
        return CONFIG_FIXES.get(finding.rule_id)

"""Dockerfiles and Containerfiles: root user, secrets in ENV/ARG, ADD from a URL, unpinned images.

Instructions are read line by line (continuations joined, comments dropped); stages are followed
through `FROM <earlier stage>` to find the USER in force in the final one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from secaudit.tools.scanners.secrets_detect import mask_value

from .common import Hit

__all__ = ["is_dockerfile", "scan_dockerfile"]

_DOCKERFILE = re.compile(r"^(?:Dockerfile|Containerfile)(?:\..+)?$|.+\.(?:dockerfile|Dockerfile)$")
_SECRET_NAME = re.compile(
    r"(?i)pass(?:word|wd)?$|passwd|password|secret|token|api_?key|apikey|private_?key|access_?key|"
    r"credential|auth_?key"
)


def is_dockerfile(name: str) -> bool:
    return bool(_DOCKERFILE.match(name))


def _docker_instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line, INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        joined = " ".join(buffer)
        buffer = []
        instruction, _, args = joined.partition(" ")
        yield start, instruction.upper(), args.strip()
    if buffer:
        joined = " ".join(buffer)
        instruction, _, args = joined.partition(" ")
        yield start, instruction.upper(), args.strip()


def _env_assignments(instruction: str, args: str) -> Iterator[tuple[str, str | None]]:
    if instruction == "ARG":
        name, eq, value = args.partition("=")
        yield name.strip(), (_unquote(value.strip()) if eq else None)
        return
    if "=" not in args.split(" ", 1)[0]:  # legacy form: ENV KEY value
        name, _, value = args.partition(" ")
        yield name.strip(), value.strip()
        return
    try:
        parts = shlex.split(args, posix=True)
    except ValueError:
        parts = args.split()
    for part in parts:
        name, _, value = part.partition("=")
        yield name, value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def scan_dockerfile(rel: str, text: str) -> list[Hit]:
    hits: list[Hit] = []
    stages: list[tuple[str | None, str, list[tuple[int, str]]]] = []  # (alias, image, USERs)
    for line, instruction, args in _docker_instructions(text):
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            image = words[0] if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            known_aliases = {a for a, _, _ in stages if a}
            stages.append((alias, image, []))
            if image.lower() in known_aliases or image == "scratch" or "$" in image or not image:
                continue
            if "@sha256:" in image:
                continue
            last = image.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            if tag in ("", "latest"):
                state = "no tag" if not tag else "the `latest` tag"
                hits.append(
                    Hit(
                        "config.docker-unpinned-image",
                        line,
                        f"FROM {image} uses {state}, no digest",
                        f"FROM {image}",
                        snippet=f"FROM {args}",
                    )
                )
        elif instruction == "USER":
            if stages:
                stages[-1][2].append((line, args.split()[0] if args else ""))
        elif instruction in ("ENV", "ARG"):
            for name, value in _env_assignments(instruction, args):
                if not value or not _SECRET_NAME.search(name) or value.startswith("$"):
                    continue
                if name.upper().endswith(("_FILE", "_PATH", "_URL_FILE")):
                    continue
                hits.append(
                    Hit(
                        "config.docker-secret-in-env",
                        line,
                        f"{instruction} {name} holds a literal value ({mask_value(value)}); it stays "
                        "in the image and its history",
                        f"{instruction} {name}",
                        snippet=f"{instruction} {name}={mask_value(value)}",
                    )
                )
        elif instruction == "ADD":
            words = args.split()
            sources = [w for w in words if not w.startswith("--")][:-1]
            if any(re.match(r"(?i)https?://", s) for s in sources) and not any(
                w.startswith("--checksum=") for w in words
            ):
                hits.append(
                    Hit(
                        "config.docker-add-url",
                        line,
                        "ADD fetches a URL without a checksum",
                        f"ADD {' '.join(sources)}",
                        snippet=f"ADD {args}"[:300],
                    )
                )
    if stages:
        users = _final_users(stages)
        if not users:
            hits.append(
                Hit(
                    "config.docker-root-user", None, "the final stage has no USER: it runs as root", "no-user"
                )
            )
        else:
            line, user = users[-1]
            if user.split(":", 1)[0].lower() in ("root", "0"):
                hits.append(
                    Hit(
                        "config.docker-root-user",
                        line,
                        f"the last USER is {user}",
                        "root-user",
                        snippet=f"USER {user}",
                    )
                )
    return hits


def _final_users(stages: list[tuple[str | None, str, list[tuple[int, str]]]]) -> list[tuple[int, str]]:
    """The USER lines in force in the final stage, following `FROM <earlier stage>` chains."""
    by_alias = {alias: index for index, (alias, _, _) in enumerate(stages) if alias}
    index = len(stages) - 1
    seen: set[int] = set()
    while index not in seen:
        seen.add(index)
        _, image, users = stages[index]
        if users:
            return users
        parent = by_alias.get(image.lower())
        if parent is None or parent >= index:
            return []
        index = parent
    return []

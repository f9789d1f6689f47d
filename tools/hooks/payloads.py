"""What the agent clients send a hook on stdin: untrusted JSON, read bounded and checked.

Clients add fields between versions, so unknown keys are allowed (and ignored); the fields we use
have their types checked and their sizes bounded. Anything else is a `InvalidInput` whose message
says what was wrong, never echoing the input.
"""

from __future__ import annotations

import json
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from secaudit.tools import boundedjson
from secaudit.tools.errors import InvalidInput

__all__ = [
    "MAX_STDIN_BYTES",
    "ClaudeInput",
    "CursorInput",
    "HookInput",
    "ToolInput",
    "parse_payload",
    "read_bounded",
]

MAX_STDIN_BYTES = 1024 * 1024
# Far deeper than any client's payload (MultiEdit's edits nest four levels).
MAX_JSON_DEPTH = 64
_ID = 256
_PATH = 4096
_COMMAND = 64 * 1024


class HookInput(BaseModel):
    """Fields every payload may carry. Extra keys are kept out of the way, types are strict."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    hook_event_name: str = Field(default="", max_length=64)


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    file_path: str | None = Field(default=None, min_length=1, max_length=_PATH)


class ClaudeInput(HookInput):
    """Claude Code: PreToolUse / PostToolUse (tool_name, tool_input) and Stop (stop_hook_active)."""

    session_id: str = Field(min_length=1, max_length=_ID)
    transcript_path: str | None = Field(default=None, max_length=_PATH)
    cwd: str = Field(min_length=1, max_length=_PATH)
    tool_name: str | None = Field(default=None, max_length=128)
    tool_input: ToolInput | None = None
    stop_hook_active: StrictBool = False


class CursorInput(HookInput):
    """Cursor: afterFileEdit (file_path, edits), stop (status, loop_count), beforeShellExecution
    (command, cwd)."""

    conversation_id: str = Field(min_length=1, max_length=_ID)
    generation_id: str | None = Field(default=None, max_length=_ID)
    workspace_roots: list[str] = Field(default_factory=list, max_length=64)
    file_path: str | None = Field(default=None, min_length=1, max_length=_PATH)
    command: str | None = Field(default=None, max_length=_COMMAND)
    cwd: str | None = Field(default=None, max_length=_PATH)
    status: str | None = Field(default=None, max_length=64)
    loop_count: StrictInt = Field(default=0, ge=0)


_M = TypeVar("_M", bound=HookInput)


def read_bounded(stream: IO[bytes], limit: int = MAX_STDIN_BYTES) -> bytes:
    """At most `limit` bytes of `stream`; more is refused (nothing is parsed from a cut document)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"the hook input on stdin is larger than {limit} bytes; refused")
    return data


def parse_payload(raw: bytes, model: type[_M]) -> _M:
    """The payload as `model`, or InvalidInput naming the first field that does not fit."""
    try:
        data: Any = boundedjson.loads(raw.decode("utf-8"), MAX_JSON_DEPTH)
    except boundedjson.TooDeep:
        raise InvalidInput(f"the hook input on stdin is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("the hook input on stdin is not a UTF-8 JSON document") from None
    if not isinstance(data, dict):
        raise InvalidInput("the hook input on stdin must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(the document)"
        raise InvalidInput(
            f"the hook input does not fit the expected {model.__name__}: field {where[:80]}: "
            f"{str(first.get('msg', 'invalid'))[:120]}"
        ) from None

"""What `tools/list` offers: its size, valid lean schemas, toolsets, read-only mode, summary text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from pydantic import BaseModel

from secaudit.server.app import build_server, served_tools
from secaudit.server.handlers import TOOLSET_TOOLS, all_tools
from secaudit.server.settings import Settings, load_settings
from secaudit.server.summaries import POINTER, summarize
from secaudit.server.tool_schemas import lean_schema
from secaudit.server.toolsets import TOOLSETS
from secaudit.tools.errors import ConfigError
from tests.support.mcp import call

# The budget of the default list on the wire (docs/tools.md, "Size of the tool list").
MAX_LIST_BYTES = 25_000  # "25 KB" read strictly (decimal), not 25 KiB
pytestmark = pytest.mark.anyio


def _wire_bytes(result: BaseModel) -> int:
    # How the SDK writes a result on stdio and HTTP: by alias, unset fields left out.
    return len(result.model_dump_json(by_alias=True, exclude_unset=True).encode())


def _with(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update=update)


async def _names(settings: Settings) -> set[str]:
    async with Client(build_server(settings)) as client:
        return {t.name for t in (await client.list_tools()).tools}


async def test_default_list_fits_the_budget(client: Client) -> None:
    listed = await client.list_tools()
    assert len(listed.tools) == len(all_tools())
    assert _wire_bytes(listed) <= MAX_LIST_BYTES


async def test_full_output_schemas_are_much_larger(settings: Settings) -> None:
    async with Client(build_server(_with(settings, output_schemas="full"))) as client:
        full = await client.list_tools()
    assert _wire_bytes(full) > 2 * MAX_LIST_BYTES
    assert any("$defs" in (t.output_schema or {}) for t in full.tools)


async def test_every_schema_is_valid_json_schema(client: Client, settings: Settings) -> None:
    tools = (await client.list_tools()).tools
    for tool in tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.output_schema is not None, tool.name
        Draft202012Validator.check_schema(tool.output_schema)
        text = json.dumps([tool.input_schema, tool.output_schema])
        assert '"title"' not in text.replace('"title": {', ""), tool.name  # a `title` property is fine
    for spec in all_tools():
        full = lean_schema(spec.output_model.model_json_schema(), output=True)
        Draft202012Validator.check_schema(full)


def test_lean_schema_accepts_what_pydantic_accepts() -> None:
    schema = {
        "$defs": {
            "Inner": {
                "description": "an inner record",
                "properties": {"n": {"title": "N", "type": "integer"}},
                "required": ["n"],
                "title": "Inner",
                "type": "object",
            }
        },
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "kind": {
                "anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}],
                "default": None,
                "title": "Kind",
            },
            "inner": {
                "anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}],
                "description": "an inner record",
            },
            "big": {"maximum": 2**63 - 1, "minimum": 1, "type": "integer"},
        },
        "required": ["title", "inner", "big"],
        "title": "Outer",
        "type": "object",
    }
    full = lean_schema(schema, output=True)
    flat = lean_schema(schema, output=True, nested=False)
    inputs = lean_schema(schema, output=False)
    assert full["properties"]["title"] == {"type": "string"}  # the property named title stays
    assert full["properties"]["kind"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert "description" not in full["properties"]["inner"]  # said once, in $defs
    assert full["properties"]["big"] == {"minimum": 1, "type": "integer"}
    assert flat["properties"]["inner"] == {"type": ["object", "null"]} and "$defs" not in flat
    assert inputs["properties"]["kind"] == {"enum": ["a", "b"], "type": "string"}  # optional: leave out
    good = {"title": "x", "kind": None, "inner": {"n": 1}, "big": 5}
    for lean in (full, flat):
        Draft202012Validator.check_schema(lean)
        assert Draft202012Validator(lean).is_valid(good)
        assert not Draft202012Validator(lean).is_valid({**good, "kind": "c"})
    assert not Draft202012Validator(full).is_valid({**good, "inner": {"n": "1"}})


def test_every_tool_is_in_exactly_one_known_toolset() -> None:
    assert sorted(TOOLSET_TOOLS) == sorted(TOOLSETS)
    names = [spec.name for spec in all_tools()]
    assert len(names) == len(set(names))
    assert all(spec.toolset in TOOLSETS for spec in all_tools())


async def test_toolsets_filter_the_list(settings: Settings) -> None:
    only = _with(settings, toolsets=("findings", "masking"))
    expected = {spec.name for spec in all_tools() if spec.toolset in {"findings", "masking"}}
    assert await _names(only) == expected
    assert "mask_secrets" in expected and "list_findings" in expected and "run_audit" not in expected


async def test_read_only_serves_only_tools_that_write_nothing(settings: Settings) -> None:
    async with Client(build_server(_with(settings, read_only=True))) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(t.annotations and t.annotations.read_only_hint is True for t in tools)
    names = {t.name for t in tools}
    assert {"list_findings", "get_task", "plan_fix", "db_status"} <= names
    assert not names & {"run_audit", "apply_fix", "create_task", "triage_finding", "import_sarif"}
    assert names == {s.name for s in all_tools() if s.read_only}


def test_read_only_and_toolsets_combine(settings: Settings) -> None:
    names = {s.name for s in served_tools(_with(settings, read_only=True, toolsets=("fixes",)))}
    assert names == {"plan_fix", "list_fixes"}


def test_toolsets_and_read_only_from_the_environment() -> None:
    s = load_settings({"SECAUDIT_TOOLSETS": " Findings, audit ", "SECAUDIT_READ_ONLY": "true"})
    assert s.toolsets == ("audit", "findings") and s.read_only is True
    assert load_settings({"SECAUDIT_TOOLSETS": "all"}).toolsets == tuple(TOOLSETS)
    assert load_settings({}).toolsets == tuple(TOOLSETS) and load_settings({}).read_only is False


@pytest.mark.parametrize("value", ["audit,nope", "", "fix"])
def test_unknown_toolset_is_refused_with_the_valid_names(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SECAUDIT_TOOLSETS": value})
    message = str(info.value)
    assert "SECAUDIT_TOOLSETS" in message
    assert all(name in message for name in TOOLSETS)


def test_serve_flags_reach_the_settings(tmp_path: Path) -> None:
    from secaudit.server.cli import parse_args
    from secaudit.server.cli.common import settings_from_args
    from secaudit.server.cli.serve import _toolsets

    args = parse_args(["serve", "--toolsets", "tasks,fixes", "--read-only", "--root", str(tmp_path)])
    settings = settings_from_args(args, toolsets=_toolsets(args.toolsets), read_only=args.read_only)
    assert settings.toolsets == ("fixes", "tasks") and settings.read_only is True
    with pytest.raises(ConfigError, match="valid toolsets"):
        settings_from_args(args, toolsets=_toolsets("tasks,bogus"))


async def test_text_content_is_a_summary_pointing_to_structured_content(client: Client) -> None:
    await call(client, "create_task", {"prompt": "fix the SQL injection in app.py"})
    result = await client.call_tool("list_tasks", {})
    assert not result.is_error and result.structured_content is not None
    text = result.content[0].text  # type: ignore[union-attr]
    assert text == "1 item; " + POINTER
    assert "SQL injection" not in text  # caller and repository text stays in structuredContent


async def test_text_content_json_mode_repeats_the_result(settings: Settings) -> None:
    async with Client(build_server(_with(settings, text_content="json"))) as client:
        result = await client.call_tool("create_task", {"prompt": "p"})
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]


def test_summaries_of_audits_and_findings() -> None:
    run = {"id": 7, "status": "completed", "findings_total": 12, "findings_new": 12, "findings_fixed": 0}
    run |= {"files_scanned": 40, "files_skipped": 1}
    findings = [{"severity": "high"}] * 3 + [{"severity": "low"}] * 9
    text = summarize("run_audit", {"run": run, "findings": findings, "next_cursor": "c"})
    assert text.startswith("run 7 completed: 12 findings (12 new, 0 fixed)")
    assert "first 12 (3 high, 9 low)" in text and "next_cursor" in text and text.endswith(POINTER)
    assert (
        summarize("list_findings", {"items": [], "next_cursor": None})
        == f"0 findings on this page; {POINTER}"
    )
    masked = summarize("mask_secrets", {"masked": "token [MASKED:x]", "count": 1, "matches": [{}]})
    assert masked.startswith("1 secret masked") and "[MASKED" not in masked

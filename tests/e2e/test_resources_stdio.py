"""Resources and prompts over real stdio: `secaudit serve` as a subprocess answers resources/list,
resources/templates/list, resources/read, prompts/list and prompts/get, line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.stdio import RawStdio

pytestmark = pytest.mark.slow


def test_resources_and_prompts_answer_over_stdio(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        requests = [
            ("resources/list", {}),
            ("resources/templates/list", {}),
            ("resources/read", {"uri": "secaudit://rules/config.debug-enabled"}),
            ("resources/read", {"uri": "secaudit://runs/0"}),
            ("prompts/list", {}),
            ("prompts/get", {"name": "triage_run", "arguments": {"run_id": "1"}}),
        ]
        answers = []
        for n, (method, params) in enumerate(requests, 1):
            server.send_json({"jsonrpc": "2.0", "id": n, "method": method, "params": params})
            answer = server.answer(timeout=60)
            assert answer is not None and answer["id"] == n, (method, answer)
            answers.append(answer)

    listed, templates, rule, bad, prompts, prompt = answers
    assert listed["result"]["resources"] == []  # no run yet
    uris = {t["uriTemplate"] for t in templates["result"]["resourceTemplates"]}
    assert {
        "secaudit://runs/{run_id}",
        "secaudit://runs/{run_id}/sarif",
        "secaudit://rules/{rule_id}",
    } <= uris
    content = rule["result"]["contents"][0]
    assert content["mimeType"] == "text/markdown" and content["text"].startswith("# config.debug-enabled")
    assert bad["error"]["code"] == -32602 and "run id" in bad["error"]["message"]
    names = {p["name"] for p in prompts["result"]["prompts"]}
    assert names == {"security_review", "fix_findings", "triage_run", "prepare_fix_tasks"}
    assert '`get_run {"run_id": 1}`' in prompt["result"]["messages"][0]["content"]["text"]

"""The pure checks of the HTTP face: Host and Origin normalisation, the JSON-RPC body shape."""

from __future__ import annotations

from secaudit.server.http.checks import (
    BodyProblem,
    JsonRpcMessage,
    normalize_host,
    normalize_origin,
    parse_jsonrpc,
)


def test_host_and_origin_normalisation() -> None:
    assert normalize_host("LOCALHOST:8765") == ("localhost", 8765)
    assert normalize_host("[::1]:80") == ("[::1]", 80)
    for bad in ("", "a b", "x@y", "x:y", "[zz]:1", "host:0", "host:123456", "a/b", "-a.com"):
        assert normalize_host(bad) is None, bad
    assert normalize_origin("HTTPS://Example.com:443") == "https://example.com"
    assert normalize_origin("http://example.com:8080") == "http://example.com:8080"
    for bad in ("null", "ftp://x", "http://x/path", "http://u@x", "http://", "https://x?y"):
        assert normalize_origin(bad) is None, bad


def test_jsonrpc_shapes() -> None:
    ok = parse_jsonrpc(b'{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t"}}', 8)
    assert isinstance(ok, JsonRpcMessage) and ok.tool == "t" and ok.is_request
    note = parse_jsonrpc(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', 8)
    assert isinstance(note, JsonRpcMessage) and not note.is_request
    deep = parse_jsonrpc(
        b'{"jsonrpc":"2.0","id":1,"method":"m","params":' + b'{"a":' * 9 + b"1" + b"}" * 10, 8
    )
    assert isinstance(deep, BodyProblem) and "nested" in deep.message
    secret = parse_jsonrpc(b'{"jsonrpc":"2.0","id":1,"method":5,"params":{"pw":"hunter2"}}', 8)
    assert isinstance(secret, BodyProblem) and "hunter2" not in secret.message


def test_item15_duplicate_keys_are_refused_not_last_wins() -> None:
    for body in (
        b'{"jsonrpc":"2.0","id":1,"id":999999,"method":"tools/list"}',
        b'{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/list"}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}',
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":[{"k":1,"k":2}]}}}',
    ):
        parsed = parse_jsonrpc(body, 8)
        assert isinstance(parsed, BodyProblem), body
        assert parsed.code == -32600 and "repeats a key" in parsed.message
    # Equal keys in different objects are fine.
    ok = parse_jsonrpc(b'{"jsonrpc":"2.0","id":1,"method":"m","params":{"id":2,"a":{"id":3}}}', 8)
    assert isinstance(ok, JsonRpcMessage) and ok.raw["id"] == 1
    # Still refused as before: not UTF-8, not JSON, nested past the limit (also past the stack).
    assert isinstance(parse_jsonrpc(b'{"jsonrpc":"2.0","x":"\xff"}', 8), BodyProblem)
    assert isinstance(parse_jsonrpc(b'{"jsonrpc":', 8), BodyProblem)
    stack = parse_jsonrpc(b"[" * 200_000 + b"]" * 200_000, 8)
    assert isinstance(stack, BodyProblem) and "nested" in stack.message

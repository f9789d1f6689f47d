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

#!/usr/bin/env bash
# The official MCP conformance suite against `secaudit serve --http` on loopback.
#
# The suite's CLI (0.1.13) has no way to send an Authorization header, so the server runs in its
# documented no-auth mode: accepted only on a loopback address, read scope only. Everything else
# (Host/Origin checks, limits, headers) stays on.
#
# Usage: .ci/conformance.sh   (from the repository root; uses .venv/bin/python if present)
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
SUITE="@modelcontextprotocol/conformance@0.1.13"
SCENARIOS=(server-initialize ping tools-list logging-set-level)

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

env -u SECAUDIT_HTTP_TOKENS -u SECAUDIT_HTTP_TOKEN_FILE \
  SECAUDIT_STORE="$work/store.db" SECAUDIT_ALLOWED_ROOTS="$work" \
  "$PY" -m secaudit.server serve --http --host 127.0.0.1 --port 0 --no-auth 2>"$work/server.log" &
server_pid=$!

# Wait (bounded) for the line announcing the port, then for /healthz.
port=""
for _ in $(seq 1 300); do
  port="$(sed -n 's#.*serving MCP at http://127\.0\.0\.1:\([0-9]*\)/mcp.*#\1#p' "$work/server.log" | head -1)"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; echo "server did not start" >&2; exit 1; }
for _ in $(seq 1 100); do
  "$PY" - "$port" <<'PYEOF' && break
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
except Exception:
    sys.exit(1)
PYEOF
  sleep 0.1
done

url="http://127.0.0.1:${port}/mcp"
failed=()
for scenario in "${SCENARIOS[@]}"; do
  echo "== conformance: $scenario"
  if ! timeout 300 npx -y "$SUITE" server --url "$url" --scenario "$scenario" --output-dir "$work/results-$scenario"; then
    failed+=("$scenario")
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "conformance FAILED: ${failed[*]}" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
echo "conformance passed: ${SCENARIOS[*]}"

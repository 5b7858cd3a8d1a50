#!/usr/bin/env bash
# Property-based API test of the served OpenAPI document with schemathesis (run by .ci/run).
#
# Builds and starts `prompter serve` on a free loopback port with a throw-away SQLite database
# and the fake LLM provider, waits for /readyz, then lets schemathesis generate requests from
# GET /openapi.json and check that no response is a 5xx and that every response matches its
# documented schema. Bounded: 30 examples per operation, 10 minutes at most (about 15 s here).
#
#   bash crates/api/scripts/schemathesis.sh             # from anywhere in the repository
#   SCHEMATHESIS_SEED=7 SCHEMATHESIS_MAX_EXAMPLES=200 bash crates/api/scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."

target_dir="${CARGO_TARGET_DIR:-target}"
venv=target/venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "version 4\."; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis>=4.32,<5'
fi

cargo build -q -p prompter
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

PROMPTER_LLM_MODE=fake PROMPTER_AUTH=off \
  "$target_dir/debug/prompter" serve --bind "127.0.0.1:$port" --database-url "sqlite://$work/schemathesis.db" \
  >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "schemathesis: the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null

if ! timeout 600 "$venv/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --request-timeout 35 \
  --no-color; then
  echo "schemathesis failed; the server's last log lines:" >&2
  tail -n 50 "$work/server.log" >&2
  exit 1
fi

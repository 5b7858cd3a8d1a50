#!/usr/bin/env bash
# End-to-end test of the web UI in headless Chromium. From anywhere:
#
#   crates/ui/e2e/run.sh
#
# Installs Debian's chromium and the node dependencies when missing, builds `prompter`, starts
# `prompter serve` on a free port with a fresh SQLite file and the built-in fake provider, runs the
# scenario (e2e.mjs main), restarts it with another fake build to show drift (e2e.mjs drift), then
# restarts it requiring tokens and signs in (e2e.mjs auth), and stops it.
# Screenshots: target/ui-screenshots/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  echo "installing node dependencies"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -p prompter
BIN="$TARGET/debug/prompter"

SHOTS="$ROOT/target/ui-screenshots"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
WORK="$(mktemp -d)"
DB="$WORK/e2e.db"
LOG="$WORK/server.log"
PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export PROMPTER_UI_URL="http://127.0.0.1:$PORT"
export SCREENSHOT_DIR="$SHOTS"
SERVER_PID=""

start_server() {
  "$BIN" serve --bind "127.0.0.1:$PORT" --database-url "sqlite://$DB" >>"$LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' \
      "$PROMPTER_UI_URL/api/prompt-templates/health" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "the server exited:" >&2; cat "$LOG" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "the server did not come up:" >&2; cat "$LOG" >&2; exit 1
}

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

export PROMPTER_LLM_MODE=fake
unset PROMPTER_FAKE_BUILD
start_server
(cd "$HERE" && node e2e.mjs main)
stop_server

# The provider ships a new model build: the same template now answers with another version key.
export PROMPTER_FAKE_BUILD=2026-02
start_server
(cd "$HERE" && node e2e.mjs drift)
stop_server

# Tokens required: sign in, scoping, sign out, a reader.
PROMPTER_E2E_WRITER_TOKEN="$("$BIN" tokens create --database-url "sqlite://$DB" --org default \
  --role writer --label "E2E writer" 2>/dev/null)"
PROMPTER_E2E_READER_TOKEN="$("$BIN" tokens create --database-url "sqlite://$DB" --org default \
  --role reader --label "E2E reader" 2>/dev/null)"
export PROMPTER_E2E_WRITER_TOKEN PROMPTER_E2E_READER_TOKEN
PROMPTER_AUTH=required start_server
(cd "$HERE" && node e2e.mjs auth)
stop_server

echo "e2e passed; screenshots in ${SHOTS#"$ROOT"/}/"

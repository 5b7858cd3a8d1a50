#!/usr/bin/env bash
# Load test of the release binary: create (unique bodies), create (duplicates → 409),
# check-duplicate and list, at 8, 64 and 256 connections, on SQLite or PostgreSQL.
#
#   bench/load.sh sqlite                 # fresh SQLite file in a temp dir
#   bench/load.sh postgres [ADMIN_URL]   # fresh database on that server
#                                        # (default postgres://postgres@127.0.0.1:5432/postgres)
# Environment: DURATION (default 10s), THREADS (wrk threads, default 2), CONNECTIONS ("8 64 256").
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-sqlite}"
duration="${DURATION:-10s}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-8 64 256}"
port="${PORT:-18080}"

command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }
cargo build --release -q
bin=target/release/prompter

work=$(mktemp -d)
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  sqlite) url="sqlite://$work/bench.db" ;;
  postgres)
    admin="${2:-postgres://postgres@127.0.0.1:5432/postgres}"
    dbname="prompter_bench_$$"
    psql "$admin" -qc "CREATE DATABASE $dbname"
    url="${admin%/*}/$dbname" ;;
  *) echo "usage: $0 sqlite|postgres [ADMIN_URL]" >&2; exit 2 ;;
esac

if curl -s "http://127.0.0.1:$port" >/dev/null; then echo "port $port is in use" >&2; exit 1; fi
RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --database-url "$url" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/api/prompt-templates/health" >/dev/null && break; sleep 0.1; done

base="http://127.0.0.1:$port"
# Something to list, and the duplicated template.
curl -s -o /dev/null -X POST "$base/api/prompt-templates" -H 'Content-Type: application/json' \
  -d '{"workspace_id":"bench-brand","name":"Duplicate","user_prompt_template":"The one duplicated prompt","country_set":["CH","US"],"model_id":"gpt-4o","inference_params":{"temperature":0.7}}'

peak_rss_kb=0
run() { # name, wrk args...
  local name=$1; shift
  for c in $connections; do
    local t=$threads; [ "$c" -lt "$t" ] && t=$c
    local out
    out=$(wrk -t"$t" -c"$c" -d"$duration" --latency "$@")
    local rps p50 p99 non2xx errors rss
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
    errors=$(awk '/Socket errors/ {print $0}' <<<"$out" | sed 's/.*errors: //'); errors=${errors:-none}
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    [ "$rss" -gt "$peak_rss_kb" ] && peak_rss_kb=$rss
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$backend" "$name" "$c" "$rps" "$p50" "$p99" "$non2xx" "$errors"
  done
}

echo "| backend | scenario | connections | req/s | p50 | p99 | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|---|---|"
run "create (unique)" -s bench/create_unique.lua "$base"
# PostgreSQL's autovacuum analyses a table within a minute of heavy changes; where it is off
# (as on some CI machines) do what it would, so the reads below are planned with statistics.
analyze() { if [ "$backend" = postgres ]; then psql "${admin%/*}/$dbname" -qc "ANALYZE"; fi; }
analyze
run "create (duplicate → 409)" -s bench/same_body.lua "$base" -- /api/prompt-templates
run "check-duplicate" -s bench/same_body.lua "$base" -- /api/prompt-templates/check-duplicate
run "list (limit 50)" "$base/api/prompt-templates?workspace_id=bench-brand&limit=50"

# Runs with the built-in fake provider (PROMPTER_FAKE_LATENCY_MS=0), then listing that template's
# results once it has (at least) 10,000 of them.
tpl=$(curl -s -X POST "$base/api/prompt-templates" -H 'Content-Type: application/json' \
  -d '{"workspace_id":"bench-brand","name":"Run bench","user_prompt_template":"What is {{brand_name}} known for?","model_id":"gpt-4o"}' |
  sed -E 's/.*"id":"([^"]+)".*/\1/')
run "run (fake provider)" -s bench/same_body.lua "$base" -- "/api/prompt-templates/$tpl/run" '{"brand_name":"AVEA"}'
analyze
run "results of one template (limit 50)" "$base/api/prompt-templates/$tpl/results?limit=50"
echo
count=$(wrk -t1 -c1 -d1s "$base/api/prompt-templates/$tpl/results?limit=1" >/dev/null; \
  if [ "$backend" = sqlite ]; then sqlite3 "$work/bench.db" "SELECT count(*) FROM prompt_results WHERE template_id = '$tpl'"; \
  else psql "${admin%/*}/$dbname" -Atc "SELECT count(*) FROM prompt_results WHERE template_id = '$tpl'"; fi)
echo "results stored for the run template: $count"
echo "server peak RSS (VmHWM): $((peak_rss_kb / 1024)) MiB"

#!/usr/bin/env bash
# Batch throughput against the release binary and the fake provider.
#
#   bench/batch.sh                       # the three runs below, on SQLite and PostgreSQL
#
# Runs (override with RUNS="name:tasks:latency_ms:concurrency ..."):
#   latency  10,000 tasks, fake latency 500 ms, batch max_concurrency 50: the bound is
#            10,000 × 0.5 s / 50 = 100 s; the figure is how close the batch gets to it.
#   zero     10,000 tasks at zero latency, max_concurrency 50: tasks per second (the queue's and
#            the run path's own cost).
#   rss      100,000 tasks at zero latency, max_concurrency 100: peak RSS of the server.
# Each run starts a fresh `prompter serve` on a fresh database, creates templates (20 countries
# each, 50 samples: 1,000 tasks per template), posts one batch and polls it until it finishes;
# the duration is the batch's own `finished_at - created_at`. Peak RSS is sampled from
# /proc/PID/status every 200 ms; the database operations' total time comes from the service's
# own `prompter_db_query_duration_seconds` (summed over concurrent calls, so it can exceed the
# wall time). Environment: BACKENDS (default "sqlite postgres"),
# PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database is created per run),
# BIN (default: the release binary built from this checkout), PORT (default 18095).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-18095}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
backends="${BACKENDS:-sqlite postgres}"
runs="${RUNS:-latency:10000:500:50 zero:10000:0:50 rss:100000:0:100}"
if [ -z "${BIN:-}" ]; then cargo build --release -q; fi
bin="${BIN:-target/release/prompter}"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

for backend in $backends; do
  for run in $runs; do
    IFS=: read -r name tasks latency concurrency <<<"$run"
    if [ "$backend" = sqlite ]; then
      db="sqlite://$work/$name.db"
    else
      dbname="prompter_bench_$name"
      psql "$pg_url" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null
      psql "$pg_url" -qc "CREATE DATABASE $dbname" >/dev/null
      db="${pg_url%/*}/$dbname"
    fi
    PROMPTER_FAKE_LATENCY_MS="$latency" PROMPTER_WORKER_CONCURRENCY=128 PROMPTER_LOG_FORMAT=json \
      RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --database-url "$db" \
      >"$work/$name.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
    python3 - "$port" "$tasks" "$concurrency" "$server" "$backend" "$name" "$latency" <<'EOF'
import http.client, json, sys, time
port, tasks, concurrency, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
backend, name, latency = sys.argv[5], sys.argv[6], int(sys.argv[7])
countries = ["CH", "DE", "AT", "FR", "IT", "ES", "PT", "NL", "BE", "LU", "DK", "SE", "NO", "FI",
             "PL", "CZ", "GB", "IE", "US", "CA"]
conn = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, body=None):
    conn.request(method, path, json.dumps(body) if body is not None else None,
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read())
templates = tasks // (len(countries) * 50)
for t in range(templates):
    status, _ = call("POST", "/api/prompt-templates", {
        "workspace_id": "bench", "name": f"T{t}", "model_id": "gpt-4o",
        "user_prompt_template": f"Question {t}: best supplements in {{{{country}}}}?",
        "country_set": countries})
    assert status == 201, status
def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
start_rss = rss_kb()
status, batch = call("POST", "/api/batches", {"workspace_id": "bench", "samples": 50,
                                               "max_concurrency": concurrency})
assert status == 202, batch
assert batch["total_tasks"] == tasks, batch
peak = start_rss
while True:
    time.sleep(0.2)
    peak = max(peak, rss_kb())
    status, b = call("GET", f"/api/batches/{batch['id']}")
    if b["finished_at"]:
        break
def ts(s):
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
seconds = ts(b["finished_at"]) - ts(b["created_at"])
bound = tasks * latency / 1000 / concurrency
line = {"backend": backend, "run": name, "tasks": tasks, "latency_ms": latency,
        "max_concurrency": concurrency, "status": b["status"], "succeeded": b["succeeded"],
        "seconds": round(seconds, 1), "tasks_per_s": round(tasks / seconds, 1),
        "rss_start_mb": round(start_rss / 1024, 1), "rss_peak_mb": round(peak / 1024, 1)}
if bound:
    line["bound_s"] = bound
    line["over_bound_pct"] = round(100 * (seconds - bound) / bound, 1)
# Where the time goes: the database operations' total time, from the service's own histogram.
conn.request("GET", "/metrics")
db = {}
for text in conn.getresponse().read().decode().splitlines():
    if text.startswith("prompter_db_query_duration_seconds_sum{"):
        op = text.split('operation="')[1].split('"')[0]
        db[op] = round(float(text.rsplit(" ", 1)[1]), 1)
line["db_seconds_by_operation"] = dict(sorted(db.items(), key=lambda kv: -kv[1])[:6])
print(json.dumps(line))
EOF
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
  done
done

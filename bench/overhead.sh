#!/usr/bin/env bash
# Instrumentation overhead in CPU instructions per request, metrics on vs off, counted by
# callgrind: deterministic, unlike req/s on a shared machine.
#
#   bench/overhead.sh            # SQLite, release binary
#
# For each setting of PROMPTER_METRICS_ENABLED and each scenario, the release binary runs under
# `valgrind --tool=callgrind` twice, serving N1 and then N2 requests (sequential, one keep-alive
# connection); instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up, migrations
# and shutdown cancel out. Environment: N1 (default 500), N2 (default 2500), SCENARIOS (default
# "check-duplicate create list run"; also "run-analysed": runs in a workspace with a 30-entity
# snapshot; "check-duplicate-near": the check with five near-duplicates in the workspace), METRICS (default "true false"), BIN (default: the release
# binary built from this checkout; point it at another build to compare two versions).
set -euo pipefail
cd "$(dirname "$0")/.."

n1="${N1:-500}"
n2="${N2:-2500}"
port="${PORT:-18090}"
command -v valgrind >/dev/null || { apt-get install -y -q valgrind >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q valgrind >/dev/null; }; }
if [ -z "${BIN:-}" ]; then cargo build --release -q; fi
bin="${BIN:-target/release/prompter}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Sends COUNT requests of SCENARIO over one keep-alive connection; fails on an unexpected status.
client() { # scenario count
  python3 - "$port" "$1" "$2" <<'EOF'
import http.client, json, sys
port, scenario, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
dup = {"workspace_id": "bench-brand", "name": "Duplicate", "user_prompt_template": "The one duplicated prompt",
       "country_set": ["CH", "US"], "model_id": "gpt-4o", "inference_params": {"temperature": 0.7}}
def post(path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read(); return r.status
conn.request("POST", "/api/prompt-templates", json.dumps(dup), {"Content-Type": "application/json"})
r = conn.getresponse(); template = json.loads(r.read()); assert r.status == 201
if scenario == "check-duplicate-near":
    # Five templates one temperature away: every check finds and compares them (near_matches).
    for t in (0.1, 0.2, 0.3, 0.4, 0.5):
        near = dict(dup, inference_params={"temperature": t}, name=f"Near {t}")
        assert post("/api/prompt-templates", near) == 201
if scenario == "run-analysed":
    # A 30-entity snapshot: every run's answer is analysed in its outcome's transaction.
    names = ["Acme", "Northwind", "Contoso", "Globex", "Initech", "Fabrikam", "Tailwind Traders",
             "Wingtip", "Litware", "Proseware", "Bluepeak", "Everfield"] + [f"Brand {i}" for i in range(18)]
    body = {"brand": {"name": names[0], "domains": ["acme.test"]},
            "competitors": [{"name": n} for n in names[1:]]}
    conn.request("PUT", "/api/workspaces/bench-brand/entities", json.dumps(body),
                 {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read(); assert r.status == 201, r.status
for i in range(count):
    if scenario == "create":
        status, want = post("/api/prompt-templates", dict(dup, user_prompt_template=f"Unique prompt {i}")), 201
    elif scenario in ("run", "run-analysed"):
        status, want = post(f"/api/prompt-templates/{template['id']}/run", {"country": "CH"}), 200
    elif scenario in ("check-duplicate", "check-duplicate-near"):
        status, want = post("/api/prompt-templates/check-duplicate", dup), 200
    else:
        conn.request("GET", "/api/prompt-templates?workspace_id=bench-brand&limit=50")
        r = conn.getresponse(); r.read(); status, want = r.status, 200
    assert status == want, (scenario, i, status)
EOF
}

# Total instructions of one server lifetime serving COUNT requests.
instructions() { # metrics scenario count
  local out="$work/cg.out" db="$work/$1-$2-$3.db"
  rm -f "$out"
  PROMPTER_METRICS_ENABLED=$1 PROMPTER_LLM_MODE=fake RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" serve --bind "127.0.0.1:$port" --database-url "sqlite://$db" >"$work/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    # A bare TCP connect (no request): polling costs the server next to nothing.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  client "$2" "$3"
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^summary:/ {print $2}' "$out"
}

echo "| scenario | metrics | instructions/request |"
echo "|---|---|---|"
for scenario in ${SCENARIOS:-check-duplicate create list run}; do
  for metrics in ${METRICS:-true false}; do
    a=$(instructions "$metrics" "$scenario" "$n1")
    b=$(instructions "$metrics" "$scenario" "$n2")
    echo "| $scenario | $metrics | $(( (b - a) / (n2 - n1) )) |"
  done
done

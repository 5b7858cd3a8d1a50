#!/usr/bin/env bash
# Brand visibility at scale against the release binary: a re-analysis of N stored answers with a
# 30-entity snapshot (time, answers per second, peak RSS of the server), then the visibility
# query over them (median of 5 requests per query shape).
#
#   bench/visibility.sh                  # 1,000,000 answers, on SQLite and PostgreSQL
#
# Each backend: a fresh database; `prompter serve` creates 60 templates (20 prompts × 3 models)
# and puts the entities (brand + 29 competitors); the server stops; N succeeded answers are
# inserted directly with SQL (spread over 90 days, 5 countries, 8 answer texts naming 0–5 of the
# entities, a quarter with a cited URL); the server starts again, a re-analysis analyses every
# answer (this is what writes the analyses and the daily roll-up), and the queries run.
# Environment: ANSWERS (default 1000000), BACKENDS (default "sqlite postgres"),
# PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a database is created per run),
# BIN (default: the release binary built from this checkout), PORT (default 18096).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-18096}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
backends="${BACKENDS:-sqlite postgres}"
answers="${ANSWERS:-1000000}"
if [ -z "${BIN:-}" ]; then cargo build --release -q; fi
bin="${BIN:-target/release/prompter}"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() {
  RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --database-url "$1" >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

for backend in $backends; do
  if [ "$backend" = sqlite ]; then
    db="sqlite://$work/visibility.db"
  else
    psql "$pg_url" -qc "DROP DATABASE IF EXISTS prompter_bench_visibility" >/dev/null
    psql "$pg_url" -qc "CREATE DATABASE prompter_bench_visibility" >/dev/null
    db="${pg_url%/*}/prompter_bench_visibility"
  fi
  start "$db"
  python3 - "$port" <<'EOF'
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
def call(method, path, body):
    conn.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status in (200, 201), (r.status, data)
for p in range(20):
    for model in ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro"]:
        call("POST", "/api/prompt-templates", {"workspace_id": "bench", "name": f"p{p} {model}",
             "model_id": model, "user_prompt_template": f"Question {p}: which brands?",
             "country_set": ["CH", "DE", "AT", "FR", "IT"]})
competitors = ["Northwind", "Contoso", "Globex", "Initech", "Fabrikam", "Tailwind Traders",
    "Wingtip", "Litware", "Proseware", "Bluepeak", "Everfield", "Nestlé", "Burgerstein",
    "Doppelherz", "Orthomol", "Centrum", "Abtei", "Vitabay", "Sanct Bernhard", "Pure Encapsulations",
    "Solgar", "Biotics", "Lamberts", "Nature's Way", "NOW Foods", "Garden of Life",
    "Swanson", "Jarrow", "Thorne"]
call("PUT", "/api/workspaces/bench/entities", {
    "brand": {"name": "AVEA", "aliases": ["Avea Vitamins"], "domains": ["avea.ch"]},
    "competitors": [{"name": c} for c in competitors]})
EOF
  stop
  python3 - "$backend" "$db" "$answers" "$pg_url" <<'EOF'
import sys, time, uuid, random, json, subprocess
backend, db, n, pg_url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
texts = [
    "Popular choices include AVEA, Burgerstein and Nestlé. See https://www.avea.ch/shop for details.",
    "People most often recommend **Burgerstein**, Doppelherz and Orthomol.",
    "Well-regarded options are Centrum and Solgar; AVEA-Produkte are also sold in Swiss pharmacies.",
    "Die bekanntesten Marken sind Abtei, Doppelherz und «AVEA».",
    "I would compare Thorne, Pure Encapsulations and NOW Foods.",
    "There is no single best brand; ask your pharmacist.",
    "Les marques citées: Nestlé, Burgerstein, Sanct Bernhard et Avea Vitamins.",
    "1. Solgar\n2. Garden of Life\n3. Nature's Way\n4. Jarrow\n5. Swanson",
]
started = time.time()
if backend == "sqlite":
    import sqlite3
    path = db[len("sqlite://"):]
    con = sqlite3.connect(path)
    tpl = [r[0] for r in con.execute("SELECT id FROM prompt_templates ORDER BY id")]
    models = {r[0]: r[1] for r in con.execute("SELECT id, model_id FROM prompt_templates")}
    base = time.time() - 90 * 86400
    def rows():
        rnd = random.Random(7)
        for i in range(n):
            t = tpl[i % len(tpl)]
            ts = base + rnd.random() * 90 * 86400
            created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%06dZ" % int((ts % 1) * 1e6)
            cites = json.dumps([{"url": "https://shop.avea.ch/x", "title": "AVEA", "domain": "avea.ch"}]) if i % 4 == 0 else None
            yield (str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "default", "bench", t,
                   "fake", models[t], "{}", "{}", texts[i % len(texts)], "{}", "ab",
                   ["CH", "DE", "AT", "FR", "IT"][i % 5], "succeeded", 0, 0, cites, created)
    con.executemany("INSERT INTO prompt_results (id, org_id, workspace_id, template_id, provider, "
        "model_id, request, response, answer, analysis_config, rendered_prompt_hash, run_country, "
        "status, latency_ms, is_fake, citations, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    con.commit()
else:
    texts_sql = "ARRAY[" + ",".join("$t$" + t + "$t$" for t in texts) + "]"
    sql = f"""
    WITH t AS (SELECT array_agg(id ORDER BY id) ids, array_agg(model_id ORDER BY id) models FROM prompt_templates)
    INSERT INTO prompt_results (id, org_id, workspace_id, template_id, provider, model_id, request,
      response, answer, analysis_config, rendered_prompt_hash, run_country, status, latency_ms,
      is_fake, citations, created_at)
    SELECT gen_random_uuid(), 'default', 'bench', t.ids[1 + i % 60], 'fake', t.models[1 + i % 60],
      '{{}}', '{{}}', ({texts_sql})[1 + i % 8], '{{}}', 'ab',
      (ARRAY['CH','DE','AT','FR','IT'])[1 + i % 5], 'succeeded', 0, false,
      CASE WHEN i % 4 = 0 THEN '[{{"url": "https://shop.avea.ch/x", "title": "AVEA", "domain": "avea.ch"}}]'::jsonb END,
      now() - interval '90 days' * random()
    FROM t, generate_series(0, {n} - 1) i"""
    subprocess.run(["psql", db, "-qc", sql], check=True)
    subprocess.run(["psql", db, "-qc", "ANALYZE prompt_results"], check=True)
print(f"{backend}: inserted {n} answers in {time.time() - started:.0f} s", flush=True)
EOF
  start "$db"
  python3 - "$port" "$server" "$backend" "$answers" <<'EOF'
import http.client, json, sys, time, statistics
port, pid, backend, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
def call(method, path, body=None):
    conn.request(method, path, json.dumps(body) if body is not None else None,
                 {"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    return r.status, data
def rss_kib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
base_rss = rss_kib("VmRSS")
status, data = call("POST", "/api/workspaces/bench/reanalyze", {})
assert status == 202, data
job = json.loads(data)
peak = base_rss
while True:
    time.sleep(1)
    peak = max(peak, rss_kib("VmRSS"))
    _, data = call("GET", f"/api/reanalyses/{job['id']}")
    job = json.loads(data)
    if job["status"] in ("succeeded", "failed"):
        break
assert job["status"] == "succeeded", job
from datetime import datetime
def ts(s): return datetime.fromisoformat(s.replace("Z", "+00:00"))
secs = (ts(job["finished_at"]) - ts(job["started_at"])).total_seconds()
print(f"{backend}: re-analysis of {job['processed']} answers ({job['analysed']} analysed, 30 entities): "
      f"{secs:.0f} s = {job['processed'] / secs:,.0f} answers/s; server RSS {base_rss // 1024} MiB before, "
      f"peak {peak // 1024} MiB (sampled every second)", flush=True)
shapes = [
    ("no grouping", ""),
    ("model,country", "group_by=model,country"),
    ("template,day", "group_by=template,day"),
    ("week, one entity", "group_by=week&entity=AVEA"),
    ("model, partial days", "group_by=model&from=2026-01-01T12:00:00Z&to=2030-01-01T06:00:00Z"),
]
for name, q in shapes:
    times = []
    rows = 0
    for _ in range(5):
        t0 = time.perf_counter()
        status, data = call("GET", f"/api/workspaces/bench/visibility?{q}")
        times.append(time.perf_counter() - t0)
        assert status == 200, data
        body = json.loads(data)
        rows = len(body["rows"])
    answers = sum(r["entities"][0]["n_answers"] for r in body["rows"])
    print(f"{backend}: visibility [{name}]: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); {rows} rows, {answers} answers", flush=True)
EOF
  stop
done

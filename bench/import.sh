#!/usr/bin/env bash
# Import benchmark (issue 13): a legacy SQLite database in the seeds' schema (000, SQLite) with
# TEMPLATES templates (every 10th a whitespace/CRLF twin of the one before, so 10 % merge),
# one version each and RESULTS results, imported by the release binary into a fresh SQLite file
# and a fresh PostgreSQL database. Prints wall time and peak memory (GNU time) of each import.
#
#   bench/import.sh                      # 100,000 templates, 1,000,000 results
#   TEMPLATES=10000 RESULTS=100000 bench/import.sh
#
# PostgreSQL: PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres); skipped when
# it cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."

templates="${TEMPLATES:-100000}"
results="${RESULTS:-1000000}"
admin="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ -z "${BIN:-}" ]; then cargo build --release -q -p prompter; fi
bin="${BIN:-target/release/prompter}"
command -v /usr/bin/time >/dev/null || apt-get install -y -q time >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "generating $templates templates and $results results"
python3 - "$work/legacy.db" "$templates" "$results" <<'PY'
import json, sqlite3, sys, uuid
path, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path)
db.executescript("""
CREATE TABLE prompt_templates (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, name TEXT NOT NULL, system_instructions TEXT, user_prompt_template TEXT NOT NULL, country_set TEXT NOT NULL, model_id TEXT NOT NULL, inference_params TEXT NOT NULL, tools_spec TEXT, response_format TEXT, grounding_profile_id TEXT, grounding_snapshot_id TEXT, retrieval_params TEXT, config_hash TEXT NOT NULL, config_canonical_json TEXT NOT NULL, created_by TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, deleted_at TIMESTAMP);
CREATE TABLE prompt_versions (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), provider TEXT NOT NULL, provider_version_key TEXT NOT NULL, model_id TEXT NOT NULL, fingerprint_captured_at TIMESTAMP, first_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE prompt_results (id TEXT PRIMARY KEY, org_id TEXT NOT NULL DEFAULT 'default', workspace_id TEXT NOT NULL, template_id TEXT REFERENCES prompt_templates(id), version_id TEXT REFERENCES prompt_versions(id), provider_version_key TEXT, system_fingerprint TEXT, request TEXT NOT NULL, response TEXT NOT NULL, analysis_config TEXT, rendered_prompt_hash TEXT, run_country TEXT, used_grounding BOOLEAN, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
""")
def tid(i): return str(uuid.UUID(int=(1 << 64) | i))
def vid(i): return str(uuid.UUID(int=(2 << 64) | i))
rows, versions = [], []
for i in range(n):
    base = i - 1 if i % 10 == 9 else i  # every 10th row repeats the one before
    prompt = f"Which brands lead topic {base} in {{{{country}}}}?"
    if base != i:
        prompt = "  " + prompt.replace(" ", "  ") + "\r\n"
    rows.append((tid(i), "default", f"ws-{base % 20}", f"Template {i}", "Be brief.", prompt,
                 json.dumps(["CH", "DE"]), "gpt-4o", json.dumps({"temperature": 0.7}),
                 f"stale-{i}", "{}", f"2025-01-01 00:{(i // 60) % 60:02d}:{i % 60:02d}"))
    versions.append((vid(i), "default", f"ws-{base % 20}", tid(i), "openai", "fp_A", "gpt-4o",
                     "2025-02-01 00:00:00", "2025-02-01 00:00:00", "2025-03-01 00:00:00"))
db.executemany("INSERT INTO prompt_templates (id, org_id, workspace_id, name, system_instructions, user_prompt_template, country_set, model_id, inference_params, config_hash, config_canonical_json, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.executemany("INSERT INTO prompt_versions (id, org_id, workspace_id, template_id, provider, provider_version_key, model_id, fingerprint_captured_at, first_seen_at, last_seen_at) VALUES (?,?,?,?,?,?,?,?,?,?)", versions)
response = json.dumps({"content": "Acme leads, then Globex and Initech. " * 4})
request = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Which brands lead?"}]})
batch = []
for j in range(m):
    i = j % n
    ws = i - 1 if i % 10 == 9 else i
    batch.append((str(uuid.UUID(int=(3 << 64) | j)), "default", f"ws-{ws % 20}", tid(i), vid(i), "fp_A",
                  request, response, "CH", 0, "2025-03-01 12:00:00"))
    if len(batch) == 50000:
        db.executemany("INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider_version_key, request, response, run_country, used_grounding, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
        batch = []
if batch:
    db.executemany("INSERT INTO prompt_results (id, org_id, workspace_id, template_id, version_id, provider_version_key, request, response, run_country, used_grounding, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
db.commit()
PY
ls -l "$work/legacy.db" | awk '{print "legacy database: " $5 / 1048576 " MiB"}'

measure() { # label target-url
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" import --from "sqlite://$work/legacy.db" \
    --database-url "$2" --report "$work/report-$1.csv" > "$work/out-$1.txt"
  read -r seconds kib < "$work/time"
  echo "| $1 | $templates | $results | ${seconds} s | $((kib / 1024)) MiB | $(tail -1 "$work/out-$1.txt") |"
}
echo "| target | templates | results | wall time | peak RSS | plan |"
echo "|---|---|---|---|---|---|"
measure sqlite "sqlite://$work/target.db"
if psql "$admin" -Atc 'SELECT 1' >/dev/null 2>&1; then
  name="prompter_import_bench_$$"
  psql "$admin" -qc "CREATE DATABASE $name"
  measure postgres "${admin%/*}/$name"
  psql "$admin" -qc "DROP DATABASE $name WITH (FORCE)"
fi

//! The operations artifacts in `ops/` against the real binary.
//!
//! - The Prometheus alert rules, the Grafana dashboard and the Datadog dashboard may only name
//!   metrics that `prompter serve` really exports on `GET /metrics`: the test starts the binary,
//!   exercises the API so that the instrumented paths run, scrapes `/metrics` and lists every
//!   referenced metric it did not find.
//! - Both dashboards are importable JSON of the expected shape; every alert has a severity, a
//!   summary, a description and a runbook that is a section of docs/operations.md.
//! - With `promtool` on PATH: `promtool check rules` accepts the alert rules and every Grafana
//!   query (written to a temporary rules file, with Grafana's variables substituted), and
//!   `promtool check metrics` has nothing to say about the scrape. That last check is strict on
//!   purpose: any complaint fails the test, lint problems included (a missing HELP line is one),
//!   because the exporter writes HELP for every metric the code describes, so a complaint means a
//!   metric was added without a description or with a badly formed name. Without promtool these
//!   checks print `SKIPPED: promtool not installed` and the rest of the test still runs (CI
//!   installs promtool).
//!
//! Metric names in Datadog queries are mapped back as docs/operations.md documents for the
//! OpenMetrics check (`namespace: prompter`, `raw_metric_prefix: prompter_`): `prompter.x.count` is
//! the counter `prompter_x_total` (or the `_count` of histogram `prompter_x`), `prompter.x.sum` and
//! `prompter.x.bucket` belong to histogram `prompter_x`, and a bare `prompter.x` is gauge `prompter_x`
//! or the distribution of histogram `prompter_x`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod common;

use common::Server;

const ALERTS: &str = "ops/prometheus/alerts.yml";
const GRAFANA: &str = "ops/grafana/prompter-dashboard.json";
const DATADOG: &str = "ops/datadog/prompter-dashboard.json";
const OPERATIONS: &str = "docs/operations.md";
/// The `env` label the test server runs with (`PROMPTER_ENV`).
const TEST_ENV: &str = "ops-test";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid JSON: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Reading the artifacts
// ---------------------------------------------------------------------------------------------

/// One alerting rule of alerts.yml: its name and the text of its YAML item.
struct Rule {
    alert: String,
    text: String,
}

/// The rules of alerts.yml, cut at each `- alert:` item. The file is plain block YAML written for
/// people; full YAML validation is promtool's job (`promtool check rules`, below and in CI).
fn alert_rules(yaml: &str) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert:") {
            rules.push(Rule {
                alert: name.trim().to_owned(),
                text: String::new(),
            });
        } else if trimmed.starts_with("- name:") || trimmed.starts_with("- record:") {
            // A new group (or a recording rule) ends the current alert's item.
            rules.push(Rule {
                alert: String::new(),
                text: String::new(),
            });
        }
        if let Some(rule) = rules.last_mut() {
            rule.text.push_str(line);
            rule.text.push('\n');
        }
    }
    rules.retain(|r| !r.alert.is_empty());
    rules
}

/// The value of `key:` in a YAML fragment: inline (quotes removed) or a `|`/`>` block scalar
/// (the more-indented lines that follow).
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut values = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some(rest) = trimmed.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            values.push(block.join("\n").trim().to_owned());
        } else {
            values.push(rest.trim_matches('"').trim_matches('\'').to_owned());
        }
    }
    values
}

/// Identifiers of a PromQL expression that name a Prompter metric (`prompter_…`). Label values
/// such as `service="prompter-api"` and routes cannot match: they have no `prompter_` token.
fn promql_metrics(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("prompter_"))
        .map(str::to_owned)
        .collect()
}

/// Datadog metric names (`prompter.…`) of a Datadog query.
fn datadog_metrics(query: &str) -> BTreeSet<String> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|t| t.starts_with("prompter."))
        .map(str::to_owned)
        .collect()
}

/// Every panel of a Grafana dashboard, rows' nested panels included (rows themselves excluded).
fn grafana_panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for p in panels.as_array().into_iter().flatten() {
            if p["type"] == "row" {
                walk(&p["panels"], out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every widget definition of a Datadog dashboard, groups' widgets included (groups excluded).
fn datadog_widgets(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(widgets: &'a Value, out: &mut Vec<&'a Value>) {
        for w in widgets.as_array().into_iter().flatten() {
            let def = &w["definition"];
            if def["type"] == "group" {
                walk(&def["widgets"], out);
            } else {
                out.push(def);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["widgets"], &mut out);
    out
}

fn grafana_exprs(dashboard: &Value) -> Vec<(String, String)> {
    grafana_panels(dashboard)
        .into_iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_owned();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |t| Some((title.clone(), t["expr"].as_str()?.to_owned())))
        })
        .collect()
}

fn datadog_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for def in datadog_widgets(dashboard) {
        let title = def["title"].as_str().unwrap_or("?").to_owned();
        for request in def["requests"].as_array().into_iter().flatten() {
            for q in request["queries"].as_array().into_iter().flatten() {
                if let Some(query) = q["query"].as_str() {
                    out.push((title.clone(), query.to_owned()));
                }
            }
        }
    }
    out
}

/// The anchors GitHub gives the headings of a Markdown file (code blocks skipped).
fn markdown_anchors(md: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut anchors = BTreeSet::new();
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim().to_lowercase();
        let slug: String = heading
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        anchors.insert(slug);
    }
    anchors
}

// ---------------------------------------------------------------------------------------------
// The scrape
// ---------------------------------------------------------------------------------------------

/// What `/metrics` exports: family name → type (from `# TYPE`), plus every sample name.
struct Exported {
    types: BTreeMap<String, String>,
    samples: BTreeSet<String>,
}

impl Exported {
    fn parse(text: &str) -> Exported {
        let mut types = BTreeMap::new();
        let mut samples = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                    types.insert(name.to_owned(), kind.to_owned());
                }
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                samples.insert(name.to_owned());
            }
        }
        Exported { types, samples }
    }

    /// Whether `name` (a family, or one of a histogram's `_bucket`/`_sum`/`_count` series) is
    /// exported, as a `# TYPE` line or as a sample.
    fn has(&self, name: &str) -> bool {
        if self.types.contains_key(name) || self.samples.contains(name) {
            return true;
        }
        ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| self.kind(base) == Some("histogram"))
        })
    }

    /// The type of family `name`: its `# TYPE`, else `histogram` when its `_bucket` samples
    /// are there.
    fn kind(&self, name: &str) -> Option<&str> {
        match self.types.get(name) {
            Some(kind) => Some(kind.as_str()),
            None if self.samples.contains(&format!("{name}_bucket")) => Some("histogram"),
            None => None,
        }
    }

    /// The Prometheus families a Datadog metric name can come from, per the documented mapping;
    /// `Ok(family)` when one is exported with a matching type, else the candidates tried.
    fn datadog_source(&self, datadog: &str) -> Result<String, Vec<String>> {
        let raw = datadog.strip_prefix("prompter.").unwrap_or(datadog);
        let (base, suffix) = match raw.rsplit_once('.') {
            Some((base, suffix)) if ["count", "sum", "bucket"].contains(&suffix) => (base, suffix),
            _ => (raw, ""),
        };
        let base = format!("prompter_{base}");
        let candidates: Vec<(String, &[&str])> = match suffix {
            "count" => vec![
                (format!("{base}_total"), &["counter"]),
                (base.clone(), &["histogram", "summary"]),
            ],
            "sum" => vec![(base.clone(), &["histogram", "summary"])],
            "bucket" => vec![(base.clone(), &["histogram"])],
            _ => vec![(base.clone(), &["gauge", "histogram"])],
        };
        for (family, kinds) in &candidates {
            if self.kind(family).is_some_and(|k| kinds.contains(&k)) {
                return Ok(family.clone());
            }
        }
        Err(candidates.into_iter().map(|(f, _)| f).collect())
    }
}

/// `prompter serve` with the built-in fake provider, whatever credentials the environment has,
/// and the in-process probe cache: the test needs no network and no Redis.
fn start_server(db_url: &str) -> Server {
    Server::start_with_env(
        db_url,
        &[("PROMPTER_ENV", TEST_ENV), ("PROMPTER_LLM_MODE", "fake")],
    )
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs the API paths the metrics instrument, then returns the `/metrics` text.
async fn exercise_and_scrape(server: &Server) -> String {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let create = json!({"workspace_id": "ws", "name": "n", "model_id": "gpt-4o",
                        "user_prompt_template": "What is {{brand_name}} known for?"});

    let (status, template) = call(
        &client,
        Method::POST,
        server.url("/api/prompt-templates"),
        Some(create.clone()),
    )
    .await;
    assert_eq!(status, 201, "{template}");
    let id = template["id"].as_str().unwrap().to_owned();

    let (status, body) = call(
        &client,
        Method::POST,
        server.url("/api/prompt-templates"),
        Some(create.clone()),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    let (status, body) = call(
        &client,
        Method::POST,
        server.url("/api/prompt-templates/check-duplicate"),
        Some(create),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["exact_match"], true, "{body}");

    let (status, body) = call(
        &client,
        Method::POST,
        server.url(&format!("/api/prompt-templates/{id}/ensure-version")),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = call(
        &client,
        Method::POST,
        server.url(&format!("/api/prompt-templates/{id}/run")),
        Some(json!({"brand_name": "AVEA"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A batch, run to the end by the server's workers: the queue's metrics.
    let (status, batch) = call(
        &client,
        Method::POST,
        server.url("/api/batches"),
        Some(
            json!({"workspace_id": "ws", "template_ids": [id], "brand_name": "AVEA", "samples": 2}),
        ),
    )
    .await;
    assert_eq!(status, 202, "{batch}");
    let batch_url = server.url(&format!("/api/batches/{}", batch["id"].as_str().unwrap()));
    for _ in 0..100 {
        let (_, b) = call(&client, Method::GET, batch_url.clone(), None).await;
        if b["finished_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let (status, unknown) = call(
        &client,
        Method::POST,
        server.url("/api/prompt-templates"),
        Some(
            json!({"workspace_id": "ws", "name": "local", "model_id": "llama3",
                    "user_prompt_template": "What is {{brand_name}} known for?"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{unknown}");
    let unknown_id = unknown["id"].as_str().unwrap();
    let (status, body) = call(
        &client,
        Method::POST,
        server.url(&format!("/api/prompt-templates/{unknown_id}/run")),
        Some(json!({"brand_name": "AVEA"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"]["code"], "UNKNOWN_PROVIDER", "{body}");

    let (status, body) = call(
        &client,
        Method::GET,
        server.url("/api/prompt-templates/0190a5b4-0000-7000-8000-000000000000"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");

    let r = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET /metrics");
    r.text().await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// promtool
// ---------------------------------------------------------------------------------------------

fn promtool_available() -> bool {
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("SKIPPED: promtool not installed");
    }
    found
}

/// Runs promtool; `Err` with everything it printed when it failed.
fn promtool(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(printed)
    } else {
        Err(format!(
            "promtool {} exited with {}:\n{printed}",
            args.join(" "),
            out.status
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_metric_the_alerts_and_dashboards_use_is_exported() {
    let mut prometheus: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in alert_rules(&read(ALERTS)) {
        for expr in yaml_values(&rule.text, "expr") {
            for m in promql_metrics(&expr) {
                prometheus
                    .entry(m)
                    .or_default()
                    .insert(format!("alert {}", rule.alert));
            }
        }
    }
    for (title, expr) in grafana_exprs(&read_json(GRAFANA)) {
        for m in promql_metrics(&expr) {
            prometheus
                .entry(m)
                .or_default()
                .insert(format!("Grafana panel {title:?}"));
        }
    }
    let mut datadog: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (title, query) in datadog_queries(&read_json(DATADOG)) {
        for m in datadog_metrics(&query) {
            datadog
                .entry(m)
                .or_default()
                .insert(format!("Datadog widget {title:?}"));
        }
    }
    assert!(
        prometheus.len() >= 10 && datadog.len() >= 10,
        "too few metric names found; is the extraction broken? {prometheus:?} {datadog:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let server = start_server(&url);
    let scrape = exercise_and_scrape(&server).await;
    drop(server);
    let exported = Exported::parse(&scrape);

    let mut missing = Vec::new();
    for (name, users) in &prometheus {
        if !exported.has(name) {
            missing.push(format!(
                "{name} (used by {})",
                users.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (name, users) in &datadog {
        if let Err(candidates) = exported.datadog_source(name) {
            missing.push(format!(
                "{name} = {} (used by {})",
                candidates.join(" or "),
                users.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "metrics referenced in ops/ but not exported by GET /metrics:\n  {}\n\nexported families: {:?}",
        missing.join("\n  "),
        exported.types.keys().collect::<Vec<_>>()
    );

    // The dashboards' `env` variable comes from prompter_build_info's `env` label.
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("prompter_build_info{")
                && l.contains(&format!("env=\"{TEST_ENV}\""))),
        "prompter_build_info with env=\"{TEST_ENV}\" (PROMPTER_ENV) is not exported"
    );

    if promtool_available() {
        match promtool(&["check", "metrics"], Some(&scrape)) {
            Ok(printed) => assert!(
                printed.trim().is_empty(),
                "promtool check metrics complained about GET /metrics:\n{printed}"
            ),
            Err(e) => panic!("{e}\n--- scrape ---\n{scrape}"),
        }
    }
}

#[test]
fn promtool_accepts_the_alert_rules_and_the_grafana_queries() {
    if !promtool_available() {
        return;
    }
    let alerts = repo_root().join(ALERTS);
    let printed = promtool(&["check", "rules", alerts.to_str().unwrap()], None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(printed.contains("SUCCESS"), "{printed}");

    // Each Grafana query as a recording rule, so that promtool parses its PromQL; Grafana's
    // variables are replaced by values of the same kind.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: grafana-panels\n    rules:\n");
    for (i, (title, expr)) in grafana_exprs(&read_json(GRAFANA)).iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$__range", "1h")
            .replace("$__interval", "1m")
            .replace("$env", TEST_ENV);
        rules.push_str(&format!(
            "      # {}\n      - record: grafana:panel_{i}\n        expr: {}\n",
            title.replace('\n', " "),
            Value::String(expr)
        ));
    }
    let path = dir.path().join("grafana-rules.yml");
    std::fs::write(&path, &rules).unwrap();
    promtool(&["check", "rules", path.to_str().unwrap()], None)
        .unwrap_or_else(|e| panic!("a Grafana query is not valid PromQL: {e}\n{rules}"));
}

#[test]
fn alert_rules_are_labelled_annotated_and_link_runbooks() {
    let rules = alert_rules(&read(ALERTS));
    let names: BTreeSet<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
    for expected in [
        "PrompterHigh5xxRate",
        "PrompterResultWriteFailures",
        "PrompterProviderProbeFailures",
        "PrompterEnsureVersionSlow",
        "PrompterRedisUnreachable",
        "PrompterUnknownProviderShare",
        "PrompterOpenAIFingerprintMissing",
    ] {
        assert!(names.contains(expected), "alert {expected} is missing");
    }
    let anchors = markdown_anchors(&read(OPERATIONS));
    for rule in &rules {
        let one = |key: &str| {
            let values = yaml_values(&rule.text, key);
            assert_eq!(values.len(), 1, "{}: expected one `{key}`", rule.alert);
            values.into_iter().next().unwrap()
        };
        assert!(!one("expr").is_empty(), "{}: empty expr", rule.alert);
        let severity = one("severity");
        assert!(
            severity == "critical" || severity == "warning",
            "{}: severity {severity:?}",
            rule.alert
        );
        assert!(!one("summary").is_empty(), "{}: empty summary", rule.alert);
        assert!(
            !one("description").is_empty(),
            "{}: empty description",
            rule.alert
        );
        let runbook = one("runbook");
        let anchor = runbook
            .strip_prefix(&format!("{OPERATIONS}#"))
            .unwrap_or_else(|| panic!("{}: runbook {runbook:?} is not {OPERATIONS}#…", rule.alert));
        assert!(
            anchors.contains(anchor),
            "{}: runbook anchor #{anchor} is no heading of {OPERATIONS}",
            rule.alert
        );
    }
    // The document's own links to its sections lead somewhere too.
    let md = read(OPERATIONS);
    for link in md.split("](#").skip(1) {
        let anchor = link.split(')').next().unwrap();
        assert!(
            anchors.contains(anchor),
            "{OPERATIONS} links to #{anchor}, which is no heading"
        );
    }
}

#[test]
fn grafana_dashboard_is_importable() {
    let d = read_json(GRAFANA);
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion {}",
        d["schemaVersion"]
    );
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let var = |name: &str| vars.iter().find(|v| v["name"] == name);
    let datasource_var = var("datasource").is_some_and(|v| v["type"] == "datasource");
    let datasource_input = d["__inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|i| i["name"] == "DS_PROMETHEUS");
    assert!(
        datasource_var || datasource_input,
        "neither a `datasource` variable nor a DS_PROMETHEUS input"
    );
    let env = var("env").expect("an `env` templating variable");
    let query = env["query"]["query"].as_str().or(env["query"].as_str());
    assert_eq!(query, Some("label_values(prompter_build_info, env)"));

    let panels = grafana_panels(&d);
    assert!(panels.len() >= 12, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap_or_default();
        assert!(!title.trim().is_empty(), "a panel without a title: {p}");
        assert!(ids.insert(p["id"].as_u64()), "{title}: duplicate panel id");
        assert!(p["gridPos"]["w"].as_u64().is_some(), "{title}: no gridPos");
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!targets.is_empty(), "{title}: no targets");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: a target without expr");
            assert!(
                expr.contains("env=\"$env\"") || expr.contains("env=~\"$env\""),
                "{title}: {expr} ignores the env variable"
            );
        }
        let uid = p["datasource"]["uid"].as_str().unwrap_or_default();
        assert!(
            uid == "${datasource}" || uid == "${DS_PROMETHEUS}",
            "{title}: datasource {}",
            p["datasource"]
        );
    }
}

#[test]
fn datadog_dashboard_is_importable() {
    let d = read_json(DATADOG);
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(d["layout_type"], "ordered");
    assert!(
        d["template_variables"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["name"] == "env" && v["prefix"] == "env"),
        "no `env` template variable"
    );
    let widgets = datadog_widgets(&d);
    assert!(widgets.len() >= 12, "only {} widgets", widgets.len());
    for w in widgets {
        let title = w["title"].as_str().unwrap_or_default();
        assert!(!title.trim().is_empty(), "a widget without a title: {w}");
        assert!(w["type"].as_str().is_some(), "{title}: no type");
        let requests = w["requests"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!requests.is_empty(), "{title}: no requests");
        for r in requests {
            let queries = r["queries"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            assert!(!queries.is_empty(), "{title}: a request without queries");
            let mut names = BTreeSet::new();
            for q in queries {
                assert_eq!(q["data_source"], "metrics", "{title}");
                let query = q["query"].as_str().unwrap_or_default();
                assert!(
                    query.contains("$env"),
                    "{title}: {query} ignores the env variable"
                );
                assert!(
                    !datadog_metrics(query).is_empty(),
                    "{title}: {query} names no prompter.* metric"
                );
                names.insert(q["name"].as_str().expect("query name").to_owned());
            }
            for f in r["formulas"].as_array().into_iter().flatten() {
                let formula = f["formula"].as_str().unwrap_or_default();
                for token in formula.split(|c: char| !c.is_ascii_alphanumeric()) {
                    if token.starts_with("query") {
                        assert!(
                            names.contains(token),
                            "{title}: formula {formula} uses undefined {token}"
                        );
                    }
                }
            }
        }
    }
}

//! Brand visibility over HTTP, on both backends: entities as alias snapshots, runs analysed
//! when recorded, visibility numbers checked against the results' own analyses, CSV, and
//! re-analysis with new entities (no model called).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestApp;
use serde_json::{json, Value};

/// The names the built-in fake puts in its answers, as competitors of the brand.
const FAKE_BRANDS: [&str; 11] = [
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Fabrikam",
    "Tailwind Traders",
    "Wingtip",
    "Litware",
    "Proseware",
    "Bluepeak",
    "Everfield",
];

fn entities(brand: &str, domains: &[&str]) -> Value {
    json!({
        "brand": {"name": brand, "aliases": [brand.to_uppercase()], "domains": domains},
        "competitors": FAKE_BRANDS.iter().filter(|b| **b != brand)
            .map(|b| json!({"name": b})).collect::<Vec<_>>(),
    })
}

async fn template(app: &TestApp, ws: &str, prompt: &str) -> String {
    let r = app
        .post(
            "/api/prompt-templates",
            &json!({"workspace_id": ws, "name": prompt, "model_id": "gpt-4o",
                    "user_prompt_template": prompt, "country_set": ["CH", "US"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn entities_are_snapshots_and_bad_input_names_the_field(app: TestApp) {
    template(&app, "ws-ent", "Which supplements?").await;
    let none = app.get("/api/workspaces/ws-ent/entities").await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body["detail"]["code"], "ENTITIES_NOT_SET");

    let first = app
        .put(
            "/api/workspaces/ws-ent/entities",
            &entities("Acme", &["acme.test"]),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["workspace_id"], "ws-ent");
    assert_eq!(first.body["entities"]["brand"]["name"], "Acme");
    // The name is one of the aliases.
    let aliases: Vec<&str> = first.body["entities"]["brand"]["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert!(
        aliases.iter().any(|a| a.eq_ignore_ascii_case("acme")),
        "{aliases:?}"
    );
    let same = app
        .put(
            "/api/workspaces/ws-ent/entities",
            &entities("Acme", &["acme.test"]),
        )
        .await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["id"], first.body["id"]);
    let second = app
        .put(
            "/api/workspaces/ws-ent/entities",
            &entities("Acme", &["acme.example"]),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_ne!(second.body["id"], first.body["id"]);
    let current = app.get("/api/workspaces/ws-ent/entities").await;
    assert_eq!(current.body["id"], second.body["id"]);
    let history = app.get("/api/workspaces/ws-ent/alias-snapshots").await;
    let ids: Vec<&Value> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, vec![&second.body["id"], &first.body["id"]]);

    for (body, field) in [
        (json!({"competitors": []}), "brand"),
        (json!({"brand": {"name": ""}}), "brand.name"),
        (
            json!({"brand": {"name": "Acme", "aliases": [""]}}),
            "brand.aliases[0]",
        ),
        (
            json!({"brand": {"name": "Acme", "domains": ["https://acme.test/"]}}),
            "brand.domains[0]",
        ),
        (
            json!({"brand": {"name": "Acme"},
                   "competitors": (0..200).map(|i| json!({"name": format!("C{i}")})).collect::<Vec<_>>()}),
            "competitors",
        ),
        (json!({"brand": {"name": "Acme"}, "colour": 1}), "colour"),
    ] {
        let r = app.put("/api/workspaces/ws-ent/entities", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{}", r.body);
    }
    let unknown = app
        .put("/api/workspaces/nope/entities", &entities("Acme", &[]))
        .await;
    assert_eq!(unknown.status, 404);
    // Nothing half-written: still the second snapshot, and two in all.
    let history = app.get("/api/workspaces/ws-ent/alias-snapshots").await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2);
}

/// Per group key and entity: (answers, mentioned, rank sum, ranked, cited), from results.
type Expected = BTreeMap<(String, String), (u64, u64, u64, u64, u64)>;

fn expected_from(results: &[Value], key: &str) -> Expected {
    let mut out = Expected::new();
    for r in results {
        let group = r[key].as_str().unwrap_or_default().to_owned();
        for e in r["analysis"]["entities"].as_array().unwrap() {
            let slot = out
                .entry((group.clone(), e["name"].as_str().unwrap().to_owned()))
                .or_default();
            slot.0 += 1;
            slot.1 += u64::from(e["mentioned"].as_bool().unwrap());
            slot.2 += e["rank"].as_u64().unwrap_or(0);
            slot.3 += u64::from(e["rank"].is_u64());
            slot.4 += u64::from(e["cited"].as_bool().unwrap());
        }
    }
    out
}

fn numbers_of(visibility: &Value, key: &str) -> Expected {
    let mut out = Expected::new();
    for row in visibility["rows"].as_array().unwrap() {
        let group = row["keys"][key].as_str().unwrap_or_default().to_owned();
        let entities = row["entities"].as_array().unwrap();
        let voices: u64 = entities
            .iter()
            .map(|e| e["n_mentioned"].as_u64().unwrap())
            .sum();
        for e in entities {
            let n = e["n_answers"].as_u64().unwrap();
            let m = e["n_mentioned"].as_u64().unwrap();
            let ranked = e["n_ranked"].as_u64().unwrap();
            let rank_sum = match e["avg_rank"].as_f64() {
                Some(avg) => (avg * ranked as f64).round() as u64,
                None => 0,
            };
            // Pooled rates, not averages of ratios.
            assert_eq!(e["mention_rate"].as_f64().unwrap(), m as f64 / n as f64);
            assert!(e["wilson_low"].as_f64().unwrap() <= e["mention_rate"].as_f64().unwrap());
            assert!(e["wilson_high"].as_f64().unwrap() >= e["mention_rate"].as_f64().unwrap());
            if voices > 0 {
                assert_eq!(
                    e["share_of_voice"].as_f64().unwrap(),
                    m as f64 / voices as f64
                );
            }
            let cited = e["n_cited"].as_u64().unwrap();
            assert_eq!(
                e["citation_rate"].as_f64().unwrap(),
                cited as f64 / n as f64
            );
            out.insert(
                (group.clone(), e["name"].as_str().unwrap().to_owned()),
                (n, m, rank_sum, ranked, cited),
            );
        }
    }
    out
}

async fn run(app: &TestApp, template: &str, body: Value) -> Value {
    let r = app
        .post(&format!("/api/prompt-templates/{template}/run"), &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn all_results(app: &TestApp, template: &str) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/api/prompt-templates/{template}/results?limit=500"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn runs_are_analysed_and_counted(app: TestApp) {
    let t1 = template(
        &app,
        "ws-vis",
        "Which vitamins do Swiss pharmacists recommend?",
    )
    .await;
    let t2 = template(&app, "ws-vis", "Best protein powder brands?").await;
    // Before any entities, a run is recorded without analysis.
    let before = run(&app, &t1, json!({"country": "CH"})).await;
    assert_eq!(before["analysis"], Value::Null);
    let snapshot = app
        .put(
            "/api/workspaces/ws-vis/entities",
            &entities("Acme", &["acme.test"]),
        )
        .await;
    assert_eq!(snapshot.status, 201);
    let snapshot_id = snapshot.body["id"].clone();
    for (t, country, grounded) in [
        (&t1, "CH", false),
        (&t1, "US", true),
        (&t2, "CH", true),
        (&t2, "US", false),
        (&t1, "CH", true),
        (&t2, "CH", false),
    ] {
        let answer = run(
            &app,
            t,
            json!({"country": country, "brand_name": "Acme", "use_grounding": grounded}),
        )
        .await;
        assert_eq!(
            answer["analysis"]["alias_snapshot_id"], snapshot_id,
            "{answer}"
        );
        let names: Vec<&str> = answer["analysis"]["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[0], "Acme");
        assert_eq!(names.len(), 1 + FAKE_BRANDS.len());
        // The fake names two to four of its brands, so something is mentioned.
        assert!(answer["analysis"]["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["mentioned"] == true && e["rank"] == 1));
    }
    let mut results = all_results(&app, &t1).await;
    results.extend(all_results(&app, &t2).await);
    let analysed: Vec<Value> = results
        .iter()
        .filter(|r| !r["analysis"].is_null())
        .cloned()
        .collect();
    assert_eq!(analysed.len(), 6);
    for r in &analysed {
        assert_eq!(r["analysis_config"]["alias_snapshot_id"], snapshot_id);
        assert_eq!(r["analysis_config"]["extractor_version"], "mentions-1");
        assert_eq!(r["analysis_config"]["entities_checked"][0], "Acme");
        // Offsets are code points of the stored answer, at a mention of the entity.
        let answer: Vec<char> = r["answer"].as_str().unwrap().chars().collect();
        for e in r["analysis"]["entities"].as_array().unwrap() {
            if let Some(offset) = e["first_offset"].as_u64() {
                let alias = e["matched_alias"].as_str().unwrap();
                let at: String = answer[offset as usize..]
                    .iter()
                    .take(alias.chars().count())
                    .collect();
                assert!(at.eq_ignore_ascii_case(alias), "{at} vs {alias}");
            }
        }
    }
    let one = app
        .get(&format!(
            "/api/results/{}",
            analysed[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one.body["analysis"], analysed[0]["analysis"]);

    // Fake answers are left out unless asked for.
    let real = app
        .get("/api/workspaces/ws-vis/visibility?group_by=run_country")
        .await;
    assert_eq!(real.status, 422);
    assert_eq!(real.body["detail"]["field"], "group_by");
    let real = app
        .get("/api/workspaces/ws-vis/visibility?group_by=country")
        .await;
    assert_eq!(real.status, 200, "{}", real.body);
    assert_eq!(real.body["rows"], json!([]));
    assert_eq!(real.body["alias_snapshot_id"], snapshot_id);

    // The numbers equal the pooled counts of the results' own analyses, per country.
    let by_country = app
        .get("/api/workspaces/ws-vis/visibility?group_by=country&include_fake=true")
        .await;
    assert_eq!(by_country.status, 200, "{}", by_country.body);
    assert_eq!(
        numbers_of(&by_country.body, "country"),
        expected_from(&analysed, "run_country")
    );
    let total = app
        .get("/api/workspaces/ws-vis/visibility?include_fake=true")
        .await;
    let rows = total.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["entities"][0]["n_answers"], 6);
    // The same day, whole (from the roll-up) and from an hour ago (from the analyses).
    let today = chrono::Utc::now().date_naive();
    let whole = app
        .get(&format!(
            "/api/workspaces/ws-vis/visibility?include_fake=true&group_by=model,day&from={today}&to={today}"
        ))
        .await;
    let since = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let partial = app
        .get(&format!(
            "/api/workspaces/ws-vis/visibility?include_fake=true&group_by=model,day&from={since}"
        ))
        .await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(whole.body["rows"], partial.body["rows"]);
    assert_eq!(whole.body["rows"][0]["keys"]["day"], today.to_string());
    // One entity; by week.
    let acme = app
        .get("/api/workspaces/ws-vis/visibility?include_fake=true&entity=Acme&group_by=week")
        .await;
    let row = &acme.body["rows"][0];
    assert_eq!(row["entities"].as_array().unwrap().len(), 1);
    assert_eq!(row["entities"][0]["name"], "Acme");
    assert!(row["keys"]["week"].as_str().unwrap() <= today.to_string().as_str());
    // Cited domains: grounded fake answers cite a source; the top list counts answers.
    let domains = by_country.body["top_domains"].as_array().unwrap();
    let citing = analysed
        .iter()
        .filter(|r| !r["analysis"]["citations"].as_array().unwrap().is_empty())
        .count() as u64;
    assert!(citing > 0, "grounded fake answers cite something");
    assert!(!domains.is_empty());
    for d in domains {
        let domain = d["domain"].as_str().unwrap();
        let expected = analysed
            .iter()
            .filter(|r| {
                r["analysis"]["citations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["domain"] == domain)
            })
            .count() as u64;
        assert_eq!(d["n_cited"].as_u64(), Some(expected), "{domain}");
        assert_eq!(d["citation_rate"].as_f64(), Some(expected as f64 / 6.0));
    }
    // Drift: the fake's version key first answered these templates today.
    let drift = by_country.body["drift_events"].as_array().unwrap();
    assert!(!drift.is_empty());
    assert!(drift.iter().all(|d| d["model_id"] == "gpt-4o"));

    // CSV: a header and one line per group and entity.
    let csv =
        app.client
            .get(app.url(
                "/api/workspaces/ws-vis/visibility?group_by=country&include_fake=true&format=csv",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("country,entity,is_brand,n_answers,n_mentioned,mention_rate,"));
    let groups = by_country.body["rows"].as_array().unwrap().len();
    assert_eq!(lines.len(), 1 + groups * (1 + FAKE_BRANDS.len()));
    assert!(lines.iter().any(|l| l.starts_with("CH,Acme,true,")));

    // Bad input names the field.
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-12-02&to=2026-12-01", "to"),
        ("group_by=day,week", "group_by"),
        ("entity=Nobody", "entity"),
        ("alias_snapshot_id=x", "alias_snapshot_id"),
        (
            "alias_snapshot_id=0190a6f0-0000-7000-8000-000000000000",
            "alias_snapshot_id",
        ),
        ("include_fake=maybe", "include_fake"),
        ("format=xml", "format"),
    ] {
        let r = app
            .get(&format!("/api/workspaces/ws-vis/visibility?{query}"))
            .await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field, "{query}");
    }
    assert_eq!(app.get("/api/workspaces/nope/visibility").await.status, 404);
}

async fn wait_for_job(app: &TestApp, location: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(location).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == "succeeded" || r.body["status"] == "failed" {
            return r.body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job stuck: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn reanalysis_applies_new_entities_without_calling_a_model(app: TestApp) {
    let t = template(&app, "ws-re", "Which sports drinks are popular?").await;
    // Answers recorded before the workspace had entities.
    for country in ["CH", "US", "CH", "US", "CH"] {
        let answer = run(&app, &t, json!({"country": country})).await;
        assert_eq!(answer["analysis"], Value::Null);
    }
    let no_entities = app
        .post("/api/workspaces/ws-re/reanalyze", &json!({}))
        .await;
    assert_eq!(no_entities.status, 422);
    assert_eq!(no_entities.body["detail"]["field"], "alias_snapshot_id");
    let snapshot = app
        .put(
            "/api/workspaces/ws-re/entities",
            &entities("Northwind", &[]),
        )
        .await;
    let snapshot_id = snapshot.body["id"].clone();
    let results_before = all_results(&app, &t).await.len();

    let resp = app
        .client
        .post(app.url("/api/workspaces/ws-re/reanalyze"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let queued: Value = resp.json().await.unwrap();
    assert_eq!(queued["total"], 5);
    assert_eq!(queued["alias_snapshot_id"], snapshot_id);
    assert_eq!(
        location,
        format!("/api/reanalyses/{}", queued["id"].as_str().unwrap())
    );
    let done = wait_for_job(&app, &location).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["processed"], 5);
    assert_eq!(done["analysed"], 5);
    // No model was called: no new result.
    let results = all_results(&app, &t).await;
    assert_eq!(results.len(), results_before);
    assert!(results
        .iter()
        .all(|r| r["analysis"]["alias_snapshot_id"] == snapshot_id));
    let numbers = app
        .get("/api/workspaces/ws-re/visibility?include_fake=true&group_by=country")
        .await;
    assert_eq!(
        numbers_of(&numbers.body, "country"),
        expected_from(&results, "run_country")
    );

    // Twice changes nothing.
    let again = app
        .post("/api/workspaces/ws-re/reanalyze", &json!({}))
        .await;
    assert_eq!(again.status, 202);
    let again = wait_for_job(
        &app,
        &format!("/api/reanalyses/{}", again.body["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (again["processed"].as_i64(), again["analysed"].as_i64()),
        (Some(5), Some(0))
    );
    let numbers_again = app
        .get("/api/workspaces/ws-re/visibility?include_fake=true&group_by=country")
        .await;
    assert_eq!(numbers_again.body["rows"], numbers.body["rows"]);

    // New entities: results keep showing the newest analysis until re-analysed; then the
    // current snapshot's. Older numbers stay readable by snapshot id.
    let other = app
        .put("/api/workspaces/ws-re/entities", &entities("Contoso", &[]))
        .await;
    let one = app
        .get(&format!(
            "/api/results/{}",
            results[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one.body["analysis"]["alias_snapshot_id"], snapshot_id);
    let ranged = app
        .post(
            "/api/workspaces/ws-re/reanalyze",
            &json!({"from": "2000-01-01", "to": chrono::Utc::now().date_naive().to_string()}),
        )
        .await;
    assert_eq!(ranged.status, 202, "{}", ranged.body);
    wait_for_job(
        &app,
        &format!("/api/reanalyses/{}", ranged.body["id"].as_str().unwrap()),
    )
    .await;
    let one = app
        .get(&format!(
            "/api/results/{}",
            results[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one.body["analysis"]["alias_snapshot_id"], other.body["id"]);
    let old = app
        .get(&format!(
            "/api/workspaces/ws-re/visibility?include_fake=true&group_by=country&alias_snapshot_id={}",
            snapshot_id.as_str().unwrap()
        ))
        .await;
    assert_eq!(old.body["rows"], numbers.body["rows"]);

    for (body, field) in [
        (json!({"alias_snapshot_id": "x"}), "alias_snapshot_id"),
        (json!({"from": "soon"}), "from"),
        (json!({"colour": 1}), "colour"),
    ] {
        let r = app.post("/api/workspaces/ws-re/reanalyze", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["detail"]["field"], field);
    }
    assert_eq!(app.get("/api/reanalyses/nope").await.status, 404);
    assert_eq!(
        app.get(&format!("/api/reanalyses/{}", uuid::Uuid::now_v7()))
            .await
            .status,
        404
    );
}

on_both_backends!(
    entities_are_snapshots_and_bad_input_names_the_field,
    runs_are_analysed_and_counted,
    reanalysis_applies_new_entities_without_calling_a_model,
);

//! Brand visibility in the web UI, over real HTTP with the app's own re-analysis loop: the
//! entities editor (saving snapshots, field-named messages), the dashboard (rates with their
//! intervals per model × country for fake-provider runs, trend, share of voice, the fake filter,
//! re-analysis with its progress), and a result's mentions marked in its answer. Every case runs
//! on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{esc, fake_services, template_fields, UiApp};
use prompter_service::records::JobStatus;
use prompter_service::{Caller, VisibilityParams};
use prompter_storage::{Database, Role};
use serde_json::Value;

type Guard = Box<dyn std::any::Any + Send + Sync>;

const PROMPT: &str = "What is {{brand_name}} known for in {{country}}?";

/// The names the built-in fake puts in its answers (`providers/src/fake/content.rs`), but Acme:
/// the brand's competitors.
const FAKE_COMPETITORS: [&str; 11] = [
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

async fn app(db: Arc<dyn Database>, guard: Guard) -> UiApp {
    UiApp::start_with(fake_services(db), guard).await
}

fn entity_fields<'a>(
    aliases: &'a str,
    domains: &'a str,
    competitors: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("brand_name", "Acme"),
        ("brand_aliases", aliases),
        ("brand_domains", domains),
        ("competitors", competitors),
    ]
}

async fn the_editor_saves_snapshots_and_names_bad_fields(db: Arc<dyn Database>, guard: Guard) {
    let app = app(db, guard).await;
    app.create_brand("acme", "Acme").await;
    // No entities: the dashboard leads to the editor, which starts from the brand's name.
    app.get("/brands/acme/visibility")
        .await
        .assert_contains(r#"id="no-entities""#)
        .assert_contains(r#"<a class="btn btn-primary" href="/brands/acme/entities">"#);
    app.get("/brands/acme/templates")
        .await
        .assert_contains(r#"href="/brands/acme/visibility""#);
    app.get("/")
        .await
        .assert_contains(r#"class="brand-visibility small" href="/brands/acme/visibility""#);
    let editor = app.get("/brands/acme/entities").await;
    assert_eq!(editor.status, 200);
    editor
        .assert_contains(r#"name="brand_name" type="text" value="Acme""#)
        .assert_contains("None yet: the first save creates one.");

    // A URL where a host name belongs: 422, every message next to its field, nothing saved.
    let bad = entity_fields(
        "ACME Corp",
        "https://x/",
        "Globex\nInitech | | https://initech.test/",
    );
    let r = app.post_form("/brands/acme/entities", &bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    r.assert_contains(r#"id="f-brand_domains-error""#)
        .assert_contains("brand.domains[0] must be a host name")
        .assert_contains(r#"id="f-competitors-error""#)
        .assert_contains("line 2: competitors[1].domains[0] must be a host name")
        .assert_contains(r#"aria-invalid="true""#)
        // The form as typed.
        .assert_contains(">https://x/</textarea>")
        .assert_contains("The entities were not saved");
    let none = app
        .services
        .alias_snapshots(&Caller::open(), None, "acme")
        .await
        .unwrap();
    assert!(none.is_empty());

    let good = entity_fields(
        "ACME Corp\n=AcMe",
        "acme.test",
        "Globex | Globex Corp | globex.test\nInitech",
    );
    let r = app.post_form("/brands/acme/entities", &good).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some("/brands/acme/entities?saved=created")
    );
    let saved = app.get("/brands/acme/entities?saved=created").await;
    saved
        .assert_contains("Saved as a new snapshot, now current.")
        .assert_contains(">ACME Corp\n=AcMe</textarea>")
        .assert_contains(">Globex | Globex Corp | globex.test\nInitech</textarea>")
        .assert_contains(r#"<span class="badge badge-ok">Current</span>"#)
        .assert_contains("Acme + 2 competitors");
    let current = app
        .services
        .current_entities(&Caller::open(), None, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.entities["brand"]["domains"][0], "acme.test");
    assert_eq!(
        current.entities["competitors"][0]["aliases"][1]["text"],
        "Globex Corp"
    );
    saved.assert_contains(&format!(
        r#"data-snapshot="{}" class="is-current""#,
        current.id
    ));

    // The same entities again: the same snapshot.
    let r = app.post_form("/brands/acme/entities", &good).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/brands/acme/entities?saved=existing")
    );
    // Changed: a second snapshot, now the current one.
    let changed = entity_fields("ACME Corp", "acme.test", "Globex");
    let r = app.post_form("/brands/acme/entities", &changed).await;
    assert_eq!(r.status, 303);
    let page = app.get("/brands/acme/entities").await;
    assert_eq!(page.body.matches("<tr data-snapshot=").count(), 2);
    assert_eq!(page.body.matches(">Current</span>").count(), 1);
    page.assert_contains(&format!(r#"data-snapshot="{}">"#, current.id));
    // With entities, the dashboard asks for answers.
    app.get("/brands/acme/visibility")
        .await
        .assert_contains(r#"id="no-answers""#)
        .assert_contains("Acme</strong> and its 1 competitor.");
}

async fn run(app: &UiApp, template: &str, country: &str) {
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{template}/run"),
            &[("country", country), ("brand_name", "Acme")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// `42 % (35–49), n = 180`, computed here from the service's numbers.
fn expected_rate(n: &prompter_domain::visibility::EntityNumbers) -> String {
    let p = |x: f64| (x * 100.0).round() as i64;
    format!(
        "{} % ({}–{}), n = {}",
        p(n.mention_rate.unwrap()),
        p(n.wilson_low.unwrap()),
        p(n.wilson_high.unwrap()),
        n.n_answers
    )
}

/// The marks inside the answer of a result page.
fn marks_in_answer(page: &str) -> usize {
    let answer = page
        .split(r#"id="answer-marked">"#)
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .unwrap_or("");
    answer.matches(r#"<mark class="mention mention-"#).count()
}

async fn the_dashboard_shows_rates_of_fake_runs_and_reanalyses(
    db: Arc<dyn Database>,
    guard: Guard,
) {
    let app = app(db, guard).await;
    app.create_brand("acme", "Acme").await;
    let template = app
        .create_template("acme", &template_fields("Coffee question", PROMPT))
        .await;
    // Recorded before the entities: not analysed (until re-analysed).
    run(&app, &template, "US").await;
    let competitors = FAKE_COMPETITORS.join("\n");
    let fields = entity_fields("", "acme.test", &competitors);
    assert_eq!(
        app.post_form("/brands/acme/entities", &fields).await.status,
        303
    );
    for country in ["US", "US", "US", "CH", "CH"] {
        run(&app, &template, country).await;
    }

    let grid = app
        .services
        .visibility(
            &Caller::open(),
            "acme",
            &VisibilityParams {
                group_by: Some("model,country".into()),
                include_fake: Some(true),
                ..VisibilityParams::default()
            },
        )
        .await
        .unwrap();
    let brand_in = |grid: &prompter_service::Visibility, country: &str| {
        let row = grid
            .rows
            .iter()
            .find(|r| r.keys == [("model", "gpt-4o".into()), ("country", country.into())])
            .unwrap_or_else(|| panic!("no row for {country}: {:?}", grid.rows));
        row.entities.iter().find(|n| n.is_brand).unwrap().clone()
    };
    let us = brand_in(&grid, "US");
    assert_eq!(
        us.n_answers, 3,
        "the run before the entities is not counted"
    );
    let page = app.get("/brands/acme/visibility").await;
    assert_eq!(page.status, 200);
    page.assert_contains(r#"<table class="data rates-table" data-model="gpt-4o">"#)
        .assert_contains(r#"<th scope="col" class="num">CH</th>"#)
        .assert_contains(&format!(
            r#"<td class="num nowrap rate" data-country="US">{}</td>"#,
            expected_rate(&us)
        ))
        .assert_contains(&format!(
            r#"<td class="num nowrap rate" data-country="CH">{}</td>"#,
            expected_rate(&brand_in(&grid, "CH"))
        ))
        .assert_contains(", n = 3</td>")
        .assert_contains(", n = 2</td>")
        // Trend and share of voice.
        .assert_contains(r#"<title id="trend-title">Mention rate per day</title>"#)
        .assert_contains(r#"<circle class="point""#)
        .assert_contains(r#"<table class="data table-stack" id="share-table">"#)
        .assert_contains(r#"<tr data-entity="Tailwind Traders">"#)
        .assert_contains("5 answers, every model and country")
        .assert_contains("Answers of the built-in fake provider are included")
        .assert_contains(">Re-analyse</button>")
        // Ungrounded answers cite nothing.
        .assert_contains("No answer cites a source yet");
    // A grounded answer cites a source: the most cited domains list it, with its share.
    let r = app
        .post_form(
            &format!("/brands/acme/templates/{template}/run"),
            &[
                ("country", "CH"),
                ("brand_name", "Acme"),
                ("use_grounding", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let overall = app
        .services
        .visibility(
            &Caller::open(),
            "acme",
            &VisibilityParams {
                include_fake: Some(true),
                ..VisibilityParams::default()
            },
        )
        .await
        .unwrap();
    let (domain, n, _) = overall.top_domains.first().expect("a cited domain").clone();
    assert_eq!(n, 1);
    app.get("/brands/acme/visibility")
        .await
        .assert_contains(&format!(r#"<tr data-domain="{domain}">"#))
        .assert_contains("17 %</span>");
    // Without the fake's answers there is nothing to show.
    app.get("/brands/acme/visibility?fake=0")
        .await
        .assert_contains(r#"id="no-answers""#)
        .assert_contains("include the fake provider's answers");

    // The result page marks the mentions the analysis counted.
    let results: Value = app
        .client
        .get(app.url(&format!("/api/prompt-templates/{template}/results")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = results["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    let newest = &items[0];
    let counted: u64 = newest["analysis"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert!(counted >= 2, "the fake names 2–4 brands: {newest}");
    let id = newest["result_id"].as_str().unwrap();
    let result = app.get(&format!("/brands/acme/results/{id}")).await;
    assert_eq!(result.status, 200);
    result
        .assert_contains(r#"<table class="data table-stack" id="mentions-table">"#)
        .assert_contains("Every mention of an entity is marked");
    assert_eq!(marks_in_answer(&result.body), counted as usize);
    let first = newest["analysis"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rank"] == 1)
        .unwrap();
    let name = first["name"].as_str().unwrap();
    result.assert_contains(&format!(
        r#"data-entity="{n}" title="{n}">{a}</mark>"#,
        n = esc(name),
        a = esc(first["matched_alias"].as_str().unwrap())
    ));
    let oldest = items.last().unwrap();
    assert!(oldest["analysis"].is_null());
    let oldest_id = oldest["result_id"].as_str().unwrap();
    let before = app.get(&format!("/brands/acme/results/{oldest_id}")).await;
    before
        .assert_contains(r#"id="not-analysed""#)
        .assert_lacks("<mark class=\"mention mention-brand\" data-entity");

    // Re-analyse: the job's progress on the dashboard, then the first run counts too.
    let r = app
        .post_form("/brands/acme/visibility/reanalyze", &[("fake", "")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    let job_id = location
        .split("job=")
        .nth(1)
        .and_then(|s| s.split('#').next())
        .unwrap()
        .to_owned();
    assert!(location.ends_with("#reanalysis"), "{location}");
    let mut status = JobStatus::Queued;
    for _ in 0..300 {
        let job = app
            .services
            .get_reanalysis(&Caller::open(), &job_id)
            .await
            .unwrap();
        status = job.status;
        if matches!(status, JobStatus::Succeeded | JobStatus::Failed) {
            assert_eq!((job.total, job.processed), (7, 7));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, JobStatus::Succeeded);
    let done = app
        .get(&format!("/brands/acme/visibility?job={job_id}"))
        .await;
    done.assert_contains(r#"id="job-status" data-status="succeeded">Succeeded</span>"#)
        .assert_contains("<strong id=\"job-processed\">7</strong> of 7 answers")
        .assert_lacks("http-equiv=\"refresh\"")
        .assert_contains("7 answers, every model and country")
        .assert_contains(", n = 4</td>");
    app.get(&format!("/brands/acme/results/{oldest_id}"))
        .await
        .assert_contains(r#"id="mentions-table""#)
        .assert_lacks(r#"id="not-analysed""#);
    // Another brand's job is not found here; a GET on the action shows the dashboard.
    assert_eq!(
        app.get("/brands/acme/visibility?job=nope").await.status,
        404
    );
    assert_eq!(
        app.get("/brands/acme/visibility/reanalyze")
            .await
            .location
            .as_deref(),
        Some("/brands/acme/visibility")
    );
}

/// Tokens required: a reader sees the dashboard and the entities but cannot change or
/// re-analyse; another organisation sees neither, nor a job of this one.
async fn readers_look_and_other_organisations_see_nothing(db: Arc<dyn Database>, guard: Guard) {
    let settings = common::settings(prompter_app::AuthSetting::Required);
    let app = UiApp::serve(fake_services(db), guard, settings).await;
    let (admin_a, reader_a, admin_b) = ("pt_vis_admin_a", "pt_vis_reader_a", "pt_vis_admin_b");
    app.add_token(admin_a, "org-a", None, Role::Admin, None)
        .await;
    app.add_token(reader_a, "org-a", None, Role::Reader, None)
        .await;
    app.add_token(admin_b, "org-b", None, Role::Admin, None)
        .await;
    app.sign_in(admin_a).await;
    app.create_brand("a1", "Alpha").await;
    let fields = entity_fields("", "", "Globex");
    assert_eq!(
        app.post_form("/brands/a1/entities", &fields).await.status,
        303
    );
    let r = app.post_form("/brands/a1/visibility/reanalyze", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let job = r.location.unwrap();
    let job_id = job
        .split("job=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();

    let new_browser = || {
        app.set_cookie("prompter_session", None);
        app.set_cookie("prompter_csrf", None);
    };
    new_browser();
    app.sign_in(reader_a).await;
    app.get("/brands/a1/visibility")
        .await
        .assert_contains("Edit entities")
        .assert_lacks(">Re-analyse</button>");
    app.get("/brands/a1/entities")
        .await
        .assert_contains(r#"id="entities-read-only""#)
        .assert_contains(r#"<fieldset class="stack" disabled>"#)
        .assert_contains(">Globex</textarea>");
    assert_eq!(
        app.post_form("/brands/a1/entities", &fields).await.status,
        403
    );
    assert_eq!(
        app.post_form("/brands/a1/visibility/reanalyze", &[])
            .await
            .status,
        403
    );

    new_browser();
    app.sign_in(admin_b).await;
    app.create_brand("b1", "Beta").await;
    for path in ["/brands/a1/visibility", "/brands/a1/entities"] {
        assert_eq!(app.get(path).await.status, 404, "{path}");
    }
    assert_eq!(
        app.post_form("/brands/a1/entities", &fields).await.status,
        404
    );
    let r = app
        .get(&format!("/brands/b1/visibility?job={job_id}"))
        .await;
    assert_eq!(r.status, 404);
}

on_both_backends!(
    the_editor_saves_snapshots_and_names_bad_fields,
    the_dashboard_shows_rates_of_fake_runs_and_reanalyses,
    readers_look_and_other_organisations_see_nothing,
);

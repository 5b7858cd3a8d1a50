//! A template's labels in the web UI (issue 13): tags shown on the list and the template page,
//! the labels form (name and tags; a bad tag named by its field, nothing half-written), and the
//! list filtered by tag. SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use common::{fake_services, template_fields, UiApp};
use prompter_storage::Database;

type Guard = Box<dyn std::any::Any + Send + Sync>;

async fn labels_are_shown_edited_and_filtered(db: Arc<dyn Database>, guard: Guard) {
    let app = UiApp::start_with(fake_services(db), guard).await;
    app.create_brand("acme", "Acme").await;
    let tagged = app
        .create_template("acme", &template_fields("Vitamins", "Which vitamins?"))
        .await;
    let other = app
        .create_template("acme", &template_fields("Coffee", "Which coffee?"))
        .await;
    let page = format!("/brands/acme/templates/{tagged}");
    app.get(&page)
        .await
        .assert_contains(r#"<section class="card" id="labels""#)
        .assert_lacks(r#"<p class="tags" id="tags">"#);

    let r = app
        .post_form(
            &format!("{page}/labels"),
            &[
                ("name", "Vitamins (CH)"),
                ("tags", "funnel:awareness, cat:vit"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("{page}#labels").as_str())
    );
    app.get(&page)
        .await
        .assert_contains("<h1>Vitamins (CH)")
        .assert_contains(
            r#"<a class="badge tag" href="/brands/acme/templates?tag=funnel%3Aawareness">funnel:awareness</a>"#,
        )
        .assert_contains(r#"value="funnel:awareness, cat:vit""#);

    // A bad tag is refused with its field; nothing changes.
    let bad = app
        .post_form(
            &format!("{page}/labels"),
            &[("name", "Renamed"), ("tags", "ok, Not-Lower")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    bad.assert_contains("tags[1]");
    app.get(&page)
        .await
        .assert_contains("<h1>Vitamins (CH)")
        .assert_lacks("Renamed");

    // The list shows the tags and filters by one.
    app.get("/brands/acme/templates")
        .await
        .assert_contains(r#">cat:vit</a>"#)
        .assert_contains(&other);
    app.get("/brands/acme/templates?tag=cat%3Avit")
        .await
        .assert_contains(r#"id="tag-filter""#)
        .assert_contains(&tagged)
        .assert_lacks(&other);
    app.get("/brands/acme/templates?tag=nothing")
        .await
        .assert_lacks(&tagged);
}

on_both_backends!(labels_are_shown_edited_and_filtered);

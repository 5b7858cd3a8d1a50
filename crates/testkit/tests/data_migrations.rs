//! Migrations that convert data, checked on rows written under the schema before them, on both
//! backends. Those rows have a shape the current code no longer writes, so they are inserted with
//! raw SQL (literals only, so the same statements serve SQLite and PostgreSQL).

use prompter_domain::{parse_template_spec, NameRule};
use prompter_storage::{timestamp, CreateTemplate, NewTemplate, RunStatus};
use prompter_testkit::{fresh_postgres, fresh_sqlite, TestDb};
use serde_json::{json, Value};
use sqlx::Connection;

/// Runs one statement on the test database through a connection of its own.
async fn execute(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

/// The stored `response` of a result, read without the storage code (which needs the new schema).
async fn stored_response(url: &str, id: uuid::Uuid) -> Value {
    let sql = format!("SELECT CAST(response AS TEXT) FROM prompt_results WHERE id = '{id}'");
    let text: String = if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
    };
    serde_json::from_str(&text).unwrap()
}

/// Reverts every applied migration from `version` on: the schema as it was just before it.
async fn migrate_down_to_before(test_db: &dyn TestDb, version: i64) {
    let db = test_db.db();
    let steps = db
        .migration_status()
        .await
        .unwrap()
        .iter()
        .filter(|m| m.applied && m.version >= version)
        .count();
    let reverted = db.migrate_down(steps).await.unwrap();
    assert_eq!(reverted.last(), Some(&version), "{reverted:?}");
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Migration 4 moves the answer that earlier releases kept inside `response` (under
/// `_prompter_content`) into the `answer` column, and back on the way down.
async fn answer_moves_out_of_the_response(test_db: &dyn TestDb) {
    let (db, url) = (test_db.db(), test_db.url());
    let spec = parse_template_spec(
        &json!({"workspace_id": "ws-mig", "name": "Migration", "model_id": "gpt-4o",
                "user_prompt_template": "What is AVEA?"}),
        NameRule::Required,
    )
    .unwrap();
    let CreateTemplate::Created(template) = db
        .create_template(NewTemplate::new(spec, "Migration".into()))
        .await
        .unwrap()
    else {
        panic!("expected Created");
    };
    migrate_down_to_before(test_db, 4).await;

    // What the service wrote before: the answer inside the provider's body (succeeded runs only).
    let answer = "AVEA is \"Swiss\" — it's 日本語 too\nLine two";
    let provider_body = json!({"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
                               "choices": [{"message": {"content": answer}}]});
    let mut old_response = provider_body.clone();
    old_response["_prompter_content"] = json!(answer);
    let failed_body = json!({"error": {"message": "boom"}});
    let (succeeded_id, failed_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, status, response) in [
        (succeeded_id, "succeeded", &old_response),
        (failed_id, "failed", &failed_body),
    ] {
        execute(
            url,
            &format!(
                "INSERT INTO prompt_results (id, org_id, workspace_id, template_id, request, \
                 response, status, created_at) VALUES ('{id}', 'default', 'ws-mig', '{}', '{{}}', \
                 {}, '{status}', '{}')",
                template.id,
                literal(&response.to_string()),
                timestamp::format(&timestamp::now()),
            ),
        )
        .await;
    }

    assert!(db.migrate_up().await.unwrap().contains(&4));
    let succeeded = db.get_result(succeeded_id).await.unwrap().unwrap();
    assert_eq!(succeeded.answer.as_deref(), Some(answer));
    assert_eq!(
        succeeded.response, provider_body,
        "the key left the response"
    );
    let failed = db.get_result(failed_id).await.unwrap().unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.answer, None);
    assert_eq!(failed.response, failed_body);

    // Down puts the answer back where the previous release reads it; up again moves it out.
    migrate_down_to_before(test_db, 4).await;
    assert_eq!(stored_response(url, succeeded_id).await, old_response);
    assert_eq!(stored_response(url, failed_id).await, failed_body);
    assert!(db.migrate_up().await.unwrap().contains(&4));
    let again = db.get_result(succeeded_id).await.unwrap().unwrap();
    assert_eq!(
        (again.answer.as_deref(), &again.response),
        (Some(answer), &provider_body)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answer_moves_out_of_the_response() {
    answer_moves_out_of_the_response(&fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_answer_moves_out_of_the_response() {
    answer_moves_out_of_the_response(&fresh_postgres().await).await;
}

/// Migration 11 adds near keys: templates written before it have none until the service fills
/// them, and are listed for that (with the canonical JSON the key is computed from).
async fn templates_before_near_keys_are_listed_for_filling(test_db: &dyn TestDb) {
    let db = test_db.db();
    let mut ids = Vec::new();
    for prompt in ["First question", "Second question"] {
        let spec = parse_template_spec(
            &json!({"workspace_id": "ws-old", "name": prompt, "user_prompt_template": prompt,
                    "model_id": "gpt-4o"}),
            NameRule::Required,
        )
        .unwrap();
        match db
            .create_template(NewTemplate::new(spec, prompt.into()))
            .await
            .unwrap()
        {
            CreateTemplate::Created(t) => ids.push((t.id, t.config_canonical_json)),
            other => panic!("{other:?}"),
        }
    }
    migrate_down_to_before(test_db, 11).await;
    assert!(db.migrate_up().await.unwrap().contains(&11));
    let mut missing = db.templates_missing_near_key(10).await.unwrap();
    missing.sort();
    ids.sort();
    assert_eq!(missing, ids);
    assert_eq!(
        db.templates_missing_near_key(1).await.unwrap().len(),
        1,
        "the limit holds"
    );
    let keys: Vec<_> = missing
        .iter()
        .map(|(id, json)| {
            let key = prompter_domain::near_duplicates::near_key_of_json(json).unwrap();
            (*id, key)
        })
        .collect();
    assert_eq!(db.set_near_keys(&keys).await.unwrap(), 2);
    assert!(db.templates_missing_near_key(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_templates_before_near_keys_are_listed_for_filling() {
    templates_before_near_keys_are_listed_for_filling(&fresh_sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(prompter_pg),
    ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_templates_before_near_keys_are_listed_for_filling() {
    templates_before_near_keys_are_listed_for_filling(&fresh_postgres().await).await;
}

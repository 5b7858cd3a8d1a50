//! Health reports the database's state: 200 when reachable, 503 when not.

mod common;

use std::sync::Arc;

use common::TestApp;
use prompter_storage_postgres::PostgresDatabase;

#[tokio::test]
async fn health_is_ok_with_a_reachable_database() {
    let app = TestApp::start(prompter_testkit::fresh_sqlite().await).await;
    let r = app.get("/api/prompt-templates/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["database"]["status"], "ok");
    assert_eq!(r.body["database"]["backend"], "sqlite");
}

#[tokio::test]
async fn health_is_503_and_requests_are_503_when_the_database_is_unreachable() {
    // Nothing listens on port 1: every connection attempt is refused.
    let db = PostgresDatabase::connect_lazy("postgres://postgres@127.0.0.1:1/none", 2).unwrap();
    let app = TestApp::start_with(Arc::new(db), Box::new(())).await;
    let r = app.get("/api/prompt-templates/health").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["database"]["status"], "unreachable");
    let r = app
        .post("/api/prompt-templates", &common::avea_body())
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["detail"]["code"], "DATABASE_UNAVAILABLE");
}

//! Registry hygiene: near keys (near-duplicate candidates) and their background fill.

use std::sync::Arc;

use prompter_domain::near_duplicates::near_key_of_json;
use prompter_storage::Database;
use serde_json::json;

use super::{body, created, org, ws};

/// The twin and the candidates come from one read; deleted templates, other workspaces and
/// configurations with another model or prompt are not candidates.
pub async fn near_keys_find_twin_and_candidates(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let base = body("ws-near", "Best vitamins in {{country}}?");
    let first = created(db, &base).await;
    let key = near_key_of_json(&first.config_canonical_json).expect("near key");

    let mut warmer = base.clone();
    warmer["inference_params"]["temperature"] = json!(0.71);
    let warmer = created(db, &warmer).await;
    let mut shouting = base.clone();
    shouting["user_prompt_template"] = json!("BEST vitamins in {{country}}");
    let shouting = created(db, &shouting).await;
    let mut deleted = base.clone();
    deleted["country_set"] = json!(["CH"]);
    let deleted = created(db, &deleted).await;
    db.soft_delete_template(deleted.id).await.unwrap();
    let mut other_model = base.clone();
    other_model["model_id"] = json!("gpt-4.1");
    created(db, &other_model).await;
    created(db, &body("ws-near", "Another question entirely")).await;
    let mut elsewhere = base.clone();
    elsewhere["workspace_id"] = json!("ws-near-2");
    created(db, &elsewhere).await;

    let found = db
        .find_twin_and_near(
            &org("default"),
            &ws("ws-near"),
            &first.config_hash,
            &key,
            50,
        )
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|t| t.id).collect();
    assert_eq!(ids, [first.id, warmer.id, shouting.id], "oldest first");

    // The limit holds; an unknown hash still finds the near candidates.
    let two = db
        .find_twin_and_near(
            &org("default"),
            &ws("ws-near"),
            "0".repeat(64).as_str(),
            &key,
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|t| t.id).collect::<Vec<_>>(),
        [first.id, warmer.id]
    );

    let sharing = db
        .templates_sharing_near_keys(&org("default"), &ws("ws-near"))
        .await
        .unwrap();
    assert_eq!(
        sharing.iter().map(|t| t.id).collect::<Vec<_>>(),
        [first.id, warmer.id, shouting.id]
    );
    assert!(db
        .templates_sharing_near_keys(&org("default"), &ws("ws-near-2"))
        .await
        .unwrap()
        .is_empty());
}

/// Templates written before near keys existed are found and filled; a filled key is used.
pub async fn missing_near_keys_are_listed_and_set(db: Arc<dyn Database>) {
    let db = db.as_ref();
    let a = created(db, &body("ws-fill", "Question A")).await;
    let b = created(db, &body("ws-fill", "Question B")).await;
    assert!(db.templates_missing_near_key(10).await.unwrap().is_empty());

    // Simulate rows from before the column: give both the same wrong key, then "fill" them.
    let wrong = "f".repeat(32);
    assert_eq!(
        db.set_near_keys(&[(a.id, wrong.clone()), (b.id, wrong.clone())])
            .await
            .unwrap(),
        2
    );
    let sharing = db
        .templates_sharing_near_keys(&org("default"), &ws("ws-fill"))
        .await
        .unwrap();
    assert_eq!(sharing.len(), 2, "the stored key is what groups them");
    let right = near_key_of_json(&a.config_canonical_json).unwrap();
    db.set_near_keys(&[(a.id, right.clone())]).await.unwrap();
    let found = db
        .find_twin_and_near(&org("default"), &ws("ws-fill"), "x", &right, 10)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|t| t.id).collect::<Vec<_>>(), [a.id]);
    assert!(db
        .templates_sharing_near_keys(&org("default"), &ws("ws-fill"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(db.set_near_keys(&[]).await.unwrap(), 0);
}

/// Every organisation with a workspace, once, in id order (dedupe across the whole database).
pub async fn organisations_are_listed_once_each(db: Arc<dyn Database>) {
    let db = db.as_ref();
    assert_eq!(db.list_organisations().await.unwrap(), Vec::<String>::new());
    for (org_id, workspace) in [("zeta", "w1"), ("acme", "w1"), ("acme", "w2")] {
        let mut b = body(workspace, "Which brands lead?");
        b["org_id"] = json!(org_id);
        created(db, &b).await;
    }
    assert_eq!(db.list_organisations().await.unwrap(), ["acme", "zeta"]);
}

//! Batches in the UI tests: the app with its workers polling quickly, starting a batch through
//! the template page's form, and waiting for it.

use std::sync::Arc;
use std::time::Duration;

use prompter_providers::ProviderSettings;
use prompter_service::records::Batch;
use prompter_service::{Caller, WorkerSettings};
use prompter_storage::Database;
use uuid::Uuid;

use super::{services_with, UiApp};

pub type Guard = Box<dyn std::any::Any + Send + Sync>;

/// The app as `prompter serve` runs it (its workers included, polling quickly), with `providers`.
pub async fn app_with(
    db: Arc<dyn Database>,
    guard: Guard,
    providers: ProviderSettings,
    auth: prompter_app::AuthSetting,
    tune: impl FnOnce(&mut WorkerSettings),
) -> UiApp {
    let mut workers = WorkerSettings {
        poll_every: Duration::from_millis(50),
        ..WorkerSettings::default()
    };
    tune(&mut workers);
    let mut settings = super::settings(auth);
    settings.workers = Some(workers);
    UiApp::serve(services_with(db, providers), guard, settings).await
}

pub async fn fake_app(db: Arc<dyn Database>, guard: Guard) -> UiApp {
    let providers = ProviderSettings::fake_only();
    app_with(db, guard, providers, prompter_app::AuthSetting::Off, |_| {}).await
}

/// The fake answering after `latency`: batches stay running while a test looks at them.
pub fn slow_fake(latency: Duration) -> ProviderSettings {
    let mut providers = ProviderSettings::fake_only();
    providers.fake_latency = latency;
    providers
}

/// Posts the template page's "Run in all countries" form; returns the batch id it leads to.
pub async fn start_batch(app: &UiApp, ws: &str, template: &str, fields: &[(&str, &str)]) -> Uuid {
    let r = app
        .post_form(&format!("/brands/{ws}/templates/{template}/batch"), fields)
        .await;
    assert_eq!(r.status, 303, "the batch was not created:\n{}", r.body);
    let location = r.location.unwrap();
    let prefix = format!("/brands/{ws}/batches/");
    assert!(location.starts_with(&prefix), "{location}");
    location[prefix.len()..].parse().unwrap()
}

/// Waits until the batch is finished.
pub async fn settled(app: &UiApp, id: Uuid) -> Batch {
    for _ in 0..600 {
        let b = app.services.get_batch(&Caller::system(), id).await.unwrap();
        if b.status.is_final() {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {id} did not finish within 30 s");
}

/// Waits until the batch has a task running.
pub async fn running(app: &UiApp, id: Uuid) {
    for _ in 0..200 {
        let b = app.services.get_batch(&Caller::system(), id).await.unwrap();
        if b.counts.running > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("batch {id} did not start");
}

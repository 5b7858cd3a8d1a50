//! The real app on port 0, over real HTTP, on either backend.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use prompter_storage::Database;
use prompter_testkit::TestDb;
use serde_json::{json, Value};

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: Arc<dyn Database>,
    _db_guard: Box<dyn std::any::Any + Send + Sync>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
    pub async fn start(test_db: impl TestDb + Send + Sync + 'static) -> Self {
        let db = test_db.db();
        Self::start_with(db, Box::new(test_db)).await
    }

    pub async fn start_with(
        db: Arc<dyn Database>,
        guard: Box<dyn std::any::Any + Send + Sync>,
    ) -> Self {
        Self::start_with_services(fake_services(db), guard).await
    }

    pub async fn start_with_services(
        services: prompter_service::Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
    ) -> Self {
        Self::start_with_auth(services, guard, prompter_api::auth::AuthMode::Off).await
    }

    pub async fn start_with_auth(
        services: prompter_service::Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
        auth: prompter_api::auth::AuthMode,
    ) -> Self {
        Self::start_full(services, guard, auth, prompter_api::DEFAULT_RUN_WAIT).await
    }

    /// The run endpoint waits `run_wait` for an outcome before answering 202.
    pub async fn start_with_run_wait(
        services: prompter_service::Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
        run_wait: std::time::Duration,
    ) -> Self {
        Self::start_full(services, guard, prompter_api::auth::AuthMode::Off, run_wait).await
    }

    /// The app as `prompter serve` composes it (`prompter_app::Application`), around `services`.
    async fn start_full(
        services: prompter_service::Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
        auth: prompter_api::auth::AuthMode,
        run_wait: std::time::Duration,
    ) -> Self {
        Self::start_configured(services, guard, |settings| {
            settings.auth = match auth {
                prompter_api::auth::AuthMode::Off => prompter_app::AuthSetting::Off,
                prompter_api::auth::AuthMode::Required => prompter_app::AuthSetting::Required,
            };
            settings.run_wait = run_wait;
        })
        .await
    }

    /// The app around `services`, with `configure` applied to `prompter serve`'s defaults (auth
    /// off).
    pub async fn start_configured(
        services: prompter_service::Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
        configure: impl FnOnce(&mut prompter_app::Settings),
    ) -> Self {
        let db = services.database().clone();
        let mut settings = prompter_app::Settings::local("127.0.0.1:0".parse().unwrap());
        settings.auth = prompter_app::AuthSetting::Off;
        configure(&mut settings);
        let app = prompter_app::Application::with_services(settings, services)
            .await
            .expect("the app builds");
        let addr = app.addr();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp {
            addr,
            client: reqwest::Client::new(),
            db,
            _db_guard: guard,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON response {status}: {text}"))
        };
        Reply { status, body }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }
}

/// Services on `db` with the built-in fake provider and the in-process probe cache.
pub fn fake_services(db: Arc<dyn Database>) -> prompter_service::Services {
    prompter_service::Services::new(
        db,
        Arc::new(
            prompter_providers::Gateway::new(prompter_providers::ProviderSettings::fake_only())
                .unwrap(),
        ),
        Arc::new(prompter_service::InProcessProbeCache::default()),
        false,
    )
}

/// The seed's smoke-test body.
pub fn avea_body() -> Value {
    json!({
        "org_id": "default",
        "workspace_id": "workspace-avea-001",
        "name": "AVEA Brand Analysis",
        "system_instructions": "Be concise and accurate",
        "user_prompt_template": "What is AVEA known for?",
        "country_set": ["CH", "US"],
        "model_id": "gpt-4o",
        "inference_params": {"temperature": 0.7, "max_tokens": 1000}
    })
}

/// Generates each listed `async fn(TestApp)` case once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let app = $crate::common::TestApp::start(prompter_testkit::fresh_sqlite().await).await;
                    super::$case(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let app = $crate::common::TestApp::start(prompter_testkit::fresh_postgres().await).await;
                    super::$case(app).await;
                }
            )+
        }
    };
}

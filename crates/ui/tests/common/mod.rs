//! The real app (API router + UI router) on port 0, over real HTTP, with a browser-like client
//! that keeps the CSRF cookie and does not follow redirects (tests look at each 303).

#![allow(dead_code)]

pub mod batches;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::{InProcessProbeCache, Services};
use prompter_testkit::TestDb;
use serde_json::Value;

pub struct UiApp {
    pub base: String,
    pub client: reqwest::Client,
    pub services: Services,
    /// The cookies this "browser" holds (the CSRF token, a sign-in).
    cookies: Mutex<BTreeMap<String, String>>,
    _db: Box<dyn std::any::Any + Send + Sync>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "page ({}) lacks {needle:?}:\n{}",
            self.status,
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.body.contains(needle),
            "page ({}) unexpectedly has {needle:?}",
            self.status
        );
        self
    }
}

/// HTML-escapes like askama does, to find a message in a page.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

pub fn fake_services(db: Arc<dyn prompter_storage::Database>) -> Services {
    services_with(db, ProviderSettings::fake_only())
}

pub fn services_with(
    db: Arc<dyn prompter_storage::Database>,
    settings: ProviderSettings,
) -> Services {
    Services::new(
        db,
        Arc::new(Gateway::new(settings).unwrap()),
        Arc::new(InProcessProbeCache::default()),
        false,
    )
}

/// `prompter serve`'s defaults on a free loopback port, with `auth`.
pub fn settings(auth: prompter_app::AuthSetting) -> prompter_app::Settings {
    let mut settings = prompter_app::Settings::local("127.0.0.1:0".parse().unwrap());
    settings.auth = auth;
    settings
}

impl UiApp {
    /// SQLite, the fake provider, the API merged with the UI.
    pub async fn start() -> Self {
        let test_db = prompter_testkit::fresh_sqlite().await;
        let services = fake_services(test_db.db());
        Self::start_with(services, Box::new(test_db)).await
    }

    pub async fn start_with(
        services: Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
    ) -> Self {
        Self::serve(services, guard, settings(prompter_app::AuthSetting::Off)).await
    }

    /// The app as `prompter serve` mounts it when tokens are required: the API with bearer auth,
    /// the UI behind sign-in.
    pub async fn start_with_tokens(test_db: impl TestDb + Send + Sync + 'static) -> Self {
        Self::start_with_tokens_and_limit(test_db, None).await
    }

    /// As [`UiApp::start_with_tokens`], with a per-token limit the API and the UI share (it lives
    /// in the services both are given).
    pub async fn start_with_tokens_and_limit(
        test_db: impl TestDb + Send + Sync + 'static,
        per_minute: Option<u32>,
    ) -> Self {
        let mut services = fake_services(test_db.db());
        if let Some(n) = per_minute {
            services = services.with_rate_limit(std::num::NonZeroU32::new(n).unwrap());
        }
        let settings = settings(prompter_app::AuthSetting::Required);
        Self::serve(services, Box::new(test_db), settings).await
    }

    /// The API and the UI as `prompter serve` composes them (`prompter_app::Application`).
    pub async fn serve(
        services: Services,
        guard: Box<dyn std::any::Any + Send + Sync>,
        settings: prompter_app::Settings,
    ) -> Self {
        let app = prompter_app::Application::with_services(settings, services.clone())
            .await
            .expect("the app builds");
        let addr = app.addr();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        UiApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            services,
            cookies: Mutex::new(BTreeMap::new()),
            _db: guard,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The CSRF token this "browser" holds (after its first page).
    pub fn token(&self) -> String {
        self.cookie("prompter_csrf")
            .expect("no CSRF cookie yet: GET a page first")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Sets (or, with `None`, drops) a cookie as if the browser held it.
    pub fn set_cookie(&self, name: &str, value: Option<&str>) {
        let mut jar = self.cookies.lock().unwrap();
        match value {
            Some(v) => jar.insert(name.to_owned(), v.to_owned()),
            None => jar.remove(name),
        };
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let header = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if header.is_empty() {
            req
        } else {
            req.header("cookie", header)
        };
        self.read(req).await
    }

    /// Sends without the stored cookie (and stores none).
    pub async fn send_bare(&self, req: reqwest::RequestBuilder) -> Page {
        let resp = req.send().await.expect("request");
        Self::page_of(resp).await
    }

    async fn read(&self, req: reqwest::RequestBuilder) -> Page {
        let resp = req.send().await.expect("request");
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let deleted = attrs.split(';').any(|a| a.trim() == "Max-Age=0");
            self.set_cookie(name, (!deleted).then_some(value));
        }
        Self::page_of(resp).await
    }

    async fn page_of(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            headers,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.url(path))).await
    }

    /// Posts a form with this browser's CSRF token (fetching a page first if it has none).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.cookie("prompter_csrf").is_none() {
            self.get("/static/app.css").await;
        }
        let token = self.token();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.send(self.client.post(self.url(path)).form(&all)).await
    }

    /// Posts a form and follows its 303, returning the page it leads to.
    pub async fn post_and_follow(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self.post_form(path, fields).await;
        assert_eq!(
            r.status, 303,
            "expected a redirect from {path}:\n{}",
            r.body
        );
        self.get(r.location.as_deref().unwrap()).await
    }

    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs this browser in with `secret` (through the form); returns the 303.
    pub async fn sign_in(&self, secret: &str) -> Page {
        let r = self
            .post_form("/sign-in", &[("token", secret), ("next", "/")])
            .await;
        assert_eq!(r.status, 303, "sign-in with {secret} failed:\n{}", r.body);
        r
    }

    /// Stores a token with this secret directly in the database; returns its id.
    pub async fn add_token(
        &self,
        secret: &str,
        org: &str,
        workspaces: Option<&[&str]>,
        role: prompter_storage::Role,
        label: Option<&str>,
    ) -> uuid::Uuid {
        self.services
            .database()
            .create_token(prompter_storage::NewToken {
                id: uuid::Uuid::now_v7(),
                org_id: org.into(),
                workspaces: workspaces.map(|w| w.iter().map(|s| s.to_string()).collect()),
                role,
                label: label.map(str::to_owned),
                token_hash: prompter_domain::token::token_hash(secret),
                created_at: prompter_storage::timestamp::now(),
            })
            .await
            .unwrap()
            .id
    }

    pub async fn create_brand(&self, id: &str, name: &str) {
        let r = self
            .post_form("/brands", &[("name", name), ("id", id)])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/brands/{id}/templates").as_str())
        );
    }

    /// Creates a template through the UI form; returns its id.
    pub async fn create_template(&self, ws: &str, fields: &[(&str, &str)]) -> String {
        let r = self
            .post_form(&format!("/brands/{ws}/templates"), fields)
            .await;
        assert_eq!(r.status, 303, "create failed:\n{}", r.body);
        let loc = r.location.unwrap();
        loc.rsplit('/').next().unwrap().to_owned()
    }
}

/// A complete create form.
pub fn template_fields<'a>(name: &'a str, prompt: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("model_id", "gpt-4o"),
        ("provider", ""),
        ("country_set", "US, CH"),
        ("system_instructions", "Be concise."),
        ("user_prompt_template", prompt),
        ("inference_params", "{\"temperature\": 0.7}"),
        ("tools_spec", ""),
        ("response_format", ""),
        ("retrieval_params", ""),
        ("grounding_profile_id", ""),
        ("grounding_snapshot_id", ""),
    ]
}

/// Generates each listed `async fn(Arc<dyn Database>, Guard)` case once per backend (the
/// PostgreSQL ones are ignored, with the reason, when no server is configured).
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = prompter_testkit::fresh_sqlite().await;
                    super::$case(prompter_testkit::TestDb::db(&db), Box::new(db)).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(prompter_pg), ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $case() {
                    let db = prompter_testkit::fresh_postgres().await;
                    super::$case(prompter_testkit::TestDb::db(&db), Box::new(db)).await;
                }
            )+
        }
    };
}

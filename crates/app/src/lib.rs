//! The composition root. One [`Settings`] value builds everything a running Prompter is: the
//! database (opened, instrumented, migrated), the [`Services`] (providers, probe cache, rate
//! limit, run settings), the authentication decision, the API and the UI on one router, and the
//! shutdown sequence. `prompter serve` fills the settings from its command line and environment
//! (the one place that reads them); the tests fill them directly.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prompter_api::auth::AuthMode;
use prompter_providers::ProviderSettings;
use prompter_service::{RunSettings, Services, WorkerSettings};
use prompter_storage::Database;

/// `PROMPTER_AUTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSetting {
    /// Off only on a loopback address with no token created yet; required otherwise.
    Auto,
    Required,
    Off,
}

/// Everything that decides how the service runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub providers: ProviderSettings,
    /// Redis for the probe cache (shared by replicas); in process without it.
    pub redis_url: Option<String>,
    /// The `env` label of every metric.
    pub env_label: String,
    /// Export metrics at /metrics and time database calls (off only to measure the overhead).
    pub metrics_enabled: bool,
    /// Serve the web UI at `/`.
    pub ui_enabled: bool,
    pub auth: AuthSetting,
    pub rate_limit_per_minute: NonZeroU32,
    /// Kill switch for provider probes.
    pub probe_disabled: bool,
    pub run: RunSettings,
    /// How long the run endpoint waits for the outcome before answering 202.
    pub run_wait: Duration,
    /// How long a stopping process gives requests and runs in flight.
    pub shutdown_grace: Duration,
    /// Work the batch queue in this process (`None`: another process does).
    pub workers: Option<WorkerSettings>,
}

impl Settings {
    /// The defaults of `prompter serve` on `bind`, with the built-in fake for every provider.
    pub fn local(bind: SocketAddr) -> Self {
        Self {
            bind,
            providers: ProviderSettings::fake_only(),
            redis_url: None,
            env_label: "dev".into(),
            metrics_enabled: true,
            ui_enabled: true,
            auth: AuthSetting::Auto,
            rate_limit_per_minute: NonZeroU32::new(6000).expect("non-zero"),
            probe_disabled: false,
            run: RunSettings::default(),
            run_wait: prompter_api::DEFAULT_RUN_WAIT,
            shutdown_grace: Duration::from_secs(30),
            workers: Some(WorkerSettings::default()),
        }
    }
}

/// Opens the database a URL names: the one place that knows which backends exist.
pub async fn open_database(
    url: &str,
    max_connections: Option<u32>,
) -> anyhow::Result<Arc<dyn Database>> {
    let db: Arc<dyn Database> = if url.starts_with("sqlite:") {
        let readers = max_connections.unwrap_or(4);
        Arc::new(prompter_storage_sqlite::SqliteDatabase::connect(url, readers).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = max_connections.unwrap_or(16);
        Arc::new(prompter_storage_postgres::PostgresDatabase::connect(url, pool).await?)
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite:… or postgres://…)");
    };
    Ok(db)
}

/// A built, listening, not yet serving Prompter.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    services: Services,
    router: axum::Router,
    grace: Duration,
}

impl Application {
    /// Migrates `db`, builds the services, the API and the UI from `settings`, and binds.
    pub async fn build(settings: Settings, db: Arc<dyn Database>) -> anyhow::Result<Self> {
        let db: Arc<dyn Database> = if settings.metrics_enabled {
            Arc::new(prompter_service::instrumented::InstrumentedDatabase(db))
        } else {
            db
        };
        let services = build_services(db, &settings).await?;
        Self::with_services(settings, services).await
    }

    /// [`Application::build`] around services built elsewhere (a test's gateway double or
    /// unreachable database); everything else still comes from `settings`.
    pub async fn with_services(settings: Settings, services: Services) -> anyhow::Result<Self> {
        let db = services.database().clone();
        // Heartbeats of this process's runs, and the sweep that marks runs of a crashed process.
        services.start_background();
        if let Some(workers) = &settings.workers {
            services.start_workers(workers.clone());
        }
        let listener = tokio::net::TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, backend = db.backend().as_str(), "prompter listening on http://{addr}");
        // An unreachable database must not stop the start (health and readiness report it).
        let any_token = match services.any_active_token().await {
            Ok(any) => any,
            Err(e) if settings.auth == AuthSetting::Auto => {
                return Err(anyhow::anyhow!(e).context("counting API tokens (PROMPTER_AUTH=auto)"))
            }
            Err(_) => false,
        };
        let auth = decide_auth(settings.auth, addr, any_token);
        tracing::info!(auth = ?auth, "authentication");
        let state = if settings.metrics_enabled {
            prompter_api::AppState::new(services.clone(), &settings.env_label)
        } else {
            prompter_api::AppState::without_metrics(services.clone())
        };
        let state = state.with_auth(auth).with_run_wait(settings.run_wait);
        if services.probe_cache_kind() != "redis" {
            metrics::gauge!(prompter_service::telemetry::REDIS_UP).set(1.0);
        }
        // The web UI shares the services, so it sees what the API sees; when the API requires
        // tokens, the UI asks for one at sign-in and shows only what it may see.
        let ui = if settings.ui_enabled {
            let ui_auth = match auth {
                AuthMode::Off => prompter_ui::UiAuth::Off,
                AuthMode::Required => prompter_ui::UiAuth::Tokens,
            };
            prompter_ui::router(services.clone(), ui_auth)
        } else {
            prompter_ui::disabled_router()
        };
        Ok(Self {
            listener,
            addr,
            services,
            router: prompter_api::router(state).merge(ui),
            grace: settings.shutdown_grace,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` completes; then stops accepting, lets requests in flight finish
    /// and gives runs in flight what is left of the grace period (recording those it could not
    /// finish as interrupted), and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
        let shutdown = async move {
            shutdown.await;
            let _ = signalled_tx.send(tokio::time::Instant::now());
        };
        let server = prompter_api::serve_app(self.listener, self.router, shutdown);
        let grace = self.grace;
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
        let deadline = async move {
            match signalled_rx.await {
                Ok(at) => {
                    let _ = started_tx.send(at);
                    tokio::time::sleep(grace).await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            served = server => served?,
            () = deadline => tracing::warn!(
                grace_s = grace.as_secs(),
                "grace period over; dropping unfinished requests"
            ),
        }
        // Runs outlive their requests: they get what is left of the grace period.
        let left = match started_rx.await {
            Ok(at) => grace.saturating_sub(at.elapsed()),
            Err(_) => grace,
        };
        self.services.shutdown(left).await;
        self.services.database().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Instruments (when metrics are on) and migrates `db`, and builds the services on it: what a
/// serving process, a worker process and a command-line batch share.
pub async fn build_services(
    db: Arc<dyn Database>,
    settings: &Settings,
) -> anyhow::Result<Services> {
    let db: Arc<dyn Database> = if settings.metrics_enabled {
        Arc::new(prompter_service::instrumented::InstrumentedDatabase(db))
    } else {
        db
    };
    let applied = db.migrate_up().await.context("applying migrations")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    services(db, settings)
}

/// A process that only works the batch queue (`prompter worker`): heartbeats, stale sweeps and
/// workers until `shutdown`, then the same stop sequence as a server (runs get `grace`, leased
/// tasks go back to the queue).
///
/// With `operations`, it also listens there for `GET /metrics` and `GET /readyz`.
pub async fn run_worker(
    settings: Settings,
    db: Arc<dyn Database>,
    operations: Option<SocketAddr>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let workers = settings.workers.clone().unwrap_or_default();
    let services = build_services(db, &settings).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = match operations {
        Some(bind) => {
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("binding {bind}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "metrics and readiness on http://{addr}");
            let state = prompter_api::AppState::new(services.clone(), &settings.env_label);
            let app = prompter_api::operations_router(state);
            Some(tokio::spawn(prompter_api::serve_app(
                listener,
                app,
                async {
                    let _ = stop_rx.await;
                },
            )))
        }
        None => None,
    };
    services.start_background();
    services.start_workers(workers);
    tracing::info!(
        backend = services.database().backend().as_str(),
        "prompter worker working the batch queue"
    );
    shutdown.await;
    services.shutdown(settings.shutdown_grace).await;
    let _ = stop_tx.send(());
    if let Some(server) = server {
        let _ = server.await;
    }
    services.database().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Providers (live or fake, per the settings and credentials), the probe cache (Redis when
/// configured, in process otherwise), the probe kill switch, the rate limit and the runs.
fn services(db: Arc<dyn Database>, settings: &Settings) -> anyhow::Result<Services> {
    tracing::info!(mode = ?settings.providers.mode, "providers configured");
    let gateway =
        prompter_providers::Gateway::new(settings.providers.clone()).map_err(anyhow::Error::msg)?;
    let cache: Arc<dyn prompter_service::ProbeCache> = match &settings.redis_url {
        Some(url) => {
            Arc::new(prompter_service::RedisProbeCache::new(url).map_err(anyhow::Error::msg)?)
        }
        None => Arc::new(prompter_service::InProcessProbeCache::default()),
    };
    tracing::info!(
        probe_cache = cache.kind(),
        probe_disabled = settings.probe_disabled,
        "probe settings"
    );
    Ok(
        Services::new(db, Arc::new(gateway), cache, settings.probe_disabled)
            .with_run_settings(settings.run.clone())
            .with_rate_limit(settings.rate_limit_per_minute),
    )
}

/// The auth mode: explicit settings win; `auto` is off only on a loopback address while no
/// token exists. Listening beyond loopback with auth off needs `PROMPTER_AUTH=off` explicitly.
fn decide_auth(setting: AuthSetting, addr: SocketAddr, any_token: bool) -> AuthMode {
    match setting {
        AuthSetting::Required => AuthMode::Required,
        AuthSetting::Off => {
            if !addr.ip().is_loopback() {
                tracing::warn!(%addr, "authentication is OFF on a non-loopback address (PROMPTER_AUTH=off)");
            }
            AuthMode::Off
        }
        AuthSetting::Auto if addr.ip().is_loopback() && !any_token => AuthMode::Off,
        AuthSetting::Auto => {
            if !any_token {
                tracing::warn!("authentication is required but no token exists: create one with `prompter tokens create --org ORG`");
            }
            AuthMode::Required
        }
    }
}

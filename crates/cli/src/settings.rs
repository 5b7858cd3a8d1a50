//! The command line and the environment, in one typed place.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// The default database: a SQLite file in the working directory, so the quick start needs nothing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://prompter.db";

#[derive(Debug, Parser)]
#[command(
    name = "prompter",
    version,
    about = "Prompt templates for brand tracking across AI assistants"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (applies pending migrations first).
    Serve(ServeArgs),
    /// Print the effective configuration (flags, environment, defaults) with secrets redacted.
    Config(ServeArgs),
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Create, list or revoke API tokens.
    Tokens {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Work the batch queue only (no HTTP): scale batch work out on PostgreSQL.
    Worker(WorkerCommandArgs),
    /// Enqueue a batch, or show one.
    Batch {
        #[command(subcommand)]
        action: BatchAction,
    },
    /// List schedules (JSON, one per line) with their next slot.
    Schedules {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Import a legacy Prompter database (or a JSONL file) into this one, merging templates with
    /// identical configurations (the oldest survives; the others point at it).
    Import {
        #[command(flatten)]
        db: DatabaseArgs,
        /// `sqlite://FILE`, `postgres://…`, or a `.jsonl` file (one create request, or one line
        /// of `prompter export`, per line).
        #[arg(long)]
        from: String,
        /// Print the plan (groups, survivors, what each re-points) and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write what was done to each row: CSV if the name ends in `.csv`, JSON otherwise.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
    /// Merge active templates with identical configurations in this database (the oldest
    /// survives; the others point at it), as import does.
    Dedupe {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Recompute every active template's config hash with this binary's canonicaliser first.
        #[arg(long)]
        rehash: bool,
        /// Only this workspace (default: every workspace).
        #[arg(long)]
        workspace: Option<String>,
        /// Only this organisation (default: every organisation; with --workspace: `default`).
        #[arg(long)]
        org: Option<String>,
        /// Print the plan and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write what was done to each row: CSV if the name ends in `.csv`, JSON otherwise.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
    },
    /// Write a workspace's templates, versions (and results) as JSONL that `import` reads back.
    Export {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The workspace to export.
        #[arg(long)]
        workspace: String,
        /// Its organisation.
        #[arg(long, default_value = "default")]
        org: String,
        /// Include every result of its templates.
        #[arg(long)]
        with_results: bool,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Print the canonical JSON and config hash of create-request JSON read on stdin.
    ConfigHash {
        /// One JSON object per input line; one output line per input line, in order.
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BatchAction {
    /// Enqueue a batch on the configured database; with `--wait`, also work the queue here until
    /// it is done (no server needed), showing progress, and exit non-zero if tasks failed.
    Run(Box<BatchRunArgs>),
    /// Print a batch (JSON).
    Status {
        id: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Every schedule of the organisation (of one workspace), oldest first.
    List {
        /// Default: `default`.
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        workspace: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct BatchRunArgs {
    /// The brand whose templates run.
    #[arg(long)]
    pub workspace: String,
    /// Default: `default`.
    #[arg(long)]
    pub org: Option<String>,
    /// Templates to run (repeatable); default: every active template of the workspace.
    #[arg(long = "template")]
    pub templates: Vec<String>,
    /// Countries (repeatable): narrows each template's own set.
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// Runs per (template, country), 1–50.
    #[arg(long, default_value_t = 1)]
    pub samples: u32,
    /// Fills `{{brand_name}}` / `{{brand}}`.
    #[arg(long)]
    pub brand: Option<String>,
    #[arg(long)]
    pub use_grounding: bool,
    /// Tasks of the batch running at once (default 10).
    #[arg(long)]
    pub max_concurrency: Option<u32>,
    /// Stop starting tasks once the batch's results used this many tokens.
    #[arg(long)]
    pub token_budget: Option<u64>,
    /// A repeated run with the same key prints the first batch.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Work the queue in this process until the batch is done.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub runs: RunArgs,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// How a process works the batch queue. See docs/operations.md ("Batches and workers").
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Tasks this process runs at once, all batches together.
    #[arg(long, env = "PROMPTER_WORKER_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub worker_concurrency: u64,
    /// How often an idle worker looks for tasks.
    #[arg(long, env = "PROMPTER_WORKER_POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub worker_poll_ms: u64,
    /// Attempts of a task whose provider failed in a passing way (429, 5xx, timeout).
    #[arg(long, env = "PROMPTER_TASK_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub task_max_attempts: u32,
    /// Calls in flight per provider lane (provider, or provider/model with an override).
    #[arg(long, env = "PROMPTER_LANE_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub lane_concurrency: u64,
    /// Calls started per minute per lane (0: unlimited).
    #[arg(long, env = "PROMPTER_LANE_RPM", default_value_t = 500)]
    pub lane_rpm: u32,
    /// Prompt + completion tokens per minute per lane, where the provider reports usage (0: unlimited).
    #[arg(long, env = "PROMPTER_LANE_TPM", default_value_t = 0)]
    pub lane_tpm: u64,
    /// Per-lane overrides: `provider[/model]=concurrency/rpm[/tpm]`, comma-separated.
    #[arg(long, env = "PROMPTER_LANE_LIMITS", default_value = "")]
    pub lane_limits: String,
}

impl WorkerArgs {
    pub fn settings(&self) -> anyhow::Result<prompter_service::WorkerSettings> {
        use std::time::Duration;
        let mut lanes = prompter_service::LaneSettings {
            default: prompter_service::LaneLimits {
                concurrency: self.lane_concurrency as usize,
                requests_per_minute: self.lane_rpm,
                tokens_per_minute: self.lane_tpm,
            },
            ..prompter_service::LaneSettings::default()
        };
        lanes
            .parse_overrides(&self.lane_limits)
            .map_err(|e| anyhow::anyhow!("PROMPTER_LANE_LIMITS: {e}"))?;
        Ok(prompter_service::WorkerSettings {
            concurrency: self.worker_concurrency as usize,
            poll_every: Duration::from_millis(self.worker_poll_ms),
            max_attempts: self.task_max_attempts,
            lanes,
        })
    }
}

/// Timeouts and liveness of runs.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The longest a run may spend on its provider, every attempt and back-off included.
    #[arg(long, env = "PROMPTER_PROVIDER_TOTAL_TIMEOUT_MS", default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub provider_total_timeout_ms: u64,
    /// A running result whose process has not renewed its heartbeat for this long is marked
    /// failed (`interrupted`): its process died. Also the lease of a batch task.
    #[arg(long, env = "PROMPTER_RUN_STALE_AFTER_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1000..))]
    pub run_stale_after_ms: u64,
}

impl RunArgs {
    pub fn settings(&self) -> prompter_service::RunSettings {
        use std::time::Duration;
        prompter_service::RunSettings {
            provider_budget: Duration::from_millis(self.provider_total_timeout_ms),
            stale_after: Duration::from_millis(self.run_stale_after_ms),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct WorkerCommandArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Serve `GET /metrics` and `GET /readyz` on this address (e.g. `0.0.0.0:9100`); default:
    /// no listener.
    #[arg(long, env = "PROMPTER_WORKER_BIND")]
    pub bind: Option<SocketAddr>,
    /// The `env` label of every metric.
    #[arg(long = "env", env = "PROMPTER_ENV", default_value = "dev")]
    pub env_label: String,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub runs: RunArgs,
    /// Seconds runs in flight get to finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "PROMPTER_SHUTDOWN_GRACE_S", default_value_t = 30)]
    pub shutdown_grace_s: u64,
    #[arg(long, env = "PROMPTER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the most recent migrations.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List the migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        org: String,
        /// Limit the token to these workspaces (repeatable); default: every workspace of the org.
        #[arg(long = "workspace")]
        workspaces: Vec<String>,
        #[arg(long, value_enum, default_value = "writer")]
        role: RoleArg,
        /// A note for `tokens list` (who or what uses it).
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Writer,
    Reader,
}

/// `PROMPTER_AUTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthSetting {
    /// Off only on a loopback address with no token created yet; required otherwise.
    Auto,
    Required,
    Off,
}

#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL (`sqlite://file.db` or `postgres://…`). Default: `DB_URL`, then
    /// `DATABASE_URL`, then a SQLite file `./prompter.db`.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Largest number of pooled database connections (read connections, for SQLite, which
    /// always writes through one). Default: 16 for PostgreSQL, 4 for SQLite (more readers only
    /// cost memory: each holds its own page cache).
    #[arg(long, global = true, env = "PROMPTER_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
}

impl DatabaseArgs {
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| non_empty_env("DB_URL"))
            .or_else(|| non_empty_env("DATABASE_URL"))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }
}

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PROMPTER_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Redis for the probe cache (shared by replicas). Without it the cache is in process.
    /// Default: `REDIS_URL`, then `UPSTASH_REDIS_URL`.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// The `env` label of every metric.
    #[arg(long = "env", env = "PROMPTER_ENV", default_value = "dev")]
    pub env_label: String,
    /// Seconds in-flight requests get to finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "PROMPTER_SHUTDOWN_GRACE_S", default_value_t = 30)]
    pub shutdown_grace_s: u64,
    /// Authentication: `auto` (off only on loopback with no token yet), `required`, `off`.
    #[arg(long, env = "PROMPTER_AUTH", value_enum, default_value = "auto")]
    pub auth: AuthSetting,
    /// Requests per minute allowed to each API token (auth required).
    #[arg(long, env = "PROMPTER_RATE_LIMIT_PER_MINUTE", default_value_t = std::num::NonZeroU32::new(6000).expect("non-zero"))]
    pub rate_limit_per_minute: std::num::NonZeroU32,
    /// Export metrics at /metrics (switching them off exists to measure their overhead).
    #[arg(long, env = "PROMPTER_METRICS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_enabled: bool,
    /// Serve the web UI at `/` (the API is always served).
    #[arg(long, env = "PROMPTER_V6_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub ui_enabled: bool,
    /// Kill switch: never call a provider to probe; ensure-version returns the latest known version.
    #[arg(long, env = "PROMPTER_PROBE_DISABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub probe_disabled: bool,
    /// Log lines as JSON (`json`) or for people (`text`).
    #[arg(long, env = "PROMPTER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// How long the run endpoint waits for the outcome before answering 202 (the run goes on).
    /// Below the 30 s request timeout.
    #[arg(long, env = "PROMPTER_RUN_WAIT_MS", default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(0..=29_000))]
    pub run_wait_ms: u64,
    #[command(flatten)]
    pub runs: RunArgs,
    /// Work the batch queue in this process (switch off when `prompter worker` processes do).
    #[arg(long, env = "PROMPTER_WORKERS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub workers_enabled: bool,
    #[command(flatten)]
    pub worker: WorkerArgs,
}

/// The providers' settings (`PROMPTER_LLM_MODE`, credentials, timeouts) from the environment.
pub fn provider_settings() -> Result<prompter_providers::ProviderSettings, String> {
    prompter_providers::ProviderSettings::from_lookup(|name| std::env::var(name).ok())
}

impl ServeArgs {
    /// What `serve` runs with: these arguments, the environment behind them, the providers'.
    pub fn settings(&self) -> anyhow::Result<prompter_app::Settings> {
        use std::time::Duration;
        Ok(prompter_app::Settings {
            bind: self.bind,
            providers: provider_settings().map_err(anyhow::Error::msg)?,
            redis_url: self.redis_url(),
            env_label: self.env_label.clone(),
            metrics_enabled: self.metrics_enabled,
            ui_enabled: self.ui_enabled,
            auth: match self.auth {
                AuthSetting::Auto => prompter_app::AuthSetting::Auto,
                AuthSetting::Required => prompter_app::AuthSetting::Required,
                AuthSetting::Off => prompter_app::AuthSetting::Off,
            },
            rate_limit_per_minute: self.rate_limit_per_minute,
            probe_disabled: self.probe_disabled,
            run: self.runs.settings(),
            run_wait: Duration::from_millis(self.run_wait_ms),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_s),
            workers: if self.workers_enabled {
                Some(self.worker.settings()?)
            } else {
                None
            },
        })
    }

    pub fn redis_url(&self) -> Option<String> {
        self.redis_url
            .clone()
            .or_else(|| non_empty_env("REDIS_URL"))
            .or_else(|| non_empty_env("UPSTASH_REDIS_URL"))
    }
}

/// Every `PROMPTER_*` variable the service reads; any other is probably a typo.
pub const KNOWN_PROMPTER_VARS: &[&str] = &[
    "PROMPTER_BIND",
    "PROMPTER_DB_MAX_CONNECTIONS",
    "PROMPTER_LOG_FORMAT",
    "PROMPTER_PROBE_DISABLED",
    "PROMPTER_ENV",
    "PROMPTER_SHUTDOWN_GRACE_S",
    "PROMPTER_V6_ENABLED",
    "PROMPTER_AUTH",
    "PROMPTER_RATE_LIMIT_PER_MINUTE",
    "PROMPTER_METRICS_ENABLED",
    "PROMPTER_LLM_MODE",
    "PROMPTER_FAKE_LATENCY_MS",
    "PROMPTER_FAKE_BUILD",
    "PROMPTER_PROVIDER_TIMEOUT_MS",
    "PROMPTER_PROVIDER_TOTAL_TIMEOUT_MS",
    "PROMPTER_RUN_WAIT_MS",
    "PROMPTER_RUN_STALE_AFTER_MS",
    "PROMPTER_WORKERS_ENABLED",
    "PROMPTER_WORKER_BIND",
    "PROMPTER_WORKER_CONCURRENCY",
    "PROMPTER_WORKER_POLL_MS",
    "PROMPTER_TASK_MAX_ATTEMPTS",
    "PROMPTER_LANE_CONCURRENCY",
    "PROMPTER_LANE_RPM",
    "PROMPTER_LANE_TPM",
    "PROMPTER_LANE_LIMITS",
    "PROMPTER_PROVIDER_MAX_RETRIES",
    "PROMPTER_PROVIDER_RETRY_BASE_MS",
    "PROMPTER_OPENAI_COMPATIBLE_BASE_URL",
    "PROMPTER_OPENAI_COMPATIBLE_API_KEY",
    "PROMPTER_TEST_PG_URL",
    "PROMPTER_TEST_REDIS_URL",
];

/// `PROMPTER_*` variables set in the environment that the service does not know.
pub fn unknown_prompter_vars() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PROMPTER_") && !KNOWN_PROMPTER_VARS.contains(&k.as_str()))
        .collect()
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                userinfo.to_owned()
            };
            format!("{}://{}{}", &url[..scheme_end], masked, &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("redis://:pw@h:6379"), "redis://:***@h:6379");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://prompter.db"), "sqlite://prompter.db");
    }
}

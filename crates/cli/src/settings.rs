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
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the canonical JSON and config hash of create-request JSON read on stdin.
    ConfigHash {
        /// One JSON object per input line; one output line per input line, in order.
        #[arg(long)]
        jsonl: bool,
    },
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
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Kill switch: never call a provider to probe; ensure-version returns the latest known version.
    #[arg(long, env = "PROMPTER_PROBE_DISABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub probe_disabled: bool,
    /// Log lines as JSON (`json`) or for people (`text`).
    #[arg(long, env = "PROMPTER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use prompter_domain::config_hash::config_hash;
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

use crate::settings::{
    redact_url, unknown_prompter_vars, Cli, Command, DatabaseArgs, LogFormat, MigrateAction,
    RoleArg, ServeArgs, TokenAction,
};

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::ConfigHash { jsonl } => config_hash_command(jsonl),
        Command::Serve(args) => block_on(serve(args)),
        Command::Config(args) => print_config(&args),
        Command::Migrate { db, action } => block_on(migrate(db, action)),
        Command::Tokens { db, action } => block_on(tokens(db, action)),
        Command::Worker(args) => block_on(crate::batch::worker(args)),
        Command::Batch { action } => crate::batch::run(action),
        Command::Schedules { action } => block_on(crate::batch::schedules(action)),
        Command::Import {
            db,
            from,
            dry_run,
            report,
        } => block_on(crate::hygiene::import(db, from, dry_run, report)),
        Command::Dedupe {
            db,
            rehash,
            workspace,
            org,
            dry_run,
            report,
        } => block_on(crate::hygiene::dedupe(
            db,
            prompter_service::hygiene::dedupe::DedupeRequest {
                org_id: org,
                workspace_id: workspace,
                rehash,
                dry_run,
            },
            report,
        )),
        Command::Export {
            db,
            workspace,
            org,
            with_results,
            out,
        } => block_on(crate::hygiene::export(
            db,
            org,
            workspace,
            with_results,
            out,
        )),
    }
}

pub(crate) fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

use prompter_app::open_database;

pub(crate) fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    for name in unknown_prompter_vars() {
        tracing::warn!(variable = %name, "unknown PROMPTER_* environment variable (typo?); ignored");
    }
    let settings = args.settings()?;
    let db = open_database(&args.db.url(), args.db.db_max_connections)
        .await
        .context("opening the database")?;
    let app = prompter_app::Application::build(settings, db).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn tokens(args: DatabaseArgs, action: TokenAction) -> anyhow::Result<()> {
    use prompter_service::records::Role;
    let db = open_database(&args.url(), Some(1)).await?;
    db.migrate_up().await?;
    // Token management needs no provider: the services get the fake.
    let gateway =
        prompter_providers::Gateway::new(prompter_providers::ProviderSettings::fake_only())
            .map_err(anyhow::Error::msg)?;
    let services = prompter_service::Services::new(
        db,
        Arc::new(gateway),
        Arc::new(prompter_service::InProcessProbeCache::default()),
        false,
    );
    // The operator at the command line manages every organisation's tokens.
    let operator = prompter_service::Caller::system();
    let fail = |e: prompter_service::ServiceError| match e {
        prompter_service::ServiceError::Invalid(f) => {
            anyhow::anyhow!("--{}: {}", cli_flag(&f.field), f.message)
        }
        other => anyhow::anyhow!("{other}"),
    };
    match action {
        TokenAction::Create {
            org,
            workspaces,
            role,
            label,
        } => {
            let created = services
                .create_token(
                    &operator,
                    prompter_service::CreateToken {
                        org_id: org,
                        workspaces,
                        role: match role {
                            RoleArg::Admin => Role::Admin,
                            RoleArg::Writer => Role::Writer,
                            RoleArg::Reader => Role::Reader,
                        },
                        label,
                    },
                )
                .await
                .map_err(fail)?;
            let token = created.token;
            eprintln!(
                "token {} created for org {} (role {}); it is shown only once:",
                token.id,
                token.org_id,
                token.role.as_str()
            );
            println!("{}", created.secret);
        }
        TokenAction::List => {
            for t in services.list_tokens(&operator).await.map_err(fail)? {
                println!(
                    "{}",
                    serde_json::to_string(&prompter_api::views::TokenView::from(t))?
                );
            }
        }
        TokenAction::Revoke { id } => {
            let id =
                uuid::Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("not a token id: {id}"))?;
            match services.revoke_token(&operator, id).await {
                Ok(()) => println!("revoked {id}"),
                Err(prompter_service::ServiceError::TokenNotFound) => {
                    anyhow::bail!("no active token {id}")
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }
    Ok(())
}

/// The command-line flag for a service field name (`org_id` → `org`, `workspaces[0]` →
/// `workspace`).
fn cli_flag(field: &str) -> &str {
    if field.starts_with("workspaces") {
        "workspace"
    } else if field == "org_id" {
        "org"
    } else {
        field
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

async fn migrate(args: DatabaseArgs, action: MigrateAction) -> anyhow::Result<()> {
    let db = open_database(&args.url(), Some(1)).await?;
    match action {
        MigrateAction::Up => {
            let applied = db.migrate_up().await?;
            println!("applied {} migration(s): {applied:?}", applied.len());
        }
        MigrateAction::Down { steps } => {
            let reverted = db.migrate_down(steps).await?;
            println!("reverted {} migration(s): {reverted:?}", reverted.len());
        }
        MigrateAction::Status => {
            for m in db.migration_status().await? {
                let state = if m.applied { "applied" } else { "pending" };
                println!("{:>14}  {state:<8} {}", m.version, m.description);
            }
        }
    }
    Ok(())
}

fn hash_line(input: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(input).map_err(|e| format!("invalid JSON: {e}"))?;
    let hashed = config_hash(&value).map_err(|e| e.to_string())?;
    Ok(json!({"config_hash": hashed.hash, "canonical_json": hashed.canonical_json}))
}

fn config_hash_command(jsonl: bool) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !jsonl {
        let mut input = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut input) {
            eprintln!("error: cannot read stdin: {e}");
            return ExitCode::FAILURE;
        }
        return match hash_line(&input) {
            Ok(v) => {
                let _ = writeln!(out, "{v}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}", e.replace('\n', " "));
                ExitCode::FAILURE
            }
        };
    }
    let mut failed = false;
    // Lines end at '\n' only: U+2028 and friends may appear inside JSON strings.
    for line in std::io::stdin().lock().split(b'\n') {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
        };
        let line = String::from_utf8(line).map_err(|_| "input line is not valid UTF-8".to_owned());
        let result = line.and_then(|l| hash_line(l.strip_suffix('\r').unwrap_or(&l)));
        let v = result.unwrap_or_else(|e| {
            failed = true;
            json!({ "error": e })
        });
        if writeln!(out, "{v}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_config(args: &ServeArgs) -> ExitCode {
    let providers = match crate::settings::provider_settings() {
        Ok(p) => format!("{p:?}"),
        Err(e) => format!("invalid: {e}"),
    };
    let config = json!({
        "bind": args.bind.to_string(),
        "database_url": redact_url(&args.db.url()),
        "db_max_connections": args.db.db_max_connections,
        "redis_url": args.redis_url().map(|u| redact_url(&u)),
        "log_format": format!("{:?}", args.log_format).to_lowercase(),
        "env": args.env_label,
        "probe_disabled": args.probe_disabled,
        "ui_enabled": args.ui_enabled,
        "auth": format!("{:?}", args.auth).to_lowercase(),
        "shutdown_grace_s": args.shutdown_grace_s,
        "run_wait_ms": args.run_wait_ms,
        "provider_total_timeout_ms": args.runs.provider_total_timeout_ms,
        "run_stale_after_ms": args.runs.run_stale_after_ms,
        "workers_enabled": args.workers_enabled,
        "worker": format!("{:?}", args.worker.settings().map_err(|e| e.to_string())),
        "providers": providers,
        "unknown_prompter_variables": unknown_prompter_vars(),
    });
    println!("{}", serde_json::to_string_pretty(&config).expect("JSON"));
    ExitCode::SUCCESS
}

//! `prompter import`, `dedupe` and `export`: thin adapters over `Services::import_legacy`,
//! `Services::dedupe` and `Services::export_workspace`. Reads the source with
//! `prompter-legacy`, shows a progress bar on stderr, prints the plan, writes the report.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use prompter_app::open_database;
use prompter_service::hygiene::{HygieneReport, Progress};

use crate::settings::DatabaseArgs;

/// A progress bar on stderr, one bar per stage (hidden when stderr is not a terminal).
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg:40} {bar:30} {pos}/{len} [{elapsed_precise}]")
                .expect("template"),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        // Not a terminal (cron, CI, a pipe): the bar draws nothing, so the stages are logged as
        // lines, and a log shows how far an import or dedupe came.
        if self.0.is_hidden() {
            eprintln!("{name}");
        }
        self.0.set_message(name.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
        if total == 0 {
            self.0.tick();
        }
    }
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }
}

/// The report's format, from the file name: `.csv` is CSV (one line per row), anything else the
/// whole report as JSON.
fn write_report(path: &PathBuf, report: &HygieneReport) -> anyhow::Result<()> {
    let text = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        report.rows_csv()
    } else {
        serde_json::to_string_pretty(report)? + "\n"
    };
    std::fs::write(path, text).with_context(|| format!("writing the report {}", path.display()))
}

pub(crate) async fn import(
    db_args: DatabaseArgs,
    from: String,
    dry_run: bool,
    report_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let source = prompter_legacy::parse_source(&from).map_err(anyhow::Error::msg)?;
    let bar = Bar::new();
    bar.stage("reading the source", 0);
    let data = prompter_legacy::read_source(&source)
        .await
        .context("reading the source")?;
    let services = open_services(&db_args).await?;
    let report = services
        .import_legacy(&prompter_service::Caller::system(), data, dry_run, &bar)
        .await;
    finish(bar, report, report_path)
}

/// Clears the bar, prints the plan and writes the report.
fn finish(
    bar: Bar,
    report: Result<HygieneReport, prompter_service::ServiceError>,
    report_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    bar.0.finish_and_clear();
    let report = report.map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{}", report.plan_text());
    if let Some(path) = report_path {
        write_report(&path, &report)?;
    }
    Ok(())
}

/// The database of `db_args`, migrated (the commands write its newest columns), behind
/// operator services.
async fn open_services(db_args: &DatabaseArgs) -> anyhow::Result<prompter_service::Services> {
    let db = open_database(&db_args.url(), Some(1))
        .await
        .context("opening the database")?;
    db.migrate_up().await.context("migrating the database")?;
    operator_services(db)
}

pub(crate) async fn dedupe(
    db_args: DatabaseArgs,
    request: prompter_service::hygiene::dedupe::DedupeRequest,
    report_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let services = open_services(&db_args).await?;
    let bar = Bar::new();
    let report = services
        .dedupe(&prompter_service::Caller::system(), &request, &bar)
        .await;
    finish(bar, report, report_path)
}

pub(crate) async fn export(
    db_args: DatabaseArgs,
    org: String,
    workspace: String,
    with_results: bool,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let services = open_services(&db_args).await?;
    let lines = services
        .export_workspace(
            &prompter_service::Caller::system(),
            Some(&org),
            &workspace,
            with_results,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Services for an operator command: no provider is called, so the gateway is the fake.
pub(crate) fn operator_services(
    db: Arc<dyn prompter_storage::Database>,
) -> anyhow::Result<prompter_service::Services> {
    let gateway =
        prompter_providers::Gateway::new(prompter_providers::ProviderSettings::fake_only())
            .map_err(anyhow::Error::msg)?;
    Ok(prompter_service::Services::new(
        db,
        Arc::new(gateway),
        Arc::new(prompter_service::InProcessProbeCache::default()),
        false,
    ))
}

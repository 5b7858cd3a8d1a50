//! `prompter worker` and `prompter batch`: the batch queue from the command line. Thin adapters
//! over the services, acting as the operator (`Caller::system()`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use prompter_api::views::{BatchView, ScheduleView};
use prompter_app::open_database;
use prompter_service::records::BatchStatus;
use prompter_service::{BatchRequest, Caller, ServiceError, Services};

use crate::commands::{block_on, init_logging, shutdown_signal};
use crate::settings::{BatchAction, BatchRunArgs, DatabaseArgs, ScheduleAction, WorkerCommandArgs};

/// Settings of a process that only works the queue (no listener: `bind` is unused).
fn worker_settings(
    worker: &crate::settings::WorkerArgs,
    runs: &crate::settings::RunArgs,
    grace: Duration,
) -> anyhow::Result<prompter_app::Settings> {
    let mut settings = prompter_app::Settings::local(([127, 0, 0, 1], 0).into());
    settings.providers = crate::settings::provider_settings().map_err(anyhow::Error::msg)?;
    settings.run = runs.settings();
    settings.workers = Some(worker.settings()?);
    settings.shutdown_grace = grace;
    Ok(settings)
}

pub async fn worker(args: WorkerCommandArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let mut settings = worker_settings(
        &args.worker,
        &args.runs,
        Duration::from_secs(args.shutdown_grace_s),
    )?;
    settings.env_label = args.env_label.clone();
    let db = open_database(&args.db.url(), args.db.db_max_connections)
        .await
        .context("opening the database")?;
    prompter_app::run_worker(settings, db, args.bind, shutdown_signal()).await
}

pub fn run(action: BatchAction) -> ExitCode {
    match action {
        BatchAction::Run(args) => run_batch(*args),
        BatchAction::Status { id, db } => block_on(status(id, db)),
    }
}

fn service_error(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Invalid(f) => anyhow::anyhow!("{}: {}", f.field, f.message),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn services_on(
    db: &DatabaseArgs,
    settings: &prompter_app::Settings,
) -> anyhow::Result<Services> {
    let db = open_database(&db.url(), db.db_max_connections)
        .await
        .context("opening the database")?;
    prompter_app::build_services(db, settings).await
}

pub async fn schedules(action: ScheduleAction) -> anyhow::Result<()> {
    let ScheduleAction::List { org, workspace, db } = action;
    let mut settings = prompter_app::Settings::local(([127, 0, 0, 1], 0).into());
    settings.metrics_enabled = false;
    let services = services_on(&db, &settings).await?;
    let list = services
        .list_schedules(&Caller::system(), org.as_deref(), workspace.as_deref())
        .await
        .map_err(service_error)?;
    for s in list {
        println!("{}", serde_json::to_string(&ScheduleView::from(s))?);
    }
    Ok(())
}

async fn status(id: String, db: DatabaseArgs) -> anyhow::Result<()> {
    let mut settings = prompter_app::Settings::local(([127, 0, 0, 1], 0).into());
    settings.metrics_enabled = false;
    let services = services_on(&db, &settings).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("not a batch id: {id}"))?;
    let batch = services
        .get_batch(&Caller::system(), id)
        .await
        .map_err(service_error)?;
    println!("{}", serde_json::to_string_pretty(&BatchView::from(batch))?);
    Ok(())
}

fn run_batch(args: BatchRunArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(enqueue_and_wait(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Enqueues the batch; with `--wait`, works the queue until it is done. `Ok(false)`: tasks
/// failed (or the batch stopped).
async fn enqueue_and_wait(args: BatchRunArgs) -> anyhow::Result<bool> {
    let mut settings = worker_settings(&args.worker, &args.runs, Duration::from_secs(30))?;
    settings.metrics_enabled = false;
    let services = services_on(&args.db, &settings).await?;
    let request = BatchRequest {
        org_id: args.org.clone(),
        workspace_id: args.workspace.clone(),
        template_ids: (!args.templates.is_empty()).then(|| args.templates.clone()),
        countries: (!args.countries.is_empty()).then(|| args.countries.clone()),
        samples: Some(args.samples),
        brand_name: args.brand.clone(),
        runtime_vars: None,
        use_grounding: args.use_grounding.then_some(true),
        max_concurrency: args.max_concurrency,
        token_budget: args.token_budget,
    };
    let operator = Caller::system();
    let created = services
        .create_batch(&operator, &request, args.idempotency_key.as_deref())
        .await
        .map_err(service_error)?;
    let id = created.batch.id;
    eprintln!(
        "batch {id}: {} tasks{}",
        created.batch.total_tasks,
        if created.replayed {
            " (existing batch with this idempotency key)"
        } else {
            ""
        }
    );
    if !args.wait {
        println!(
            "{}",
            serde_json::to_string_pretty(&BatchView::from(created.batch))?
        );
        return Ok(true);
    }
    services.start_background();
    services.start_workers(settings.workers.clone().unwrap_or_default());
    let bar = indicatif::ProgressBar::new(created.batch.total_tasks.max(0) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} done, {msg} [{elapsed_precise}, {per_sec}, ETA {eta}]",
        )
        .expect("template"),
    );
    let interrupted = shutdown_signal();
    tokio::pin!(interrupted);
    let batch = loop {
        let batch = services
            .get_batch(&operator, id)
            .await
            .map_err(service_error)?;
        let c = batch.counts;
        bar.set_position((c.succeeded + c.failed + c.cancelled).max(0) as u64);
        bar.set_message(format!("{} failed, {} running", c.failed, c.running));
        if batch.status.is_final() {
            break batch;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = &mut interrupted => {
                bar.abandon_with_message("interrupted: the batch stays queued; run `prompter worker` or `prompter serve` to finish it");
                services.shutdown(Duration::from_secs(10)).await;
                return Ok(false);
            }
        }
    };
    bar.finish_with_message(format!(
        "{} failed, status {}",
        batch.counts.failed,
        batch.status.as_str()
    ));
    services.shutdown(Duration::from_secs(10)).await;
    services.database().close().await;
    let ok = batch.status == BatchStatus::Succeeded;
    println!("{}", serde_json::to_string_pretty(&BatchView::from(batch))?);
    Ok(ok)
}

//! A small server with the API and the web UI, for trying the UI and for the end-to-end test:
//!
//! ```sh
//! cargo run -p prompter-ui --example ui_server -- [PORT] [SQLITE_FILE]
//! ```
//!
//! `PORT` (default `PROMPTER_UI_PORT`, else 8000) on 127.0.0.1; `SQLITE_FILE` (default
//! `PROMPTER_UI_DB`, else `prompter-ui.db`) is created and migrated. Providers come from the
//! environment as in `prompter serve` (without credentials: the built-in fake).
//! `PROMPTER_V6_ENABLED=false` serves the disabled UI instead.

use std::sync::Arc;

use prompter_providers::{Gateway, ProviderSettings};
use prompter_service::{InProcessProbeCache, Services};
use prompter_storage::Database;
use prompter_storage_sqlite::SqliteDatabase;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args
        .next()
        .or_else(|| std::env::var("PROMPTER_UI_PORT").ok())
    {
        Some(p) => p.parse()?,
        None => 8000,
    };
    let file = args
        .next()
        .or_else(|| std::env::var("PROMPTER_UI_DB").ok())
        .unwrap_or_else(|| "prompter-ui.db".into());

    let db = SqliteDatabase::connect(&format!("sqlite://{file}"), 4).await?;
    db.migrate_up().await?;
    let db: Arc<dyn Database> = Arc::new(db);
    let services = Services::new(
        db,
        Arc::new(Gateway::new(ProviderSettings::from_env()?)?),
        Arc::new(InProcessProbeCache::default()),
        false,
    );
    let enabled = std::env::var("PROMPTER_V6_ENABLED").map_or(true, |v| v != "false");
    let ui = if enabled {
        prompter_ui::router(services.clone(), prompter_ui::UiAuth::Off)
    } else {
        prompter_ui::disabled_router()
    };
    let env = std::env::var("PROMPTER_ENV").unwrap_or_else(|_| "dev".into());
    let app = prompter_api::router(prompter_api::AppState::new(services, &env)).merge(ui);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ui_server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
        })
        .await?;
    Ok(())
}

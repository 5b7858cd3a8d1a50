pub mod batches;
pub mod health;
pub mod observability;
pub mod runs;
pub mod schedules;
pub mod templates;
pub mod tokens;
pub mod workspaces;

pub mod health;
pub mod runs;
pub mod templates;
pub mod workspaces;

pub mod health;
pub mod templates;
pub mod workspaces;

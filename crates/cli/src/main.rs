//! `prompter`: the one binary. Thin on purpose: parse the command line, then hand over to
//! the library crates.

mod commands;
mod settings;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = settings::Cli::parse();
    commands::run(cli)
}

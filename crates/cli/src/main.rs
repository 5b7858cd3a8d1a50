//! `prompter`: the one binary. Thin on purpose: parse the command line, then hand over to
//! the library crates.

mod batch;
mod commands;
mod hygiene;
mod settings;

use clap::Parser;

/// mimalloc: request handling allocates many small JSON values; measured faster than the system
/// allocator under load (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = settings::Cli::parse();
    commands::run(cli)
}

//! The `quickstep` command-line tool.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    quickstep::cli::main_with(quickstep::cli::Cli::parse())
}

//! The `ehrgate` binary: parse the command line, run, map the result to an
//! exit code. All logic lives in the library so it can be tested.

use std::process::ExitCode;

use clap::Parser;
use ehrgate::cli::{exit, Cli};

/// mimalloc instead of glibc malloc: the proxy allocates and frees many
/// small buffers per request across threads, where glibc's arenas showed
/// up at about 5 % of CPU in profiles (bench/proxy).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.run() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("ehrgate: {err:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}

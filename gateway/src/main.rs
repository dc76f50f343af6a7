//! The `ehrgate` binary: parse the command line, run, map the result to an
//! exit code. All logic lives in the library so it can be tested.

use std::process::ExitCode;

use clap::Parser;
use ehrgate::cli::{exit, Cli};

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

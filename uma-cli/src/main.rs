//! `uma`: curl for UMA 2.0-protected APIs, and `uma demo`, a walk through the UMA flows against an
//! embedded authorization server and resource server.
//!
//! The interface is specified in issue 6; see `uma --help`. Errors are one line on stderr; the exit
//! status says what kind of failure it was (see [`output`]).

#![forbid(unsafe_code)]
// rust-version 1.89 (File::lock) lets clippy suggest let chains all over code written for 1.85; new
// code may use them, old code is not rewritten for it.
#![allow(clippy::collapsible_if)]

mod args;
mod cache_file;
mod challenge_cmd;
mod demo;
mod discover;
mod fetch;
mod output;
mod prompt;
mod redact;
mod serve;
mod tls;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use output::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Challenge(a) => challenge_cmd::run(a),
        Command::Discover(a) => discover::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Serve(a) => serve::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Reported(code)) => ExitCode::from(code),
        Err(e) => {
            // Ticket values a server echoed back are scrubbed even here.
            eprintln!("uma: {}", redact::Redactor::default().scrub(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

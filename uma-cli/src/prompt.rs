//! Asking for a password on the terminal, without echo.
//!
//! Only when standard input is a terminal: scripts, pipes and tests never wait for a prompt. Echo is
//! turned off with `stty` (no unsafe code in this crate), and back on before the answer is used.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use crate::output::CliError;

/// The password typed after `prompt`, `None` when there is no terminal to ask on.
pub fn password(prompt: &str) -> Result<Option<String>, CliError> {
    if !std::io::stdin().is_terminal() || !cfg!(unix) {
        return Ok(None);
    }
    // Without a way to turn echo off, do not ask: the password would show on the screen.
    if !stty("-echo") {
        return Ok(None);
    }
    let failed = |e: std::io::Error| CliError::Usage(format!("cannot read the password: {e}"));
    let mut err = std::io::stderr().lock();
    let mut line = String::new();
    let read = write!(err, "{prompt}")
        .and_then(|()| err.flush())
        .and_then(|()| std::io::stdin().lock().read_line(&mut line));
    stty("echo");
    // The newline the user typed was not echoed.
    writeln!(err).map_err(failed)?;
    read.map_err(failed)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    Ok(Some(password))
}

/// Runs `stty SETTING` on the terminal that is standard input; whether it worked.
fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

//! Exit codes, one-line errors and printing helpers shared by the commands.

use std::io::Write;

/// A final response was not 2xx.
pub const EXIT_HTTP_STATUS: u8 = 1;
/// Bad flags or input (clap uses 2 for its own usage errors too).
pub const EXIT_USAGE: u8 = 2;
/// The UMA flow failed: denied, untrusted AS, interaction needed, max flows, discovery or token error.
pub const EXIT_UMA: u8 = 3;
/// No response: connection error or timeout.
pub const EXIT_TRANSPORT: u8 = 4;
/// Standard output was closed by its reader (`uma serve | head`): 128 + SIGPIPE, the status a shell shows
/// for a program that signal ended, which is what happens to C programs in the same place.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Why a command failed. Each message is one line and never contains a secret: it is built from
/// uma-core errors (secret-free by construction), URLs without their query, and fixed text.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Invalid flags or input.
    #[error("{0}")]
    Usage(String),
    /// The final response was not 2xx.
    #[error("{0}")]
    Status(String),
    /// The UMA flow (or discovery) failed.
    #[error("{0}")]
    Uma(String),
    /// No response.
    #[error("{0}")]
    Transport(String),
    /// The command already printed its errors; exit with this status.
    #[error("(reported)")]
    Reported(u8),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Status(_) => EXIT_HTTP_STATUS,
            CliError::Uma(_) => EXIT_UMA,
            CliError::Transport(_) => EXIT_TRANSPORT,
            CliError::Reported(code) => *code,
        }
    }
}

/// `scheme://host[:port]/path` of a URL: no userinfo (`user:password@`) and no query (which may carry a
/// token on a badly built server).
pub fn url_without_query(uri: &http::Uri) -> String {
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.host().unwrap_or(""),
        uri.path()
    )
}

/// Prints a JSON value on one line of stdout.
pub fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}").map_err(write_failed)
}

/// What a failed write to stdout becomes. A reader that went away (`uma serve | head`) ends the process
/// at once, quietly, with [`EXIT_BROKEN_PIPE`], as SIGPIPE would (Rust ignores that signal, and `println!`
/// would panic instead); any other failure is a one-line error.
pub fn write_failed(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_BROKEN_PIPE));
    }
    CliError::Usage(format!("cannot write output: {e}"))
}

/// Writes formatted text to stdout: `print!` without its panic (see [`write_failed`]); another write
/// failure ends the process with the one-line error and [`EXIT_USAGE`].
pub fn print_out(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        let e = write_failed(e);
        eprintln!("uma: {e}");
        std::process::exit(i32::from(e.exit_code()));
    }
}

/// `println!` for the commands' output, ending quietly when the reader goes away (see [`print_out`]).
macro_rules! outln {
    () => {
        $crate::output::print_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_drops_query() {
        let uri: http::Uri = "https://rs.example/x?ticket=t".parse().unwrap();
        assert_eq!(url_without_query(&uri), "https://rs.example/x");
    }
}

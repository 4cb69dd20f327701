//! `-w FORMAT`: curl's write-out, for the variables a script reaches for first.

use std::cell::RefCell;
use std::time::Duration;

use crate::output::CliError;

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// The variables `-w` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    HttpCode,
    SizeDownload,
    UrlEffective,
    NumRedirects,
    TimeTotal,
    ExitCode,
}

const VARIABLES: [(&str, Var); 7] = [
    ("http_code", Var::HttpCode),
    ("response_code", Var::HttpCode),
    ("size_download", Var::SizeDownload),
    ("url_effective", Var::UrlEffective),
    ("num_redirects", Var::NumRedirects),
    ("time_total", Var::TimeTotal),
    ("exitcode", Var::ExitCode),
];

/// A `-w` format, checked before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format(Vec<Piece>);

/// What one fetch gives the format.
#[derive(Debug, Default)]
pub struct Facts {
    /// The final status, if there was a response.
    pub status: Option<u16>,
    /// Body bytes written.
    pub size: u64,
    /// The last URL asked, without query or user info.
    pub url: String,
    /// Redirects followed.
    pub redirects: u32,
    /// Time from the request to the end of its output.
    pub elapsed: Duration,
    /// The exit status this fetch alone would give.
    pub exit_code: u8,
}

impl Format {
    /// Parses `%{name}`, `%%` and the escapes `\n`, `\r`, `\t`, `\\`. An unknown variable is a usage
    /// error (curl warns and prints nothing for it); any other `%` or `\` stays as it is.
    pub fn parse(format: &str) -> Result<Format, CliError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(c) = rest.chars().next() {
            let after = &rest[c.len_utf8()..];
            match c {
                '%' if after.starts_with('%') => {
                    text.push('%');
                    rest = &after[1..];
                }
                '%' if after.starts_with('{') => {
                    let Some(end) = after.find('}') else {
                        return Err(CliError::Usage("-w: a %{ without its closing }".to_owned()));
                    };
                    let name = &after[1..end];
                    let var = VARIABLES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| {
                            let known: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
                            CliError::Usage(format!(
                                "-w: unknown variable %{{{name}}} (known: {})",
                                known.join(", ")
                            ))
                        })?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(var));
                    rest = &after[end + 1..];
                }
                '\\' => {
                    let escaped = match after.chars().next() {
                        Some('n') => Some('\n'),
                        Some('r') => Some('\r'),
                        Some('t') => Some('\t'),
                        Some('\\') => Some('\\'),
                        _ => None,
                    };
                    match escaped {
                        Some(e) => {
                            text.push(e);
                            rest = &after[1..];
                        }
                        None => {
                            text.push('\\');
                            rest = after;
                        }
                    }
                }
                other => {
                    text.push(other);
                    rest = after;
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format(pieces))
    }

    /// The text for one fetch.
    pub fn render(&self, facts: &Facts) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(Var::HttpCode) => {
                    out.push_str(&format!("{:03}", facts.status.unwrap_or(0)));
                }
                Piece::Var(Var::SizeDownload) => out.push_str(&facts.size.to_string()),
                Piece::Var(Var::UrlEffective) => out.push_str(&facts.url),
                Piece::Var(Var::NumRedirects) => out.push_str(&facts.redirects.to_string()),
                Piece::Var(Var::TimeTotal) => {
                    out.push_str(&format!("{:.6}", facts.elapsed.as_secs_f64()));
                }
                Piece::Var(Var::ExitCode) => out.push_str(&facts.exit_code.to_string()),
            }
        }
        out
    }
}

/// The resource exchanges of the fetch running on this thread, as the observer reports them (a flow
/// sends its resource requests on the thread that runs it).
#[derive(Debug, Default)]
struct Trail {
    url: Option<String>,
    last_status: Option<u16>,
    redirects: u32,
}

thread_local! {
    static TRAIL: RefCell<Trail> = RefCell::new(Trail::default());
}

/// Starts a new fetch on this thread.
pub fn reset_trail() {
    TRAIL.with(|t| *t.borrow_mut() = Trail::default());
}

/// Records one resource-server exchange (`url` without query or user info).
pub fn record_resource(url: &str, status: Option<u16>) {
    TRAIL.with(|t| {
        let mut t = t.borrow_mut();
        // A request after a 3xx answer is that redirect followed.
        if t.last_status.is_some_and(|s| (300..400).contains(&s)) {
            t.redirects += 1;
        }
        t.url = Some(url.to_owned());
        t.last_status = status;
    });
}

/// The last URL asked on this thread since [`reset_trail`], and the redirects followed.
pub fn trail() -> (Option<String>, u32) {
    TRAIL.with(|t| {
        let t = t.borrow();
        (t.url.clone(), t.redirects)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_escapes() {
        let f = Format::parse("%{http_code} %{size_download}\\t%{url_effective}%% \\x\\n").unwrap();
        let facts = Facts {
            status: Some(200),
            size: 12,
            url: "http://rs/a".into(),
            ..Facts::default()
        };
        assert_eq!(f.render(&facts), "200 12\thttp://rs/a% \\x\n");
        let none = Format::parse("%{response_code}|%{num_redirects}|%{exitcode}").unwrap();
        let facts = Facts {
            exit_code: 4,
            ..Facts::default()
        };
        assert_eq!(none.render(&facts), "000|0|4");
        assert!(Format::parse("%{nope}").is_err());
        assert!(Format::parse("%{http_code").is_err());
        assert_eq!(
            Format::parse("50% {x}").unwrap().render(&Facts::default()),
            "50% {x}"
        );
    }
}

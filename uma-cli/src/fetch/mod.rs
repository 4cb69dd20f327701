//! `uma fetch`: curl for UMA-protected APIs. Every URL goes through one shared [`uma_ureq::UmaClient`],
//! so an RPT obtained for the first request serves the next ones; `--repeat N --concurrency C` runs the
//! list N times over C threads sharing that one agent.

pub mod report;
mod setup;
mod write_out;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::args::{FetchArgs, Grant};
use crate::output::{CliError, url_without_query};
use crate::redact::Redactor;
use report::Tally;

/// One URL of the list, ready to be turned into a request as often as `--repeat` says.
struct Template {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: std::sync::Arc<Body>,
}

/// The request body, as the flags give it.
enum Body {
    /// Bytes in memory (literal text, `-d`, or standard input read whole for several fetches),
    /// replayed after a challenge.
    Bytes(Vec<u8>),
    /// `--data-binary @FILE`, `--json @FILE`: streamed, opened again for each send.
    File(std::path::PathBuf),
    /// `@-` for a single fetch: standard input, read once (buffered for a retry up to
    /// `Options::max_replay_body`, else sent once with `Expect: 100-continue`).
    Stdin,
}

/// curl sends `Expect: 100-continue` with bodies over 1 MiB: a server that answers (here, with a UMA
/// challenge) before reading leaves the body unsent until the retry.
const EXPECT_OVER: u64 = 1024 * 1024;

impl Template {
    fn send(
        &self,
        agent: &uma_ureq::UmaClient,
    ) -> Result<http::Response<ureq::Body>, uma_ureq::Error> {
        let builder = || {
            let mut builder = agent.request(self.method.clone(), &self.uri.to_string());
            for (name, value) in &self.headers {
                builder = builder.header(name, value);
            }
            builder
        };
        let bytes = match self.body.as_ref() {
            Body::Bytes(bytes) => bytes.clone(),
            Body::File(path) => {
                let mut builder = builder();
                let big = std::fs::metadata(path).is_ok_and(|m| m.len() > EXPECT_OVER);
                if big && !self.headers.contains_key(http::header::EXPECT) {
                    builder = builder.header(http::header::EXPECT, "100-continue");
                }
                return builder.body_file(path).send();
            }
            Body::Stdin => return builder().body_reader(std::io::stdin()).send(),
        };
        let mut request = http::Request::new(bytes);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        agent.send(request)
    }

    fn context(&self) -> String {
        format!("{} {}", self.method, url_without_query(&self.uri))
    }
}

/// What the workers share.
struct Results {
    tally: Tally,
    /// The failure of the earliest fetch (by position in the list) that failed: it sets the exit code.
    first_failure: Option<(usize, CliError)>,
    /// Error lines already printed (a repeated failure is reported once).
    printed: HashSet<String>,
}

/// Runs the command. Errors are printed as they happen; the returned error only carries the exit code.
pub fn run(args: &FetchArgs) -> Result<(), CliError> {
    let started = Instant::now();
    if args.insecure {
        return Err(CliError::Usage(
            "-k/--insecure is refused: an authorization tool does not skip TLS certificate checks \
             (trust the server's CA with --cacert FILE)"
                .to_owned(),
        ));
    }
    let templates = templates(args)?;
    let jobs = templates.len() * args.repeat as usize;
    let output = Output::from_args(args, jobs)?;
    let login = setup::login_input(args)?;
    let redactor = Redactor::new([
        args.client_secret.as_deref(),
        args.password.as_deref(),
        login.password.as_deref(),
        args.access_token.as_deref(),
        args.claim_token.as_deref(),
    ]);
    let exchanges = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let session = match setup::session(args, &login, &redactor, std::sync::Arc::clone(&exchanges)) {
        Ok(s) => s,
        Err(e) => {
            let code = report_now(&redactor, &e, args.show_errors());
            if args.stats {
                // Nothing was fetched: every fetch ended without a response.
                let mut tally = Tally::default();
                (0..jobs).for_each(|_| tally.add(None));
                let seen = exchanges.load(Ordering::Relaxed);
                eprintln!("{}", tally.stats_json(seen, started.elapsed()));
            }
            return Err(CliError::Reported(code));
        }
    };
    let workers = (args.concurrency as usize).min(jobs).max(1);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Results {
        tally: Tally::default(),
        first_failure: None,
        printed: HashSet::new(),
    });

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= jobs {
                        break;
                    }
                    let template = &templates[job % templates.len()];
                    let (status, failure) = fetch_one(&session.agent, template, args, &output);
                    let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                    r.tally.add(status);
                    if let Some(failure) = failure {
                        let line = redactor.scrub(&failure.to_string());
                        if r.printed.insert(line.clone()) && args.show_errors() {
                            eprintln!("uma: {line}");
                        }
                        if r.first_failure.as_ref().is_none_or(|(j, _)| job < *j) {
                            r.first_failure = Some((job, failure));
                        }
                    }
                }
            });
        }
    });

    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some((crate::cache_file::Cache::File(path), issuers)) = &session.cache {
        let origins: Vec<String> = templates
            .iter()
            .map(|t| {
                let request = http::Request::get(t.uri.clone()).body(Vec::new());
                request.map_or_else(
                    |_| String::new(),
                    |r| uma_core::Flow::new(r).origin().to_owned(),
                )
            })
            .collect();
        let saved = session
            .agent
            .with_core(|c| crate::cache_file::save(path, c, issuers, &origins));
        if let (Err(why), true) = (saved, args.show_errors()) {
            eprintln!(
                "uma: warning: the cache file {} was not written: {why}",
                path.display()
            );
        }
    }
    if args.stats {
        let exchanges = session.exchanges.load(Ordering::Relaxed);
        eprintln!("{}", results.tally.stats_json(exchanges, started.elapsed()));
    }
    match results.first_failure {
        Some((_, e)) => Err(CliError::Reported(e.exit_code())),
        None => Ok(()),
    }
}

/// Prints `e` (scrubbed, unless `-s`) and returns its exit code.
fn report_now(redactor: &Redactor, e: &CliError, show: bool) -> u8 {
    if show {
        eprintln!("uma: {}", redactor.scrub(&e.to_string()));
    }
    e.exit_code()
}

/// Where responses go, and what follows them.
struct Output {
    /// `-o FILE` (not `-`).
    file: Option<std::path::PathBuf>,
    /// `-w FORMAT`.
    write_out: Option<write_out::Format>,
}

impl Output {
    fn from_args(args: &FetchArgs, jobs: usize) -> Result<Output, CliError> {
        let file = args.output.clone().filter(|p| p.as_os_str() != "-");
        if file.is_some() && jobs > 1 {
            return Err(CliError::Usage(
                "-o FILE takes exactly one fetch: give one URL and no --repeat (or use --no-body)"
                    .to_owned(),
            ));
        }
        let write_out = args
            .write_out
            .as_deref()
            .map(write_out::Format::parse)
            .transpose()?;
        Ok(Output { file, write_out })
    }
}

/// One fetch: streams the final response to standard output (or `-o FILE`), then the `-w` text; returns
/// its status and the failure, if any.
fn fetch_one(
    agent: &uma_ureq::UmaClient,
    template: &Template,
    args: &FetchArgs,
    output: &Output,
) -> (Option<u16>, Option<CliError>) {
    let started = Instant::now();
    write_out::reset_trail();
    let context = template.context();
    let (response, mut failure) = match template.send(agent) {
        Ok(response) => {
            let failure = (!response.status().is_success()).then(|| {
                let sent_token = args.access_token.is_some() || args.grant() != Grant::None;
                let hint = report::bearer_hint(&response, sent_token)
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default();
                CliError::Status(format!(
                    "{context}: HTTP {} {}{hint}",
                    response.status().as_u16(),
                    response.status().canonical_reason().unwrap_or("")
                ))
            });
            let (head, body) = response.into_parts();
            (
                Some((head, Box::new(body.into_reader()) as Box<dyn std::io::Read>)),
                failure,
            )
        }
        Err(e) => {
            let failure = report::describe(&context, &e);
            let response = e.into_response().map(|r| {
                let (head, body) = r.into_parts();
                (
                    head,
                    Box::new(std::io::Cursor::new(body)) as Box<dyn std::io::Read>,
                )
            });
            (response, Some(failure))
        }
    };
    let status = response.as_ref().map(|(head, _)| head.status.as_u16());
    // One fetch's response and write-out stay together on stdout whatever the other workers print (the
    // lock is reentrant: the writes below take it again).
    let _stdout = std::io::stdout().lock();
    let mut size = 0;
    // -f: an HTTP error prints nothing of the response (and creates no file).
    let suppressed = args.fail && status.is_some_and(|s| s >= 400);
    if let (Some((head, mut body)), false) = (response, suppressed) {
        match write_response(&head, &mut body, args, output) {
            Ok(n) => size = n,
            Err((n, e)) => {
                size = n;
                failure = Some(e.into_cli(&context, output.file.as_deref()));
            }
        }
    }
    if let Some(format) = &output.write_out {
        let (url, redirects) = write_out::trail();
        let facts = write_out::Facts {
            status,
            size,
            url: url.unwrap_or_else(|| url_without_query(&template.uri)),
            redirects,
            elapsed: started.elapsed(),
            exit_code: failure.as_ref().map_or(0, CliError::exit_code),
        };
        let text = format.render(&facts);
        let mut out = std::io::stdout().lock();
        let written = std::io::Write::write_all(&mut out, text.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut out));
        if let Err(e) = written {
            return (status, Some(crate::output::write_failed(e)));
        }
    }
    (status, failure)
}

/// Where printing a response failed, and how many body bytes were written before.
enum WriteFailure {
    Create(std::io::Error),
    Print(report::PrintError),
}

impl WriteFailure {
    fn into_cli(self, context: &str, file: Option<&std::path::Path>) -> CliError {
        let cannot_write = |e: std::io::Error| match file {
            Some(path) => CliError::Usage(format!("-o: cannot write {}: {e}", path.display())),
            None => crate::output::write_failed(e),
        };
        match self {
            WriteFailure::Create(e) => match file {
                Some(path) => CliError::Usage(format!("-o: cannot create {}: {e}", path.display())),
                None => crate::output::write_failed(e),
            },
            WriteFailure::Print(report::PrintError::Write(e)) => cannot_write(e),
            WriteFailure::Print(report::PrintError::Read(e)) => {
                CliError::Transport(format!("{context}: the response body ended early: {e}"))
            }
        }
    }
}

/// Streams the response to standard output or the `-o` file (created now).
fn write_response(
    head: &http::response::Parts,
    body: &mut dyn std::io::Read,
    args: &FetchArgs,
    output: &Output,
) -> Result<u64, (u64, WriteFailure)> {
    let include = args.include || args.head;
    let silent = args.no_body || args.head;
    let mut sink: Box<dyn std::io::Write> = match &output.file {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| (0, WriteFailure::Create(e)))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut written = 0;
    report::print_response(head, body, &mut sink, include, silent, &mut written)
        .map_err(|e| (written, WriteFailure::Print(e)))
}

/// Reads `@FILE` (`@-` is standard input) whole, or takes the text itself, for `flag`.
fn data_source(flag: &str, value: &str) -> Result<Vec<u8>, CliError> {
    let Some(path) = value.strip_prefix('@') else {
        return Ok(value.as_bytes().to_vec());
    };
    let read = if path == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| CliError::Usage(format!("{flag}: cannot read {path}: {e}")))
}

/// `--data-binary` and `--json`: a regular file streams (opened again for each send), standard input
/// is read once for a single fetch (whole for several), anything else is read whole.
fn streamed_source(flag: &str, value: &str, fetches: usize) -> Result<Body, CliError> {
    match value.strip_prefix('@') {
        Some("-") if fetches == 1 => Ok(Body::Stdin),
        Some(path) if path != "-" => {
            let cannot =
                |e: std::io::Error| CliError::Usage(format!("{flag}: cannot read {path}: {e}"));
            let file = std::fs::File::open(path).map_err(cannot)?;
            if file.metadata().map_err(cannot)?.is_file() {
                Ok(Body::File(path.into()))
            } else {
                // A pipe or a device has no length to announce and cannot be opened again.
                data_source(flag, value).map(Body::Bytes)
            }
        }
        _ => data_source(flag, value).map(Body::Bytes),
    }
}

/// The request body `-d`, `--data-binary` or `--json` describe, with curl's semantics: `-d @FILE` drops
/// carriage returns and newlines from the file (so it is read whole, as curl does) and repeated `-d` are
/// joined with `&`; the other two send the bytes as they are, streaming a file.
fn body(args: &FetchArgs, fetches: usize) -> Result<Option<Body>, CliError> {
    if let Some(data) = &args.data_binary {
        return streamed_source("--data-binary", data, fetches).map(Some);
    }
    if let Some(json) = &args.json {
        return streamed_source("--json", json, fetches).map(Some);
    }
    if args.data.is_empty() {
        return Ok(None);
    }
    let mut body = Vec::new();
    for (i, data) in args.data.iter().enumerate() {
        if i > 0 {
            body.push(b'&');
        }
        let mut part = data_source("-d", data)?;
        if data.starts_with('@') {
            part.retain(|b| !matches!(b, b'\r' | b'\n'));
        }
        body.extend(part);
    }
    Ok(Some(Body::Bytes(body)))
}

/// The request templates: method, URL, headers and body checked once, before anything is sent.
fn templates(args: &FetchArgs) -> Result<Vec<Template>, CliError> {
    let body = body(args, args.urls.len() * args.repeat as usize)?;
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.as_bytes())
            .map_err(|_| CliError::Usage(format!("-X: invalid method {m:?}")))?,
        None if args.head => Method::HEAD,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut headers = HeaderMap::new();
    for h in &args.headers {
        let (name, value) = parse_header(h)?;
        headers.append(name, value);
    }
    if args.json.is_some() {
        let json = HeaderValue::from_static("application/json");
        for name in [http::header::CONTENT_TYPE, http::header::ACCEPT] {
            headers.entry(name).or_insert(json.clone());
        }
    } else if !args.data.is_empty() || args.data_binary.is_some() {
        // curl's default for -d and --data-binary; -H Content-Type replaces it.
        headers
            .entry(http::header::CONTENT_TYPE)
            .or_insert(HeaderValue::from_static(
                "application/x-www-form-urlencoded",
            ));
    }
    let body = std::sync::Arc::new(body.unwrap_or(Body::Bytes(Vec::new())));
    args.urls
        .iter()
        .map(|url| {
            let uri: Uri = url
                .parse()
                .map_err(|_| CliError::Usage(format!("invalid URL {url:?}")))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
                return Err(CliError::Usage(format!(
                    "not an absolute http(s) URL: {url:?}"
                )));
            }
            Ok(Template {
                method: method.clone(),
                uri,
                headers: headers.clone(),
                body: std::sync::Arc::clone(&body),
            })
        })
        .collect()
}

/// `Name: value` (curl `-H`).
fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    // The value is not echoed: it may be a credential.
    let bad =
        || CliError::Usage("-H: expected 'Name: value' with a valid name and value".to_owned());
    let (name, value) = h.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing() {
        let (n, v) = parse_header("X-Thing:  a b ").unwrap();
        assert_eq!(n.as_str(), "x-thing");
        assert_eq!(v, "a b");
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("x: a\nb").is_err());
    }
}

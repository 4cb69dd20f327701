//! The machinery of `uma demo`: an observer that records every exchange, numbered steps that print
//! those exchanges with a word on what each one is, and checks that each step did what it claims.

use crate::output::outln;
use std::sync::{Arc, Mutex};

use uma_core::RequestKind;
use uma_core::trace::ExchangeEvent;
use uma_ureq::{Options, UmaClient};

use crate::output::CliError;
use crate::redact::Redactor;

/// Collects the exchanges of the current step.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<ExchangeEvent>>>,
}

impl Recorder {
    /// Agent options whose observer records into this recorder.
    pub fn options(&self) -> Options {
        let events = Arc::clone(&self.events);
        Options::default()
            .with_exchange_timeout(Some(std::time::Duration::from_secs(5)))
            .with_request_timeout(Some(std::time::Duration::from_secs(10)))
            .with_observer(move |e: &ExchangeEvent| {
                events
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(e.clone());
            })
    }

    /// The exchanges recorded since the last call.
    pub fn take(&self) -> Vec<ExchangeEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What a step must end with.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// A 2xx response after exactly this many round trips (`None`: any number).
    Success(Option<usize>),
    /// The AS refuses (the error is explained, not hidden).
    Denied,
}

/// One dialect's walk: numbered steps and the round trips of each, for the summary.
pub struct Walk {
    /// Short name for the summary line.
    pub name: &'static str,
    recorder: Recorder,
    redactor: Redactor,
    step: usize,
    /// `(step label, round trips)`.
    pub trips: Vec<(&'static str, usize)>,
}

impl Walk {
    /// A walk whose agents record into `recorder`.
    pub fn new(name: &'static str, recorder: Recorder, redactor: Redactor) -> Self {
        Self {
            name,
            recorder,
            redactor,
            step: 0,
            trips: Vec::new(),
        }
    }

    /// Forgets exchanges made outside a step (setup such as a login).
    pub fn discard(&self) {
        self.recorder.take();
    }

    /// Runs an initial-authentication call as the next numbered step and prints its trace.
    pub fn login(
        &mut self,
        title: &str,
        login: impl FnOnce() -> Result<(), uma_ureq::Error>,
    ) -> Result<(), CliError> {
        self.step += 1;
        outln!("  [{}] {title}", self.step);
        let result = login();
        let n = self.print_events("login");
        self.trips.push(("login", n));
        result.map_err(|e| {
            CliError::Uma(format!(
                "demo step {} ({}, login) failed: {}",
                self.step,
                self.name,
                self.redactor.scrub(&e.to_string())
            ))
        })?;
        outln!("      => logged in, {n} round trip(s)");
        Ok(())
    }

    /// Prints the exchanges recorded since the last call; returns how many there were.
    fn print_events(&self, label: &str) -> usize {
        let events = self.recorder.take();
        for (i, event) in events.iter().enumerate() {
            outln!(
                "      {}. {:<32} {}",
                i + 1,
                annotate(event, label),
                self.redactor.scrub(&event.line())
            );
        }
        events.len()
    }

    /// Runs `request` through `agent` as the next numbered step and prints its trace.
    pub fn step(
        &mut self,
        label: &'static str,
        title: &str,
        agent: &UmaClient,
        request: http::Request<Vec<u8>>,
        expect: Expect,
    ) -> Result<(), CliError> {
        self.step += 1;
        outln!("  [{}] {title}", self.step);
        let result = agent.send(request);
        let n = self.print_events(label);
        self.trips.push((label, n));
        let fail = |why: String| {
            CliError::Uma(format!(
                "demo step {} ({}, {}) failed: {}",
                self.step,
                self.name,
                label,
                self.redactor.scrub(&why)
            ))
        };
        match (expect, result) {
            (Expect::Success(want), Ok(mut response)) if response.status().is_success() => {
                if let Some(want) = want.filter(|w| *w != n) {
                    return Err(fail(format!("expected {want} round trip(s), saw {n}")));
                }
                let bytes =
                    std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink())
                        .map_err(|e| fail(format!("the body ended early: {e}")))?;
                outln!(
                    "      => {} with {bytes} bytes, {n} round trip(s)",
                    response.status()
                );
                Ok(())
            }
            (Expect::Success(_), Ok(response)) => {
                Err(fail(format!("final status {}", response.status())))
            }
            (Expect::Denied, Err(e)) if e.is_denied() => {
                let why = crate::fetch::report::describe("", &e).to_string();
                outln!(
                    "      => refused, as it should be{}; {n} round trip(s)",
                    self.redactor.scrub(&why)
                );
                Ok(())
            }
            (Expect::Denied, Ok(response)) => Err(fail(format!(
                "expected a denial, got {}",
                response.status()
            ))),
            (_, Err(e)) => Err(fail(e.to_string())),
        }
    }
}

/// A few words on what an exchange is, from its kind and status.
fn annotate(e: &ExchangeEvent, label: &str) -> &'static str {
    match (e.kind, e.status) {
        (RequestKind::Resource, Some(401 | 403)) => "RS challenges (UMA ticket)",
        (RequestKind::Resource, Some(s)) if (200..300).contains(&s) => "RS serves the resource",
        (RequestKind::Resource, _) => "RS answers",
        (RequestKind::Discovery, _) => "AS discovery",
        (RequestKind::Token, Some(200)) if label == "refresh" => "RPT refreshed",
        (RequestKind::Token, Some(200)) if label == "login" => "password grant: access token",
        (RequestKind::Token, Some(200)) if label == "upgrade" => "RPT upgraded (ticket + old RPT)",
        (RequestKind::Token, Some(200)) => "ticket exchanged for an RPT",
        (RequestKind::Token, Some(_)) if label == "need_info" => "AS: need_info (claims)",
        (RequestKind::Token, Some(_)) if label == "approval" => "AS: request_submitted",
        (RequestKind::Token, Some(_)) => "AS refuses",
        (RequestKind::Token, None) => "token endpoint unreachable",
        _ => "exchange",
    }
}

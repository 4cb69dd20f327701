//! The `tracing` spans of this adapter (feature `tracing`, on by default), as `uma-ureq` emits them:
//! one `uma.request` span per driven machine (an application request, a login, a protection call) and
//! one `uma.exchange` span per HTTP exchange inside it. Names, fields and steps are
//! [`uma_core::trace::spans`]'; this module only puts them around the futures of the drive loops.
//! Without the feature every type here is empty and every call a plain `.await`.
//!
//! The request span is made before the machine starts and is filled from the first resource request
//! the core sends (the application's request as first sent), so the drive loops need no other hook.

/// A short secret-free name of an error: the `error.type` of an exchange span, the `uma.outcome` of a
/// request span.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) trait ErrorKind {
    fn kind_name(&self) -> &'static str;
}

impl ErrorKind for crate::Error {
    fn kind_name(&self) -> &'static str {
        match self {
            crate::Error::Uma(failure) => failure.error.kind_name(),
            crate::Error::Transport { .. } => "transport",
            crate::Error::Timeout { .. } => "timeout",
            crate::Error::BodyTooLarge { .. } => "body_too_large",
            crate::Error::Body(_) => "request_body",
            crate::Error::InvalidRequest(_) => "invalid_request",
            crate::Error::Tls(_) => "tls",
        }
    }
}

impl ErrorKind for crate::protection::Error {
    fn kind_name(&self) -> &'static str {
        use crate::protection::Error;
        match self {
            Error::Discovery(_) => "discovery",
            Error::Protection(_) => "protection",
            Error::PepResource(_) => "pep_resource",
            Error::Pep(_) => "pep",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::BodyTooLarge { .. } => "body_too_large",
        }
    }
}

#[cfg(feature = "tracing")]
mod imp {
    use std::future::Future;
    use std::sync::{Mutex, PoisonError};

    use tracing::{Instrument, Span};
    use uma_core::trace::{StepCounter, UmaStep, spans};
    use uma_core::{Outgoing, RequestKind};

    use super::ErrorKind;

    /// The spans of one driven machine.
    pub(crate) struct Trace {
        span: Span,
        state: Mutex<State>,
    }

    #[derive(Default)]
    struct State {
        counter: StepCounter,
        target_recorded: bool,
        /// The status of the last resource answer: the application's, when the machine succeeds.
        resource_status: Option<u16>,
    }

    impl Trace {
        pub(crate) fn new() -> Self {
            Self {
                span: spans::request(None),
                state: Mutex::new(State::default()),
            }
        }

        fn state(&self) -> std::sync::MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Runs `machine` (the drive loop) inside the request span and records how it ended.
        pub(crate) async fn request<T, E: ErrorKind>(
            &self,
            machine: impl Future<Output = Result<T, E>>,
        ) -> Result<T, E> {
            let result = machine.instrument(self.span.clone()).await;
            match &result {
                Ok(_) => {
                    if let Some(status) = self.state().resource_status {
                        spans::record_status(&self.span, status);
                    }
                    spans::record_outcome(&self.span, "ok");
                }
                Err(error) => spans::record_outcome(&self.span, error.kind_name()),
            }
            result
        }

        /// The span of the exchange that sends `out`, a child of the request span.
        pub(crate) fn exchange(&self, out: &Outgoing) -> Exchange<'_> {
            let mut state = self.state();
            let resource = out.kind == RequestKind::Resource;
            if resource && !state.target_recorded {
                state.target_recorded = true;
                spans::record_target(&self.span, out.request.method(), out.request.uri());
            }
            let span = self
                .span
                .in_scope(|| spans::exchange(out, &mut state.counter));
            Exchange {
                trace: self,
                span,
                resource,
            }
        }

        /// The span of an exchange no machine built (a protection handle's discovery at start-up).
        pub(crate) fn standalone<B>(
            &self,
            step: UmaStep,
            request: &http::Request<B>,
        ) -> Exchange<'_> {
            let span = self
                .span
                .in_scope(|| spans::exchange_of(step, None, request));
            Exchange {
                trace: self,
                span,
                resource: false,
            }
        }
    }

    /// One exchange's span.
    pub(crate) struct Exchange<'a> {
        trace: &'a Trace,
        span: Span,
        resource: bool,
    }

    impl Exchange<'_> {
        /// Runs the exchange inside its span and records its status, or why it failed.
        pub(crate) async fn run<B, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<http::Response<B>, E>>,
        ) -> Result<http::Response<B>, E> {
            let result = exchange.instrument(self.span.clone()).await;
            match &result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    spans::record_status(&self.span, status);
                    if self.resource {
                        self.trace.state().resource_status = Some(status);
                    }
                }
                Err(error) => spans::record_error(&self.span, error.kind_name()),
            }
            result
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod imp {
    use std::future::Future;

    use uma_core::Outgoing;
    use uma_core::trace::UmaStep;

    use super::ErrorKind;

    pub(crate) struct Trace;

    impl Trace {
        pub(crate) fn new() -> Self {
            Trace
        }

        pub(crate) async fn request<T, E: ErrorKind>(
            &self,
            machine: impl Future<Output = Result<T, E>>,
        ) -> Result<T, E> {
            machine.await
        }

        pub(crate) fn exchange(&self, _: &Outgoing) -> Exchange<'_> {
            Exchange(std::marker::PhantomData)
        }

        pub(crate) fn standalone<B>(&self, _: UmaStep, _: &http::Request<B>) -> Exchange<'_> {
            Exchange(std::marker::PhantomData)
        }
    }

    pub(crate) struct Exchange<'a>(std::marker::PhantomData<&'a Trace>);

    impl Exchange<'_> {
        pub(crate) async fn run<B, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<http::Response<B>, E>>,
        ) -> Result<http::Response<B>, E> {
            exchange.await
        }
    }
}

pub(crate) use imp::Trace;

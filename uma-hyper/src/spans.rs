//! The `tracing` spans of the async adapters (feature `tracing`, on by default), as `uma-ureq` emits
//! them: one `uma.request` span per driven machine (an application request, a login, a protection
//! call) and one `uma.exchange` span per HTTP exchange inside it. Names, fields and steps are
//! `uma_core::trace::spans`'; this module only puts them around the futures of a drive loop, for
//! [`UmaClient`](crate::UmaClient), [`UmaLayer`](crate::UmaLayer), [`Protection`](crate::Protection)
//! and `uma-reqwest` (like [`crate::herd`]). Without the feature every type here is empty and every
//! call a plain `.await`.
//!
//! The request span is made before the machine starts and is filled from the first resource request
//! the core sends (the application's request as first sent), so a drive loop needs two hooks:
//!
//! ```
//! # async fn send(out: uma_hyper::uma_core::Outgoing) -> Result<http::Response<Vec<u8>>, uma_hyper::Error> {
//! #     Ok(http::Response::new(out.request.into_body())) // stands for the HTTP exchange
//! # }
//! # async fn drive(out: uma_hyper::uma_core::Outgoing) -> Result<(), uma_hyper::Error> {
//! use uma_hyper::spans::Trace;
//!
//! let trace = Trace::new();
//! let run = async {
//!     // For each `Step::Send(out)` of the machine:
//!     let span = trace.exchange(&out);
//!     let response = span.run(send(out)).await?;
//!     // … hand `response` to the machine, until it is done.
//!     Ok(())
//! };
//! trace.request(run).await
//! # }
//! ```

pub use uma_core::trace::{Answer, ErrorKind};

#[cfg(feature = "tracing")]
mod imp {
    use std::future::Future;
    use std::sync::{Mutex, PoisonError};

    use tracing::{Instrument, Span};
    use uma_core::trace::{StepCounter, UmaStep, spans};
    use uma_core::{Outgoing, RequestKind};

    use super::{Answer, ErrorKind};

    /// The spans of one driven machine: its `uma.request` span and the step counter of its exchanges.
    #[derive(Debug)]
    pub struct Trace {
        span: Span,
        state: Mutex<State>,
    }

    #[derive(Debug, Default)]
    struct State {
        counter: StepCounter,
        target_recorded: bool,
        /// The status of the last resource answer: the application's, when the machine succeeds.
        resource_status: Option<u16>,
    }

    impl Trace {
        /// A trace for a machine about to start: its request span, filled by the first resource
        /// request.
        pub fn new() -> Self {
            Self {
                span: spans::request(None),
                state: Mutex::new(State::default()),
            }
        }

        fn state(&self) -> std::sync::MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Runs `machine` (the drive loop) inside the request span and records how it ended.
        pub async fn request<T, E: ErrorKind>(
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
        pub fn exchange(&self, out: &Outgoing) -> Exchange<'_> {
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
        pub fn standalone<B>(&self, step: UmaStep, request: &http::Request<B>) -> Exchange<'_> {
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

    impl Default for Trace {
        fn default() -> Self {
            Self::new()
        }
    }

    /// One exchange's span.
    #[derive(Debug)]
    pub struct Exchange<'a> {
        trace: &'a Trace,
        span: Span,
        resource: bool,
    }

    impl Exchange<'_> {
        /// Runs the exchange inside its span and records its status, or why it failed.
        pub async fn run<R: Answer, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<R, E>>,
        ) -> Result<R, E> {
            self.run_with(exchange, R::status_code).await
        }

        /// [`Exchange::run`] for an answer type without [`Answer`] (one of another crate), its
        /// status read by `status`.
        pub async fn run_with<R, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<R, E>>,
            status: impl FnOnce(&R) -> u16,
        ) -> Result<R, E> {
            let result = exchange.instrument(self.span.clone()).await;
            match &result {
                Ok(response) => {
                    let status = status(response);
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

    use super::{Answer, ErrorKind};

    /// The spans of one driven machine (none: the `tracing` feature is off).
    #[derive(Debug, Default)]
    pub struct Trace;

    impl Trace {
        /// A trace for a machine about to start.
        pub fn new() -> Self {
            Trace
        }

        /// Runs `machine` (the drive loop).
        pub async fn request<T, E: ErrorKind>(
            &self,
            machine: impl Future<Output = Result<T, E>>,
        ) -> Result<T, E> {
            machine.await
        }

        /// The span of the exchange that sends an `Outgoing` (none).
        pub fn exchange(&self, _: &Outgoing) -> Exchange<'_> {
            Exchange(std::marker::PhantomData)
        }

        /// The span of an exchange no machine built (none).
        pub fn standalone<B>(&self, _: UmaStep, _: &http::Request<B>) -> Exchange<'_> {
            Exchange(std::marker::PhantomData)
        }
    }

    /// One exchange's span (none).
    #[derive(Debug)]
    pub struct Exchange<'a>(std::marker::PhantomData<&'a Trace>);

    impl Exchange<'_> {
        /// Runs the exchange.
        pub async fn run<R: Answer, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<R, E>>,
        ) -> Result<R, E> {
            exchange.await
        }

        /// Runs the exchange.
        pub async fn run_with<R, E: ErrorKind>(
            self,
            exchange: impl Future<Output = Result<R, E>>,
            _: impl FnOnce(&R) -> u16,
        ) -> Result<R, E> {
            exchange.await
        }
    }
}

pub use imp::{Exchange, Trace};

//! A request's time budget, as every driver applies it: one deadline for the whole request, folded into
//! each exchange, wait and park. Pure arithmetic over the `now` the driver passes.

use std::time::{Duration, Instant};

use super::{Deadline, Error};
use crate::{ExchangeKey, RequestKind};

impl ExchangeKey {
    /// The kind of request that runs this exchange: what a request parked on it waits for (the
    /// `during` of its timeout).
    pub fn request_kind(&self) -> RequestKind {
        match self {
            ExchangeKey::Discovery(_) => RequestKind::Discovery,
            _ => RequestKind::Token,
        }
    }
}

/// The deadline of one request ([`Options::request_timeout`](super::Options::request_timeout)).
///
/// ```
/// use std::time::{Duration, Instant};
/// use uma_core::driver::{Deadline, RequestDeadline};
///
/// let now = Instant::now();
/// let deadline = RequestDeadline::start(Some(Duration::from_secs(10)), now);
/// // An exchange gets the smaller of its own budget and what is left of the request's.
/// let later = now + Duration::from_secs(8);
/// assert_eq!(
///     deadline.exchange_budget(Some(Duration::from_secs(30)), later),
///     Some((Duration::from_secs(2), Deadline::Request))
/// );
/// // A wait the server asks for that would end past the deadline fails at once.
/// assert!(!deadline.allows_wait_until(now + Duration::from_secs(11)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestDeadline {
    at: Option<(Instant, Duration)>,
}

impl RequestDeadline {
    /// Starts the budget `request_timeout` at `now`. A deadline past what the clock can represent
    /// (`Duration::MAX` for "no limit") is no deadline.
    pub fn start(request_timeout: Option<Duration>, now: Instant) -> Self {
        Self {
            at: request_timeout.and_then(|after| Some((now.checked_add(after)?, after))),
        }
    }

    /// No deadline.
    pub fn none() -> Self {
        Self { at: None }
    }

    /// When the request must be over, if ever.
    pub fn at(&self) -> Option<Instant> {
        self.at.map(|(at, _)| at)
    }

    /// The configured budget, if any.
    pub fn after(&self) -> Option<Duration> {
        self.at.map(|(_, after)| after)
    }

    /// The budget of one exchange starting at `now`: `exchange_timeout`, clipped to what is left of the
    /// request's, and which of the two binds. `None` when neither is set.
    pub fn exchange_budget(
        &self,
        exchange_timeout: Option<Duration>,
        now: Instant,
    ) -> Option<(Duration, Deadline)> {
        let left = self.at().map(|at| at.saturating_duration_since(now));
        match (exchange_timeout, left) {
            (Some(exchange), Some(left)) if left < exchange => Some((left, Deadline::Request)),
            (Some(exchange), _) => Some((exchange, Deadline::Exchange)),
            (None, Some(left)) => Some((left, Deadline::Request)),
            (None, None) => None,
        }
    }

    /// Whether a wait until `until` ([`crate::Step::Wait`]) ends within the deadline. When it does
    /// not, the driver fails now rather than sleep into a timeout it already knows of.
    pub fn allows_wait_until(&self, until: Instant) -> bool {
        self.at().is_none_or(|at| until <= at)
    }

    /// Until when to park ([`crate::Step::Park`]): `until`, or the deadline if it comes first.
    pub fn park_until(&self, until: Instant) -> Instant {
        self.at().map_or(until, |at| at.min(until))
    }

    /// Whether the deadline has passed at `now`.
    pub fn is_past(&self, now: Instant) -> bool {
        self.at().is_some_and(|at| now >= at)
    }

    /// The error of a request whose deadline ran out while it was `during` this step (at `url`).
    pub fn timeout(&self, during: RequestKind, url: Option<String>) -> Error {
        Error::Timeout {
            deadline: Deadline::Request,
            after: self.after().unwrap_or_default(),
            during,
            url,
        }
    }
}

/// Until when an exchange started at `start` holds its claim on the herd: `exchange_timeout` later,
/// at most a day (an "unlimited" `Duration::MAX` must not overflow the clock).
pub fn claim_until(start: Instant, exchange_timeout: Duration) -> Instant {
    const A_DAY: Duration = Duration::from_secs(24 * 3600);
    start
        .checked_add(exchange_timeout.min(A_DAY))
        .unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_never_overflows_the_clock() {
        let now = Instant::now();
        assert_eq!(
            claim_until(now, Duration::from_secs(30)),
            now + Duration::from_secs(30)
        );
        assert_eq!(
            claim_until(now, Duration::MAX),
            now + Duration::from_secs(24 * 3600)
        );
    }

    #[test]
    fn no_timeout_is_no_deadline() {
        let now = Instant::now();
        for deadline in [
            RequestDeadline::start(None, now),
            RequestDeadline::start(Some(Duration::MAX), now),
            RequestDeadline::none(),
        ] {
            assert_eq!(deadline.at(), None);
            assert!(deadline.allows_wait_until(now + Duration::from_secs(3600)));
            assert!(!deadline.is_past(now + Duration::from_secs(3600)));
            assert_eq!(deadline.exchange_budget(None, now), None);
            assert_eq!(
                deadline.exchange_budget(Some(Duration::from_secs(3)), now),
                Some((Duration::from_secs(3), Deadline::Exchange))
            );
        }
    }

    #[test]
    fn the_request_budget_clips_exchanges_waits_and_parks() {
        let now = Instant::now();
        let deadline = RequestDeadline::start(Some(Duration::from_secs(5)), now);
        assert_eq!(
            deadline.exchange_budget(Some(Duration::from_secs(3)), now),
            Some((Duration::from_secs(3), Deadline::Exchange))
        );
        assert_eq!(
            deadline.exchange_budget(None, now + Duration::from_secs(1)),
            Some((Duration::from_secs(4), Deadline::Request))
        );
        assert_eq!(
            deadline.exchange_budget(Some(Duration::from_secs(3)), now + Duration::from_secs(9)),
            Some((Duration::ZERO, Deadline::Request))
        );
        assert!(deadline.allows_wait_until(now + Duration::from_secs(5)));
        assert!(!deadline.allows_wait_until(now + Duration::from_secs(6)));
        assert_eq!(
            deadline.park_until(now + Duration::from_secs(60)),
            now + Duration::from_secs(5)
        );
        assert!(deadline.is_past(now + Duration::from_secs(5)));
        let error = deadline.timeout(RequestKind::Token, None);
        assert!(matches!(
            error,
            Error::Timeout { deadline: Deadline::Request, after, during: RequestKind::Token, url: None }
                if after == Duration::from_secs(5)
        ));
    }
}

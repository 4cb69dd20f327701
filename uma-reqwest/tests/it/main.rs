//! uma-reqwest's integration tests, in one binary (one link on CI): the testkit's conformance suite, and
//! what is particular to the middleware (composition with other middleware, streamed bodies, parties…).

mod common;

mod compose;
mod conformance;
mod herd;
mod middleware;
mod spans;
mod streaming;

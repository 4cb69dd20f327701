//! uma-reqwest's integration tests, in one binary (one link on CI): the testkit's conformance suite, and
//! what is particular to the middleware (composition with other middleware, streamed bodies, parties…).

mod common;

mod compose;
mod conformance;
mod flows;
mod herd;
mod matrix;
mod spans;
mod streaming;

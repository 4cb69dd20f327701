//! Async UMA 2.0 client over hyper 1 (under construction).

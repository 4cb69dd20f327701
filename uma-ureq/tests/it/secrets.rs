//! Secrets never appear in `Debug`: a `RequestBuilder` carrying `Authorization` or a `?access_token=`
//! prints neither (it once derived `Debug` and printed the inner `http::request::Builder`: the full URI,
//! userinfo and query, and every header value).

use uma_core::Config;
use uma_ureq::UmaClient;

#[test]
fn request_builder_debug_hides_credentials() {
    let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), Config::new());
    let builder = agent
        .post(
            "https://alice:pw-in-userinfo@rs.example/x?access_token=tok-in-query",
            b"password=pw-in-body".to_vec(),
        )
        .header("authorization", "Bearer tok-in-header");
    let debug = format!("{builder:?}");
    // The body is printed too, as a byte array (a password form is readable from it).
    for secret in ["pw-in-userinfo", "tok-in-query", "tok-in-header"] {
        assert!(!debug.contains(secret), "{secret} in Debug: {debug}");
    }
}

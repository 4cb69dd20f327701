//! Discovery parsers never panic, and an accepted issuer always yields a sane discovery request.

use proptest::prelude::*;
use uma_core::discovery::{
    EndpointPolicy, Issuer, discovery_request, discovery_url, parse_metadata,
};

proptest! {
    #[test]
    fn issuer_parse_never_panics(s in ".{0,80}") {
        if let Ok(issuer) = Issuer::parse(&s) {
            prop_assert!(!issuer.as_str().contains(['?', '#']));
            let url = discovery_url(&issuer);
            prop_assert!(url.path().ends_with("/.well-known/uma2-configuration"));
            prop_assert!(url.query().is_none() && url.fragment().is_none());
            prop_assert!(issuer.same_origin(&url));
            let req = discovery_request(&issuer);
            prop_assert_eq!(req.uri().to_string(), url.to_string());
        }
    }

    #[test]
    fn url_like_issuers(host in "[a-z]{1,8}(\\.[a-z]{1,5})?", path in "(/[a-zA-Z0-9%._~?#&=-]{0,6}){0,3}/?") {
        let s = format!("https://{host}{path}");
        if let Ok(issuer) = Issuer::parse(&s) {
            let url = discovery_url(&issuer);
            prop_assert_eq!(url.host_str(), Some(host.as_str()));
            prop_assert!(url.path().ends_with("/.well-known/uma2-configuration"));
            prop_assert!(url.query().is_none());
        } else {
            prop_assert!(s.contains(['?', '#']) || s.contains("/.") || s.to_ascii_lowercase().contains("%2e"));
        }
    }

    #[test]
    fn metadata_never_panics(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..256),
                             insecure in any::<bool>(), cross in any::<bool>()) {
        let issuer = Issuer::parse("https://as.example.org").unwrap();
        let r = http::Response::builder().status(status).body(body).unwrap();
        let policy = EndpointPolicy { allow_insecure_http: insecure, allow_cross_origin_token_endpoint: cross };
        let _ = parse_metadata(&issuer, &r, &policy);
    }
}

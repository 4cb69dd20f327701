//! Issuer identifiers, the discovery URL and the discovery request.

use uma_core::discovery::{DiscoveryError, Issuer, discovery_request, discovery_url};

fn issuer(s: &str) -> Issuer {
    Issuer::parse(s).unwrap()
}

#[test]
fn trailing_slash_is_removed_once() {
    assert_eq!(
        issuer("https://as.example.org/").as_str(),
        "https://as.example.org"
    );
    assert_eq!(
        issuer("https://as.example.org").as_str(),
        "https://as.example.org"
    );
    assert_eq!(
        issuer("https://as.example.org/a//").as_str(),
        "https://as.example.org/a/"
    );
    assert_eq!(
        issuer("https://as.example.org/"),
        issuer("https://as.example.org")
    );
    assert_ne!(
        issuer("https://as.example.org/a//"),
        issuer("https://as.example.org/a")
    );
}

#[test]
fn comparison_is_by_code_points() {
    // No case folding (RFC 8414 §3.3), even in the host.
    assert_ne!(
        issuer("https://AS.example.org"),
        issuer("https://as.example.org")
    );
    assert_ne!(
        issuer("https://as.example.org/Realm"),
        issuer("https://as.example.org/realm")
    );
}

#[test]
fn display_and_debug_show_the_url() {
    let i = issuer("https://as.example.org/realms/x/");
    assert_eq!(i.to_string(), "https://as.example.org/realms/x");
    assert_eq!(format!("{i:?}"), "Issuer(https://as.example.org/realms/x)");
}

#[test]
fn b3_query_and_fragment_are_rejected() {
    for bad in [
        "https://internal.test/admin/delete?id=7&x=",
        "https://internal.test/admin/reset#",
        "https://internal.test/?",
        "https://as.example.org#frag",
    ] {
        assert!(
            matches!(
                Issuer::parse(bad),
                Err(DiscoveryError::InvalidIssuer { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn other_invalid_issuers() {
    for bad in [
        "",
        "as.example.org",
        "/relative",
        "ftp://as.example.org",
        "javascript:alert(1)",
        "https://user:pw@as.example.org",
        "https://user@as.example.org",
        "https://as.example.org/a/../admin",
        "https://as.example.org/a/%2e%2E/admin",
        "https://as.example.org/./x",
        "https://as.example.org\\admin",
        " https://as.example.org",
        "https://as.example.org/a b",
        "https://as.example.org/\r\nX: y",
        "https:///nohost",
        "file:///etc/passwd",
    ] {
        assert!(Issuer::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn invalid_issuer_error_is_printable_and_sanitized() {
    let e = Issuer::parse("https://a/\u{7}x?y").unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\u{7}'));
    let long = format!("https://a/{}?", "x".repeat(5000));
    assert!(Issuer::parse(&long).unwrap_err().to_string().len() < 400);
}

#[test]
fn accessors() {
    let i = issuer("http://127.0.0.1:8080/realms/t");
    assert!(!i.is_https());
    assert_eq!(i.url().port(), Some(8080));
    assert!(i.same_origin(&url::Url::parse("http://127.0.0.1:8080/token").unwrap()));
    assert!(!i.same_origin(&url::Url::parse("http://127.0.0.1:8081/token").unwrap()));
    assert!(!i.same_origin(&url::Url::parse("https://127.0.0.1:8080/token").unwrap()));
    let s = issuer("https://as.example.org");
    assert!(s.is_https());
    assert!(s.same_origin(&url::Url::parse("https://as.example.org:443/x").unwrap()));
}

#[test]
fn discovery_url_appends_the_suffix() {
    let cases = [
        (
            "https://as.example.org",
            "https://as.example.org/.well-known/uma2-configuration",
        ),
        (
            "https://as.example.org/",
            "https://as.example.org/.well-known/uma2-configuration",
        ),
        (
            "https://kc.example.org/realms/demo",
            "https://kc.example.org/realms/demo/.well-known/uma2-configuration",
        ),
        (
            "https://kc.example.org/auth/realms/demo/",
            "https://kc.example.org/auth/realms/demo/.well-known/uma2-configuration",
        ),
        (
            "http://127.0.0.1:9000/realms/a%20b",
            "http://127.0.0.1:9000/realms/a%20b/.well-known/uma2-configuration",
        ),
    ];
    for (i, want) in cases {
        assert_eq!(discovery_url(&issuer(i)).as_str(), want, "{i}");
    }
}

#[test]
fn discovery_request_is_a_bare_get() {
    let req = discovery_request(&issuer("https://kc.example.org/realms/demo/"));
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(
        req.uri().to_string(),
        "https://kc.example.org/realms/demo/.well-known/uma2-configuration"
    );
    let headers: Vec<_> = req.headers().iter().collect();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].0, http::header::ACCEPT);
    assert_eq!(headers[0].1, "application/json");
    assert!(req.body().is_empty());
}

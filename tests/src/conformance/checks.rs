//! The checks the cases end with: nothing secret reached a host it must not reach; and small helpers.

use crate::LoggedRequest;

/// The client secret of the kit's `app` client, and its HTTP Basic form (`app:app-secret`).
pub const SECRETS: [&str; 2] = ["app-secret", "YXBwOmFwcC1zZWNyZXQ="];

/// Asserts that none of `requests` (received by a host that must not get credentials) carries an
/// `Authorization` or `Cookie` header, a client secret, or any of `tokens`.
pub fn assert_clean(requests: &[LoggedRequest], tokens: &[String]) {
    for request in requests {
        assert!(request.header("authorization").is_none(), "{request:#?}");
        assert!(request.header("cookie").is_none(), "{request:#?}");
        let seen = format!(
            "{:?} {:?} {:?}",
            request.query, request.headers, request.form
        );
        for secret in SECRETS
            .iter()
            .copied()
            .chain(tokens.iter().map(String::as_str))
        {
            assert!(
                !seen.contains(secret),
                "a secret reached {}: {seen}",
                request.path
            );
        }
    }
}

/// The http form of an https URL (same host and port).
pub fn downgraded(url: &str) -> String {
    url.replacen("https://", "http://", 1)
}

/// A 60 KiB run of `c`.
pub fn sixty_kib(c: char) -> String {
    std::iter::repeat_n(c, 60 * 1024).collect()
}

/// The checks every case ends with: the hostile AS received nothing, and no request to the resource server
/// carried the client secret (credentials go to the validated token endpoint only, docs/protocol.md §11.3).
pub fn assert_nothing_astray(kit: &crate::Kit) {
    let hostile = kit.log_of(crate::Server::HostileAs);
    assert!(
        hostile.is_empty(),
        "the hostile AS was contacted: {hostile:#?}"
    );
    for request in kit.log_of(crate::Server::Rs) {
        let seen = format!(
            "{:?} {:?} {:?}",
            request.query, request.headers, request.form
        );
        for secret in SECRETS {
            assert!(
                !seen.contains(secret),
                "the client secret reached the RS: {seen}"
            );
        }
    }
}

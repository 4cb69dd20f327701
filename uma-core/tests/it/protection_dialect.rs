//! The per-dialect protection-API decisions the adapters take from the core, and the PEP's bearer reader.

use http::{HeaderMap, header};
use uma_core::protection::{Dialect, IntrospectionCaller, TokenTypeHint, bearer_token};

#[test]
fn dialect_decisions() {
    assert_eq!(Dialect::Keycloak.default_pat_scope(), Some(""));
    assert_eq!(Dialect::Uma.default_pat_scope(), None);
    assert_eq!(Dialect::Gluu.default_pat_scope(), None);
    assert_eq!(
        Dialect::Keycloak.introspection(),
        (
            IntrospectionCaller::Client,
            TokenTypeHint::RequestingPartyToken
        )
    );
    assert_eq!(
        Dialect::Uma.introspection(),
        (IntrospectionCaller::Pat, TokenTypeHint::AccessToken)
    );
    assert_eq!(
        Dialect::Gluu.introspection(),
        (IntrospectionCaller::Pat, TokenTypeHint::AccessToken)
    );
}

#[test]
fn bearer_tokens_are_read_case_insensitively_and_nothing_else() {
    let mut headers = HeaderMap::new();
    assert!(bearer_token(&headers).is_none());
    headers.insert(header::AUTHORIZATION, "bearer rpt-1".parse().unwrap());
    assert_eq!(bearer_token(&headers).unwrap().secret(), "rpt-1");
    headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
    assert!(bearer_token(&headers).is_none());
    headers.insert(header::AUTHORIZATION, "Bearer  ".parse().unwrap());
    assert!(bearer_token(&headers).is_none());
}

//! Exact token-endpoint requests for every grant and every client-authentication method
//! (docs/protocol.md §2.5, §2.9, §3, §7).

use uma_core::auth::{AuthError, ClientAuthMethod, ClientCredentials};
use uma_core::grant::{
    BuildError, ID_TOKEN_FORMAT, JWT_CLAIMS_FORMAT, KeycloakPermission, PushedClaim, ResponseMode,
    UmaGrant, client_credentials_request, password_request, refresh_request, ticketless_request,
    uma_grant_request,
};
use uma_core::secret::{AccessToken, ClaimToken, Password, Pct, RefreshToken, Ticket};

const GRANT: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket";
const CT: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const ACCEPT: (&str, &str) = ("accept", "application/json");
const BASIC: (&str, &str) = ("authorization", "Basic YXBwOnMzY3JldA==");
const USER_BEARER: (&str, &str) = ("authorization", "Bearer user-at");

fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}

/// Method, URI, every header (sorted) and the body, exactly.
fn assert_request(req: &http::Request<Vec<u8>>, uri: &str, headers: &[(&str, &str)], body: &str) {
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().to_string(), uri);
    let mut got: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(String::from_utf8(req.body().clone()).unwrap(), body);
    if let Some(auth) = req.headers().get("authorization") {
        assert!(
            auth.is_sensitive(),
            "Authorization must be marked sensitive"
        );
    }
}

fn creds(method: ClientAuthMethod) -> ClientCredentials {
    match method {
        ClientAuthMethod::ClientSecretBasic => ClientCredentials::basic("app", "s3cret"),
        ClientAuthMethod::ClientSecretPost => ClientCredentials::post("app", "s3cret"),
        ClientAuthMethod::RequestingPartyBearer => ClientCredentials::bearer("app"),
        _ => ClientCredentials::public("app"),
    }
}

const METHODS: [ClientAuthMethod; 4] = [
    ClientAuthMethod::ClientSecretBasic,
    ClientAuthMethod::ClientSecretPost,
    ClientAuthMethod::RequestingPartyBearer,
    ClientAuthMethod::None,
];

/// (headers beyond content-type/accept, body suffix for client authentication)
fn auth_parts(method: ClientAuthMethod) -> (Vec<(&'static str, &'static str)>, &'static str) {
    match method {
        ClientAuthMethod::ClientSecretBasic => (vec![BASIC], ""),
        ClientAuthMethod::ClientSecretPost => (vec![], "&client_id=app&client_secret=s3cret"),
        ClientAuthMethod::RequestingPartyBearer => (vec![USER_BEARER], ""),
        _ => (vec![], "&client_id=app"),
    }
}

#[test]
fn spec_example_a_basic() {
    let ticket = Ticket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de");
    let client = ClientCredentials::basic("s6BhdRkqt3", "gX1fBat3bV");
    let grant = UmaGrant {
        ticket: Some(&ticket),
        ..UmaGrant::default()
    };
    let req =
        uma_grant_request(&url("https://as.example.org/token"), &client, None, &grant).unwrap();
    assert_request(
        &req,
        "https://as.example.org/token",
        &[
            CT,
            ACCEPT,
            ("authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        ],
        &format!("{GRANT}&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de"),
    );
}

#[test]
fn spec_example_b_push_claims_and_upgrade() {
    let ticket = Ticket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de");
    let claim = PushedClaim::id_token(ClaimToken::new(
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln",
    ));
    let pct = Pct::new("c2F2ZWRjb25zZW50");
    let rpt = AccessToken::new("sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv");
    let grant = UmaGrant {
        ticket: Some(&ticket),
        rpt: Some(&rpt),
        pct: Some(&pct),
        claim: Some(&claim),
        scope: Some("read"),
        extra: &[],
    };
    let req = uma_grant_request(
        &url("https://as.example.org/token"),
        &ClientCredentials::basic("app", "s3cret"),
        None,
        &grant,
    )
    .unwrap();
    assert_request(
        &req,
        "https://as.example.org/token",
        &[CT, ACCEPT, BASIC],
        &format!(
            "{GRANT}&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
             &claim_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln\
             &claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken\
             &pct=c2F2ZWRjb25zZW50\
             &rpt=sbjsbhs%28%2FSSJHBSUSSJHVhjsgvhsgvshgsv\
             &scope=read"
        ),
    );
}

#[test]
fn spec_example_c_gluu_post_with_id_token() {
    let ticket = Ticket::new("6b2c1b4e-0f2a-4a39-9a1e-3f7b8c0d1e2f");
    let claim = PushedClaim::id_token(ClaimToken::new("eyJ.idt.sig"));
    let grant = UmaGrant {
        ticket: Some(&ticket),
        claim: Some(&claim),
        scope: Some("openid"),
        ..UmaGrant::default()
    };
    let req = uma_grant_request(
        &url("https://auth.eoepca.example/oxauth/restv1/token"),
        &ClientCredentials::post("id", "secret"),
        None,
        &grant,
    )
    .unwrap();
    assert_request(
        &req,
        "https://auth.eoepca.example/oxauth/restv1/token",
        &[CT, ACCEPT],
        &format!(
            "{GRANT}&ticket=6b2c1b4e-0f2a-4a39-9a1e-3f7b8c0d1e2f\
             &claim_token=eyJ.idt.sig\
             &claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken\
             &client_id=id&client_secret=secret&scope=openid"
        ),
    );
}

#[test]
fn spec_example_d_keycloak_bearer() {
    let ticket = Ticket::new("eyJhbGciOi.x.y");
    let user = AccessToken::new("user-at");
    let grant = UmaGrant {
        ticket: Some(&ticket),
        ..UmaGrant::default()
    };
    let req = uma_grant_request(
        &url("https://kc.example.org/realms/myrealm/protocol/openid-connect/token"),
        &ClientCredentials::bearer("app"),
        Some(&user),
        &grant,
    )
    .unwrap();
    assert_request(
        &req,
        "https://kc.example.org/realms/myrealm/protocol/openid-connect/token",
        &[CT, ACCEPT, USER_BEARER],
        &format!("{GRANT}&ticket=eyJhbGciOi.x.y"),
    );
}

#[test]
fn uma_grant_every_auth_method() {
    let ticket = Ticket::new("t1");
    let user = AccessToken::new("user-at");
    let extra = vec![("submit_request".to_owned(), "false".to_owned())];
    for method in METHODS {
        let grant = UmaGrant {
            ticket: Some(&ticket),
            extra: &extra,
            ..UmaGrant::default()
        };
        let req = uma_grant_request(
            &url("https://as.example.org/t"),
            &creds(method),
            Some(&user),
            &grant,
        )
        .unwrap();
        let (mut headers, auth_body) = auth_parts(method);
        headers.extend([CT, ACCEPT]);
        assert_request(
            &req,
            "https://as.example.org/t",
            &headers,
            &format!("{GRANT}&ticket=t1{auth_body}&submit_request=false"),
        );
    }
}

#[test]
fn basic_credentials_are_form_encoded_before_base64() {
    let client = ClientCredentials::basic("my app", "a:b/c");
    let ticket = Ticket::new("t");
    let req = uma_grant_request(
        &url("https://as.example.org/t"),
        &client,
        None,
        &UmaGrant {
            ticket: Some(&ticket),
            ..UmaGrant::default()
        },
    )
    .unwrap();
    // base64("my+app:a%3Ab%2Fc")
    assert_eq!(
        req.headers()["authorization"],
        "Basic bXkrYXBwOmElM0FiJTJGYw=="
    );
}

#[test]
fn auth_errors() {
    let ticket = Ticket::new("t");
    let grant = UmaGrant {
        ticket: Some(&ticket),
        ..UmaGrant::default()
    };
    let e = uma_grant_request(
        &url("https://as.example.org/t"),
        &ClientCredentials::bearer("app"),
        None,
        &grant,
    )
    .unwrap_err();
    assert_eq!(e, BuildError::Auth(AuthError::MissingAccessToken));
    let no_secret = ClientCredentials {
        client_secret: None,
        ..ClientCredentials::post("a", "b")
    };
    assert_eq!(
        uma_grant_request(&url("https://as.example.org/t"), &no_secret, None, &grant).unwrap_err(),
        BuildError::Auth(AuthError::MissingSecret)
    );
    let bad = AccessToken::new("a\r\nX-Injected: 1");
    assert_eq!(
        uma_grant_request(
            &url("https://as.example.org/t"),
            &ClientCredentials::bearer("app"),
            Some(&bad),
            &grant
        )
        .unwrap_err(),
        BuildError::Auth(AuthError::InvalidHeaderToken)
    );
}

#[test]
fn reserved_parameters_in_extra_are_refused() {
    let ticket = Ticket::new("t");
    for name in [
        "grant_type",
        "ticket",
        "rpt",
        "pct",
        "claim_token",
        "claim_token_format",
        "client_id",
        "client_secret",
        "refresh_token",
        "username",
        "password",
    ] {
        let extra = vec![(name.to_owned(), "x".to_owned())];
        let grant = UmaGrant {
            ticket: Some(&ticket),
            extra: &extra,
            ..UmaGrant::default()
        };
        assert_eq!(
            uma_grant_request(
                &url("https://as.example.org/t"),
                &creds(ClientAuthMethod::None),
                None,
                &grant
            )
            .unwrap_err(),
            BuildError::ReservedParameter(name.to_owned())
        );
        assert!(
            client_credentials_request(
                &url("https://as.example.org/t"),
                &creds(ClientAuthMethod::ClientSecretBasic),
                None,
                &extra
            )
            .is_err()
        );
    }
    // `scope` is allowed in extra only when the scope field is unset.
    let extra = vec![("scope".to_owned(), "openid".to_owned())];
    let ok = UmaGrant {
        ticket: Some(&ticket),
        extra: &extra,
        ..UmaGrant::default()
    };
    assert!(
        uma_grant_request(
            &url("https://as.example.org/t"),
            &creds(ClientAuthMethod::None),
            None,
            &ok
        )
        .is_ok()
    );
    let twice = UmaGrant {
        scope: Some("read"),
        ..ok
    };
    assert_eq!(
        uma_grant_request(
            &url("https://as.example.org/t"),
            &creds(ClientAuthMethod::None),
            None,
            &twice
        )
        .unwrap_err(),
        BuildError::ReservedParameter("scope".into())
    );
    // Keycloak parameters are fine as extras of the ticket grant...
    let kc = vec![
        ("audience".to_owned(), "rs".to_owned()),
        ("permission".to_owned(), "a#b".to_owned()),
        ("response_mode".to_owned(), "decision".to_owned()),
    ];
    let grant = UmaGrant {
        ticket: Some(&ticket),
        extra: &kc,
        ..UmaGrant::default()
    };
    assert!(
        uma_grant_request(
            &url("https://as.example.org/t"),
            &creds(ClientAuthMethod::None),
            None,
            &grant
        )
        .is_ok()
    );
    // ...but not of the ticketless builder, which sets them itself.
    for p in &kc {
        let e = ticketless_request(
            &url("https://as.example.org/t"),
            &creds(ClientAuthMethod::None),
            None,
            "rs",
            &[],
            ResponseMode::Token,
            None,
            std::slice::from_ref(p),
        )
        .unwrap_err();
        assert_eq!(e, BuildError::ReservedParameter(p.0.clone()));
    }
}

#[test]
fn keycloak_permission_rendering() {
    let p = |r: Option<&str>, s: &[&str]| KeycloakPermission {
        resource: r.map(str::to_owned),
        scopes: s.iter().map(|x| (*x).to_owned()).collect(),
    };
    assert_eq!(p(Some("res"), &["a", "b"]).render().unwrap(), "res#a,b");
    assert_eq!(p(None, &["a"]).render().unwrap(), "#a");
    assert_eq!(p(Some("res"), &[]).render().unwrap(), "res");
    assert_eq!(
        p(Some("Resource A"), &["view"]).render().unwrap(),
        "Resource A#view"
    );
    assert!(matches!(
        p(None, &[]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
    assert!(matches!(
        p(Some(""), &[]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
    assert!(matches!(
        p(Some("a#b"), &["x"]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
    assert!(matches!(
        p(Some("a"), &["x,y"]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
    assert!(matches!(
        p(Some("a"), &["x#"]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
    assert!(matches!(
        p(Some("a"), &[""]).render(),
        Err(BuildError::InvalidPermission(_))
    ));
}

#[test]
fn ticketless_keycloak_request_exact() {
    let user = AccessToken::new("user-at");
    let perms = [
        KeycloakPermission {
            resource: Some("Resource A".into()),
            scopes: vec!["view".into()],
        },
        KeycloakPermission {
            resource: Some("Resource B".into()),
            scopes: vec!["view".into(), "edit".into()],
        },
    ];
    let req = ticketless_request(
        &url("https://kc.example.org/realms/myrealm/protocol/openid-connect/token"),
        &ClientCredentials::bearer("app"),
        Some(&user),
        "my-resource-server",
        &perms,
        ResponseMode::Token,
        None,
        &[],
    )
    .unwrap();
    assert_request(
        &req,
        "https://kc.example.org/realms/myrealm/protocol/openid-connect/token",
        &[CT, ACCEPT, USER_BEARER],
        &format!(
            "{GRANT}&audience=my-resource-server&permission=Resource+A%23view\
             &permission=Resource+B%23view%2Cedit"
        ),
    );
}

#[test]
fn ticketless_every_mode_and_method_with_claim() {
    let user = AccessToken::new("user-at");
    let claim = PushedClaim {
        token: ClaimToken::new("eyJvcmciOlsiYWNtZSJdfQ"),
        format: JWT_CLAIMS_FORMAT.into(),
    };
    let extra = vec![("response_permissions_limit".to_owned(), "5".to_owned())];
    for (mode, mode_param) in [
        (ResponseMode::Token, ""),
        (ResponseMode::Decision, "&response_mode=decision"),
        (ResponseMode::Permissions, "&response_mode=permissions"),
    ] {
        for method in METHODS {
            let req = ticketless_request(
                &url("https://kc.example.org/t"),
                &creds(method),
                Some(&user),
                "rs",
                &[],
                mode,
                Some(&claim),
                &extra,
            )
            .unwrap();
            let (mut headers, auth_body) = auth_parts(method);
            headers.extend([CT, ACCEPT]);
            assert_request(
                &req,
                "https://kc.example.org/t",
                &headers,
                &format!(
                    "{GRANT}&audience=rs{mode_param}&claim_token=eyJvcmciOlsiYWNtZSJdfQ\
                     &claim_token_format=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt{auth_body}\
                     &response_permissions_limit=5"
                ),
            );
        }
    }
}

#[test]
fn refresh_every_method() {
    let rt = RefreshToken::new("rt/1");
    for method in METHODS {
        let req = refresh_request(
            &url("https://as.example.org/t"),
            &creds(method),
            &rt,
            Some("read write"),
        )
        .unwrap();
        // The bearer method authenticates as a public client: the refresh token is the credential.
        let (headers, auth_body) = match method {
            ClientAuthMethod::RequestingPartyBearer => (vec![CT, ACCEPT], "&client_id=app"),
            _ => {
                let (mut h, b) = auth_parts(method);
                h.extend([CT, ACCEPT]);
                (h, b)
            }
        };
        assert_request(
            &req,
            "https://as.example.org/t",
            &headers,
            &format!("grant_type=refresh_token&refresh_token=rt%2F1{auth_body}&scope=read+write"),
        );
    }
}

#[test]
fn client_credentials_every_method() {
    let extra = vec![("audience".to_owned(), "rs".to_owned())];
    for method in METHODS {
        let result = client_credentials_request(
            &url("https://as.example.org/t"),
            &creds(method),
            Some("uma_protection"),
            &extra,
        );
        if method == ClientAuthMethod::RequestingPartyBearer {
            assert_eq!(
                result.unwrap_err(),
                BuildError::Auth(AuthError::MissingAccessToken)
            );
            continue;
        }
        let (mut headers, auth_body) = auth_parts(method);
        headers.extend([CT, ACCEPT]);
        assert_request(
            &result.unwrap(),
            "https://as.example.org/t",
            &headers,
            &format!("grant_type=client_credentials{auth_body}&scope=uma_protection&audience=rs"),
        );
    }
}

#[test]
fn password_every_method() {
    let pw = Password::new("p&ss w0rd");
    for method in METHODS {
        let req = password_request(
            &url("https://as.example.org/t"),
            &creds(method),
            "alice@example.org",
            &pw,
            Some("openid"),
            &[],
        )
        .unwrap();
        let (headers, auth_body) = match method {
            ClientAuthMethod::RequestingPartyBearer => (vec![CT, ACCEPT], "&client_id=app"),
            _ => {
                let (mut h, b) = auth_parts(method);
                h.extend([CT, ACCEPT]);
                (h, b)
            }
        };
        assert_request(
            &req,
            "https://as.example.org/t",
            &headers,
            &format!(
                "grant_type=password&username=alice%40example.org&password=p%26ss+w0rd{auth_body}&scope=openid"
            ),
        );
    }
}

#[test]
fn endpoint_query_is_kept_and_constants_are_exact() {
    let ticket = Ticket::new("t");
    let req = uma_grant_request(
        &url("https://as.example.org/t?realm=a"),
        &creds(ClientAuthMethod::None),
        None,
        &UmaGrant {
            ticket: Some(&ticket),
            ..UmaGrant::default()
        },
    )
    .unwrap();
    assert_eq!(req.uri().to_string(), "https://as.example.org/t?realm=a");
    assert_eq!(
        ID_TOKEN_FORMAT,
        "http://openid.net/specs/openid-connect-core-1_0.html#IDToken"
    );
}

#[test]
fn request_debug_does_not_leak() {
    let ticket = Ticket::new("TICKET-SECRET");
    let rpt = AccessToken::new("RPT-SECRET");
    let grant = UmaGrant {
        ticket: Some(&ticket),
        rpt: Some(&rpt),
        ..UmaGrant::default()
    };
    let dbg = format!("{grant:?}");
    assert!(!dbg.contains("TICKET-SECRET") && !dbg.contains("RPT-SECRET"));
    let req = uma_grant_request(
        &url("https://as.example.org/t"),
        &creds(ClientAuthMethod::ClientSecretBasic),
        None,
        &grant,
    )
    .unwrap();
    assert!(!format!("{:?}", req.headers()).contains("YXBw"));
}

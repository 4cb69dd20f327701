//! The protection API through `uma_hyper::Protection`, end to end on the testkit, and a hyper resource
//! server protected with it that the project's own `UmaClient` gets through.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{body_of, client_for, start};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{
    ClientRegistration, Dialect, ErrorCode, Pep, PermissionRequest, ProtectionError,
    ResourceDescription, ResourceQuery,
};
use uma_core::secret::AccessToken;
use uma_hyper::Protection;
use uma_hyper::protection::{Decision, Error};
use uma_testkit::{Endpoint, Kit, KitConfig, UMA_GRANT};

fn kit_of(dialect: Dialect) -> Kit {
    let dialect = match dialect {
        Dialect::Keycloak => uma_testkit::Dialect::keycloak(),
        Dialect::Gluu => uma_testkit::Dialect::Gluu,
        _ => uma_testkit::Dialect::Spec,
    };
    start(KitConfig::new(dialect), false)
}

async fn protection(kit: &Kit, dialect: Dialect) -> Protection {
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    client_for(kit)
        .protection(
            &issuer,
            ClientCredentials::basic("rs", "rs-secret"),
            dialect,
        )
        .await
        .expect("discovery")
}

fn code(error: &Error) -> Option<&ErrorCode> {
    error.protection().and_then(ProtectionError::code)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every operation once, with the dialect's answers and error bodies.
async fn every_operation(dialect: Dialect) {
    let kit = kit_of(dialect);
    let p = protection(&kit, dialect).await;
    let keycloak = dialect == Dialect::Keycloak;

    let created = p
        .create_resource(&ResourceDescription::new("album", ["view", "print"]))
        .await
        .unwrap();
    // Only the spec sends Location (§9.2).
    assert_eq!(created.location.is_some(), dialect == Dialect::Uma);
    let read = p.read_resource(&created.id).await.unwrap();
    assert_eq!(read.resource_scopes, ["view", "print"]);
    let updated = p
        .update_resource(&created.id, &ResourceDescription::new("album", ["view"]))
        .await
        .unwrap();
    assert_eq!(updated.id.is_some(), !keycloak);
    let listed = p
        .list_resources(&ResourceQuery {
            scope: Some("view".into()),
            ..ResourceQuery::default()
        })
        .await
        .unwrap();
    assert!(listed.ids.contains(&created.id));
    if keycloak {
        let duplicate = p
            .create_resource(&ResourceDescription::new("album", ["view"]))
            .await
            .unwrap_err();
        assert_eq!(duplicate.status().map(|s| s.as_u16()), Some(409));
        assert_eq!(code(&duplicate), Some(&ErrorCode::InvalidRequest));
    }

    let ticket = p
        .request_ticket(vec![
            PermissionRequest::new(created.id.clone(), ["view"]),
            PermissionRequest::new("res-a", ["read"]),
        ])
        .await
        .unwrap();
    assert!(!ticket.secret().is_empty());
    let unknown = p
        .request_ticket(vec![PermissionRequest::new("nope", ["view"])])
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), Some(&ErrorCode::InvalidResourceId));
    let scope = p
        .request_ticket(vec![PermissionRequest::new(created.id.clone(), ["print"])])
        .await
        .unwrap_err();
    assert_eq!(code(&scope), Some(&ErrorCode::InvalidScope));

    let rpt = AccessToken::new(kit.rpt_for("alice", &[("res-a", "read")]));
    let seen = p.introspect(&rpt).await.unwrap();
    assert!(seen.allows("res-a", "read", now()) && !seen.allows("res-a", "write", now()));
    assert!(
        !p.introspect(&AccessToken::new("nope"))
            .await
            .unwrap()
            .active
    );

    let client = p
        .register_client(&ClientRegistration::uma_client("printer"), None)
        .await
        .unwrap();
    assert!(client.client_secret.is_some());

    p.delete_resource(&created.id).await.unwrap();
    let gone = p.read_resource(&created.id).await.unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
    // Keycloak 26.7 says `{"error":"HTTP 404 Not Found"}` (26.4: an empty body).
    let keycloak_404 = ErrorCode::Other("HTTP 404 Not Found".into());
    let expected = if keycloak {
        &keycloak_404
    } else {
        &ErrorCode::NotFound
    };
    assert_eq!(code(&gone), Some(expected));
    // One PAT served every call.
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_every_operation() {
    every_operation(Dialect::Uma).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_every_operation() {
    every_operation(Dialect::Keycloak).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gluu_every_operation() {
    every_operation(Dialect::Gluu).await;
}

/// A hyper resource server on 127.0.0.1 protecting `/photos` with `Protection::enforce`: `GET` needs
/// `view`, `POST` needs `print`. It logs each decision.
async fn photo_server(p: Protection, resource: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/photos", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = Arc::clone(&log);
    tokio::spawn(async move {
        // Bounded: 20 connections, each waited for at most 30 s.
        for _ in 0..20 {
            let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_secs(30), listener.accept()).await
            else {
                return;
            };
            let (p, resource, log) = (p.clone(), resource.clone(), Arc::clone(&server_log));
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let (p, resource, log) = (p.clone(), resource.clone(), Arc::clone(&log));
                async move {
                    let scope = if request.method() == hyper::Method::GET {
                        "view"
                    } else {
                        "print"
                    };
                    let wanted = vec![PermissionRequest::new(resource, [scope])];
                    let response = match p.enforce(request.headers(), wanted).await {
                        Ok(Decision::Allow(_)) => {
                            log.lock().unwrap().push(format!("{scope}: served"));
                            http::Response::new(b"three photos".to_vec())
                        }
                        Ok(Decision::Challenge(challenge)) => {
                            log.lock().unwrap().push(format!("{scope}: challenged"));
                            challenge
                        }
                        Err(error) => {
                            log.lock().unwrap().push(format!("{scope}: {error}"));
                            Pep::unreachable()
                        }
                    };
                    Ok::<_, Infallible>(response.map(|b| Full::new(Bytes::from(b))))
                }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, log)
}

/// The key test, Keycloak flavour: the user logs in, the PEP introspects her access token (no
/// permissions), challenges, the client trades the ticket for an RPT, the PEP introspects the RPT
/// and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_pep_lets_the_uma_client_through() {
    let kit = kit_of(Dialect::Keycloak);
    let p = protection(&kit, Dialect::Keycloak)
        .await
        .with_realm("demo")
        .unwrap();
    let album = p
        .create_resource(&ResourceDescription::new("album", ["view", "print"]))
        .await
        .unwrap();
    let (url, log) = photo_server(p, album.id.clone()).await;

    let client = client_for(&kit);
    client
        .login_password(
            &uma_core::discovery::Issuer::parse(&kit.issuer()).unwrap(),
            "alice",
            "alice-pw",
            None,
        )
        .await
        .unwrap();
    kit.clear_log();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&body_of(response).await[..], b"three photos");
    assert_eq!(*log.lock().unwrap(), ["view: challenged", "view: served"]);

    let seen: Vec<(Endpoint, Option<String>)> = kit
        .log()
        .into_iter()
        .filter(|r| r.endpoint != Endpoint::Discovery)
        .map(|r| (r.endpoint, r.form_value("grant_type").map(str::to_owned)))
        .collect();
    assert_eq!(
        seen,
        [
            // alice's access token: active, but no permissions
            (Endpoint::Introspection, None),
            (Endpoint::Permission, None),
            (Endpoint::Token, Some(UMA_GRANT.to_owned())),
            (Endpoint::Introspection, None),
        ]
    );
    let introspections: Vec<_> = kit
        .log()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Introspection)
        .collect();
    assert!(introspections.iter().all(|r| {
        r.form_value("token_type_hint") == Some("requesting_party_token")
            && r.header("authorization")
                .is_some_and(|a| a.starts_with("Basic "))
    }));
}

/// The spec flavour (the client authenticates with its own credentials only), then a permission the
/// AS cannot grant: the PEP gets no ticket and answers 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_pep_lets_the_uma_client_through_and_fails_closed() {
    let kit = kit_of(Dialect::Uma);
    let p = protection(&kit, Dialect::Uma).await;
    let album = p
        .create_resource(&ResourceDescription::new("album", ["view", "write"]))
        .await
        .unwrap();
    let (url, log) = photo_server(p, album.id.clone()).await;

    let client = client_for(&kit);
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*log.lock().unwrap(), ["view: challenged", "view: served"]);
    assert_eq!(kit.count_endpoint(Endpoint::Permission), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Introspection), 1);

    // `POST` needs `print`, which the resource does not have: the permission request fails and the
    // PEP answers 403 "AS unreachable", which the client hands back as it is.
    let response = client.post(&url, "x").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(log.lock().unwrap()[2].starts_with("print: "));
    assert!(log.lock().unwrap()[2].contains("invalid_scope"));
}

//! The protection API through `uma_ureq::Protection`, end to end on the testkit in the spec, Keycloak
//! and Gluu dialects, and a blocking resource server built with it that the project's own client gets
//! through.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{Buffered, agent, issuer};
use uma_core::auth::ClientCredentials;
use uma_core::protection::{
    ClientRegistration, Dialect, ErrorCode, PermissionRequest, ProtectionError,
    ResourceDescription, ResourceQuery,
};
use uma_core::secret::AccessToken;
use uma_testkit::{Endpoint, Kit, KitConfig, UMA_GRANT};
use uma_ureq::protection::Error;
use uma_ureq::{Protection, UmaClient};

fn kit_of(dialect: Dialect) -> Kit {
    let dialect = match dialect {
        Dialect::Keycloak => uma_testkit::Dialect::keycloak(),
        Dialect::Gluu => uma_testkit::Dialect::Gluu,
        _ => uma_testkit::Dialect::Spec,
    };
    Kit::start(KitConfig::new(dialect)).expect("kit starts")
}

fn protection(kit: &Kit, dialect: Dialect) -> Protection {
    agent(kit)
        .protection(
            &issuer(kit),
            ClientCredentials::basic("rs", "rs-secret"),
            dialect,
        )
        .expect("discovery")
}

fn logged(kit: &Kit, endpoint: Endpoint) -> Vec<uma_testkit::LoggedRequest> {
    kit.log()
        .into_iter()
        .filter(|r| r.endpoint == endpoint)
        .collect()
}

fn core_error(error: &Error) -> &ProtectionError {
    error.protection().expect("an answer from the AS")
}

#[test]
fn spec_resource_registration_crud() {
    let kit = kit_of(Dialect::Uma);
    let p = protection(&kit, Dialect::Uma);
    let mut album = ResourceDescription::new("album", ["view", "print"]);
    album.resource_type = Some("https://example.org/photo-album".into());
    let created = p.create_resource(&album).unwrap();
    assert!(created.location.as_deref().unwrap().ends_with(&created.id));
    assert!(created.user_access_policy_uri.is_some());

    let read = p.read_resource(&created.id).unwrap();
    assert_eq!(read.id.as_deref(), Some(created.id.as_str()));
    assert_eq!(read.name.as_deref(), Some("album"));
    assert_eq!(read.resource_scopes, ["view", "print"]);
    assert_eq!(
        read.resource_type.as_deref(),
        Some("https://example.org/photo-album")
    );

    let renamed = ResourceDescription::new("album 2", ["view"]);
    let updated = p.update_resource(&created.id, &renamed).unwrap();
    assert_eq!(updated.id.as_deref(), Some(created.id.as_str()));
    assert_eq!(
        p.read_resource(&created.id).unwrap().resource_scopes,
        ["view"]
    );

    let list = p.list_resources(&ResourceQuery::default()).unwrap();
    assert!(list.ids.contains(&created.id) && list.ids.contains(&"res-a".to_owned()));

    p.delete_resource(&created.id).unwrap();
    let gone = p.read_resource(&created.id).unwrap_err();
    assert!(core_error(&gone).is_not_found(), "{gone}");
    assert_eq!(core_error(&gone).code(), Some(&ErrorCode::NotFound));
    let again = p.delete_resource(&created.id).unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404));

    // One PAT for all of it, asked for with the uma_protection scope (§9.1), sent as Bearer.
    let tokens = logged(&kit, Endpoint::Token);
    assert_eq!(tokens.len(), 1, "{tokens:#?}");
    assert_eq!(tokens[0].form_value("scope"), Some("uma_protection"));
    assert_eq!(
        tokens[0].form_value("grant_type"),
        Some("client_credentials")
    );
    for r in logged(&kit, Endpoint::ResourceRegistration) {
        assert!(r.header("authorization").unwrap().starts_with("Bearer "));
    }
    // Missing resource_scopes: 400 invalid_request from the spec AS.
    let mut bad = ResourceDescription::new("x", Vec::<String>::new());
    bad.scope_expression = Some(serde_json::json!({"or": []}));
    let error = p.create_resource(&bad).unwrap_err();
    assert_eq!(core_error(&error).code(), Some(&ErrorCode::InvalidRequest));
}

#[test]
fn keycloak_resource_registration_crud_and_filters() {
    let kit = kit_of(Dialect::Keycloak);
    let p = protection(&kit, Dialect::Keycloak);
    let mut album = ResourceDescription::new("album", ["view"]);
    album.uris = vec!["/photos/*".into()];
    album.owner_managed_access = Some(true);
    let created = p.create_resource(&album).unwrap();
    // Keycloak: the full object back, scopes as `{"name"}` objects, no Location (§9.2).
    assert!(created.location.is_none());
    assert_eq!(created.resource.resource_scopes, ["view"]);
    // Keycloak: an RS-registered resource is owned by the RS client, named by its internal UUID.
    assert_eq!(created.resource.owner.as_deref().map(str::len), Some(36));
    assert_eq!(created.resource.uris, ["/photos/*"]);

    // A duplicate name: 409 invalid_request.
    let duplicate = p.create_resource(&album).unwrap_err();
    assert!(core_error(&duplicate).is_conflict(), "{duplicate}");
    assert_eq!(
        core_error(&duplicate).code(),
        Some(&ErrorCode::InvalidRequest)
    );

    // Update: 204 without a body.
    let updated = p
        .update_resource(
            &created.id,
            &ResourceDescription::new("album", ["view", "print"]),
        )
        .unwrap();
    assert_eq!(updated.id, None);
    assert_eq!(
        p.read_resource(&created.id).unwrap().resource_scopes,
        ["view", "print"]
    );

    // Filters go out as Keycloak's query parameters.
    let query = ResourceQuery {
        name: Some("album".into()),
        exact_name: Some(true),
        deep: Some(false),
        max: Some(10),
        ..ResourceQuery::default()
    };
    let list = p.list_resources(&query).unwrap();
    assert!(list.ids.contains(&created.id));
    let sent = logged(&kit, Endpoint::ResourceRegistration);
    let list_request = sent
        .iter()
        .rev()
        .find(|r| r.method == "GET" && r.query.is_some())
        .expect("the list request");
    assert_eq!(
        list_request.query.as_deref(),
        Some("name=album&exactName=true&deep=false&max=10")
    );

    p.delete_resource(&created.id).unwrap();
    // Keycloak's 404 (empty up to 26.5, `{"error":"HTTP 404 Not Found"}` on 26.7): a typed not-found.
    let gone = p.read_resource(&created.id).unwrap_err();
    assert!(core_error(&gone).is_not_found());
    assert_eq!(
        core_error(&gone).code(),
        Some(&uma_core::protection::ErrorCode::Other(
            "HTTP 404 Not Found".into()
        ))
    );

    // Keycloak's PAT request carries no scope (the role comes with the client).
    let tokens = logged(&kit, Endpoint::Token);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].form_value("scope"), None);
}

#[test]
fn gluu_resource_registration_and_scope_expression() {
    let kit = kit_of(Dialect::Gluu);
    let p = protection(&kit, Dialect::Gluu);
    let created = p
        .create_resource(&ResourceDescription::new("album", ["view"]))
        .unwrap();
    // Gluu: 201 `{"_id"}` without Location.
    assert!(created.location.is_none() && !created.id.is_empty());
    let mut expression = ResourceDescription::new("album", Vec::<String>::new());
    expression.scope_expression =
        Some(serde_json::json!({"rule": {"and": [{"var": 0}]}, "data": ["view"]}));
    let updated = p.update_resource(&created.id, &expression).unwrap();
    assert_eq!(updated.id.as_deref(), Some(created.id.as_str()));
    // An empty scope list is what the spec requires to be sent, and Gluu takes it.
    let bare = p
        .create_resource(&ResourceDescription::new("bare", Vec::<String>::new()))
        .unwrap();
    p.delete_resource(&bare.id).unwrap();
    let gone = p.read_resource(&bare.id).unwrap_err();
    assert_eq!(core_error(&gone).code(), Some(&ErrorCode::NotFound));
    p.delete_resource(&created.id).unwrap();
    assert_eq!(
        logged(&kit, Endpoint::Token)[0].form_value("scope"),
        Some("uma_protection")
    );
}

fn permission_tickets(dialect: Dialect) {
    let kit = kit_of(dialect);
    let p = protection(&kit, dialect);
    let one = p
        .request_ticket(vec![PermissionRequest::new("res-a", ["read"])])
        .unwrap();
    let two = p
        .request_ticket(vec![
            PermissionRequest::new("res-a", ["read"]),
            PermissionRequest::new("res-b", ["read", "write"]),
        ])
        .unwrap();
    assert!(!one.secret().is_empty() && !two.same_as(&one));

    let unknown = p
        .request_ticket(vec![PermissionRequest::new("no-such", ["read"])])
        .unwrap_err();
    assert_eq!(
        core_error(&unknown).code(),
        Some(&ErrorCode::InvalidResourceId)
    );
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(400));
    let scope = p
        .request_ticket(vec![PermissionRequest::new("res-a", ["fly"])])
        .unwrap_err();
    assert_eq!(core_error(&scope).code(), Some(&ErrorCode::InvalidScope));
    // Nothing asked: refused before sending.
    let before = kit.count_endpoint(Endpoint::Permission);
    let empty = p.request_ticket(Vec::new()).unwrap_err();
    assert!(matches!(
        core_error(&empty),
        ProtectionError::InvalidInput(_)
    ));
    assert_eq!(kit.count_endpoint(Endpoint::Permission), before);
    // Error messages name no ticket or PAT.
    assert!(!format!("{unknown} {unknown:?}").contains(one.secret()));
}

#[test]
fn spec_permission_tickets() {
    permission_tickets(Dialect::Uma);
}

#[test]
fn keycloak_permission_tickets_as_arrays() {
    // The Keycloak kit refuses an object body, so a single permission going through proves the array.
    permission_tickets(Dialect::Keycloak);
}

#[test]
fn gluu_permission_tickets() {
    permission_tickets(Dialect::Gluu);
}

#[test]
fn a_token_without_uma_protection_is_refused_per_dialect() {
    // Spec/Keycloak: 403 invalid_scope, final. Gluu: 406 invalid_client_scope, which renews once.
    for (dialect, status, code, pats) in [
        (Dialect::Uma, 403, ErrorCode::InvalidScope, 1),
        (Dialect::Keycloak, 403, ErrorCode::InvalidScope, 1),
        (Dialect::Gluu, 406, ErrorCode::InvalidClientScope, 2),
    ] {
        let kit = kit_of(dialect);
        let p = agent(&kit)
            .protection(
                &issuer(&kit),
                ClientCredentials::basic("app", "app-secret"),
                dialect,
            )
            .unwrap();
        let error = p.list_resources(&ResourceQuery::default()).unwrap_err();
        assert_eq!(
            error.status().map(|s| s.as_u16()),
            Some(status),
            "{dialect:?}"
        );
        assert_eq!(core_error(&error).code(), Some(&code));
        assert_eq!(kit.count_endpoint(Endpoint::Token), pats, "{dialect:?}");
    }
}

fn introspection(dialect: Dialect) {
    let kit = kit_of(dialect);
    let p = protection(&kit, dialect);
    let rpt = AccessToken::new(kit.rpt_for("alice", &[("res-a", "read")]));
    let seen = p.introspect(&rpt).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(seen.active);
    assert!(seen.allows("res-a", "read", now));
    assert!(!seen.allows("res-a", "write", now) && !seen.allows("res-b", "read", now));
    let unknown = p.introspect(&AccessToken::new("no-such-token")).unwrap();
    assert!(!unknown.active && !unknown.allows("res-a", "read", now));

    let sent = logged(&kit, Endpoint::Introspection);
    assert_eq!(sent.len(), 2);
    let auth = sent[0].header("authorization").unwrap();
    if dialect == Dialect::Keycloak {
        // Keycloak: the RS's own credentials and its RPT hint (§9.4).
        assert!(auth.starts_with("Basic "));
        assert_eq!(
            sent[0].form_value("token_type_hint"),
            Some("requesting_party_token")
        );
        assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
        assert_eq!(
            seen.permissions[0].resource_name.as_deref(),
            Some("Resource A")
        );
    } else {
        assert!(auth.starts_with("Bearer "));
        assert_eq!(sent[0].form_value("token_type_hint"), Some("access_token"));
    }
}

#[test]
fn spec_introspection() {
    introspection(Dialect::Uma);
}

#[test]
fn keycloak_introspection() {
    introspection(Dialect::Keycloak);
}

#[test]
fn gluu_introspection() {
    introspection(Dialect::Gluu);
}

#[test]
fn dynamic_client_registration_gives_working_credentials() {
    for dialect in [Dialect::Uma, Dialect::Keycloak, Dialect::Gluu] {
        let kit = kit_of(dialect);
        let p = protection(&kit, dialect);
        let mut registration = ClientRegistration::uma_client("photo printer");
        registration.claims_redirect_uris = vec!["https://printer.example/claims".into()];
        let client = p.register_client(&registration, None).unwrap();
        assert!(client.client_id.starts_with("dyn-"));
        let secret = client.client_secret.clone().expect("a confidential client");
        assert!(!format!("{client:?}").contains(secret.secret()));
        assert_eq!(client.metadata["client_name"], "photo printer");
        // The issued credentials work at the token endpoint.
        let registered = agent(&kit)
            .protection(&issuer(&kit), client.credentials(), dialect)
            .unwrap();
        registered.pat().unwrap();
    }
}

/// The lines the test resource server logs, and the server itself.
struct TinyRs {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TinyRs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A blocking resource server on 127.0.0.1 protecting `GET /photos` with (`resource`, `view`): the PEP
/// written with the helper's parts, one request per connection, at most 20 connections or 30 s.
fn tiny_rs(protection: Protection, resource: String) -> TinyRs {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/photos", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (thread_log, thread_stop) = (Arc::clone(&log), Arc::clone(&stop));
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < 20 && Instant::now() < deadline && !thread_stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    serve(stream, &protection, &resource, &thread_log);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    TinyRs {
        url,
        log,
        stop,
        thread: Some(thread),
    }
}

fn serve(stream: TcpStream, p: &Protection, resource: &str, log: &Mutex<Vec<String>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    let mut headers = http::HeaderMap::new();
    reader.read_line(&mut line).unwrap();
    let request_line = line.trim().to_owned();
    for _ in 0..100 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim().split_once(':') {
            headers.insert(
                http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
    }
    let wanted = PermissionRequest::new(resource, ["view"]);
    let response = match headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        Some(rpt) => {
            let seen = p.introspect(&AccessToken::new(rpt)).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            if seen.allows(resource, "view", now) {
                log.lock().unwrap().push(format!("{request_line}: served"));
                http::Response::new(b"three photos".to_vec())
            } else {
                log.lock()
                    .unwrap()
                    .push(format!("{request_line}: challenged an RPT"));
                p.challenge_for(vec![wanted])
            }
        }
        None => {
            log.lock()
                .unwrap()
                .push(format!("{request_line}: challenged"));
            p.challenge_for(vec![wanted])
        }
    };
    write_response(stream, &response);
}

fn write_response(mut stream: TcpStream, response: &http::Response<Vec<u8>>) {
    let mut head = format!(
        "HTTP/1.1 {}\r\nconnection: close\r\ncontent-length: {}\r\n",
        response.status(),
        response.body().len()
    );
    for (name, value) in response.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(response.body()).unwrap();
}

/// The key test: a resource server protected with the helper, in the spec dialect, and the project's
/// own client, trusting the kit's AS, getting through it.
#[test]
fn a_pep_built_with_the_helper_lets_the_uma_client_through() {
    let kit = kit_of(Dialect::Uma);
    let p = protection(&kit, Dialect::Uma);
    let album = p
        .create_resource(&ResourceDescription::new("album", ["view", "print"]))
        .unwrap();
    let rs = tiny_rs(p.clone(), album.id.clone());
    kit.clear_log();

    let client: UmaClient = agent(&kit);
    let response = client.get(&rs.url).send().unwrap().buffered();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), b"three photos");
    // Served again with the cached RPT: one more introspection, no new ticket.
    let response = client.get(&rs.url).send().unwrap().buffered();
    assert_eq!(response.status(), 200);

    assert_eq!(
        *rs.log.lock().unwrap(),
        [
            "GET /photos HTTP/1.1: challenged",
            "GET /photos HTTP/1.1: served",
            "GET /photos HTTP/1.1: served"
        ]
    );
    // The AS saw: the PEP's permission request, the client's ticket grant, the PEP's introspections.
    let seen: Vec<(Endpoint, Option<String>)> = kit
        .log()
        .into_iter()
        .filter(|r| r.endpoint != Endpoint::Discovery)
        .map(|r| (r.endpoint, r.form_value("grant_type").map(str::to_owned)))
        .collect();
    assert_eq!(
        seen,
        [
            (Endpoint::Permission, None),
            (Endpoint::Token, Some(UMA_GRANT.to_owned())),
            (Endpoint::Introspection, None),
            (Endpoint::Introspection, None),
        ]
    );
    let grant = logged(&kit, Endpoint::Token);
    assert_eq!(
        grant[0].header("authorization").map(|a| &a[..6]),
        Some("Basic ")
    );
}

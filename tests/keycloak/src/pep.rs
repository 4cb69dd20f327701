//! The project's own resource server in front of real Keycloak: a hyper server whose policy
//! enforcement point is `uma_hyper::Protection` (PAT, resource look-up, permission tickets from
//! Keycloak, RPT introspection). Real tickets and RPTs cross the wire; nothing here is canned.
//!
//! | Path | Method | Resource (client) | Scope |
//! |---|---|---|---|
//! | `/docs/shared` | GET / PUT | `shared-doc` (uma-rs) | `doc:read` / `doc:write` |
//! | `/docs/notes` | GET | `shared-notes` (uma-rs) | `doc:read` |
//! | `/docs/secret` | GET | `secret-doc` (uma-rs) | `doc:read` |
//! | `/alice/album` | GET | `alice-album` (uma-rs, owned by alice) | `album:view` |
//! | `/short/doc` | GET | `short-doc` (uma-rs-short: 3-second PATs, so 3-second tickets) | `doc:read` |

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use uma_core::Config;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, Pep, PermissionRequest, ResourceQuery};
use uma_hyper::protection::Decision;
use uma_hyper::{Protection, UmaClient};

use crate::background::Background;

#[derive(Clone, Copy)]
struct Route {
    path: &'static str,
    method: &'static str,
    resource: &'static str,
    scope: &'static str,
    short: bool,
}

/// A route added at run time: `GET path` needs `scope` on the resource `id` (uma-rs).
#[derive(Clone)]
struct Owned {
    id: String,
    scope: String,
}

const ROUTES: &[Route] = &[
    Route {
        path: "/docs/shared",
        method: "GET",
        resource: "shared-doc",
        scope: "doc:read",
        short: false,
    },
    Route {
        path: "/docs/shared",
        method: "PUT",
        resource: "shared-doc",
        scope: "doc:write",
        short: false,
    },
    Route {
        path: "/docs/notes",
        method: "GET",
        resource: "shared-notes",
        scope: "doc:read",
        short: false,
    },
    Route {
        path: "/docs/secret",
        method: "GET",
        resource: "secret-doc",
        scope: "doc:read",
        short: false,
    },
    Route {
        path: "/alice/album",
        method: "GET",
        resource: "alice-album",
        scope: "album:view",
        short: false,
    },
    Route {
        path: "/short/doc",
        method: "GET",
        resource: "short-doc",
        scope: "doc:read",
        short: true,
    },
];

struct State {
    main: Protection,
    short: Protection,
    /// Resource name → Keycloak `_id`.
    ids: HashMap<&'static str, String>,
    /// Path → resource added by [`ResourceServer::protect_owned`].
    owned: Mutex<HashMap<String, Owned>>,
    requests: AtomicUsize,
    served: AtomicUsize,
    /// Request bodies the resource server received, in order.
    bodies: Mutex<Vec<Vec<u8>>>,
}

/// The resource server; stops when dropped.
pub struct ResourceServer {
    base: String,
    state: Arc<State>,
    background: Background,
}

impl ResourceServer {
    /// Starts it against `issuer` (the realm through a proxy): discovers, gets PATs, looks up the
    /// realm's resources by exact name.
    pub fn start(issuer: &str) -> ResourceServer {
        let background = Background::start("keycloak-rs");
        let issuer = issuer.to_owned();
        let state = background.run(async move {
            let issuer = Issuer::parse(&issuer).expect("issuer");
            let http = UmaClient::new(Config::new().allow_insecure_http(true)).expect("client");
            let protection = |id: &str, secret: &str| {
                let http = http.clone();
                let issuer = issuer.clone();
                let credentials = ClientCredentials::basic(id, secret);
                async move {
                    http.protection(&issuer, credentials, Dialect::Keycloak)
                        .await
                        .expect("protection")
                        .with_realm(crate::REALM)
                        .expect("realm")
                }
            };
            let main = protection(crate::RS_CLIENT, crate::RS_SECRET).await;
            let short = protection(crate::RS_SHORT_CLIENT, crate::RS_SHORT_SECRET).await;
            let mut ids = HashMap::new();
            for route in ROUTES {
                let query = ResourceQuery {
                    name: Some(route.resource.into()),
                    exact_name: Some(true),
                    deep: Some(true),
                    ..Default::default()
                };
                let owner = if route.short { &short } else { &main };
                let list = owner.list_resources(&query).await.expect("list resources");
                let id = list
                    .ids
                    .first()
                    .unwrap_or_else(|| panic!("{} not found", route.resource));
                ids.insert(route.resource, id.clone());
            }
            Arc::new(State {
                main,
                short,
                ids,
                owned: Mutex::new(HashMap::new()),
                requests: AtomicUsize::new(0),
                served: AtomicUsize::new(0),
                bodies: Mutex::new(Vec::new()),
            })
        });
        let listener = background
            .run(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let accept = state.clone();
        background.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = accept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ResourceServer {
            base,
            state,
            background,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Requests received.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests served with 200.
    pub fn served(&self) -> usize {
        self.state.served.load(Ordering::SeqCst)
    }

    /// The Keycloak `_id` of a realm resource by name.
    pub fn resource_id(&self, name: &str) -> String {
        self.state.ids[name].clone()
    }

    /// The main resource server's protection handle (uma-rs).
    pub fn protection(&self) -> Protection {
        self.state.main.clone()
    }

    /// Serves the realm's owner-managed resource `name` (one of `alice-album-{ureq,hyper,cli,java}`,
    /// owned by alice, so that approvals never leak between suites) at `/owned/<name>`; GET needs
    /// `album:view`. Returns the path and the resource id.
    ///
    /// The realm declares these: Keycloak 26.7's protection API ignores `owner` on create (the
    /// resource server always owns what it registers), so a user-owned resource cannot be made here.
    pub fn protect_owned(&self, name: &str) -> (String, String) {
        let protection = self.protection();
        let query = ResourceQuery {
            name: Some(name.to_owned()),
            exact_name: Some(true),
            ..Default::default()
        };
        let list = self
            .block_on(async move { protection.list_resources(&query).await })
            .expect("list resources");
        let id = list
            .ids
            .first()
            .unwrap_or_else(|| panic!("{name} not in the realm"))
            .clone();
        let path = format!("/owned/{name}");
        self.state.owned.lock().unwrap().insert(
            path.clone(),
            Owned {
                id: id.clone(),
                scope: "album:view".into(),
            },
        );
        (path, id)
    }

    /// Deletes every permission request (pending or approved) on resource `id`: approvals are undone.
    pub fn revoke_all(&self, id: &str) {
        let protection = self.protection();
        let query = uma_core::protection::PermissionRequestQuery {
            resource_id: Some(id.to_owned()),
            ..Default::default()
        };
        self.block_on(async move {
            for record in protection
                .list_permission_requests(&query)
                .await
                .expect("list")
            {
                protection
                    .answer_permission_request(&record.id, false)
                    .await
                    .expect("deny");
            }
        });
    }

    /// Request bodies received, in order.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.state.bodies.lock().unwrap().clone()
    }

    /// Runs a future on the server's runtime and waits for it (protection calls from blocking tests).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.background.run(future)
    }
}

async fn handle(state: &State, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_owned();
    let owned = state.owned.lock().unwrap().get(&path).cloned();
    let route = ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method)
        .copied();
    let (protection, wanted) = match (route, owned) {
        (Some(route), _) => (
            if route.short {
                &state.short
            } else {
                &state.main
            },
            PermissionRequest::new(state.ids[route.resource].clone(), [route.scope]),
        ),
        (None, Some(owned)) if method == "GET" => {
            (&state.main, PermissionRequest::new(owned.id, [owned.scope]))
        }
        _ => {
            let not_found = http::Response::builder()
                .status(404)
                .body(b"no such route".to_vec());
            return respond(not_found);
        }
    };
    let (parts, body) = request.into_parts();
    let wanted = vec![wanted];
    let answer = match protection.enforce(&parts.headers, wanted).await {
        Ok(Decision::Allow(_)) => {
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes().to_vec())
                .unwrap_or_default();
            state.bodies.lock().unwrap().push(body);
            state.served.fetch_add(1, Ordering::SeqCst);
            http::Response::new(format!("rs: {method} {path}").into_bytes())
        }
        Ok(Decision::Challenge(challenge)) => challenge,
        Err(error) => {
            eprintln!("rs: {error}");
            Pep::unreachable()
        }
    };
    respond(Ok(answer))
}

fn respond(response: Result<http::Response<Vec<u8>>, http::Error>) -> hyper::Response<Full<Bytes>> {
    response
        .unwrap_or_else(|_| http::Response::new(Vec::new()))
        .map(|body| Full::new(Bytes::from(body)))
}

//! The referee for EOEPCA DemoClient's sequence (eoepca-clients.md §2) walked by a client against the
//! Gluu dialect: what the kit must have received at each step, and where the user's ID token may go.
//!
//! A walk records the kit's log per step ([`StepLog`], clearing the log before each one) and hands the
//! steps to [`check_walk`], which compares them with [`WALK`].

use crate::log::{Endpoint, LoggedRequest, Server};

/// The requests one step must make, in order: server, method, endpoint, and for RS requests the path.
pub type Expected = &'static [(Server, &'static str, Endpoint, &'static str)];

/// How the ID token travels in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdToken {
    /// Nowhere.
    Absent,
    /// As `Authorization: Bearer` to the RS (the PEP resource API, the Workspace API).
    Bearer,
    /// As `X-User-Id` on every RS request and as `claim_token` of every ticket exchange (UMA).
    UserIdAndClaim,
}

/// DemoClient's sequence: `(step, expected requests, ID token)`.
pub const WALK: [(&str, Expected, IdToken); 6] = [
    (
        "register_client",
        &[
            (Server::As, "GET", Endpoint::Discovery, ""),
            (Server::As, "POST", Endpoint::ClientRegistration, ""),
        ],
        IdToken::Absent,
    ),
    (
        "login",
        &[
            (Server::As, "GET", Endpoint::Discovery, ""),
            (Server::As, "POST", Endpoint::Token, ""),
        ],
        IdToken::Absent,
    ),
    (
        "register_resource",
        &[(Server::Rs, "POST", Endpoint::RsResource, "/resources")],
        IdToken::Bearer,
    ),
    (
        "list_processes",
        &[
            (Server::Rs, "GET", Endpoint::RsResource, ADES_PROCESSES),
            (Server::As, "GET", Endpoint::Discovery, ""),
            (Server::As, "POST", Endpoint::Token, ""),
            (Server::Rs, "GET", Endpoint::RsResource, ADES_PROCESSES),
        ],
        IdToken::UserIdAndClaim,
    ),
    (
        "create_workspace",
        &[(Server::Rs, "POST", Endpoint::RsResource, "/workspaces")],
        IdToken::Bearer,
    ),
    (
        "list_processes_again",
        &[(Server::Rs, "GET", Endpoint::RsResource, ADES_PROCESSES)],
        IdToken::UserIdAndClaim,
    ),
];

/// Alice's ADES process list, below the `/alice` resource registered at the PEP.
pub const ADES_PROCESSES: &str = "/alice/wps3/processes";

/// DemoClient's login scope.
pub const LOGIN_SCOPE: &str = "openid user_name profile is_operator";

/// What the kit received during one step.
#[derive(Debug, Clone)]
pub struct StepLog {
    /// The step's name, as in [`WALK`].
    pub name: String,
    /// The requests, oldest first.
    pub requests: Vec<LoggedRequest>,
}

/// Checks a walk against [`WALK`]; `Err` says what differs (never quoting the ID token).
pub fn check_walk(steps: &[StepLog], id_token: &str) -> Result<(), String> {
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let want: Vec<&str> = WALK.iter().map(|w| w.0).collect();
    if names != want {
        return Err(format!("steps {names:?}, expected {want:?}"));
    }
    for (step, (name, expected, how)) in steps.iter().zip(WALK) {
        let seen: Vec<(Server, &str, Endpoint, &str)> = step
            .requests
            .iter()
            .map(|r| (r.server, r.method.as_str(), r.endpoint, rs_path(r)))
            .collect();
        let expected: Vec<_> = expected.to_vec();
        if seen != expected {
            return Err(format!("{name}: saw {seen:?}, expected {expected:?}"));
        }
        for r in &step.requests {
            check_id_token(name, r, id_token, how)?;
        }
    }
    let login = &steps[1].requests[1];
    if login.form_value("grant_type") != Some("password")
        || login.form_value("scope") != Some(LOGIN_SCOPE)
    {
        return Err("login: not DemoClient's password grant and scope".into());
    }
    Ok(())
}

fn rs_path(r: &LoggedRequest) -> &str {
    if r.server == Server::Rs { &r.path } else { "" }
}

/// Where the ID token appears in a request: header names and form field names.
fn carriers(r: &LoggedRequest, id_token: &str) -> Vec<String> {
    let mut out: Vec<String> = r
        .headers
        .iter()
        .filter(|(_, v)| v.contains(id_token))
        .map(|(n, v)| {
            let bearer = v == &format!("Bearer {id_token}");
            format!("{n}{}", if bearer { ":bearer" } else { "" })
        })
        .collect();
    out.extend(
        r.form
            .iter()
            .filter(|(_, v)| v.contains(id_token))
            .map(|(n, _)| format!("form:{n}")),
    );
    if r.query.as_deref().is_some_and(|q| q.contains(id_token)) {
        out.push("query".into());
    }
    out
}

fn check_id_token(
    step: &str,
    r: &LoggedRequest,
    id_token: &str,
    how: IdToken,
) -> Result<(), String> {
    let found = carriers(r, id_token);
    let want: &[&str] = match (how, r.server, r.endpoint) {
        (IdToken::Bearer, Server::Rs, _) => &["authorization:bearer"],
        (IdToken::UserIdAndClaim, Server::Rs, _) => &["x-user-id"],
        (IdToken::UserIdAndClaim, Server::As, Endpoint::Token) => &["form:claim_token"],
        _ => &[],
    };
    if found != want {
        return Err(format!(
            "{step}: the ID token went to {:?} {} as {found:?}, expected {want:?}",
            r.server, r.path
        ));
    }
    let user_id = r.header("x-user-id");
    if how == IdToken::UserIdAndClaim && r.server == Server::Rs && user_id != Some(id_token) {
        return Err(format!("{step}: an RS request without X-User-Id"));
    }
    Ok(())
}

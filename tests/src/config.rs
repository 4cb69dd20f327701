//! What a kit serves: dialect, challenge style, clients, users, resources and policy.
//!
//! Everything here is plain data fixed at [`crate::Kit::start`]; the knobs that change while the
//! servers run (faults, approval counts, discovery tweaks) live on [`crate::Kit`] itself.

use std::time::Duration;

/// The `claim_token_format` of an OpenID Connect ID token (docs/protocol.md §3.1; note `http://`).
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
/// Keycloak's "JWT" claim token format: base64url(JSON object of name → array of strings) (§3.1).
pub const JWT_CLAIMS_FORMAT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The UMA grant type URN (UMAG §3.3.1).
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// Which authorization server the kit imitates (docs/protocol.md §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// The Kantara UMA 2.0 recommendation: issuer at the root, single-use tickets,
    /// `need_info` / `request_submitted` with rotated tickets, `request_denied`, `invalid_grant`.
    Spec,
    /// Keycloak: issuer `{base}/realms/{realm}`, JWT-shaped reusable tickets, `403 access_denied`
    /// with `not_authorized` / `request_submitted` descriptions, `403 invalid_ticket`, ticketless
    /// `audience` + `permission` requests, user Bearer tokens as client authentication.
    Keycloak {
        /// The realm name (appears in the issuer path).
        realm: String,
    },
    /// Gluu oxAuth (EOEPCA): endpoints under `/oxauth/restv1`, no `expires_in`, no refresh token,
    /// a PCT on every success, `400 invalid_ticket`, `403 forbidden_by_policy`, `need_info` with
    /// `redirect_user`, in-place RPT upgrade.
    Gluu,
}

impl Dialect {
    /// Keycloak with realm `demo`.
    pub fn keycloak() -> Self {
        Dialect::Keycloak {
            realm: "demo".to_string(),
        }
    }
}

/// How the resource server writes its challenge (docs/protocol.md §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeStyle {
    /// `401`, `UMA realm="api", as_uri="…", ticket="…"` (UMAG §3.2.1).
    SpecQuoted,
    /// `401`, `UMA realm="api",as_uri="…",ticket="…"` (Keycloak policy enforcer, no spaces).
    Keycloak,
    /// `401`, `UMA realm=eoepca,as_uri=…,ticket=…` (EOEPCA PEP, unquoted values).
    EoepcaUnquoted,
    /// `401`, `Bearer realm="api", ticket="…"` without `as_uri` (non-standard).
    BearerNoAsUri,
    /// UMA 1.0: `403`, `UMA realm="api", as_uri="…"` and the ticket in a JSON body.
    Uma1Body403,
    /// `401` with two header lines: `Bearer realm="api"`, then the spec UMA challenge.
    TwoLines,
}

/// A registered OAuth client (its `Debug` output hides the secret).
#[derive(Clone)]
pub struct ClientReg {
    /// The `client_id`.
    pub client_id: String,
    /// The secret; `None` makes a public client (authenticates with `client_id` only).
    pub secret: Option<String>,
    /// Whether a client-credentials token of this client is a PAT (`uma_protection`). In the Gluu
    /// dialect the token must also have been requested with `scope=uma_protection` (§9.1).
    pub protection: bool,
    /// Registered claims redirect URIs; empty accepts any (UMAG §3.3.2).
    pub claims_redirect_uris: Vec<String>,
}

impl std::fmt::Debug for ClientReg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientReg")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("protection", &self.protection)
            .field("claims_redirect_uris", &self.claims_redirect_uris)
            .finish()
    }
}

impl ClientReg {
    /// A confidential client.
    pub fn confidential(client_id: &str, secret: &str) -> Self {
        ClientReg {
            client_id: client_id.to_string(),
            secret: Some(secret.to_string()),
            protection: false,
            claims_redirect_uris: Vec::new(),
        }
    }

    /// A public client (no secret).
    pub fn public(client_id: &str) -> Self {
        ClientReg {
            client_id: client_id.to_string(),
            secret: None,
            protection: false,
            claims_redirect_uris: Vec::new(),
        }
    }

    /// A resource server client whose client-credentials tokens are PATs.
    pub fn resource_server(client_id: &str, secret: &str) -> Self {
        ClientReg {
            protection: true,
            ..ClientReg::confidential(client_id, secret)
        }
    }
}

/// A requesting party (end user) known to the AS (its `Debug` output hides the password).
#[derive(Clone)]
pub struct UserReg {
    /// Login name; also the `sub` of its tokens.
    pub username: String,
    /// Password for the `password` grant.
    pub password: String,
    /// Scopes this user is never granted (all others are).
    pub denied_scopes: Vec<String>,
    /// Claims carried by the user's ID token, e.g. `("email", "alice@example.org")`.
    pub claims: Vec<(String, String)>,
}

impl std::fmt::Debug for UserReg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserReg")
            .field("username", &self.username)
            .field("denied_scopes", &self.denied_scopes)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl UserReg {
    /// A user allowed every scope, with an `email` claim `{username}@example.org`.
    pub fn new(username: &str, password: &str) -> Self {
        UserReg {
            username: username.to_string(),
            password: password.to_string(),
            denied_scopes: Vec::new(),
            claims: vec![("email".to_string(), format!("{username}@example.org"))],
        }
    }

    /// The same user as an EOEPCA operator: `isOperator: true` in the ID token, which the PEP resource
    /// API reads (operators list their resources and register on behalf of others).
    pub fn operator(mut self) -> Self {
        self.claims
            .push(("isOperator".to_string(), "true".to_string()));
        self
    }

    /// The same user, denied `scope`.
    pub fn deny(mut self, scope: &str) -> Self {
        self.denied_scopes.push(scope.to_string());
        self
    }
}

/// A protected resource: a path prefix on the RS and the scope each HTTP method needs.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// The resource's `_id` at the AS.
    pub id: String,
    /// Human name (Keycloak's `rsname`, also accepted in `permission=`).
    pub name: String,
    /// Path prefix on the RS, e.g. `/api/a` (longest prefix wins).
    pub path: String,
    /// `(METHOD, scope)` pairs; a method not listed answers 405.
    pub method_scopes: Vec<(String, String)>,
    /// Keycloak: the owning user (`None`: the resource server owns it).
    pub owner: Option<String>,
    /// Keycloak: `ownerManagedAccess` — requests by others are recorded as permission tickets
    /// for the owner to approve, and only approved scopes are granted to them.
    pub owner_managed_access: bool,
    /// The resource's `type` at the AS (e.g. `urn:uma-test:doc`); `None` leaves it out.
    pub resource_type: Option<String>,
}

impl ResourceDef {
    /// A resource where GET/HEAD need `read` and POST/PUT/PATCH/DELETE need `write`.
    pub fn read_write(id: &str, name: &str, path: &str) -> Self {
        let pairs = [
            ("GET", "read"),
            ("HEAD", "read"),
            ("POST", "write"),
            ("PUT", "write"),
            ("PATCH", "write"),
            ("DELETE", "write"),
        ];
        ResourceDef {
            id: id.to_string(),
            name: name.to_string(),
            path: path.to_string(),
            method_scopes: pairs
                .iter()
                .map(|(m, s)| (m.to_string(), s.to_string()))
                .collect(),
            owner: None,
            owner_managed_access: false,
            resource_type: None,
        }
    }

    /// Builder-style: the resource's `type` at the AS.
    pub fn with_type(mut self, resource_type: &str) -> Self {
        self.resource_type = Some(resource_type.to_string());
        self
    }

    /// Builder-style (Keycloak): owned by user `owner`, with owner-managed access. This is the only
    /// way to a user-owned resource: like Keycloak 26.7, the protection API ignores `owner` on
    /// registration (the resource server owns what it registers there).
    pub fn owner_managed_by(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_string());
        self.owner_managed_access = true;
        self
    }

    /// The scope `method` needs, if the method is allowed.
    pub fn scope_for(&self, method: &str) -> Option<&str> {
        self.method_scopes
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, s)| s.as_str())
    }

    /// Every distinct scope of the resource, in declaration order.
    pub fn scopes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, s) in &self.method_scopes {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// A claim that must be pushed before the AS grants anything (`need_info` otherwise).
#[derive(Debug, Clone)]
pub struct RequiredClaim {
    /// Claim name as it appears in the ID token, e.g. `email`.
    pub name: String,
    /// `friendly_name` in `required_claims`.
    pub friendly_name: String,
    /// `claim_type` in `required_claims`.
    pub claim_type: String,
}

impl RequiredClaim {
    /// The spec example's e-mail claim (UMAG §3.3.6).
    pub fn email() -> Self {
        RequiredClaim {
            name: "email".to_string(),
            friendly_name: "email".to_string(),
            claim_type: "urn:oid:0.9.2342.19200300.100.1.3".to_string(),
        }
    }
}

/// Authorization policy of the AS (initial values; most are runtime knobs too).
#[derive(Debug, Clone)]
pub struct Policy {
    /// A claim the requesting party must push (or have gathered / persisted in a PCT).
    pub required_claim: Option<RequiredClaim>,
    /// Owner approval: the first N requests for the same party and permissions get
    /// `request_submitted`; `None` approves immediately. No effect in the Gluu dialect (§5.5).
    pub approve_after_polls: Option<u32>,
    /// The `interval` (seconds) sent with `request_submitted`.
    pub poll_interval: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            required_claim: None,
            approve_after_polls: None,
            poll_interval: 1,
        }
    }
}

/// Complete configuration of a kit. Build with [`KitConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct KitConfig {
    /// AS dialect.
    pub dialect: Dialect,
    /// RS challenge style.
    pub challenge_style: ChallengeStyle,
    /// Serve every server over HTTPS with certificates from a generated test CA.
    pub tls: bool,
    /// The `realm` of the RS challenge.
    pub realm: String,
    /// Registered clients.
    pub clients: Vec<ClientReg>,
    /// Known requesting parties.
    pub users: Vec<UserReg>,
    /// Protected resources on the RS (also registered at the AS).
    pub resources: Vec<ResourceDef>,
    /// Policy.
    pub policy: Policy,
    /// RPT lifetime; `None` means RPTs never expire.
    pub rpt_lifetime: Option<Duration>,
    /// How many successful RS requests one RPT allows (EOEPCA `limitUses`, §7.4); `None` = unlimited.
    pub rpt_use_limit: Option<u32>,
    /// Issue refresh tokens with RPTs and user tokens (never in the Gluu dialect, §7.3).
    pub refresh_tokens: bool,
    /// Lifetime of permission tickets.
    pub ticket_lifetime: Duration,
    /// Lifetime of user access tokens and PATs.
    pub access_token_lifetime: Duration,
    /// Only mint a ticket when the RS request carried a Bearer token; a tokenless request gets a
    /// plain `Bearer realm="…"` 401 (Keycloak policy enforcer, §2.3). Default: on for
    /// [`ChallengeStyle::Keycloak`].
    pub ticket_only_with_bearer: bool,
    /// The Keycloak resource-server client id (the `audience` of ticketless requests, §2.9).
    pub resource_server_client: String,
    /// The Keycloak version imitated, `(major, minor)` (default `(26, 7)`), where answers differ
    /// between versions. From 26.6 on (before: recorded on 26.4.7): an invalid Bearer token at the
    /// UMA grant and a wrong password are `400 invalid_grant` (before: 401), and reading an unknown
    /// resource is `404 {"error":"HTTP 404 Not Found"}` (before: an empty 404). The 26.6 boundary
    /// is known for the Bearer token; the other two were only seen to differ between 26.4.7 and
    /// 26.7.3. Ignored by the other dialects.
    pub keycloak_version: (u32, u32),
    /// Listen on this loopback port (the AS) and the next one (the RS) instead of random ports.
    pub port: Option<u16>,
}

impl KitConfig {
    /// Sensible defaults for `dialect`: challenge style matching the dialect (spec quoted,
    /// Keycloak, EOEPCA unquoted for Gluu), plain HTTP, clients `app`/`app-secret`
    /// (confidential), `public-app` (public) and `rs`/`rs-secret` (PAT holder), users
    /// `alice`/`alice-pw` (allowed everything) and `bob`/`bob-pw` (denied `write`), resources
    /// `/api/a` (`res-a`), `/api/b` (`res-b`) and `/api/echo` (`res-echo`) with GET → `read`,
    /// writes → `write`, RPTs valid 300 s with refresh tokens. In the Gluu dialect alice is an
    /// EOEPCA operator ([`UserReg::operator`]).
    pub fn new(dialect: Dialect) -> Self {
        let challenge_style = match dialect {
            Dialect::Spec => ChallengeStyle::SpecQuoted,
            Dialect::Keycloak { .. } => ChallengeStyle::Keycloak,
            Dialect::Gluu => ChallengeStyle::EoepcaUnquoted,
        };
        let realm = match &dialect {
            Dialect::Spec => "api".to_string(),
            Dialect::Keycloak { realm } => realm.clone(),
            Dialect::Gluu => "eoepca".to_string(),
        };
        KitConfig {
            challenge_style,
            tls: false,
            realm,
            clients: vec![
                ClientReg::confidential("app", "app-secret"),
                ClientReg::public("public-app"),
                ClientReg::resource_server("rs", "rs-secret"),
            ],
            users: vec![
                match dialect {
                    // EOEPCA's PEP lists resources only to their operator-owners (§4.4).
                    Dialect::Gluu => UserReg::new("alice", "alice-pw").operator(),
                    _ => UserReg::new("alice", "alice-pw"),
                },
                UserReg::new("bob", "bob-pw").deny("write"),
            ],
            resources: vec![
                ResourceDef::read_write("res-a", "Resource A", "/api/a"),
                ResourceDef::read_write("res-b", "Resource B", "/api/b"),
                ResourceDef::read_write("res-echo", "Echo", "/api/echo"),
            ],
            policy: Policy::default(),
            rpt_lifetime: Some(Duration::from_secs(300)),
            rpt_use_limit: None,
            refresh_tokens: true,
            ticket_lifetime: Duration::from_secs(300),
            access_token_lifetime: Duration::from_secs(300),
            ticket_only_with_bearer: challenge_style == ChallengeStyle::Keycloak,
            resource_server_client: "rs".to_string(),
            keycloak_version: (26, 7),
            port: None,
            dialect,
        }
    }

    /// Builder-style: set the challenge style (also resets `ticket_only_with_bearer` to the
    /// style's default).
    pub fn with_challenge_style(mut self, style: ChallengeStyle) -> Self {
        self.challenge_style = style;
        self.ticket_only_with_bearer = style == ChallengeStyle::Keycloak;
        self
    }

    /// Builder-style: the AS on `port`, the RS on `port + 1` (loopback).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Builder-style: serve HTTPS.
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }
}

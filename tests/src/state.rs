//! State shared by the AS, the RS and the `Kit` handle: tokens, tickets, RPTs, PCTs, resources,
//! runtime knobs, the request log and the fault table.
//!
//! Every lock here is a `std::sync::Mutex` held only for a few map operations; handlers never
//! await while holding one, so 1,000 concurrent connections do not serialise on I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::{ClientReg, Dialect, KitConfig, RequiredClaim};
use crate::faults::FaultTable;
use crate::faults::GrantedBody;
pub use crate::kc_state::PermTicket;
use crate::log::RequestLog;
pub use crate::paths::AsPaths;
use crate::tokens::{Minter, now_unix};

/// Permissions: resource id → granted scopes.
pub type Perms = BTreeMap<String, BTreeSet<String>>;

/// Base URLs of the three servers.
#[derive(Debug, Clone)]
pub struct Urls {
    /// AS origin, e.g. `http://127.0.0.1:41234`.
    pub as_base: String,
    /// RS origin.
    pub rs_base: String,
    /// Hostile AS origin.
    pub hostile_base: String,
}

/// Who a token or RPT was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A requesting party (end user).
    User(String),
    /// The client itself (client credentials, or no identity pushed).
    Client(String),
}

impl Subject {
    /// The `sub` value.
    pub fn sub(&self) -> &str {
        match self {
            Subject::User(u) | Subject::Client(u) => u,
        }
    }
}

/// An OAuth access token (user token or PAT).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Whose token.
    pub subject: Subject,
    /// The client it was issued to.
    pub client_id: String,
    /// Whether it is a PAT.
    pub protection: bool,
    /// Expiry.
    pub expires: Instant,
    /// The `iss` it was minted with (Keycloak: from the request's Host).
    pub issuer: String,
}

/// A permission ticket kept server-side (spec and Gluu; Keycloak tickets are self-contained).
#[derive(Debug, Clone)]
pub struct TicketInfo {
    /// Requested permissions.
    pub perms: Perms,
    /// Expiry.
    pub expires: Instant,
    /// Identity established at the claims interaction endpoint, carried across rotation.
    pub gathered_user: Option<String>,
    /// The user whose access token the RS was shown with the request it minted the ticket for,
    /// carried across rotation. It names the requesting party when nothing else does (no pushed
    /// claim, PCT or gathered identity), so a user's denied scopes apply without claim pushing; it
    /// satisfies no required claim.
    pub rs_user: Option<String>,
}

/// An issued RPT.
#[derive(Debug, Clone)]
pub struct RptInfo {
    /// Granted permissions.
    pub perms: Perms,
    /// Expiry (`None`: never).
    pub expires: Option<Instant>,
    /// `exp` as Unix seconds (for introspection).
    pub exp_unix: Option<u64>,
    /// `iat` as Unix seconds.
    pub iat_unix: u64,
    /// Successful RS uses left (`None`: unlimited).
    pub uses_left: Option<u32>,
    /// Requesting client.
    pub client_id: String,
    /// Requesting party.
    pub subject: Subject,
    /// The `iss` it was minted with (Keycloak: from the request's Host).
    pub issuer: String,
    /// Keycloak: minted by a refresh, which drops `aud` (26.4 still accepts it, 26.7 does not).
    pub lost_audience: bool,
}

impl RptInfo {
    /// Whether the RPT is still within its lifetime.
    pub fn active(&self) -> bool {
        self.expires.is_none_or(|e| Instant::now() < e)
    }
}

/// What a refresh token refreshes.
#[derive(Debug, Clone)]
pub enum RefreshInfo {
    /// An RPT: permissions carry over without re-evaluation (UMAG §3.6).
    Rpt {
        /// Permissions of the RPT.
        perms: Perms,
        /// Client the RPT was issued to.
        client_id: String,
        /// Requesting party.
        subject: Subject,
        /// Keycloak: the session (`sid`, answered as `session_state` on refresh).
        session: String,
    },
    /// A user access token.
    User {
        /// The user.
        username: String,
        /// The client.
        client_id: String,
        /// Keycloak: the user session (`sid`, answered as `session_state`).
        session: String,
    },
}

impl RefreshInfo {
    /// The client the refresh token was issued to.
    pub fn client_id(&self) -> &str {
        match self {
            RefreshInfo::Rpt { client_id, .. } | RefreshInfo::User { client_id, .. } => client_id,
        }
    }

    /// The session it belongs to.
    pub fn session(&self) -> &str {
        match self {
            RefreshInfo::Rpt { session, .. } | RefreshInfo::User { session, .. } => session,
        }
    }

    fn sub(&self) -> &str {
        match self {
            RefreshInfo::Rpt { subject, .. } => subject.sub(),
            RefreshInfo::User { username, .. } => username,
        }
    }
}

/// A persisted claims token.
#[derive(Debug, Clone)]
pub struct PctInfo {
    /// The requesting party.
    pub username: String,
}

/// A resource registered at the AS.
#[derive(Debug, Clone)]
pub struct StoredResource {
    /// `_id`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Other members as registered (`type`, `icon_uri`, `uris`, `description`, …).
    pub extra: serde_json::Map<String, Value>,
    /// Keycloak: the owning user (`None`: the resource server).
    pub owner: Option<String>,
    /// Keycloak: `ownerManagedAccess`.
    pub owner_managed: bool,
}

/// Runtime knobs (see the `Kit` methods that set them).
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// Owner approval after N polls.
    pub approve_after_polls: Option<u32>,
    /// Claim that must be pushed.
    pub required_claim: Option<RequiredClaim>,
    /// `as_uri` the RS puts in challenges instead of the issuer.
    pub challenge_as_uri: Option<String>,
    /// `issuer` the discovery document claims instead of the real one.
    pub discovery_issuer: Option<String>,
    /// `token_endpoint` the discovery document advertises instead of the real one.
    pub discovery_token_endpoint: Option<String>,
    /// RS answers every request with a fresh challenge.
    pub rs_always_401: bool,
    /// Keycloak-style: no ticket unless the RS request carried a Bearer token.
    pub ticket_only_with_bearer: bool,
    /// Override of the RPT use limit.
    pub rpt_use_limit: Option<u32>,
    /// The body of the RS's granted answers.
    pub granted_body: GrantedBody,
    /// Protected RS requests need `X-User-Id: <ID token>` (EOEPCA's uma-user-agent front).
    pub require_user_id: bool,
    /// Every RS challenge carries this many generated bytes (with a `Content-Length`).
    pub challenge_body: Option<u64>,
    /// Every RS challenge's body (UMA 1.0's JSON ticket included) stops after 8 bytes for this long.
    pub stalled_challenge_body: Option<std::time::Duration>,
    /// The RS reads every request body before deciding, `Expect: 100-continue` or not.
    pub rs_ignore_expect: bool,
}

/// Mutable protocol state.
#[derive(Debug, Default)]
pub struct Inner {
    /// Access tokens and PATs.
    pub tokens: HashMap<String, TokenInfo>,
    /// RPTs.
    pub rpts: HashMap<String, RptInfo>,
    /// Refresh tokens.
    pub refresh: HashMap<String, RefreshInfo>,
    /// Live server-side tickets.
    pub tickets: HashMap<String, TicketInfo>,
    /// PCTs.
    pub pcts: HashMap<String, PctInfo>,
    /// Owner-approval polls per (party, permissions).
    pub approval_polls: HashMap<String, u32>,
    /// Registered resources by `_id`.
    pub resources: BTreeMap<String, StoredResource>,
    /// Registered clients (configured plus dynamically registered).
    pub clients: Vec<ClientReg>,
    /// Keycloak permission tickets (owner-managed access requests) by id.
    pub permission_tickets: BTreeMap<String, PermTicket>,
    /// Keycloak scope ids by scope name (one id per name, made on first use).
    pub scope_ids: BTreeMap<String, String>,
    /// Gluu (EOEPCA): resources registered through the PEP resource API, by id.
    pub pep_resources: BTreeMap<String, crate::eoepca::PepStored>,
}

/// Everything the servers share.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the kit started with.
    pub cfg: KitConfig,
    /// Server origins.
    pub urls: Urls,
    /// AS endpoint paths.
    pub paths: AsPaths,
    /// Token generator.
    pub minter: Minter,
    /// Request log.
    pub log: RequestLog,
    /// Armed faults.
    pub faults: FaultTable,
    /// Keycloak: the id of the resource server client (owner of the resources it registers).
    pub rs_owner_id: String,
    /// The RS never sends `100 Continue` (read by its connections on every write).
    pub rs_drop_continue: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Meters of the generated challenge bodies sent, oldest first (bounded).
    pub challenge_meters: Mutex<std::collections::VecDeque<std::sync::Arc<crate::http::BodyMeter>>>,
    inner: Mutex<Inner>,
    knobs: Mutex<Knobs>,
}

impl Shared {
    /// Builds the state: resources and clients from `cfg`, knobs from its policy.
    pub fn new(cfg: KitConfig, urls: Urls) -> Self {
        let paths = AsPaths::for_dialect(&cfg.dialect);
        let mut inner = Inner {
            clients: cfg.clients.clone(),
            ..Inner::default()
        };
        for r in &cfg.resources {
            inner.resources.insert(
                r.id.clone(),
                StoredResource {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    scopes: r.scopes(),
                    extra: serde_json::Map::from_iter(
                        [("uris".to_string(), json!([r.path.clone()]))]
                            .into_iter()
                            .chain(
                                r.resource_type
                                    .as_ref()
                                    .map(|t| ("type".to_string(), json!(t))),
                            ),
                    ),
                    owner: r.owner.clone(),
                    owner_managed: r.owner_managed_access,
                },
            );
        }
        let knobs = Knobs {
            approve_after_polls: cfg.policy.approve_after_polls,
            required_claim: cfg.policy.required_claim.clone(),
            ticket_only_with_bearer: cfg.ticket_only_with_bearer,
            rpt_use_limit: cfg.rpt_use_limit,
            ..Knobs::default()
        };
        let minter = Minter::new();
        Shared {
            cfg,
            urls,
            paths,
            rs_owner_id: minter.uuid(),
            minter,
            log: RequestLog::default(),
            faults: FaultTable::default(),
            rs_drop_continue: std::sync::Arc::default(),
            challenge_meters: Mutex::default(),
            inner: Mutex::new(inner),
            knobs: Mutex::new(knobs),
        }
    }

    /// The protocol state (short critical sections only).
    pub fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the knobs.
    pub fn knobs(&self) -> Knobs {
        self.knobs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the knobs.
    pub fn update_knobs(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut self.knobs.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The issuer, e.g. `http://127.0.0.1:1234/realms/demo`.
    pub fn issuer(&self) -> String {
        format!("{}{}", self.urls.as_base, self.paths.issuer)
    }

    /// Whether this is the Keycloak dialect.
    pub fn is_keycloak(&self) -> bool {
        matches!(self.cfg.dialect, Dialect::Keycloak { .. })
    }

    /// Whether this is the Keycloak dialect imitating `(major, minor)` or later (see
    /// [`KitConfig::keycloak_version`]).
    pub fn keycloak_since(&self, version: (u32, u32)) -> bool {
        self.is_keycloak() && self.cfg.keycloak_version >= version
    }

    /// Whether this is the Gluu dialect.
    pub fn is_gluu(&self) -> bool {
        self.cfg.dialect == Dialect::Gluu
    }

    /// A registered client by id.
    pub fn client(&self, client_id: &str) -> Option<ClientReg> {
        self.inner()
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    /// Mints a permission ticket for `perms` in the dialect's format: Keycloak a self-contained
    /// JWT-shaped token (reusable until `exp`), Gluu a UUID, spec an opaque string.
    /// `gathered_user` and `rs_user` as in [`TicketInfo`] (ignored by Keycloak tickets).
    pub fn mint_ticket(
        &self,
        perms: &Perms,
        gathered_user: Option<String>,
        rs_user: Option<String>,
    ) -> String {
        let lifetime = self.cfg.ticket_lifetime;
        if self.is_keycloak() {
            let rs = self.cfg.resource_server_client.clone();
            return self.mint_kc_ticket(&self.issuer(), &rs, perms);
        }
        let ticket = if self.is_gluu() {
            self.minter.uuid()
        } else {
            self.minter.opaque("tkt-")
        };
        self.inner().tickets.insert(
            ticket.clone(),
            TicketInfo {
                perms: perms.clone(),
                expires: Instant::now() + lifetime,
                gathered_user,
                rs_user,
            },
        );
        ticket
    }

    /// A Keycloak permission ticket as 26.x mints it: HS512 header, `aud` = the issuer the RS
    /// called, `azp` = the RS client, `sub` = the PAT's subject.
    pub fn mint_kc_ticket(&self, issuer: &str, sub: &str, perms: &Perms) -> String {
        let permissions: Vec<Value> = perms
            .iter()
            .map(|(id, scopes)| json!({"scopes": scopes, "rsid": id}))
            .collect();
        let now = now_unix();
        self.minter.sign_alg(
            "HS512",
            &json!({
                "exp": now + self.cfg.ticket_lifetime.as_secs().max(1),
                "iat": now,
                "permissions": permissions,
                "jti": self.minter.opaque(""),
                "aud": issuer,
                "sub": sub,
                "azp": self.cfg.resource_server_client,
            }),
        )
    }

    /// Issues an access token (user token or PAT) with `iss` = `issuer` and records it.
    pub fn issue_access_token(
        &self,
        issuer: &str,
        subject: Subject,
        client_id: &str,
        protection: bool,
    ) -> String {
        let lifetime = self.cfg.access_token_lifetime;
        let token = if self.is_keycloak() {
            let now = now_unix();
            self.minter.sign(&json!({
                "jti": self.minter.opaque(""),
                "iss": issuer,
                "sub": subject.sub(),
                "azp": client_id,
                "typ": "Bearer",
                "iat": now,
                "exp": now + lifetime.as_secs(),
            }))
        } else {
            self.minter.opaque("at-")
        };
        self.inner().tokens.insert(
            token.clone(),
            TokenInfo {
                subject,
                client_id: client_id.to_string(),
                protection,
                expires: Instant::now() + lifetime,
                issuer: issuer.to_string(),
            },
        );
        token
    }

    /// A live access token.
    pub fn lookup_token(&self, token: &str) -> Option<TokenInfo> {
        self.inner()
            .tokens
            .get(token)
            .filter(|t| Instant::now() < t.expires)
            .cloned()
    }

    /// Issues an RPT with `perms` and `iss` = `issuer`, and records it.
    pub fn issue_rpt(
        &self,
        issuer: &str,
        perms: Perms,
        client_id: &str,
        subject: Subject,
    ) -> (String, RptInfo) {
        self.mint_rpt(issuer, perms, client_id, subject, false)
    }

    /// An RPT minted by the refresh grant. Keycloak keeps its permissions but drops its `aud`; from
    /// 26.7 on (seen on 26.7.3; 26.4.7 still accepts it) introspection then calls it inactive.
    pub fn issue_refreshed_rpt(
        &self,
        issuer: &str,
        perms: Perms,
        client_id: &str,
        subject: Subject,
    ) -> (String, RptInfo) {
        self.mint_rpt(issuer, perms, client_id, subject, self.is_keycloak())
    }

    fn mint_rpt(
        &self,
        issuer: &str,
        perms: Perms,
        client_id: &str,
        subject: Subject,
        lost_audience: bool,
    ) -> (String, RptInfo) {
        let now = now_unix();
        let lifetime = self.cfg.rpt_lifetime;
        let exp_unix = lifetime.map(|l| now + l.as_secs().max(1));
        let token = if self.is_keycloak() {
            let permissions: Vec<Value> = {
                let inner = self.inner();
                perms
                    .iter()
                    .map(|(id, scopes)| {
                        let name = inner.resources.get(id).map(|r| r.name.clone());
                        json!({"scopes": scopes, "rsid": id, "rsname": name})
                    })
                    .collect()
            };
            let mut claims = json!({
                "jti": self.minter.opaque(""),
                "iss": issuer,
                "sub": subject.sub(),
                "typ": "Bearer",
                "azp": client_id,
                "aud": self.cfg.resource_server_client,
                "iat": now,
                "exp": exp_unix,
                "authorization": {"permissions": permissions},
            });
            if lost_audience {
                claims.as_object_mut().map(|c| c.remove("aud"));
            }
            self.minter.sign(&claims)
        } else {
            self.minter.opaque("rpt-")
        };
        let info = RptInfo {
            perms,
            expires: lifetime.map(|l| Instant::now() + l),
            exp_unix,
            iat_unix: now,
            uses_left: self.knobs().rpt_use_limit,
            client_id: client_id.to_string(),
            subject,
            issuer: issuer.to_string(),
            lost_audience,
        };
        self.inner().rpts.insert(token.clone(), info.clone());
        (token, info)
    }

    /// Issues a refresh token (Keycloak: JWT-shaped like Keycloak's, HS512 with `typ` `Refresh`,
    /// `iss` = `issuer`; the others: opaque). Either way the kit only accepts the ones it recorded.
    pub fn issue_refresh(&self, issuer: &str, info: RefreshInfo) -> String {
        let token = if self.is_keycloak() {
            let now = now_unix();
            self.minter.sign_alg(
                "HS512",
                &json!({
                    "exp": now + REFRESH_LIFETIME_SECS,
                    "iat": now,
                    "jti": self.minter.uuid(),
                    "iss": issuer,
                    "aud": issuer,
                    "sub": info.sub(),
                    "typ": "Refresh",
                    "azp": info.client_id(),
                    "sid": info.session(),
                    "scope": KC_DEFAULT_SCOPE,
                }),
            )
        } else {
            self.minter.opaque("rt-")
        };
        self.inner().refresh.insert(token.clone(), info);
        token
    }

    /// Keycloak 26.7+: an RPT without `aud` (a refreshed one) is not active for the resource server.
    pub fn refuses_audienceless(&self, rpt: &RptInfo) -> bool {
        rpt.lost_audience && self.cfg.keycloak_version >= (26, 7)
    }

    /// The RS check: is `rpt` live, within its use limit and granting `scope` on `resource`?
    /// A successful check consumes one use.
    pub fn rs_accepts(&self, rpt: &str, resource: &str, scope: &str) -> bool {
        self.rs_check(rpt, resource, scope, true)
    }

    /// [`Shared::rs_accepts`] without consuming a use (the RS deciding before reading a body).
    pub fn rs_would_accept(&self, rpt: &str, resource: &str, scope: &str) -> bool {
        self.rs_check(rpt, resource, scope, false)
    }

    fn rs_check(&self, rpt: &str, resource: &str, scope: &str, consume: bool) -> bool {
        let mut inner = self.inner();
        let Some(info) = inner.rpts.get_mut(rpt) else {
            return false;
        };
        if !info.active() || info.uses_left == Some(0) || self.refuses_audienceless(info) {
            return false;
        }
        // A Keycloak PEP only trusts tokens whose `iss` is the issuer it was configured with.
        if self.is_keycloak()
            && info.issuer != format!("{}{}", self.urls.as_base, self.paths.issuer)
        {
            return false;
        }
        let granted = info
            .perms
            .get(resource)
            .is_some_and(|scopes| scopes.contains(scope));
        if granted && consume {
            if let Some(n) = info.uses_left.as_mut() {
                *n -= 1;
            }
        }
        granted
    }

    /// A JWT-shaped ID token for `username`, signed by this kit (the AS accepts it as an
    /// IDToken-format claim token). Unknown users get a token with just `sub`.
    pub fn id_token_for(&self, username: &str) -> String {
        let now = now_unix();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": username,
            "aud": "app",
            "iat": now,
            "exp": now + 3600,
            "preferred_username": username,
        });
        if let Some(user) = self.cfg.users.iter().find(|u| u.username == username) {
            for (k, v) in &user.claims {
                claims[k.as_str()] = Value::String(v.clone());
            }
        }
        self.minter.sign(&claims)
    }

    /// Mints a ticket for all scopes of `resource_id`, or `None` if unknown.
    pub fn ticket_for_resource(&self, resource_id: &str, scope: &str) -> Option<String> {
        self.ticket_for_request(resource_id, scope, None)
    }

    /// [`Shared::ticket_for_resource`] for an RS request that carried `bearer`: when that is a live
    /// user access token (not a PAT), the ticket remembers the user ([`TicketInfo::rs_user`]).
    pub fn ticket_for_request(
        &self,
        resource_id: &str,
        scope: &str,
        bearer: Option<&str>,
    ) -> Option<String> {
        let known = self.inner().resources.contains_key(resource_id);
        let rs_user = bearer
            .and_then(|t| self.lookup_token(t))
            .filter(|t| !t.protection)
            .and_then(|t| match t.subject {
                Subject::User(u) => Some(u),
                Subject::Client(_) => None,
            });
        known.then(|| {
            let perms =
                Perms::from([(resource_id.to_string(), BTreeSet::from([scope.to_string()]))]);
            self.mint_ticket(&perms, None, rs_user)
        })
    }
}

/// Keycloak's `refresh_expires_in` (the realm's SSO session idle timeout, 30 minutes).
pub const REFRESH_LIFETIME_SECS: u64 = 1800;

/// The `scope` Keycloak answers for a login without `scope` (the default client scopes).
pub const KC_DEFAULT_SCOPE: &str = "profile email";

/// Seconds left until `when`, for `expires_in`.
pub fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

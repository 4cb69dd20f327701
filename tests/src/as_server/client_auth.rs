//! Client authentication at the token and introspection endpoints (RFC 6749 §2.3): HTTP Basic
//! (form-decoded after base64, §2.3.1), `client_secret_post`, public clients by `client_id`, and
//! Keycloak's user Bearer token (docs/protocol.md §2.5 d).

use http::Response;

use crate::config::ClientReg;
use crate::http::{KitBody, oauth_error, set_header};
use crate::kc_state::request_issuer;
use crate::routing::Req;
use crate::state::{Shared, TokenInfo};
use crate::tokens::b64decode;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An authenticated (or public) client.
    Client(ClientReg),
    /// Keycloak: a user access token presented as `Authorization: Bearer`.
    User(TokenInfo),
}

impl Caller {
    /// The client id behind the caller.
    pub fn client_id(&self) -> &str {
        match self {
            Caller::Client(c) => &c.client_id,
            Caller::User(t) => &t.client_id,
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, `%XX` a byte).
pub fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn invalid_client(shared: &Shared, basic: bool) -> Response<KitBody> {
    let desc = if shared.is_keycloak() {
        "Invalid client or Invalid client credentials"
    } else {
        "client authentication failed"
    };
    let mut resp = oauth_error(401, "invalid_client", Some(desc));
    if basic {
        set_header(&mut resp, "www-authenticate", "Basic realm=\"uma-testkit\"");
    }
    resp
}

fn check_secret(shared: &Shared, id: &str, secret: &str) -> Option<ClientReg> {
    shared
        .client(id)
        .filter(|c| c.secret.as_deref() == Some(secret))
}

/// Authenticates the caller. `allow_user_bearer` enables Keycloak's Bearer user token.
pub fn authenticate(
    shared: &Shared,
    req: &Req,
    allow_user_bearer: bool,
) -> Result<Caller, Response<KitBody>> {
    let auth = req.header("authorization").map(str::trim);
    let (scheme, cred) = auth
        .and_then(|a| a.split_once(' '))
        .map(|(s, c)| (s.to_ascii_lowercase(), c.trim()))
        .unwrap_or_default();
    let basic = scheme == "basic";
    let bearer = scheme == "bearer";
    let post = req.form("client_secret").is_some();
    if usize::from(basic) + usize::from(bearer) + usize::from(post) > 1 {
        // RFC 6749 §2.3: exactly one method per request.
        return Err(oauth_error(
            400,
            "invalid_request",
            Some("more than one client authentication method"),
        ));
    }
    if basic {
        let decoded = b64decode(cred)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client(shared, true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client(shared, true))?;
        let (id, secret) = form_decode(id)
            .zip(form_decode(secret))
            .ok_or_else(|| invalid_client(shared, true))?;
        return check_secret(shared, &id, &secret)
            .map(Caller::Client)
            .ok_or_else(|| invalid_client(shared, true));
    }
    if bearer {
        if !allow_user_bearer {
            return Err(invalid_client(shared, false));
        }
        // Keycloak refuses a token minted under another Host (its issuer differs).
        let issuer = request_issuer(shared, req);
        let same_issuer = |iss: &str| !shared.is_keycloak() || iss == issuer;
        // Keycloak's RPTs are access tokens too: a client that presents its RPT as the bearer token (as
        // the Python peer does after its first flow) is accepted as the RPT's subject.
        let rpt_as_token = || {
            let info = shared.inner().rpts.get(cred).cloned()?;
            let live = info.expires.is_none_or(|e| std::time::Instant::now() < e);
            let ok = shared.is_keycloak() && live && same_issuer(&info.issuer);
            ok.then(|| crate::state::TokenInfo {
                subject: info.subject.clone(),
                client_id: info.client_id.clone(),
                protection: false,
                expires: info.expires.unwrap_or_else(|| {
                    std::time::Instant::now() + std::time::Duration::from_secs(3600)
                }),
                issuer: info.issuer.clone(),
            })
        };
        return shared
            .lookup_token(cred)
            .filter(|t| !t.protection && same_issuer(&t.issuer))
            .or_else(rpt_as_token)
            .map(Caller::User)
            .ok_or_else(|| {
                // Keycloak answers 400 from 26.6 on, 401 before.
                let status = if shared.keycloak_since((26, 6)) {
                    400
                } else {
                    401
                };
                oauth_error(status, "invalid_grant", Some("Invalid bearer token"))
            });
    }
    let Some(id) = req.form("client_id") else {
        return Err(invalid_client(shared, false));
    };
    if post {
        let secret = req.form("client_secret").unwrap_or_default();
        return check_secret(shared, id, secret)
            .map(Caller::Client)
            .ok_or_else(|| invalid_client(shared, false));
    }
    shared
        .client(id)
        .filter(|c| c.secret.is_none())
        .map(Caller::Client)
        .ok_or_else(|| invalid_client(shared, false))
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%3Ac").as_deref(), Some("a b:c"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }
}

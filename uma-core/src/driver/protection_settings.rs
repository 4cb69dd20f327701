//! What a protection handle is about (the authorization server, the resource server's client, the
//! dialect, the realm of its challenges), checked once, and the machines it drives: the part of an
//! adapter's `Protection` that is not I/O.

use http::HeaderMap;

use super::ProtectionCallError;
use crate::protection::{
    Challenge, Dialect, Enforce, Pep, PermissionBody, PermissionRequest, ProtectionCall,
    bearer_token,
};
use crate::secret::{AccessToken, Ticket};
use crate::{ClientCredentials, Issuer};

/// The settings of a protection handle. `uma_ureq::Protection` and `uma_hyper::Protection` hold one and
/// drive the machines it makes.
///
/// ```
/// use uma_core::driver::ProtectionSettings;
/// use uma_core::protection::Dialect;
/// use uma_core::{ClientCredentials, Issuer};
///
/// let issuer = Issuer::parse("https://as.example.org")?;
/// let settings = ProtectionSettings::new(&issuer, &ClientCredentials::basic("rs", "s"), Dialect::Uma)?
///     .with_realm("photos")?;
/// assert_eq!(settings.realm(), Some("photos"));
/// // A realm that cannot go in a challenge is refused at start-up, not per request.
/// assert!(settings.with_realm("line\nbreak").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ProtectionSettings {
    issuer: Issuer,
    client_id: String,
    dialect: Dialect,
    realm: Option<String>,
}

impl std::fmt::Debug for ProtectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protection")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("dialect", &self.dialect)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl ProtectionSettings {
    /// Settings for `issuer`, as the client `credentials`, in `dialect`. The issuer is checked now as
    /// a challenge's `as_uri`, so a bad one fails at start-up, not at the first challenge.
    pub fn new(
        issuer: &Issuer,
        credentials: &ClientCredentials,
        dialect: Dialect,
    ) -> Result<Self, ProtectionCallError> {
        Pep::new(issuer.as_str(), issuer.url().clone(), dialect)?;
        Ok(Self {
            issuer: issuer.clone(),
            client_id: credentials.client_id.clone(),
            dialect,
            realm: None,
        })
    }

    /// Puts `realm="…"` in the challenges (checked now).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Result<Self, ProtectionCallError> {
        let realm = realm.into();
        Pep::new(
            self.issuer.as_str(),
            self.issuer.url().clone(),
            self.dialect,
        )?
        .with_realm(realm.clone())?;
        self.realm = Some(realm);
        Ok(self)
    }

    /// The authorization server's issuer (the `as_uri` of the challenges).
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The wire conventions followed.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The realm of the challenges, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The permission ticket request for `permissions`, in this dialect's body form.
    pub fn request_ticket(
        &self,
        permissions: Vec<PermissionRequest>,
    ) -> Result<ProtectionCall<Ticket>, ProtectionCallError> {
        let body = PermissionBody::for_dialect(self.dialect, permissions)?;
        Ok(ProtectionCall::request_ticket(body))
    }

    /// The introspection of `rpt`, by this dialect's caller and hint.
    pub fn introspect(
        &self,
        rpt: &AccessToken,
    ) -> ProtectionCall<crate::protection::Introspection> {
        ProtectionCall::introspect(rpt.clone(), self.dialect)
    }

    /// The challenge for a request that lacks `permissions`.
    pub fn challenge(&self, permissions: Vec<PermissionRequest>) -> Challenge {
        Challenge::new(permissions, self.dialect, self.realm.clone())
    }

    /// The PEP decision for a request with these `headers` (its `Authorization: Bearer` RPT, if any),
    /// at `unix_now` (seconds since the epoch, for the RPT's expiry).
    pub fn enforce(
        &self,
        headers: &HeaderMap,
        permissions: Vec<PermissionRequest>,
        unix_now: i64,
    ) -> Enforce {
        Enforce::new(
            bearer_token(headers),
            permissions,
            self.dialect,
            self.realm.clone(),
            unix_now,
        )
    }
}

/// The accessors every adapter's `Protection` has, written once: expanded inside `impl Protection` of a
/// type with the fields `settings: ProtectionSettings` and `shared`, whose `lock()` yields the
/// [`ProtectionClient`](crate::protection::ProtectionClient).
#[doc(hidden)]
#[macro_export]
macro_rules! protection_accessors {
    () => {
        /// The scope asked for with the PAT: `""` asks for none. Default: `uma_protection`, except for
        /// Keycloak (none: the role comes with the client). EOEPCA wants
        /// `"openid uma_protection permission"`. Clones share the PAT, so they share its scope too.
        pub fn with_pat_scope(self, scope: impl Into<String>) -> Self {
            self.shared.lock().set_pat_scope(Some(scope.into()));
            self
        }

        /// Puts `realm="…"` in the challenges (checked now).
        pub fn with_realm(
            mut self,
            realm: impl Into<String>,
        ) -> Result<Self, $crate::driver::ProtectionCallError> {
            self.settings = self.settings.with_realm(realm)?;
            Ok(self)
        }

        /// The authorization server's issuer (the `as_uri` of the challenges).
        pub fn issuer(&self) -> &$crate::Issuer {
            self.settings.issuer()
        }

        /// The wire conventions followed.
        pub fn dialect(&self) -> $crate::protection::Dialect {
            self.settings.dialect()
        }

        /// The metadata in use.
        pub fn metadata(&self) -> $crate::discovery::AsMetadata {
            self.shared.lock().metadata().clone()
        }

        /// How many discovery and PAT requests this handle and its clones sent, and how often a call
        /// waited for another's.
        pub fn stats(&self) -> $crate::protection::ProtectionStats {
            self.shared.lock().stats()
        }
    };
}

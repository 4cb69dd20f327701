//! The protection API's operations as [`ProtectionCall`]s: each pairs a builder with its parser and
//! says who authenticates it. The names are the endpoints', as the adapters' errors show them.

use crate::discovery::Endpoint;
use crate::secret::{AccessToken, Ticket};

use super::call::{Caller, Credentials, ProtectionCall};
use super::{
    ClientRegistration, CreatedResource, Dialect, Introspection, IntrospectionAuth,
    IntrospectionCaller, PermissionBody, PermissionRequestQuery, PermissionRequestRecord,
    RegisteredClient, ResourceDescription, ResourceList, ResourceQuery, UpdatedResource,
};

/// The endpoint names of the operations (`RequestKind::Protection(name)`).
pub mod names {
    /// Resource registration (create, read, update, delete, list).
    pub const RESOURCES: &str = "resource registration endpoint";
    /// Permission tickets.
    pub const PERMISSION: &str = "permission endpoint";
    /// Keycloak's permission requests.
    pub const PERMISSION_REQUESTS: &str = "permission request endpoint";
    /// Introspection.
    pub const INTROSPECTION: &str = "introspection endpoint";
    /// Dynamic client registration.
    pub const REGISTRATION: &str = "client registration endpoint";
}
use names::*;

impl ProtectionCall<CreatedResource> {
    /// Registers a resource (UMAF §3.2.1).
    pub fn create_resource(resource: ResourceDescription) -> Self {
        Self::new(
            RESOURCES,
            Endpoint::ResourceRegistration,
            Caller::Pat,
            move |url, c| super::create_resource_request(url, c.pat()?, &resource),
            super::parse_create_resource_response,
        )
    }
}

impl ProtectionCall<ResourceDescription> {
    /// Reads a registered resource (UMAF §3.2.2).
    pub fn read_resource(id: impl Into<String>) -> Self {
        let id = id.into();
        Self::new(
            RESOURCES,
            Endpoint::ResourceRegistration,
            Caller::Pat,
            move |url, c| super::read_resource_request(url, c.pat()?, &id),
            super::parse_read_resource_response,
        )
    }
}

impl ProtectionCall<UpdatedResource> {
    /// Replaces a registered resource's description (UMAF §3.2.3).
    pub fn update_resource(id: impl Into<String>, resource: ResourceDescription) -> Self {
        let id = id.into();
        Self::new(
            RESOURCES,
            Endpoint::ResourceRegistration,
            Caller::Pat,
            move |url, c| super::update_resource_request(url, c.pat()?, &id, &resource),
            super::parse_update_resource_response,
        )
    }
}

impl ProtectionCall<()> {
    /// Deletes a registered resource (UMAF §3.2.4).
    pub fn delete_resource(id: impl Into<String>) -> Self {
        let id = id.into();
        Self::new(
            RESOURCES,
            Endpoint::ResourceRegistration,
            Caller::Pat,
            move |url, c| super::delete_resource_request(url, c.pat()?, &id),
            super::parse_delete_resource_response,
        )
    }

    /// Keycloak: approves (`granted`) or denies one permission request, as the resource server.
    pub fn answer_permission_request(id: impl Into<String>, granted: bool) -> Self {
        let id = id.into();
        Self::new(
            PERMISSION_REQUESTS,
            Endpoint::Permission,
            Caller::Pat,
            move |url, c| super::answer_permission_request_request(url, c.pat()?, &id, granted),
            super::parse_answer_permission_request_response,
        )
    }
}

impl ProtectionCall<ResourceList> {
    /// Lists registered resources (UMAF §3.2.5), with Keycloak's filters when set.
    pub fn list_resources(query: ResourceQuery) -> Self {
        Self::new(
            RESOURCES,
            Endpoint::ResourceRegistration,
            Caller::Pat,
            move |url, c| super::list_resources_request(url, c.pat()?, &query),
            super::parse_list_resources_response,
        )
    }
}

impl ProtectionCall<Vec<PermissionRequestRecord>> {
    /// Keycloak: the permission requests left by denied requesting parties.
    pub fn list_permission_requests(query: PermissionRequestQuery) -> Self {
        Self::new(
            PERMISSION_REQUESTS,
            Endpoint::Permission,
            Caller::Pat,
            move |url, c| super::list_permission_requests_request(url, c.pat()?, &query),
            super::parse_list_permission_requests_response,
        )
    }
}

impl ProtectionCall<Ticket> {
    /// A permission ticket (UMAF §4) for `body` (see [`PermissionBody::for_dialect`]).
    pub fn request_ticket(body: PermissionBody) -> Self {
        Self::new(
            PERMISSION,
            Endpoint::Permission,
            Caller::Pat,
            move |url, c| super::permission_request(url, c.pat()?, &body),
            super::parse_permission_response,
        )
    }
}

impl ProtectionCall<Introspection> {
    /// Introspects an RPT (UMAF §5) the way `dialect` wants ([`Dialect::introspection`]): with the PAT,
    /// or for Keycloak with the resource server's client credentials.
    pub fn introspect(rpt: AccessToken, dialect: Dialect) -> Self {
        let (caller, hint) = dialect.introspection();
        let caller = match caller {
            IntrospectionCaller::Pat => Caller::Pat,
            IntrospectionCaller::Client => Caller::Client,
        };
        Self::new(
            INTROSPECTION,
            Endpoint::Introspection,
            caller,
            move |url, c| {
                let auth = match c {
                    Credentials::Client(client) => IntrospectionAuth::Client(client),
                    other => IntrospectionAuth::Pat(other.pat()?),
                };
                super::introspection_request(url, &rpt, hint, auth)
            },
            super::parse_introspection_response,
        )
    }
}

impl ProtectionCall<RegisteredClient> {
    /// Registers a client (RFC 7591), with an initial access token when the server requires one.
    pub fn register_client(
        registration: ClientRegistration,
        initial_access_token: Option<AccessToken>,
    ) -> Self {
        Self::new(
            REGISTRATION,
            Endpoint::Registration,
            Caller::Anonymous,
            move |url, _| {
                super::registration_request(url, &registration, initial_access_token.as_ref())
            },
            super::parse_registration_response,
        )
    }
}

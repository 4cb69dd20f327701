//! The machines besides [`Flow`](crate::Flow), kept together: [`Login`] (the requesting party's own
//! token) and [`KeycloakPermissions`] (Keycloak's ticketless grant), both built on one token-endpoint
//! call (`oneshot.rs`). Each is driven through [`Machine`](crate::Machine) like a flow.

mod login;
mod oneshot;
mod ticketless;

pub use login::{Login, LoginGrant};
pub use ticketless::{KeycloakPermissions, PermissionsAnswer};

//! Who is granted what at the UMA grant: the per-user denied scopes of the configuration, and
//! Keycloak's owner-managed resources, where a requester other than the owner holds only the scopes
//! the owner approved as permission tickets (keycloak-real.md §4).

use std::collections::BTreeSet;

use crate::kc_state::PermTicket;
use crate::state::{Perms, Shared, Subject};

/// The requested scopes `subject` is denied, per resource (resources with none left out).
pub(super) fn denied(shared: &Shared, subject: &Subject, requested: &Perms) -> Perms {
    let user_denied: BTreeSet<String> = match subject {
        Subject::User(u) => shared
            .cfg
            .users
            .iter()
            .find(|x| &x.username == u)
            .map(|x| x.denied_scopes.iter().cloned().collect())
            .unwrap_or_default(),
        Subject::Client(_) => BTreeSet::new(),
    };
    let kc = shared.is_keycloak();
    let inner = shared.inner();
    let mut out = Perms::new();
    for (rid, scopes) in requested {
        let managed = inner
            .resources
            .get(rid)
            .filter(|r| kc && r.owner_managed)
            .and_then(|r| r.owner.clone());
        // EOEPCA: a resource registered at the PEP is its owner's alone.
        let foreign = inner
            .pep_resources
            .get(rid)
            .is_some_and(|r| r.owner != subject.sub());
        if foreign {
            out.insert(rid.clone(), scopes.clone());
            continue;
        }
        let no: BTreeSet<String> = match managed {
            Some(owner) if owner == subject.sub() => BTreeSet::new(),
            Some(_) => scopes
                .iter()
                .filter(|s| {
                    !inner.permission_tickets.values().any(|t| {
                        t.granted
                            && &t.resource == rid
                            && &t.scope == *s
                            && t.requester == subject.sub()
                    })
                })
                .cloned()
                .collect(),
            None => scopes.intersection(&user_denied).cloned().collect(),
        };
        if !no.is_empty() {
            out.insert(rid.clone(), no);
        }
    }
    out
}

/// Keycloak records a denied, submitted request on an owner-managed resource (owner ≠ requester,
/// owner ≠ RS) as one pending permission ticket per scope, unless one exists already.
pub(super) fn record_requests(shared: &Shared, subject: &Subject, denied: &Perms) {
    let requester = subject.sub().to_string();
    let mut inner = shared.inner();
    for (rid, scopes) in denied {
        let Some(res) = inner.resources.get(rid).filter(|r| r.owner_managed) else {
            continue;
        };
        let Some(owner) = res.owner.clone().filter(|o| *o != requester) else {
            continue;
        };
        let scopes: Vec<String> = if scopes.is_empty() {
            res.scopes.clone()
        } else {
            scopes.iter().cloned().collect()
        };
        for scope in scopes {
            let exists = inner
                .permission_tickets
                .values()
                .any(|t| t.resource == *rid && t.scope == scope && t.requester == requester);
            if !exists {
                let id = shared.minter.uuid();
                inner.permission_tickets.insert(
                    id.clone(),
                    PermTicket {
                        id,
                        owner: owner.clone(),
                        resource: rid.clone(),
                        scope,
                        granted: false,
                        requester: requester.clone(),
                    },
                );
            }
        }
    }
}

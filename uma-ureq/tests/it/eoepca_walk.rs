//! EOEPCA's DemoClient sequence through uma-ureq (the `eoepca` example), refereed by the testkit's log:
//! each step's requests, `X-User-Id` on every UMA request, the ID token only where the step says.

#[path = "../../examples/eoepca.rs"]
mod example;

use uma_testkit::demo_client::{StepLog, check_walk};
use uma_testkit::{Dialect, Kit, KitConfig};

#[test]
fn demo_clients_walk_with_user_id_and_the_id_token_only_where_due() {
    let kit = Kit::start(KitConfig::new(Dialect::Gluu)).unwrap();
    kit.require_user_id_header(true);
    kit.clear_log();
    let mut steps = Vec::new();
    let id_token = example::walk(&kit, |name| {
        steps.push(StepLog {
            name: name.to_owned(),
            requests: kit.log(),
        });
        kit.clear_log();
    })
    .unwrap();
    check_walk(&steps, id_token.secret()).unwrap();
    let trips: Vec<usize> = steps.iter().map(|s| s.requests.len()).collect();
    assert_eq!(trips, [2, 2, 1, 4, 1, 1]);
}

#[test]
fn the_referee_notices_an_id_token_at_the_as_and_a_missing_user_id() {
    let kit = Kit::start(KitConfig::new(Dialect::Gluu)).unwrap();
    kit.clear_log();
    let mut steps = Vec::new();
    let id_token = example::walk(&kit, |name| {
        steps.push(StepLog {
            name: name.to_owned(),
            requests: kit.log(),
        });
        kit.clear_log();
    })
    .unwrap();
    let mut leaked = steps.clone();
    let bearer = format!("Bearer {}", id_token.secret());
    leaked[1].requests[0]
        .headers
        .push(("authorization".into(), bearer));
    let error = check_walk(&leaked, id_token.secret()).unwrap_err();
    assert!(
        error.starts_with("login: the ID token went to As"),
        "{error}"
    );
    assert!(!error.contains(id_token.secret()));
    let mut bare = steps;
    bare[5].requests[0]
        .headers
        .retain(|(n, _)| n != "x-user-id");
    assert!(check_walk(&bare, id_token.secret()).is_err());
}

#[test]
fn pep_refusals_reach_the_caller_typed() {
    use uma_ureq::UmaClient;
    use uma_ureq::uma_core::Config;
    use uma_ureq::uma_core::protection::{PepResource, PepResourceError};
    use uma_ureq::uma_core::secret::ClaimToken;

    let kit = Kit::start(KitConfig::new(Dialect::Gluu)).unwrap();
    let strict = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), Config::new());
    let refused = strict.pep_resources(&kit.pep_url()).unwrap_err();
    assert!(refused.to_string().contains("pep_url"), "{refused}");

    let agent = UmaClient::from_ureq(
        ureq::Agent::new_with_defaults(),
        Config::new().allow_insecure_http(true),
    );
    let pep = agent.pep_resources(&kit.pep_url()).unwrap();
    let alice = ClaimToken::new(kit.id_token_for("alice"));
    let bob = ClaimToken::new(kit.id_token_for("bob"));
    let ades = PepResource::new("ADES", "/alice", ["Authenticated"]);
    let created = pep.create_resource(&alice, &ades).unwrap();
    let again = pep.create_resource(&alice, &ades).unwrap_err();
    assert!(matches!(again.status(), Some(s) if s == 422), "{again}");
    let read = pep.read_resource(&alice, &created.id).unwrap_err();
    assert!(matches!(
        read,
        uma_ureq::protection::Error::PepResource(PepResourceError::MethodNotAllowed)
    ));
    let foreign = pep.delete_resource(&bob, &created.id).unwrap_err();
    assert_eq!(foreign.status().map(|s| s.as_u16()), Some(403));
    assert!(!format!("{foreign:?}{foreign}").contains(bob.secret()));
    let forged = pep
        .list_resources(&ClaimToken::new("a.b.c"), None)
        .unwrap_err();
    assert_eq!(forged.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(pep.list_resources(&alice, None).unwrap()[0].id, created.id);
    pep.delete_resource(&alice, &created.id).unwrap();
    assert!(pep.list_resources(&alice, None).unwrap().is_empty());
}

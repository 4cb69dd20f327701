//! Parsers never panic on arbitrary input, and secrets never leak from the error they build.

use proptest::prelude::*;
use uma_core::grant::{TokenError, parse_decision, parse_permissions, parse_token_response};

fn resp(status: u16, body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder().status(status).body(body).unwrap()
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "[a-z_]{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("error".to_owned()),
                    Just("ticket".to_owned()),
                    Just("access_token".to_owned()),
                    Just("token_type".to_owned()),
                    Just("required_claims".to_owned()),
                    Just("interval".to_owned()),
                    Just("error_details".to_owned()),
                    Just("requesting_party_claims".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn token_parsers_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = resp(status, body);
        let _ = parse_token_response(&r);
        let _ = parse_decision(&r);
        let _ = parse_permissions(&r);
    }

    #[test]
    fn structured_bodies_never_panic_or_leak(status in prop_oneof![Just(200u16), Just(400), Just(401), Just(403), Just(500)],
                                             value in json_value()) {
        let mut value = value;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("ticket".into(), serde_json::Value::String("LEAKY-TICKET-VALUE".into()));
        }
        let r = resp(status, value.to_string().into_bytes());
        match parse_token_response(&r) {
            Err(e @ TokenError::Rejected(_)) => {
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains("LEAKY-TICKET-VALUE"), "{}", shown);
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains("LEAKY-TICKET-VALUE"), "{}", shown);
            }
            Ok(t) => {
                let shown = format!("{t:?}");
                prop_assert!(!shown.contains("LEAKY-TICKET-VALUE"), "{}", shown);
            }
        }
        let _ = parse_decision(&r);
        let _ = parse_permissions(&r);
    }

    #[test]
    fn claims_url_never_panics(base in ".{0,64}", client in ".{0,16}", redirect in ".{0,32}", state in proptest::option::of(".{0,8}")) {
        let _ = uma_core::grant::claims_redirect_url(&base, &client, &uma_core::secret::Ticket::new("t"), &redirect, state.as_deref());
    }
}

//! The shape of an answer: status, and the body with every value replaced by its type, except the
//! few members whose value is the point (`error`, `error_description`, `token_type`, `upgraded`,
//! `active`, `result`). Shapes hold no tokens, tickets or ids, so recordings of real Keycloak can be
//! committed and compared with what the testkit answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Members whose values are kept literally.
const LITERAL: &[&str] = &[
    "error",
    "error_description",
    "token_type",
    "upgraded",
    "active",
    "result",
    "issuer_follows_host",
];

/// One answer's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub status: u16,
    /// The body's shape; `"<empty>"` for no body, `"<text>"` for a body that is not JSON.
    pub body: Value,
}

/// A recorded run of the script against one server: case name → shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// What answered, e.g. `keycloak 26.7.3`.
    pub server: String,
    pub cases: BTreeMap<String, Shape>,
}

impl Shape {
    pub fn of(status: u16, body: &[u8]) -> Shape {
        let body = if body.is_empty() {
            Value::String("<empty>".into())
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(value) => shape_of(&value, None),
                Err(_) => Value::String("<text>".into()),
            }
        };
        Shape { status, body }
    }
}

fn shape_of(value: &Value, key: Option<&str>) -> Value {
    if key.is_some_and(|k| LITERAL.contains(&k)) {
        return value.clone();
    }
    match value {
        Value::Null => "<null>".into(),
        Value::Bool(_) => "<bool>".into(),
        Value::Number(_) => "<number>".into(),
        Value::String(s) if s.split('.').count() == 3 && s.starts_with("eyJ") => "<jwt>".into(),
        Value::String(_) => "<string>".into(),
        // Arrays: the shape of their items, deduplicated (an empty array stays empty).
        Value::Array(items) => {
            let mut shapes: Vec<Value> = Vec::new();
            for item in items {
                let shape = shape_of(item, None);
                if !shapes.contains(&shape) {
                    shapes.push(shape);
                }
            }
            Value::Array(shapes)
        }
        Value::Object(members) => {
            let mut out = Map::new();
            for (k, v) in members {
                out.insert(k.clone(), shape_of(v, Some(k)));
            }
            Value::Object(out)
        }
    }
}

/// Every difference between `expected` and `actual`, as readable lines (empty when they match).
pub fn differences(expected: &Recording, actual: &Recording) -> Vec<String> {
    let mut out = Vec::new();
    for (case, want) in &expected.cases {
        match actual.cases.get(case) {
            None => out.push(format!("{case}: not run against {}", actual.server)),
            Some(got) => {
                if want.status != got.status {
                    out.push(format!(
                        "{case}: status {} from {}, {} from {}",
                        want.status, expected.server, got.status, actual.server
                    ));
                }
                diff_values(case, "", &want.body, &got.body, &mut out);
            }
        }
    }
    out
}

fn diff_values(case: &str, path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => diff_values(case, &format!("{path}.{k}"), wv, gv, out),
                    None => out.push(format!("{case}: {path}.{k} missing")),
                }
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{case}: {path}.{k} is extra"));
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == 1 && g.len() == 1 => {
            diff_values(case, &format!("{path}[]"), &w[0], &g[0], out);
        }
        _ if want == got => {}
        _ => out.push(format!("{case}: {path} is {want} there, {got} here")),
    }
}

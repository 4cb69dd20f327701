//! Real Keycloak still answers as recorded under `tests/keycloak/recorded/<version>.json` (shapes:
//! statuses, error codes and descriptions, member names and types; no token or id).
//! `UMA_KC_RECORD=1` rewrites the recording from the running Keycloak instead.

use uma_keycloak_e2e::script::{self, Target};
use uma_keycloak_e2e::shapes::{Recording, differences};
use uma_keycloak_e2e::*;

fn target(proxy: &Proxy, version: &str) -> Target {
    Target {
        server: format!("keycloak {version}"),
        issuer: proxy.issuer(),
        rs_client: RS_CLIENT.into(),
        rs_secret: RS_SECRET.into(),
        public_client: PUBLIC_CLIENT.into(),
        shared: ("shared-doc".into(), "doc:read".into()),
        notes: ("shared-notes".into(), "doc:read".into()),
        secret: ("secret-doc".into(), "doc:read".into()),
        owned: ("alice-album".into(), "album:view".into()),
    }
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn keycloak_answers_as_recorded() {
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let actual = script::run(&target(&proxy, &kc.version));
    let path = recording_path(&kc.version);
    if std::env::var("UMA_KC_RECORD").as_deref() == Ok("1") {
        let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no recording for Keycloak {}: run UMA_KC_RECORD=1 tests/keycloak/run {}",
            kc.version, kc.version
        )
    });
    let expected: Recording = serde_json::from_str(&text).unwrap();
    let diff = differences(&expected, &actual);
    assert!(
        diff.is_empty(),
        "Keycloak {} no longer answers as recorded:\n{}",
        kc.version,
        diff.join("\n")
    );
}

fn recording_path(version: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recorded")
        .join(format!("{version}.json"))
}

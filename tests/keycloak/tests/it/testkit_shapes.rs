//! The testkit's Keycloak dialect answers in the shapes real Keycloak answered in (the recordings
//! under `tests/keycloak/recorded/`), so that machines without Java still test the real shapes.
//! Runs in every `cargo test`: no Keycloak needed.

use uma_keycloak_e2e::script::{self, Target};
use uma_keycloak_e2e::shapes::{Recording, differences};
use uma_testkit::{ClientReg, Dialect, Kit, KitConfig, ResourceDef, UserReg};

const DOC: &str = "urn:uma-test:doc";
const ALBUM: &str = "urn:uma-test:album";

fn resource(id: &str, name: &str, path: &str, scope: &str, ty: &str) -> ResourceDef {
    let mut resource = ResourceDef::read_write(id, name, path).with_type(ty);
    resource.method_scopes = vec![("GET".into(), scope.into())];
    resource
}

/// A testkit set up like `tests/keycloak/uma-realm.json`, imitating Keycloak `version`.
fn kit(version: (u32, u32)) -> Kit {
    let mut config = KitConfig::new(Dialect::Keycloak {
        realm: "uma".into(),
    });
    config.keycloak_version = version;
    config.clients = vec![
        ClientReg::public("uma-public"),
        ClientReg::confidential("uma-app", "app-secret"),
        ClientReg::resource_server("uma-rs", "rs-secret"),
    ];
    config.resource_server_client = "uma-rs".into();
    config.users = vec![
        UserReg::new("alice", "alice-pw"),
        UserReg::new("bob", "bob-pw").deny("secret:read"),
        UserReg::new("carol", "carol-pw"),
    ];
    config.resources = vec![
        resource(
            "shared-doc-id",
            "shared-doc",
            "/docs/shared",
            "doc:read",
            DOC,
        ),
        resource(
            "shared-notes-id",
            "shared-notes",
            "/docs/notes",
            "doc:read",
            DOC,
        ),
        resource(
            "secret-doc-id",
            "secret-doc",
            "/docs/secret",
            "secret:read",
            DOC,
        ),
        resource(
            "alice-album-id",
            "alice-album",
            "/alice/album",
            "album:view",
            ALBUM,
        )
        .owner_managed_by("alice"),
    ];
    Kit::start(config).unwrap()
}

/// The Keycloak version a recording was made with, from its file name `<major>.<minor>.<patch>.json`.
fn version_of(path: &std::path::Path) -> (u32, u32) {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let mut parts = stem.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor),
        _ => panic!(
            "{}: a recording is named <major>.<minor>.<patch>.json",
            path.display()
        ),
    }
}

fn target(kit: &Kit) -> Target {
    Target {
        server: "the testkit".into(),
        issuer: kit.issuer(),
        rs_client: "uma-rs".into(),
        rs_secret: "rs-secret".into(),
        public_client: "uma-public".into(),
        shared: ("shared-doc".into(), "doc:read".into()),
        notes: ("shared-notes".into(), "doc:read".into()),
        secret: ("secret-doc".into(), "secret:read".into()),
        owned: ("alice-album".into(), "album:view".into()),
    }
}

#[test]
fn testkit_answers_in_the_recorded_keycloak_shapes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recorded");
    let mut recordings: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    recordings.sort();
    assert!(!recordings.is_empty(), "no recordings in {}", dir.display());
    let mut report = Vec::new();
    for path in recordings {
        let expected: Recording =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let kit = kit(version_of(&path));
        let actual = script::run(&target(&kit));
        report.extend(differences(&expected, &actual));
    }
    assert!(
        report.is_empty(),
        "the testkit differs from real Keycloak:\n{}",
        report.join("\n")
    );
}

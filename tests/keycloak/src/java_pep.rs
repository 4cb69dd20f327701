//! Keycloak's own Java policy enforcer (`tests/keycloak/java-pep/`) as a second, independent resource
//! server: its challenges, tickets and decisions are Keycloak-written. Started per test in front of
//! the test's proxy; stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The running enforcer; killed when dropped.
pub struct JavaPep {
    base: String,
    child: Child,
}

impl JavaPep {
    /// Starts `tests/keycloak/java-pep/run` against `keycloak` (the proxy's base URL) and waits, at
    /// most 120 s, for its `java-pep listening on URL` line.
    pub fn start(keycloak: &str) -> JavaPep {
        let run = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("java-pep/run");
        let mut child = Command::new(run)
            .env("KC_URL", keycloak)
            .env("KC_REALM", crate::REALM)
            .env("PEP_CLIENT_ID", crate::RS_CLIENT)
            .env("PEP_CLIENT_SECRET", crate::RS_SECRET)
            .env("PEP_PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/keycloak/java-pep/run");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("java-pep listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => JavaPep { base, child },
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the Java policy enforcer did not start within 120 s (see its stderr above)"
                );
            }
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for JavaPep {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

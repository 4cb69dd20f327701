//! libFuzzer entry point: the records of `harness/record.rs`, and the same bytes opened as a sealed
//! `uma-redis` envelope (what Redis hands back): a miss or a record, never a panic or plaintext.
// No `forbid(unsafe_code)`: `fuzz_target!` expands to a `#[no_mangle]` extern function.
#![no_main]

use std::sync::OnceLock;

use uma_redis::Keyring;

fn keyring() -> &'static Keyring {
    static KEYS: OnceLock<Keyring> = OnceLock::new();
    // The seeds in fuzz/corpus/record/ were sealed with these keys (ids 1 and 2).
    KEYS.get_or_init(|| Keyring::new(2, [0x22; 32]).with_previous(1, [0x11; 32]))
}

/// The value name the seeds were sealed for.
pub const NAME: &str = "uma:rpt:{seed}";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    uma_fuzz::record::run(data);
    if let Ok(record) = keyring().open(NAME, data) {
        // Only an authentic envelope opens; its record is a checked one.
        assert!(!record.token.secret().is_empty());
        assert!(keyring().open("uma:rpt:{other}", data).is_err());
    }
});

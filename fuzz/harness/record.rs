//! Target `record`: what comes back from a shared store or a cache file (uma_core::record), decoded as
//! untrusted input. The libFuzzer target also opens the same bytes as a sealed `uma-redis` envelope.
//!
//! Invariants: no panic; a record that decodes re-encodes to one that decodes to the same fields; a
//! decoded record's `Debug` never shows its tokens; errors are short, printable and never quote the
//! input's tokens.

use uma_core::record::{MAX_RECORD_BYTES, MetadataRecord, RecordError, RptRecord};

use super::support::assert_printable;

/// Runs one input.
pub fn run(data: &[u8]) {
    match RptRecord::decode(data) {
        Ok(record) => check_rpt(&record),
        Err(e) => check_error(&e, data),
    }
    match MetadataRecord::decode(data) {
        Ok(record) => {
            let again =
                MetadataRecord::decode(&record.encode()).expect("re-encoded metadata decodes");
            assert_eq!(again.issuer, record.issuer);
            assert_eq!(
                (again.fetched_at, again.expires_at),
                (record.fetched_at, record.expires_at)
            );
            // The document is validated as a discovery response; any outcome but a panic is fine.
            let policy = uma_core::discovery::EndpointPolicy::default();
            let _ = record.metadata(&record.issuer, &record.issuer, &policy);
        }
        Err(e) => check_error(&e, data),
    }
}

fn check_rpt(record: &RptRecord) {
    let encoded = record.encode();
    assert!(encoded.len() <= 2 * MAX_RECORD_BYTES);
    let again = RptRecord::decode(&encoded).expect("a re-encoded record decodes");
    assert!(again.token.same_as(&record.token));
    assert_eq!(again.issuer, record.issuer);
    assert_eq!(again.origin, record.origin);
    assert_eq!(again.party, record.party);
    assert_eq!(
        (again.obtained_at, again.expires_at),
        (record.obtained_at, record.expires_at)
    );
    again
        .check_key(&record.issuer, &record.origin, &record.party)
        .expect("a record matches its own key");
    let shown = format!("{record:?}");
    let token = record.token.secret();
    let elsewhere = [record.issuer.as_str(), &record.origin, &record.party.0]
        .iter()
        .any(|s| s.contains(token));
    if token.len() >= 4 && !elsewhere && !"[redacted]".contains(token) {
        assert!(!shown.contains(token), "a token in Debug");
    }
}

fn check_error(e: &RecordError, data: &[u8]) {
    let text = format!("{e} {e:?}");
    assert_printable("record error", &text);
    assert!(text.len() < 512, "a long error: {text}");
    // Errors name fields and positions, never values: a long run of the input never shows up.
    if let Ok(input) = std::str::from_utf8(data) {
        for word in input.split(|c: char| !c.is_ascii_alphanumeric()) {
            if word.len() >= 24 {
                assert!(!text.contains(word), "the error quotes the input");
            }
        }
    }
}

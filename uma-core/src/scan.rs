//! Byte scans of the hot paths, eight bytes at a time (SWAR: plain `u64` arithmetic, no `unsafe`):
//! tickets and RPTs run to hundreds of bytes (Keycloak's are JWTs), and every byte of them is checked
//! on every challenge and every request.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The high bit of some byte below `n` is set (`n` ≤ 0x80; bytes ≥ 0x80 never count). A borrow may
/// also mark a byte after a real one, never a chunk without one.
fn less(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// The high bit of some byte equal to `n` is set (same caveat as [`less`]).
fn equal(x: u64, n: u8) -> u64 {
    let y = x ^ (ONES * u64::from(n));
    y.wrapping_sub(ONES) & !y & HIGHS
}

fn chunk(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_ne_bytes(a)
}

/// Whether every byte is visible ASCII (`0x21..=0x7E`).
pub(crate) fn all_visible_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let x = chunk(c);
        if (x & HIGHS) | less(x, 0x21) | equal(x, 0x7f) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|b| (0x21..=0x7e).contains(b))
}

/// Index of the first `"`, `\` or control byte (below 0x20, or 0x7F) of `bytes`: where a
/// quoted-string ends or needs a closer look.
pub(crate) fn find_quote_escape_or_control(bytes: &[u8]) -> Option<usize> {
    let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let x = chunk(c);
        if equal(x, b'"') | equal(x, b'\\') | less(x, 0x20) | equal(x, 0x7f) != 0 {
            if let Some(i) = c.iter().position(|&b| special(b)) {
                return Some(at + i);
            }
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| special(b))
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn scans_agree_with_the_byte_loops(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(
                all_visible_ascii(&bytes),
                bytes.iter().all(|b| (0x21..=0x7e).contains(b))
            );
            prop_assert_eq!(
                find_quote_escape_or_control(&bytes),
                bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
            );
        }

        #[test]
        fn scans_agree_on_mostly_visible_input(
            bytes in prop::collection::vec(prop::sample::select(&[b'a', b'Z', b'-', b'"', b'\\', 0x7f, 0x20, 0x21, 0x7e, 0x1f, 0x80, 0xff, b'\t', 0][..]), 0..40)
        ) {
            prop_assert_eq!(
                all_visible_ascii(&bytes),
                bytes.iter().all(|b| (0x21..=0x7e).contains(b))
            );
            prop_assert_eq!(
                find_quote_escape_or_control(&bytes),
                bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
            );
        }
    }
}

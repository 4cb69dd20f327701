//! The RFC 9110 §11.6.1 `WWW-Authenticate` element stream (docs/protocol.md §8.1–§8.3).
//!
//! One pass over each field value with a byte cursor: no backtracking beyond the current
//! element, no regexes, and a value is copied only once (quoted-strings with escapes are
//! unescaped into their own buffer). Limits live in the parent module.

use std::borrow::Cow;

use super::{Challenge, MAX_CHALLENGES, MAX_PARAMS};

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 9110 §11.2 `token68` characters before the `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A control character that `qdtext` does not allow (HTAB is allowed).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn skip_ows(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_ows(s[i]) {
        i += 1;
    }
    i
}

fn scan_token(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_tchar(s[i]) {
        i += 1;
    }
    i
}

/// End of `1*token68char *"="` starting at `i`, or `i` when there is none.
fn scan_token68(s: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < s.len() && is_token68_char(s[i]) {
        i += 1;
    }
    if i == start {
        return start;
    }
    while i < s.len() && s[i] == b'=' {
        i += 1;
    }
    i
}

/// Whether the element ends at `i` (after optional whitespace): end of line or a comma.
fn at_element_end(s: &[u8], i: usize) -> bool {
    let j = skip_ows(s, i);
    j >= s.len() || s[j] == b','
}

/// Whether `token BWS "="` starts at `i` (a parameter, RFC 9110 §11.2).
fn starts_param(s: &[u8], i: usize) -> bool {
    let end = scan_token(s, i);
    if end == i {
        return false;
    }
    let j = skip_ows(s, end);
    j < s.len() && s[j] == b'='
}

/// Index of the next comma outside a quoted-string, or the end of the line (an unterminated
/// quote swallows the rest of the line, docs/protocol.md §8.3 step 2).
fn skip_element(s: &[u8], mut i: usize) -> usize {
    let mut quoted = false;
    while i < s.len() {
        match s[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Token bytes (ASCII by construction) lower-cased.
fn lower(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    out.extend(b.iter().map(|c| char::from(c.to_ascii_lowercase())));
    out
}

/// Bytes as text; obs-text that is not UTF-8 becomes U+FFFD rather than an error.
fn text(b: Cow<'_, [u8]>) -> String {
    match b {
        Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
        Cow::Owned(v) => String::from_utf8(v)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Parses a quoted-string whose opening DQUOTE is at `open`. Returns the unescaped value, the
/// index just past the closing quote (or the end of line), and whether it was well-formed.
fn quoted_string(s: &[u8], open: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let mut ok = true;
    let mut owned: Option<Vec<u8>> = None;
    let start = open + 1;
    let mut i = start;
    while i < s.len() {
        let b = s[i];
        match b {
            b'"' => {
                let value = match owned {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(&s[start..i]),
                };
                return (value, i + 1, ok);
            }
            b'\\' => {
                // RFC 9110 §5.6.4: a quoted-pair stands for the octet after the backslash.
                let buf = owned.get_or_insert_with(|| s[start..i].to_vec());
                match s.get(i + 1) {
                    Some(&next) => {
                        if is_ctl(next) {
                            ok = false;
                        }
                        buf.push(next);
                        i += 2;
                    }
                    None => {
                        ok = false;
                        i += 1;
                    }
                }
                continue;
            }
            _ => {
                if is_ctl(b) {
                    ok = false;
                }
                if let Some(buf) = owned.as_mut() {
                    buf.push(b);
                }
            }
        }
        i += 1;
    }
    // Unterminated: the rest of the line is the value (lax).
    let value = match owned {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(&s[start..]),
    };
    (value, s.len(), false)
}

/// Parser state carried across field lines: they form one element stream (§8.2 rule 6).
#[derive(Default)]
pub(super) struct Parser {
    out: Vec<Challenge>,
    /// Set once the challenge cap is hit; everything after is ignored.
    full: bool,
}

impl Parser {
    pub(super) fn finish(self) -> Vec<Challenge> {
        self.out
    }

    /// Feeds one field-line value.
    pub(super) fn line(&mut self, raw: &[u8]) {
        // RFC 9112 §5.2: obs-fold becomes SP. Any CR/LF left in a value can only be a fold
        // (or garbage), so each one is replaced by SP; a copy is made only in that rare case.
        let s: Cow<'_, [u8]> = if raw.iter().any(|&b| b == b'\r' || b == b'\n') {
            Cow::Owned(
                raw.iter()
                    .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                    .collect(),
            )
        } else {
            Cow::Borrowed(raw)
        };
        let s = &*s;
        let mut i = 0;
        let mut first = true;
        while !self.full {
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            while i < s.len() && (is_ows(s[i]) || s[i] == b',') {
                i += 1;
            }
            if i >= s.len() {
                break;
            }
            i = self.element(s, i, first);
            first = false;
        }
    }

    /// Parses the element starting at `start` and returns where the next one may start.
    fn element(&mut self, s: &[u8], start: usize, first_in_line: bool) -> usize {
        let name_end = scan_token(s, start);
        if name_end == start {
            // Not a token: nothing to salvage in this element.
            if let Some(ch) = self.out.last_mut() {
                ch.lax = true;
            }
            return skip_element(s, start);
        }
        let eq = skip_ows(s, name_end);
        if eq < s.len() && s[eq] == b'=' {
            return match self.out.last_mut() {
                Some(ch) => {
                    // A field line holding only parameters (OpenIG, vector 10) continues the
                    // previous challenge, as joining lines with "," would (RFC 9110 §5.3).
                    if first_in_line {
                        ch.lax = true;
                    }
                    param(ch, s, start, name_end, eq + 1)
                }
                // A parameter before any challenge (vector 20): malformed, dropped.
                None => skip_element(s, start),
            };
        }
        self.challenge(s, start, name_end)
    }

    /// Starts a new challenge whose scheme token is `s[start..name_end]`.
    fn challenge(&mut self, s: &[u8], start: usize, name_end: usize) -> usize {
        if self.out.len() >= MAX_CHALLENGES {
            self.full = true;
            return s.len();
        }
        self.out.push(Challenge::new(lower(&s[start..name_end])));
        let Some(ch) = self.out.last_mut() else {
            return s.len();
        };
        let mut i = name_end;
        if i >= s.len() || s[i] == b',' {
            return i;
        }
        if !is_ows(s[i]) {
            ch.lax = true;
            return skip_element(s, i);
        }
        i = skip_ows(s, i);
        if i >= s.len() || s[i] == b',' {
            return i;
        }
        let t68 = scan_token68(s, i);
        if t68 > i && at_element_end(s, t68) {
            ch.token68 = Some(text(Cow::Borrowed(&s[i..t68])));
            return t68;
        }
        let n_end = scan_token(s, i);
        if n_end > i {
            let eq = skip_ows(s, n_end);
            if eq < s.len() && s[eq] == b'=' {
                return param(ch, s, i, n_end, eq + 1);
            }
        }
        // Free text such as `Please login to access the resource` (vector 15).
        ch.lax = true;
        skip_element(s, i)
    }
}

/// Parses a parameter named `s[name_start..name_end]` whose value starts after `after_eq`
/// (BWS allowed), adds it to `ch`, and returns where the next element may start.
fn param(
    ch: &mut Challenge,
    s: &[u8],
    name_start: usize,
    name_end: usize,
    after_eq: usize,
) -> usize {
    let i = skip_ows(s, after_eq);
    let (value, next) = if i < s.len() && s[i] == b'"' {
        let (value, close, ok) = quoted_string(s, i);
        if !ok {
            ch.lax = true;
        }
        let k = skip_ows(s, close);
        if k >= s.len() || s[k] == b',' {
            (value, k)
        } else if starts_param(s, k) {
            // Missing comma after a closing quote (UMA 1.0 example, vector 18): the next
            // element starts here.
            ch.lax = true;
            (value, k)
        } else {
            ch.lax = true;
            (value, skip_element(s, k))
        }
    } else {
        let t_end = scan_token(s, i);
        if t_end > i && at_element_end(s, t_end) {
            (Cow::Borrowed(&s[i..t_end]), t_end)
        } else {
            // Lax: an unquoted non-token value (EOEPCA `as_uri=https://…`, vector 4) is the
            // raw rest of the element, up to the next comma outside quotes (§8.3 step 3a).
            ch.lax = true;
            let end = skip_element(s, i);
            let mut v_end = end;
            while v_end > i && is_ows(s[v_end - 1]) {
                v_end -= 1;
            }
            (Cow::Borrowed(&s[i..v_end]), end)
        }
    };
    if ch.params.len() >= MAX_PARAMS {
        ch.lax = true;
        return next;
    }
    if ch.token68.is_some() {
        // RFC 9110 §11.3: token68 or parameters, not both.
        ch.lax = true;
    }
    let name = lower(&s[name_start..name_end]);
    if ch.params.iter().any(|(n, _)| *n == name) {
        ch.duplicate_params = true;
    }
    ch.params.push((name, text(value)));
    next
}

//! The RFC 9110 §11.6.1 `WWW-Authenticate` element stream (docs/protocol.md §8.1–§8.3).
//!
//! One pass over each field value with a byte cursor: no backtracking beyond the current
//! element, no regexes. The parser borrows from the field values: names and values are slices of
//! them, and a value is copied only when it must change (quoted-strings with escapes are unescaped,
//! obs-fold CR/LF becomes SP). The first few challenges and parameters live inline, so parsing a
//! typical challenge allocates nothing; [`Parser::into_challenges`] makes the owned
//! [`Challenge`]s. Limits live in the parent module.

use std::borrow::Cow;

use super::{Challenge, MAX_CHALLENGES, MAX_PARAMS};

/// RFC 9110 §5.6.2 `tchar`, as a lookup table.
const TCHAR: [bool; 256] = {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < extra.len() {
        set[extra[i] as usize] = true;
        i += 1;
    }
    set
};

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// RFC 9110 §11.2 `token68` characters before the `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// RFC 9112 §5.2: an obs-fold becomes SP. Any CR/LF left in a value can only be a fold (or garbage),
/// so the parser reads each one as SP (without copying the line).
fn is_fold(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// The byte as the parser reads it: CR and LF as SP.
fn unfold(b: u8) -> u8 {
    if is_fold(b) { b' ' } else { b }
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t' || is_fold(b)
}

/// A control character that `qdtext` does not allow (HTAB is allowed; CR/LF read as SP are not
/// control characters).
fn is_ctl(b: u8) -> bool {
    ((b < 0x20 && b != b'\t') || b == 0x7f) && !is_fold(b)
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

/// A raw slice of a line as a value: borrowed unless it holds a CR/LF (read as SP).
fn raw_value(b: &[u8]) -> Cow<'_, [u8]> {
    if b.iter().any(|&c| is_fold(c)) {
        Cow::Owned(b.iter().map(|&c| unfold(c)).collect())
    } else {
        Cow::Borrowed(b)
    }
}

/// Bytes as text; obs-text that is not UTF-8 becomes U+FFFD rather than an error.
pub(super) fn text<'a>(b: &Cow<'a, [u8]>) -> Cow<'a, str> {
    match b {
        Cow::Borrowed(b) => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(b),
        },
        Cow::Owned(v) => match std::str::from_utf8(v) {
            Ok(s) => Cow::Owned(s.to_owned()),
            Err(_) => Cow::Owned(String::from_utf8_lossy(v).into_owned()),
        },
    }
}

/// Parses a quoted-string whose opening DQUOTE is at `open`. Returns the unescaped value, the
/// index just past the closing quote (or the end of line), and whether it was well-formed.
fn quoted_string(s: &[u8], open: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let start = open + 1;
    // The common case: no escape, no control character, no fold before the closing quote.
    let plain = crate::scan::find_quote_escape_or_control(&s[start..]);
    if let Some(n) = plain {
        if s[start + n] == b'"' {
            return (Cow::Borrowed(&s[start..start + n]), start + n + 1, true);
        }
    }
    let mut ok = true;
    let mut owned: Option<Vec<u8>> = None;
    let mut folded = false;
    let mut i = start;
    while i < s.len() {
        let b = s[i];
        match b {
            b'"' => {
                let value = match owned {
                    Some(v) => Cow::Owned(v),
                    None if folded => raw_value(&s[start..i]),
                    None => Cow::Borrowed(&s[start..i]),
                };
                return (value, i + 1, ok);
            }
            b'\\' => {
                // RFC 9110 §5.6.4: a quoted-pair stands for the octet after the backslash.
                let buf =
                    owned.get_or_insert_with(|| s[start..i].iter().map(|&c| unfold(c)).collect());
                match s.get(i + 1) {
                    Some(&next) => {
                        if is_ctl(next) {
                            ok = false;
                        }
                        buf.push(unfold(next));
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
                folded |= is_fold(b);
                if let Some(buf) = owned.as_mut() {
                    buf.push(unfold(b));
                }
            }
        }
        i += 1;
    }
    // Unterminated: the rest of the line is the value (lax).
    let value = match owned {
        Some(v) => Cow::Owned(v),
        None => raw_value(&s[start..]),
    };
    (value, s.len(), false)
}

/// A few values inline, the rest on the heap: parsing the usual one or two challenges allocates
/// nothing.
pub(super) struct Small<T, const N: usize> {
    inline: [Option<T>; N],
    spill: Vec<T>,
    len: usize,
}

impl<T, const N: usize> Default for Small<T, N> {
    fn default() -> Self {
        Self {
            inline: std::array::from_fn(|_| None),
            spill: Vec::new(),
            len: 0,
        }
    }
}

impl<T, const N: usize> Small<T, N> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, value: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(value),
            None => self.spill.push(value),
        }
        self.len += 1;
    }

    pub(super) fn get(&self, i: usize) -> Option<&T> {
        match self.inline.get(i) {
            Some(slot) => slot.as_ref(),
            None => self.spill.get(i - N),
        }
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        match self.inline.get_mut(i) {
            Some(slot) => slot.as_mut(),
            None => self.spill.get_mut(i - N),
        }
    }

    fn last_mut(&mut self) -> Option<&mut T> {
        let last = self.len.checked_sub(1)?;
        self.get_mut(last)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.inline.iter().flatten().chain(self.spill.iter())
    }
}

/// One parameter, borrowed from its field line: the name as sent (compare it case-insensitively),
/// the value unescaped and unfolded.
pub(super) struct RawParam<'a> {
    pub name: &'a [u8],
    pub value: Cow<'a, [u8]>,
}

/// One challenge, borrowed from its field line(s). Its parameters are `params` of the [`Parser`]: the
/// parameters of one challenge are contiguous, since a parameter always goes to the last challenge.
pub(super) struct RawChallenge<'a> {
    /// The scheme as sent (compare it case-insensitively).
    pub scheme: &'a [u8],
    pub token68: Option<&'a [u8]>,
    /// Index of its first parameter, and how many it has.
    pub first_param: usize,
    pub param_count: usize,
    pub lax: bool,
    pub duplicate_params: bool,
}

impl<'a> RawChallenge<'a> {
    fn new(scheme: &'a [u8], first_param: usize) -> Self {
        Self {
            scheme,
            token68: None,
            first_param,
            param_count: 0,
            lax: false,
            duplicate_params: false,
        }
    }
}

/// Parser state carried across field lines: they form one element stream (§8.2 rule 6).
#[derive(Default)]
pub(super) struct Parser<'a> {
    pub challenges: Small<RawChallenge<'a>, 4>,
    pub params: Small<RawParam<'a>, 8>,
    /// Set once the challenge cap is hit; everything after is ignored.
    full: bool,
}

impl<'a> Parser<'a> {
    /// The parameters of `ch`, in order.
    pub(super) fn params_of<'p>(
        &'p self,
        ch: &RawChallenge<'a>,
    ) -> impl Iterator<Item = &'p RawParam<'a>> + 'p {
        let first = ch.first_param;
        (first..first + ch.param_count).filter_map(move |i| self.params.get(i))
    }

    /// The first value of the parameter `name` (given lower-cased) of `ch`.
    pub(super) fn param(&self, ch: &RawChallenge<'a>, name: &str) -> Option<&Cow<'a, [u8]>> {
        self.params_of(ch)
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| &p.value)
    }

    /// The owned challenges.
    pub(super) fn into_challenges(self) -> Vec<Challenge> {
        let mut out = Vec::with_capacity(self.challenges.len());
        for ch in self.challenges.iter() {
            out.push(Challenge {
                scheme: lower(ch.scheme),
                token68: ch.token68.map(|t| text(&Cow::Borrowed(t)).into_owned()),
                params: self
                    .params_of(ch)
                    .map(|p| (lower(p.name), text(&p.value).into_owned()))
                    .collect(),
                lax: ch.lax,
                duplicate_params: ch.duplicate_params,
            });
        }
        out
    }

    /// Feeds one field-line value.
    pub(super) fn line(&mut self, s: &'a [u8]) {
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
    fn element(&mut self, s: &'a [u8], start: usize, first_in_line: bool) -> usize {
        let name_end = scan_token(s, start);
        if name_end == start {
            // Not a token: nothing to salvage in this element.
            if let Some(ch) = self.challenges.last_mut() {
                ch.lax = true;
            }
            return skip_element(s, start);
        }
        let eq = skip_ows(s, name_end);
        if eq < s.len() && s[eq] == b'=' {
            return match self.challenges.last_mut() {
                Some(ch) => {
                    // A field line holding only parameters (OpenIG, vector 10) continues the
                    // previous challenge, as joining lines with "," would (RFC 9110 §5.3).
                    if first_in_line {
                        ch.lax = true;
                    }
                    self.parse_param(s, start, name_end, eq + 1)
                }
                // A parameter before any challenge (vector 20): malformed, dropped.
                None => skip_element(s, start),
            };
        }
        self.challenge(s, start, name_end)
    }

    /// Starts a new challenge whose scheme token is `s[start..name_end]`.
    fn challenge(&mut self, s: &'a [u8], start: usize, name_end: usize) -> usize {
        if self.challenges.len() >= MAX_CHALLENGES {
            self.full = true;
            return s.len();
        }
        let first_param = self.params.len();
        self.challenges
            .push(RawChallenge::new(&s[start..name_end], first_param));
        let Some(ch) = self.challenges.last_mut() else {
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
            ch.token68 = Some(&s[i..t68]);
            return t68;
        }
        let n_end = scan_token(s, i);
        if n_end > i {
            let eq = skip_ows(s, n_end);
            if eq < s.len() && s[eq] == b'=' {
                return self.parse_param(s, i, n_end, eq + 1);
            }
        }
        // Free text such as `Please login to access the resource` (vector 15).
        ch.lax = true;
        skip_element(s, i)
    }

    /// Parses a parameter named `s[name_start..name_end]` whose value starts after `after_eq`
    /// (BWS allowed), adds it to the last challenge, and returns where the next element may start.
    fn parse_param(
        &mut self,
        s: &'a [u8],
        name_start: usize,
        name_end: usize,
        after_eq: usize,
    ) -> usize {
        let Some(ch) = self.challenges.last_mut() else {
            return s.len();
        };
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
                (raw_value(&s[i..v_end]), end)
            }
        };
        if ch.param_count >= MAX_PARAMS {
            ch.lax = true;
            return next;
        }
        if ch.token68.is_some() {
            // RFC 9110 §11.3: token68 or parameters, not both.
            ch.lax = true;
        }
        let name = &s[name_start..name_end];
        let (first, count) = (ch.first_param, ch.param_count);
        let params = &self.params;
        let repeated = (first..first + count)
            .filter_map(|j| params.get(j))
            .any(|p| p.name.eq_ignore_ascii_case(name));
        ch.duplicate_params |= repeated;
        ch.param_count += 1;
        self.params.push(RawParam { name, value });
        next
    }
}

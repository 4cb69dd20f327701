//! Newtypes for every credential the client handles.
//!
//! Tokens, tickets, secrets and claim tokens are bearer credentials (`docs/protocol.md` §11.5, §11.6):
//! whoever reads one can use it. Each type here wraps a `String`, prints `[redacted]` in `Debug`, has no
//! `Display`, and has no `PartialEq` (comparing secrets is rare and explicit: [`Ticket::same_as`]).
//! The value is reached only through `secret()`, which makes every use greppable.

use std::fmt;

/// How a secret holds its value: a `String`, or an `Arc<str>` for values cloned on hot paths.
trait Repr {
    fn into_string(self) -> String;
}

impl Repr for String {
    fn into_string(self) -> String {
        self
    }
}

impl Repr for std::sync::Arc<str> {
    fn into_string(self) -> String {
        String::from(&*self)
    }
}

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        secret_type!($(#[$meta])* $name, String);
    };
    ($(#[$meta:meta])* $name:ident, $repr:ty) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name($repr);

        impl $name {
            /// Wraps a credential value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(<$repr>::from(value.into()))
            }

            /// The credential itself. Call only to put it on the wire.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Unwraps the credential.
            pub fn into_secret(self) -> String {
                Repr::into_string(self.0)
            }

            /// Whether both hold the same value (used for ticket-rotation and upgrade checks).
            pub fn same_as(&self, other: &Self) -> bool {
                // Length first, then every byte, so timing does not depend on where they differ.
                self.0.len() == other.0.len()
                    && self
                        .0
                        .bytes()
                        .zip(other.0.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }

            /// Length in bytes, for diagnostics that must not show the value.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(<$repr>::from(value))
            }
        }
    };
}

secret_type!(
    /// An OAuth client secret.
    ClientSecret
);
secret_type!(
    /// An OAuth access token: the requesting party's token, a PAT, or an RPT.
    ///
    /// Cloning is a reference-count increment: the warm path hands the cached RPT to every request.
    AccessToken,
    std::sync::Arc<str>
);
secret_type!(
    /// An OAuth refresh token.
    RefreshToken
);
secret_type!(
    /// A UMA permission ticket (UMAG §1.3). Single-use by spec; rotated on `need_info` and
    /// `request_submitted`.
    Ticket
);
secret_type!(
    /// A UMA persisted claims token (UMAG §3.3.5). A credential bound to one requesting party.
    Pct
);
secret_type!(
    /// A pushed claim token, such as an OpenID Connect ID token (UMAG §3.3.1).
    ClaimToken
);
secret_type!(
    /// A resource owner's password, for the OAuth password grant.
    Password
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Ticket::new("016f84e8-f9b9-11e0");
        assert_eq!(format!("{t:?}"), "Ticket([redacted])");
        let s = ClientSecret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn shared_tokens_keep_their_value() {
        let t = AccessToken::new("rpt-1");
        let u = t.clone();
        assert!(t.same_as(&u));
        assert_eq!((u.secret(), u.len()), ("rpt-1", 5));
        assert_eq!(t.into_secret(), "rpt-1");
        assert_eq!(AccessToken::from("x").secret(), "x");
    }

    #[test]
    fn same_as_compares_values() {
        assert!(Ticket::new("a").same_as(&Ticket::new("a")));
        assert!(!Ticket::new("a").same_as(&Ticket::new("b")));
        assert!(!Ticket::new("a").same_as(&Ticket::new("ab")));
    }
}

//! A credential that does not print.
//!
//! API tokens, keys and passwords are wrapped in [`Secret`] from the moment
//! they are read, so that a `{:?}` of a builder, a client or an error, or a
//! trace of a request, can never show one. The bytes are zeroed on drop
//! (through [`secrecy`]).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A credential (token, key, password) whose `Debug` and `Display` print
/// `******`.
///
/// [`Secret::expose`] is the only way to read it: grep for it to find every
/// place a credential is used.
///
/// ```
/// use volume_core::http::Secret;
///
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token:?} {token}"), "****** ******");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The credential itself. Use it only to put it on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the credential is the empty string (a sign of a missing
    /// environment variable, say).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "******");
        assert_eq!(format!("{s:#?}"), "******");
        assert_eq!(s.to_string(), "******");
        assert_eq!(s.expose(), "hunter2");
        assert!(!s.is_empty());
        assert!(Secret::from("").is_empty());
        let c = s.clone();
        assert_eq!(c.expose(), "hunter2");
    }
}

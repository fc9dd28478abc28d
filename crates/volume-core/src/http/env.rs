//! Configuration from environment variables, the way every provider's
//! `from_env` reads it.
//!
//! Providers read several names for one setting (Rancher's `CATTLE_URL` or
//! `RANCHER_URL`, LunaNode's `LNDYNAMIC_API_ID` or `LUNANODE_API_ID`), treat
//! a blank variable as unset, and must be testable without touching the
//! process environment. [`Env`] does that once.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;

use super::secret::Secret;

/// Where a builder's `from_env` reads its variables: the process
/// environment, or a fixed set of pairs in tests.
///
/// ```
/// use volume_core::http::Env;
///
/// let env = Env::from_pairs([("RANCHER_URL", " http://rancher:8080 "), ("CATTLE_URL", "")]);
/// // The first name that is set and not blank wins; values are trimmed.
/// assert_eq!(env.string(&["CATTLE_URL", "RANCHER_URL"]).as_deref(), Some("http://rancher:8080"));
/// assert_eq!(env.string(&["NOT_SET"]), None);
/// ```
pub struct Env {
    lookup: Box<Lookup>,
}

/// How [`Env`] reads one variable.
type Lookup = dyn Fn(&str) -> Option<OsString> + Send + Sync;

impl fmt::Debug for Env {
    // Values may be credentials: never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self::from_fn(|name| std::env::var_os(name))
    }

    /// Variables looked up by `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
        }
    }

    /// Exactly these variables (for tests).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        let map: HashMap<String, OsString> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::from_fn(move |name| map.get(name).cloned())
    }

    /// The raw value of the first of `names` that is set and not blank.
    fn first(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|name| {
            let value = (self.lookup)(name)?.to_string_lossy().into_owned();
            (!value.trim().is_empty()).then_some(value)
        })
    }

    /// The first of `names` that is set and not blank, trimmed.
    pub fn string(&self, names: &[&str]) -> Option<String> {
        self.first(names).map(|v| v.trim().to_owned())
    }

    /// The first of `names` that is set and not blank, as a [`Secret`],
    /// exactly as it is (a secret's spaces may be its own).
    pub fn secret(&self, names: &[&str]) -> Option<Secret> {
        self.first(names).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_order_decides() {
        let env = Env::from_pairs([("A", "  "), ("B", " b "), ("C", "c")]);
        assert_eq!(env.string(&["A", "B", "C"]).as_deref(), Some("b"));
        assert_eq!(env.string(&["C", "B"]).as_deref(), Some("c"));
        assert_eq!(
            env.secret(&["B"]).map(|s| s.expose().to_owned()).as_deref(),
            Some(" b ")
        );
        assert!(env.secret(&["A", "Z"]).is_none());
        assert!(!format!("{env:?}").contains('b'));
    }
}

//! Every dialect, in one list: what `serve` and the binaries walk.
//!
//! Each entry says its provider's name, the settings it takes (each becomes
//! a `--flag` with an environment variable in the `volume-sim` binary and
//! in `volume serve`), how to build its fake from the shared
//! [`FakeOptions`] and those settings, and what to print about its
//! credentials. Adding a provider is one line in [`REGISTRY`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::pipeline::{FakeOptions, Handler};
use crate::engine::Engine;
use crate::nbd::ExportSource;

/// One setting of a dialect: a flag of the binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The flag without its dashes (`linode-token`).
    pub flag: &'static str,
    /// The environment variable that sets it (`VOLUME_SIM_LINODE_TOKEN`).
    pub env: &'static str,
    /// The value's name in `--help` (`TOKEN`).
    pub value_name: &'static str,
    /// The value when none is given (`None`: unset).
    pub default: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
    /// A credential: its value is never printed (not in `--help`, not in
    /// the banner, not in `Debug`) unless it is the documented default.
    pub secret: bool,
}

/// The values of the settings of every dialect, by flag.
#[derive(Clone, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, (Setting, String)>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (flag, (setting, value)) in &self.values {
            if setting.secret {
                map.entry(flag, &"******");
            } else {
                map.entry(flag, value);
            }
        }
        map.finish()
    }
}

impl Settings {
    /// Every setting of the registry at its default.
    pub fn defaults() -> Self {
        let mut s = Self::default();
        for entry in REGISTRY {
            for setting in entry.settings {
                if let Some(d) = setting.default {
                    s.values.insert(setting.flag, (*setting, d.to_owned()));
                }
            }
        }
        s
    }

    /// Sets `flag` to `value`.
    ///
    /// # Errors
    /// When no dialect of the registry has that setting.
    pub fn set(&mut self, flag: &str, value: impl Into<String>) -> Result<(), String> {
        let setting = REGISTRY
            .iter()
            .flat_map(|e| e.settings.iter())
            .find(|s| s.flag == flag)
            .ok_or_else(|| format!("no dialect has a setting --{flag}"))?;
        self.values.insert(setting.flag, (*setting, value.into()));
        Ok(())
    }

    /// Sets `flag` to `value`, for chaining; an unknown flag is ignored
    /// (use [`set`](Self::set) to be told).
    #[must_use]
    pub fn with(mut self, flag: &str, value: impl Into<String>) -> Self {
        let _ = self.set(flag, value);
        self
    }

    /// The value of `flag`, if set.
    pub fn get(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(|(_, v)| v.as_str())
    }

    /// The value of `flag` as people may see it: the value, unless the
    /// setting is secret and the value is not its documented default, in
    /// which case `(as given with --flag)`.
    pub fn shown(&self, flag: &str) -> String {
        match self.values.get(flag) {
            None => "(not set)".to_owned(),
            Some((s, v)) if s.secret && s.default != Some(v.as_str()) => {
                format!("(as given with --{flag})")
            }
            Some((_, v)) => v.clone(),
        }
    }
}

/// Stands for the dialect's base URL in its [`Entry::credentials`] text.
pub const BASE_URL_PLACEHOLDER: &str = "{base_url}";

/// Builds a dialect's fake from the shared options and the settings; an
/// error says which setting is wrong.
pub type BuildFn = fn(&FakeOptions, &Settings) -> Result<Arc<dyn Handler>, String>;

/// One dialect of the registry.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The provider (`"linode"`).
    pub name: &'static str,
    /// Its settings.
    pub settings: &'static [Setting],
    /// Builds its fake.
    pub build: BuildFn,
    /// What to print about its credentials (never a secret the user gave).
    /// The text may hold [`BASE_URL_PLACEHOLDER`], which servers replace
    /// with the dialect's base URL (Cinder's `clouds.yaml` needs its
    /// `auth_url`).
    pub credentials: fn(&Settings) -> String,
    /// What of its fake's engine is exported over NBD: the tenants its
    /// credentials act for, and the device path the provider shows for a
    /// volume as an alias where it shows one.
    pub exports: fn(Engine) -> ExportSource,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Every dialect volume-sim serves.
pub const REGISTRY: &[Entry] = &[
    super::linode::ENTRY,
    super::exoscale::ENTRY,
    super::cinder::ENTRY,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_envs_are_unique() {
        let all: Vec<&Setting> = REGISTRY.iter().flat_map(|e| e.settings).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.flag, b.flag);
                assert_ne!(a.env, b.env);
            }
        }
    }

    #[test]
    fn secrets_are_not_shown_unless_default() {
        let secret = REGISTRY
            .iter()
            .flat_map(|e| e.settings)
            .find(|s| s.secret && s.default.is_some())
            .expect("a secret setting with a default");
        let mut s = Settings::defaults();
        assert_eq!(s.shown(secret.flag), secret.default.unwrap_or_default());
        s.set(secret.flag, "hunter2-secret").unwrap();
        assert!(!s.shown(secret.flag).contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(s.set("no-such-flag", "x").is_err());
    }
}

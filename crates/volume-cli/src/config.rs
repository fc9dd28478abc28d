//! The config file: named profiles, each a provider and its settings.
//!
//! ```toml
//! default_profile = "work"
//!
//! [profiles.work]
//! provider = "linode"
//! token_command = "pass show linode/volumes"   # or token_env = "MY_TOKEN"
//!
//! [profiles.fake]
//! provider = "exoscale"
//! endpoint = "http://127.0.0.1:8080/v2"
//! api_key = "EXOvolumesim"
//! api_secret_env = "FAKE_EXOSCALE_SECRET"
//! ```
//!
//! A secret setting `X` may be given as `X` (the value, in the file),
//! `X_env` (the name of an environment variable holding it) or
//! `X_command` (a command run with `sh -c` whose standard output, trimmed,
//! is the value). Secrets are never printed, errors included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use volume_core::http::{Env, Secret};

use crate::error::CliError;

/// The file, as read.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, toml::Table>,
}

/// The profile in use: its name and settings (empty when there is none).
#[derive(Default)]
pub(crate) struct Profile {
    name: Option<String>,
    settings: toml::Table,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Settings may hold secrets: only their names.
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("keys", &self.settings.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where the config file is: `--config`, then `$VOLUME_CONFIG`, then
/// `$XDG_CONFIG_HOME/volume/config.toml`, then
/// `~/.config/volume/config.toml`.
pub(crate) fn path(flag: Option<&Path>, env: &Env) -> Option<(PathBuf, bool)> {
    if let Some(p) = flag {
        return Some((p.to_owned(), true));
    }
    if let Some(p) = env.string(&["VOLUME_CONFIG"]) {
        return Some((PathBuf::from(p), true));
    }
    if let Some(dir) = env.string(&["XDG_CONFIG_HOME"]) {
        return Some((Path::new(&dir).join("volume/config.toml"), false));
    }
    env.string(&["HOME"])
        .map(|home| (Path::new(&home).join(".config/volume/config.toml"), false))
}

/// Reads the profile to use: the one named (flag, then `$VOLUME_PROFILE`),
/// or the file's `default_profile`, or none. A file named explicitly must
/// exist; the default one may be missing.
pub(crate) fn load(
    file: Option<(PathBuf, bool)>,
    wanted: Option<String>,
) -> Result<Profile, CliError> {
    let parsed = match &file {
        None => File::default(),
        Some((path, explicit)) => match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str::<File>(&text)
                .map_err(|e| CliError::Config(format!("{}: {}", path.display(), e.message())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => File::default(),
            Err(e) => {
                return Err(CliError::Config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        },
    };
    let name = wanted.or(parsed.default_profile);
    let Some(name) = name else {
        return Ok(Profile::default());
    };
    let mut profiles = parsed.profiles;
    match profiles.remove(&name) {
        Some(settings) => Ok(Profile {
            name: Some(name),
            settings,
        }),
        None => Err(CliError::Config(format!(
            "no profile {name:?} in {}",
            file.map_or_else(
                || "(no config file)".to_owned(),
                |(p, _)| p.display().to_string()
            )
        ))),
    }
}

impl Profile {
    /// The profile's name, if one is in use.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// A plain setting.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, CliError> {
        match self.settings.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    /// A secret setting: `key`, `key_env` or `key_command`.
    pub(crate) fn secret(&self, key: &str, env: &Env) -> Result<Option<Secret>, CliError> {
        if let Some(value) = self.string(key)? {
            return Ok(Some(Secret::new(value)));
        }
        if let Some(var) = self.string(&format!("{key}_env"))? {
            return match env.secret(&[&var]) {
                Some(s) => Ok(Some(s)),
                None => Err(CliError::Config(format!(
                    "profile {}: {key}_env names {var}, which is not set",
                    self.shown_name()
                ))),
            };
        }
        if let Some(command) = self.string(&format!("{key}_command"))? {
            return run_secret_command(&command).map(Some).map_err(|why| {
                CliError::Config(format!(
                    "profile {}: {key}_command {why}",
                    self.shown_name()
                ))
            });
        }
        Ok(None)
    }

    fn shown_name(&self) -> &str {
        self.name.as_deref().unwrap_or("(none)")
    }

    fn wrong(&self, key: &str, what: &str) -> CliError {
        CliError::Config(format!(
            "profile {}: {key} must be {what}",
            self.shown_name()
        ))
    }
}

/// Runs `command` with `sh -c`; its trimmed standard output is the secret.
/// Its standard error goes to ours (a password manager may prompt there);
/// its output is never shown.
fn run_secret_command(command: &str) -> Result<Secret, String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not be run: {e}"))?;
    if !output.status.success() {
        return Err(format!("failed ({})", output.status));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| "printed something that is not UTF-8".to_owned())?;
    let value = text.trim();
    if value.is_empty() {
        return Err("printed nothing".to_owned());
    }
    Ok(Secret::new(value.to_owned()))
}

//! Choosing a provider and building its client from flags, environment and
//! profile.
//!
//! Each provider is one module here: a `connect` function turning
//! [`Sources`] into a [`Backend`], and, where it has operations of its own,
//! a subcommand (`volume linode ...`). Adding a provider is that module and
//! one line in [`PROVIDERS`] (plus its subcommand's variant in
//! `cli::Command` where it has one).

pub(crate) mod cinder;
pub(crate) mod exoscale;
pub(crate) mod linode;
pub(crate) mod lunanode;
pub(crate) mod rancher;
pub(crate) mod sim;

use std::sync::Arc;
use std::time::Duration;

use volume_core::http::{ClientOptions, Env};
use volume_core::BlockStorage;

use crate::config::Profile;
use crate::error::CliError;

/// Where a provider's settings come from, in order: flags, the
/// environment variables its crate's `from_env` reads, the profile.
#[derive(Debug)]
pub(crate) struct Sources<'a> {
    /// `--endpoint`.
    pub(crate) endpoint: Option<&'a str>,
    /// The process environment.
    pub(crate) env: &'a Env,
    /// The profile in use (empty when none).
    pub(crate) profile: &'a Profile,
    /// `--sim-delay`.
    pub(crate) sim_delay: Duration,
    /// Options every HTTP client gets.
    pub(crate) options: ClientOptions,
}

impl Sources<'_> {
    /// A plain setting: `flag`, else the first set environment variable of
    /// `env`, else the profile's `key`.
    pub(crate) fn setting(
        &self,
        flag: Option<&str>,
        env: &[&str],
        key: &str,
    ) -> Result<Option<String>, CliError> {
        if let Some(v) = flag {
            return Ok(Some(v.to_owned()));
        }
        if let Some(v) = self.env.string(env) {
            return Ok(Some(v));
        }
        self.profile.string(key)
    }

    /// A secret: the first set environment variable of `env`, else the
    /// profile's `key` (`key`, `key_env` or `key_command`). Never a flag.
    pub(crate) fn secret(
        &self,
        env: &[&str],
        key: &str,
    ) -> Result<Option<volume_core::http::Secret>, CliError> {
        if let Some(v) = self.env.secret(env) {
            return Ok(Some(v));
        }
        self.profile.secret(key, self.env)
    }
}

/// A connected provider: the common API, and the provider's own client for
/// its own subcommands.
#[derive(Debug)]
pub(crate) struct Backend {
    /// The provider's name.
    pub(crate) name: &'static str,
    /// Every verb goes through this.
    pub(crate) storage: Arc<dyn BlockStorage>,
    /// The provider's own client.
    pub(crate) native: Native,
}

/// The provider's own client, for operations the common API lacks.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Native {
    /// Linode.
    Linode(volume_linode::Linode),
    /// Exoscale.
    Exoscale(volume_exoscale::Exoscale),
    /// OpenStack Cinder.
    Cinder(volume_cinder::Cinder),
    /// Rancher.
    Rancher(volume_rancher::Rancher),
    /// LunaNode.
    LunaNode(volume_lunanode::LunaNode),
    /// The in-process simulator.
    Sim(volume_sim::Sim),
}

/// One provider the command knows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Provider {
    /// `--provider` value.
    pub(crate) name: &'static str,
    /// Builds its backend.
    pub(crate) connect: fn(&Sources<'_>) -> Result<Backend, CliError>,
}

/// Every provider, in `--help` order.
pub(crate) const PROVIDERS: &[Provider] = &[
    Provider {
        name: "linode",
        connect: linode::connect,
    },
    Provider {
        name: "exoscale",
        connect: exoscale::connect,
    },
    Provider {
        name: "cinder",
        connect: cinder::connect,
    },
    Provider {
        name: "rancher",
        connect: rancher::connect,
    },
    Provider {
        name: "lunanode",
        connect: lunanode::connect,
    },
    Provider {
        name: "sim",
        connect: sim::connect,
    },
];

/// The names `--provider` accepts.
pub(crate) fn names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(PROVIDERS.iter().map(|p| p.name))
}

/// Connects to the provider named by the flag, `$VOLUME_PROVIDER` or the
/// profile.
pub(crate) fn connect(flag: Option<&str>, sources: &Sources<'_>) -> Result<Backend, CliError> {
    let name = sources.setting(flag, &["VOLUME_PROVIDER"], "provider")?;
    let Some(name) = name else {
        return Err(CliError::Config(format!(
            "no provider: use --provider ({}), set VOLUME_PROVIDER, or a profile with one",
            PROVIDERS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let provider = PROVIDERS.iter().find(|p| p.name == name).ok_or_else(|| {
        CliError::Config(format!(
            "unknown provider {name:?}{}: expected one of {}",
            sources
                .profile
                .name()
                .map(|p| format!(" (profile {p})"))
                .unwrap_or_default(),
            PROVIDERS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    // What a builder refuses is the configuration (a missing token, a
    // malformed endpoint), not a request.
    (provider.connect)(sources).map_err(|e| match e {
        CliError::Core(e @ volume_core::Error::InvalidInput { .. }) => {
            CliError::Config(e.to_string())
        }
        other => other,
    })
}

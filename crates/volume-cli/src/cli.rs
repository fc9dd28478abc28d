//! The command line: global flags, verbs and their arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use volume_sim::cli::ServeArgs;

use crate::provider;

/// Manage block-storage volumes on Linode, Exoscale, OpenStack Cinder,
/// Rancher, LunaNode or the in-process simulator with one command, or serve
/// the fake cloud.
///
/// The provider and its credentials come from flags, then the provider's
/// own environment variables (LINODE_TOKEN, EXOSCALE_API_KEY, OS_AUTH_URL,
/// CATTLE_URL, LNDYNAMIC_API_ID, ...), then a
/// profile of the config file (~/.config/volume/config.toml). Credentials
/// are never taken from the command line, so they stay out of shell history
/// and `ps`.
#[derive(Parser, Debug)]
#[command(
    name = "volume",
    version,
    propagate_version = true,
    after_long_help = EXIT_CODES_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Exit codes, as `--help` shows them.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (the provider's answer, the network, a decoding error)
  2  bad command line or configuration
  3  not found
  4  invalid input or state (also: already exists, a resource that failed)
  5  authentication or permission refused
  6  quota exceeded or rate limited
  7  not supported by this provider
  8  timed out (--wait past --timeout)";

/// Flags accepted before or after the verb.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// The provider to talk to (default: $VOLUME_PROVIDER, then the
    /// profile's).
    #[arg(long, global = true, value_name = "NAME", value_parser = provider::names())]
    pub(crate) provider: Option<String>,

    /// The profile of the config file to use (default: $VOLUME_PROFILE, then
    /// the file's `default_profile`).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// The config file (default: $VOLUME_CONFIG, then
    /// ~/.config/volume/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// The provider's API root instead of its public one (a proxy or a
    /// local fake such as `volume serve`), e.g. http://127.0.0.1:8080/v4.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint: Option<String>,

    /// How to print results.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,

    /// Print only ids, one a line.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,

    /// Wait for the resource to settle (available, in use, or gone) before
    /// printing it.
    #[arg(long, global = true)]
    pub(crate) wait: bool,

    /// Seconds --wait may take before giving up (exit code 8).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 600.0, value_parser = seconds)]
    pub(crate) timeout: f64,

    /// Retries of a failed request (rate limited, 5xx on a read, no
    /// connection) before giving up; 0 turns them off.
    #[arg(long, global = true, value_name = "N", default_value_t = 3)]
    pub(crate) retries: u32,

    /// Show each request sent (method, path, status, time; never
    /// credentials) on stderr.
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,

    /// `--provider sim` only: simulated seconds every transition takes
    /// (creating, attaching, ...), on a virtual clock.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0.0, value_parser = seconds)]
    pub(crate) sim_delay: f64,

    /// `--provider sim` only: keep the simulator in this file between runs
    /// (a journal of the commands that changed it, replayed at start).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) sim_state: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Aligned columns for people.
    Table,
    /// One JSON document, stable field names, for scripts and jq.
    Json,
}

/// The verbs.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show one volume.
    Show {
        /// The volume's id.
        id: String,
    },
    /// Create a volume (empty, from a snapshot, from a backup, or a clone).
    Create(CreateArgs),
    /// Delete a volume.
    #[command(visible_alias = "delete")]
    Rm {
        /// The volume's id.
        id: String,
    },
    /// Attach a volume to an instance.
    Attach {
        /// The volume's id.
        id: String,
        /// The instance's id (see `volume instances`).
        instance: String,
    },
    /// Detach a volume.
    Detach {
        /// The volume's id.
        id: String,
    },
    /// Grow a volume.
    Resize {
        /// The volume's id.
        id: String,
        /// The new size in GiB (larger than the current one).
        #[arg(long, value_name = "GIB")]
        size: u64,
    },
    /// Clone a volume into a new one.
    Clone {
        /// The volume's id.
        id: String,
        /// The new volume's name.
        name: String,
        /// A label of the clone, KEY=VALUE (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
        labels: Vec<(String, String)>,
    },
    /// Rename a volume.
    Rename {
        /// The volume's id.
        id: String,
        /// Its new name.
        name: String,
    },
    /// Set or remove labels: KEY=VALUE sets, KEY- removes.
    Label {
        /// The volume's id.
        id: String,
        /// KEY=VALUE to set, KEY- to remove.
        #[arg(required = true, value_name = "KEY=VALUE|KEY-")]
        changes: Vec<String>,
    },
    /// Snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Backups.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// List the instances volumes can attach to.
    Instances {
        /// Every page, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// What this provider can do.
    Capabilities,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Serve the fake cloud: every provider's API on one local port, as the
    /// volume-sim binary does.
    Serve(ServeCommand),
    /// Linode-only operations.
    #[command(subcommand)]
    Linode(provider::linode::LinodeCommand),
    /// Exoscale-only operations.
    #[command(subcommand)]
    Exoscale(provider::exoscale::ExoscaleCommand),
    /// OpenStack Cinder-only operations.
    #[command(subcommand)]
    Cinder(provider::cinder::CinderCommand),
    /// Rancher-only operations.
    #[command(subcommand)]
    Rancher(provider::rancher::RancherCommand),
    /// LunaNode-only operations.
    #[command(subcommand)]
    Lunanode(provider::lunanode::LunaNodeCommand),
}

/// `volume serve`: the fake cloud's flags (the dialects' settings are
/// added from the registry at start).
#[derive(Args, Debug)]
pub(crate) struct ServeCommand {
    #[command(flatten)]
    pub(crate) args: ServeArgs,
}

/// `volume ls`.
#[derive(Args, Debug)]
pub(crate) struct LsArgs {
    /// Only volumes with this name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Only volumes in this state (available, in-use, creating, ...).
    #[arg(long)]
    pub(crate) state: Option<String>,
    /// Only volumes attached to this instance.
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) attached_to: Option<String>,
    /// Only volumes with this label, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
    pub(crate) labels: Vec<(String, String)>,
    /// Only volumes in this region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Every page, not only the first (with -q, ids are printed as the
    /// pages arrive).
    #[arg(long)]
    pub(crate) all: bool,
    /// Volumes per page asked of the provider.
    #[arg(long, value_name = "N")]
    pub(crate) page_size: Option<u32>,
}

/// `volume create`.
#[derive(Args, Debug)]
pub(crate) struct CreateArgs {
    /// The new volume's name.
    pub(crate) name: String,
    /// Its size in GiB (required unless it comes from a snapshot, backup or
    /// volume).
    #[arg(long, value_name = "GIB")]
    pub(crate) size: Option<u64>,
    /// Its region (the provider's default otherwise).
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Its volume type, where the provider has types.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) volume_type: Option<String>,
    /// A label, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label)]
    pub(crate) labels: Vec<(String, String)>,
    /// Create it from this snapshot.
    #[arg(long, value_name = "SNAPSHOT", group = "source")]
    pub(crate) from_snapshot: Option<String>,
    /// Restore it from this backup.
    #[arg(long, value_name = "BACKUP", group = "source")]
    pub(crate) from_backup: Option<String>,
    /// Make it a clone of this volume.
    #[arg(long, value_name = "VOLUME", group = "source")]
    pub(crate) clone_of: Option<String>,
    /// Attach it to this instance once created.
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) attach_to: Option<String>,
}

/// `volume snapshot ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum SnapshotCommand {
    /// Snapshot a volume.
    Create {
        /// The volume's id.
        volume: String,
        /// The snapshot's name.
        name: String,
    },
    /// List snapshots.
    #[command(visible_alias = "list")]
    Ls {
        /// Only those of this volume.
        #[arg(long)]
        volume: Option<String>,
        /// Every page, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// Show one snapshot.
    Show {
        /// The snapshot's id.
        id: String,
    },
    /// Delete a snapshot.
    #[command(visible_alias = "delete")]
    Rm {
        /// The snapshot's id.
        id: String,
    },
}

/// `volume backup ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum BackupCommand {
    /// Back up a volume.
    Create {
        /// The volume's id.
        volume: String,
        /// The backup's name.
        name: String,
        /// Only what changed since the last backup.
        #[arg(long)]
        incremental: bool,
    },
    /// List backups.
    #[command(visible_alias = "list")]
    Ls {
        /// Only those of this volume.
        #[arg(long)]
        volume: Option<String>,
        /// Every page, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// Show one backup.
    Show {
        /// The backup's id.
        id: String,
    },
    /// Delete a backup.
    #[command(visible_alias = "delete")]
    Rm {
        /// The backup's id.
        id: String,
    },
    /// Restore a backup into a new volume (--name) or over one (--over).
    Restore {
        /// The backup's id.
        id: String,
        /// The new volume's name.
        #[arg(long, group = "target", required_unless_present = "over")]
        name: Option<String>,
        /// The existing volume to restore over.
        #[arg(long, value_name = "VOLUME", group = "target")]
        over: Option<String>,
    },
}

fn label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1e9).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds")),
    }
}

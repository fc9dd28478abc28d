//! Rancher: what `volume_rancher::RancherBuilder::from_env` reads
//! (`CATTLE_URL` or `RANCHER_URL`, `CATTLE_ACCESS_KEY` or
//! `RANCHER_ACCESS_KEY`, `CATTLE_SECRET_KEY` or `RANCHER_SECRET_KEY`), or
//! the profile's `url`, `access_key`, `secret_key` (`secret_key_env`,
//! `secret_key_command`), `project` and `driver`; `--endpoint` over both for the URL.

use std::sync::Arc;

use clap::Subcommand;
use volume_core::{SnapshotId, VolumeId};
use volume_rancher::{Rancher, RancherBuilder, ACCESS_KEY_ENV, SECRET_KEY_ENV, URL_ENV};

use super::{Backend, Native, Sources};
use crate::error::CliError;
use crate::verbs::{settle_and_show, Ctx};

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    let mut builder =
        RancherBuilder::from_env_in(sources.env).with_client_options(sources.options.clone());
    // The crate has read the environment; these add the flag and profile
    // where it found nothing (and the flag over everything).
    if let Some(url) = sources.setting(sources.endpoint, &URL_ENV, "url")? {
        builder = builder.with_url(url);
    }
    if let Some(key) = sources.setting(None, &ACCESS_KEY_ENV, "access_key")? {
        builder = builder.with_access_key(key);
    }
    if let Some(secret) = sources.secret(&SECRET_KEY_ENV, "secret_key")? {
        builder = builder.with_secret_key(secret);
    }
    if let Some(project) = sources.profile.string("project")? {
        builder = builder.with_project(project);
    }
    // The driver of volumes created without `--type` (the crate's default,
    // `local`, takes no size).
    if let Some(driver) = sources.profile.string("driver")? {
        builder = builder.with_driver(driver);
    }
    let rancher = builder.build()?;
    Ok(Backend {
        name: "rancher",
        storage: Arc::new(rancher.clone()),
        native: Native::Rancher(rancher),
    })
}

/// `volume rancher ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum RancherCommand {
    /// Revert a volume to one of its snapshots (Cattle's
    /// `reverttosnapshot`), then show it.
    Revert {
        /// The volume.
        volume: String,
        /// The snapshot of that volume.
        snapshot: String,
    },
}

pub(crate) async fn run(
    rancher: &Rancher,
    command: &RancherCommand,
    ctx: &Ctx,
) -> Result<(), CliError> {
    match command {
        RancherCommand::Revert { volume, snapshot } => {
            let id = VolumeId::new(volume.as_str())?;
            let volume = rancher.volume(&id).await?;
            rancher
                .revert_to_snapshot(&volume, &SnapshotId::new(snapshot.as_str())?)
                .await?;
            let volume = ctx.backend.storage.get_volume(&id).await?;
            settle_and_show(ctx, volume).await
        }
    }
}

//! OpenStack Cinder: what `volume_cinder::CinderBuilder::from_env` reads
//! (`OS_AUTH_URL`, `OS_USERNAME`, `OS_PASSWORD`, `OS_PROJECT_NAME`, ...,
//! or `OS_CLOUD` naming a cloud of `clouds.yaml`), then the profile's
//! `cloud`, `auth_url`, `username`, `password` (`password_env`,
//! `password_command`), `project_name`, `region` and `volume_endpoint`;
//! `--endpoint` is the Keystone URL (`OS_AUTH_URL`) over both.

use std::sync::Arc;

use clap::Subcommand;
use volume_cinder::{Cinder, CinderBuilder, Domain, MigrationPolicy, DEFAULT_DOMAIN_ID};
use volume_core::VolumeId;

use super::{Backend, Native, Sources};
use crate::error::CliError;
use crate::verbs::{settle_and_show, Ctx};

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    // The environment first, as the crate reads it; a profile's `cloud`
    // only when the environment names no Keystone of its own.
    let from_env = sources.env.string(&["OS_AUTH_URL", "OS_CLOUD"]).is_some();
    let mut builder = match sources.profile.string("cloud")? {
        Some(cloud) if !from_env => CinderBuilder::from_cloud_in(&cloud, sources.env),
        _ => CinderBuilder::from_env_in(sources.env),
    };
    builder = builder.with_client_options(sources.options.clone());
    if !from_env {
        // Each only where the environment set nothing, so that a variable
        // (and the domain the crate read with it) wins over the profile.
        let unset = |var: &str| sources.env.string(&[var]).is_none();
        if let Some(user) = sources
            .profile
            .string("username")?
            .filter(|_| unset("OS_USERNAME"))
        {
            builder = builder.with_username(user, Domain::Id(DEFAULT_DOMAIN_ID.to_owned()));
        }
        if let Some(password) = sources.secret(&["OS_PASSWORD"], "password")? {
            builder = builder.with_password(password);
        }
        if let Some(project) = sources
            .profile
            .string("project_name")?
            .filter(|_| unset("OS_PROJECT_NAME"))
        {
            builder = builder.with_project_name(project, Domain::Id(DEFAULT_DOMAIN_ID.to_owned()));
        }
        if let Some(region) = sources.setting(None, &["OS_REGION_NAME"], "region")? {
            builder = builder.with_region(region);
        }
        if let Some(url) = sources.profile.string("volume_endpoint")? {
            builder = builder.with_endpoint(url);
        }
    }
    if let Some(url) = sources.setting(sources.endpoint, &[], "auth_url")? {
        builder = builder.with_auth_url(url);
    }
    let cinder = builder.build()?;
    Ok(Backend {
        name: "cinder",
        storage: Arc::new(cinder.clone()),
        native: Native::Cinder(cinder),
    })
}

/// `volume cinder ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum CinderCommand {
    /// Change a volume's type (Cinder's `os-retype`), then show it.
    Retype {
        /// The volume.
        id: String,
        /// The new volume type.
        volume_type: String,
        /// Let Cinder migrate the volume to another backend when the new
        /// type needs one (`migration_policy: on-demand`).
        #[arg(long)]
        migrate: bool,
    },
}

pub(crate) async fn run(
    cinder: &Cinder,
    command: &CinderCommand,
    ctx: &Ctx,
) -> Result<(), CliError> {
    match command {
        CinderCommand::Retype {
            id,
            volume_type,
            migrate,
        } => {
            let id = VolumeId::new(id.as_str())?;
            let policy = if *migrate {
                MigrationPolicy::OnDemand
            } else {
                MigrationPolicy::Never
            };
            cinder.retype(&id, volume_type, policy).await?;
            let volume = ctx.backend.storage.get_volume(&id).await?;
            settle_and_show(ctx, volume).await
        }
    }
}

//! LunaNode: what `volume_lunanode::LunaNodeBuilder::from_env` reads
//! (`LNDYNAMIC_API_ID` or `LUNANODE_API_ID`, `LNDYNAMIC_API_KEY` or
//! `LUNANODE_API_KEY`, `LUNANODE_REGION`), or the profile's `api_id`,
//! `api_key` (`api_key_env`, `api_key_command`), `region` and `endpoint`;
//! `--endpoint` over both.

use std::sync::Arc;

use clap::Subcommand;
use serde::Serialize;
use volume_core::{RegionId, SnapshotId};
use volume_lunanode::{LunaNode, LunaNodeBuilder, API_ID_ENV, API_KEY_ENV, REGION_ENV};

use super::{Backend, Native, Sources};
use crate::error::CliError;
use crate::output::Printer;

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    let mut builder =
        LunaNodeBuilder::from_env_in(sources.env).with_client_options(sources.options.clone());
    // The crate has read the environment; these add the profile where it
    // found nothing.
    if let Some(id) = sources.setting(None, &API_ID_ENV, "api_id")? {
        builder = builder.with_api_id(id);
    }
    if let Some(key) = sources.secret(&API_KEY_ENV, "api_key")? {
        builder = builder.with_api_key(key);
    }
    if let Some(region) = sources.setting(None, &[REGION_ENV], "region")? {
        builder = builder.with_region(region);
    }
    // The crate reads no endpoint variable: flag, then profile.
    if let Some(url) = sources.setting(sources.endpoint, &[], "endpoint")? {
        builder = builder.with_endpoint(url);
    }
    let lunanode = builder.build()?;
    Ok(Backend {
        name: "lunanode",
        storage: Arc::new(lunanode.clone()),
        native: Native::LunaNode(lunanode),
    })
}

/// `volume lunanode ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum LunaNodeCommand {
    /// Make an image from a snapshot in a region (the snapshot's own or
    /// another; LunaNode's `snapshot/replicate`) and print the image's id.
    Replicate {
        /// The snapshot.
        snapshot: String,
        /// The region the image is made in.
        #[arg(long)]
        region: String,
        /// The image's name (default: the snapshot's id).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Serialize)]
struct ImageView {
    image_id: String,
    region: String,
    name: String,
}

pub(crate) async fn run(
    lunanode: &LunaNode,
    command: &LunaNodeCommand,
    out: &Printer,
) -> Result<(), CliError> {
    match command {
        LunaNodeCommand::Replicate {
            snapshot,
            region,
            name,
        } => {
            let id = SnapshotId::new(snapshot.as_str())?;
            let name = name.clone().unwrap_or_else(|| snapshot.clone());
            let image_id = lunanode
                .replicate_snapshot(&id, &name, &RegionId::new(region.as_str())?)
                .await?;
            let view = ImageView {
                image_id,
                region: region.clone(),
                name,
            };
            let fields = vec![
                ("image id", view.image_id.clone()),
                ("region", view.region.clone()),
                ("name", view.name.clone()),
            ];
            out.one(&view, fields, &view.image_id)
        }
    }
}

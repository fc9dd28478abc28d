//! LunaNode: what `volume_lunanode::LunaNodeBuilder::from_env` reads
//! (`LNDYNAMIC_API_ID` or `LUNANODE_API_ID`, `LNDYNAMIC_API_KEY` or
//! `LUNANODE_API_KEY`, `LUNANODE_REGION`), or the profile's `api_id`,
//! `api_key` (`api_key_env`, `api_key_command`), `region` and `endpoint`;
//! `--endpoint` over both.

use std::sync::Arc;

use volume_lunanode::{LunaNodeBuilder, API_ID_ENV, API_KEY_ENV, REGION_ENV};

use super::{Backend, Native, Sources};
use crate::error::CliError;

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

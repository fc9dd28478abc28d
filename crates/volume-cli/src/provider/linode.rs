//! Linode: `LINODE_TOKEN` and `LINODE_API_URL`, or the profile's `token`
//! (`token_env`, `token_command`) and `api_url`; `--endpoint` over both.

use std::sync::Arc;

use clap::Subcommand;
use serde::Serialize;
use volume_linode::{Linode, LinodeBuilder, API_URL_ENV, TOKEN_ENV};

use super::{Backend, Native, Sources};
use crate::error::CliError;
use crate::output::{Printer, Table};

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    let mut builder = LinodeBuilder::new().with_client_options(sources.options.clone());
    if let Some(token) = sources.secret(&[TOKEN_ENV], "token")? {
        builder = builder.with_token(token);
    }
    if let Some(url) = sources.setting(sources.endpoint, &[API_URL_ENV], "api_url")? {
        builder = builder.with_base_url(url);
    }
    let linode = builder.build()?;
    Ok(Backend {
        name: "linode",
        storage: Arc::new(linode.clone()),
        native: Native::Linode(linode),
    })
}

/// `volume linode ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum LinodeCommand {
    /// List Linode's regions (where volumes can be made).
    Regions,
    /// List Linode's volume types and their prices.
    Types,
}

#[derive(Serialize)]
struct RegionView {
    id: String,
    label: Option<String>,
    country: Option<String>,
    status: Option<String>,
    block_storage: bool,
}

#[derive(Serialize)]
struct TypeView {
    id: String,
    label: Option<String>,
    monthly: Option<f64>,
}

pub(crate) async fn run(
    linode: &Linode,
    command: &LinodeCommand,
    out: &Printer,
) -> Result<(), CliError> {
    match command {
        LinodeCommand::Regions => {
            let regions: Vec<RegionView> = linode
                .regions()
                .await?
                .into_iter()
                .map(|r| RegionView {
                    block_storage: r.has_block_storage(),
                    id: r.id,
                    label: r.label,
                    country: r.country,
                    status: r.status,
                })
                .collect();
            let mut table = Table::new(&["ID", "LABEL", "COUNTRY", "STATUS", "BLOCK STORAGE"]);
            for r in &regions {
                table.row(vec![
                    r.id.clone(),
                    r.label.clone().unwrap_or_default(),
                    r.country.clone().unwrap_or_default(),
                    r.status.clone().unwrap_or_default(),
                    yes_no(r.block_storage),
                ]);
            }
            out.list(&regions, table, regions.iter().map(|r| r.id.clone()))
        }
        LinodeCommand::Types => {
            let types: Vec<TypeView> = linode
                .volume_types()
                .await?
                .into_iter()
                .map(|t| TypeView {
                    monthly: t.price.as_ref().and_then(|p| p.monthly),
                    id: t.id,
                    label: t.label,
                })
                .collect();
            let mut table = Table::new(&["ID", "LABEL", "MONTHLY (USD)"]);
            for t in &types {
                table.row(vec![
                    t.id.clone(),
                    t.label.clone().unwrap_or_default(),
                    t.monthly.map(|m| format!("{m}")).unwrap_or_default(),
                ]);
            }
            out.list(&types, table, types.iter().map(|t| t.id.clone()))
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

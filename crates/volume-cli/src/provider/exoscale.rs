//! Exoscale: `EXOSCALE_API_KEY`, `EXOSCALE_API_SECRET` and `EXOSCALE_ZONE`,
//! or the profile's `api_key`, `api_secret` (`api_secret_env`,
//! `api_secret_command`), `zone` and `endpoint`; `--endpoint` over both.

use std::sync::Arc;

use clap::Subcommand;
use serde::Serialize;
use volume_exoscale::{Exoscale, ExoscaleBuilder, API_KEY_ENV, API_SECRET_ENV, ZONE_ENV};

use super::{Backend, Native, Sources};
use crate::error::CliError;
use crate::output::{Printer, Table};

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    let mut builder = ExoscaleBuilder::new().with_client_options(sources.options.clone());
    if let Some(key) = sources.setting(None, &[API_KEY_ENV], "api_key")? {
        builder = builder.with_api_key(key);
    }
    if let Some(secret) = sources.secret(&[API_SECRET_ENV], "api_secret")? {
        builder = builder.with_api_secret(secret);
    }
    if let Some(zone) = sources.setting(None, &[ZONE_ENV], "zone")? {
        builder = builder.with_zone(zone);
    }
    // The crate reads no endpoint variable: flag, then profile.
    if let Some(url) = sources.setting(sources.endpoint, &[], "endpoint")? {
        builder = builder.with_endpoint(url);
    }
    let exoscale = builder.build()?;
    Ok(Backend {
        name: "exoscale",
        storage: Arc::new(exoscale.clone()),
        native: Native::Exoscale(exoscale),
    })
}

/// `volume exoscale ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ExoscaleCommand {
    /// List Exoscale's zones and their API endpoints.
    Zones,
}

#[derive(Serialize)]
struct ZoneView {
    name: String,
    api_endpoint: Option<String>,
}

pub(crate) async fn run(
    exoscale: &Exoscale,
    command: &ExoscaleCommand,
    out: &Printer,
) -> Result<(), CliError> {
    match command {
        ExoscaleCommand::Zones => {
            let zones: Vec<ZoneView> = exoscale
                .zones()
                .await?
                .into_iter()
                .map(|z| ZoneView {
                    name: z.name,
                    api_endpoint: z.api_endpoint,
                })
                .collect();
            let mut table = Table::new(&["NAME", "API ENDPOINT"]);
            for z in &zones {
                table.row(vec![
                    z.name.clone(),
                    z.api_endpoint.clone().unwrap_or_default(),
                ]);
            }
            out.list(&zones, table, zones.iter().map(|z| z.name.clone()))
        }
    }
}

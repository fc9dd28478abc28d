//! `volume-sim`: every provider fake on one local port, for official SDKs,
//! CLIs and scripts.
//!
//! ```text
//! cargo run -p volume-sim --bin volume-sim -- --listen 127.0.0.1:8080
//! linode   http://127.0.0.1:8080/v4   token: volume-sim-linode-token
//! exoscale http://127.0.0.1:8080/v2   key: EXOvolumesim   secret: ...
//! ```
//!
//! Binds to loopback unless told otherwise, prints one line per dialect with
//! its base URL and credentials, serves until Ctrl-C (or SIGTERM), then exits
//! with status 0. The dialects' own flags (`--linode-token`,
//! `--exoscale-secret`, ...) come from the registry of fakes; secret ones
//! never show their value in `--help` or in the banner. The flags and the
//! serving live in [`volume_sim::cli`], shared with `volume serve`.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use volume_sim::cli::{self, ServeArgs};

/// Serve volume-rs's fake clouds (every provider of the registry) on one
/// local port.
#[derive(Parser)]
#[command(name = "volume-sim", version)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,

    /// Print one line per request to stderr (never headers or bodies).
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let matches = cli::with_registry_flags(Args::command()).get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let settings = cli::settings(&matches);
    let status = cli::run("volume-sim", args.serve, args.verbose, settings);
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

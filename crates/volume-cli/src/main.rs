//! `volume`: one command for block-storage volumes on every volume-rs
//! provider, and `volume serve`, the fake cloud.
//!
//! ```text
//! $ volume serve &                                  # the fake cloud, loopback
//! $ export LINODE_TOKEN=volume-sim-linode-token
//! $ volume --provider linode --endpoint http://127.0.0.1:8080/v4 create data --size 10 --wait
//! $ volume ls --provider linode --endpoint http://127.0.0.1:8080/v4 -o json
//! ```
//!
//! The provider comes from `--provider`, then `$VOLUME_PROVIDER`, then the
//! profile (`--profile`, `$VOLUME_PROFILE`, or the config file's
//! `default_profile`); each setting from its flag, then the environment
//! variables the provider crate's `from_env` reads, then the profile.
//! Credentials are never flags. See `volume --help` for the exit codes.

mod cli;
mod config;
mod error;
mod output;
mod progress;
mod provider;
mod state;
mod verbs;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use volume_core::http::{ClientOptions, Env, RetryConfig};

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Printer;
use crate::progress::Waiter;
use crate::provider::{Native, Sources};

/// The command line, the fake cloud's registry settings included.
fn command() -> clap::Command {
    Cli::command().mut_subcommand("serve", volume_sim::cli::with_registry_flags)
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match &cli.command {
        Command::Completions { shell } => {
            // Rendered first: clap_complete panics on a failed write, and
            // a closed stdout is the reader's choice.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(), "volume", &mut script);
            let _ = std::io::stdout().write_all(&script);
            return ExitCode::SUCCESS;
        }
        Command::Serve(serve) => {
            let settings = matches
                .subcommand_matches("serve")
                .map(volume_sim::cli::settings)
                .unwrap_or_default();
            let status = volume_sim::cli::run(
                "volume serve",
                serve.args.clone(),
                cli.global.verbose,
                settings,
            );
            return ExitCode::from(u8::try_from(status).unwrap_or(1));
        }
        _ => {}
    }
    if cli.global.verbose {
        // Requests are logged by volume-core's transport: method, path,
        // status, attempt and time, never headers or bodies.
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("volume_core", tracing::Level::DEBUG),
            );
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    }
    match run(&cli) {
        Ok(()) => ExitCode::from(error::OK),
        Err(e) => {
            output::note(format_args!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: &Cli) -> Result<(), CliError> {
    let g = &cli.global;
    let env = Env::process();
    let file = config::path(g.config.as_deref(), &env);
    let wanted = g
        .profile
        .clone()
        .or_else(|| env.string(&["VOLUME_PROFILE"]));
    let profile = config::load(file, wanted)?;
    let sources = Sources {
        endpoint: g.endpoint.as_deref(),
        env: &env,
        profile: &profile,
        sim_delay: Duration::from_secs_f64(g.sim_delay),
        options: ClientOptions::new()
            .with_retry(RetryConfig::default().with_max_retries(g.retries))
            .with_user_agent_suffix(concat!("volume-cli/", env!("CARGO_PKG_VERSION"))),
    };
    // `volume linode ...` names its provider as --provider would.
    let implied = match &cli.command {
        Command::Linode(_) => Some("linode"),
        Command::Exoscale(_) => Some("exoscale"),
        Command::Cinder(_) => Some("cinder"),
        Command::Rancher(_) => Some("rancher"),
        Command::Lunanode(_) => Some("lunanode"),
        _ => None,
    };
    let backend = provider::connect(g.provider.as_deref().or(implied), &sources)?;
    let no_color = env.string(&["NO_COLOR"]).is_some_and(|v| !v.is_empty());
    let ctx = verbs::Ctx {
        out: Printer {
            output: g.output,
            quiet: g.quiet,
            color: std::io::stdout().is_terminal() && !no_color,
            silent: false,
        },
        wait: g.wait.then(|| Waiter {
            max_wait: Duration::from_secs_f64(g.timeout),
            spinner: std::io::stderr().is_terminal(),
        }),
        backend,
    };
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    let sim = match &ctx.backend.native {
        Native::Sim(sim) => {
            // The simulator lives on a virtual clock: nothing sleeps for
            // real, and a ticker moves the simulator's clock with tokio's.
            builder.start_paused(true);
            Some(sim.clone())
        }
        _ => None,
    };
    let runtime = builder
        .build()
        .map_err(|e| CliError::Config(format!("cannot start the runtime: {e}")))?;
    let mut journal = match (&g.sim_state, &sim) {
        (Some(path), Some(_)) => Some(state::Journal::load(path)?),
        (Some(_), None) => {
            return Err(CliError::Config(
                "--sim-state keeps the simulator between runs: it needs --provider sim".to_owned(),
            ))
        }
        (None, _) => None,
    };
    runtime.block_on(async {
        let ticker = sim.clone().map(provider::sim::drive_clock);
        let result = async {
            if let (Some(journal), Some(sim)) = (&journal, &sim) {
                replay(journal, sim, &ctx).await?;
            }
            // What Rancher's volumes can do (snapshots, sizes) is their
            // default driver's: read once, as `RancherBuilder::connect` does.
            if let Native::Rancher(rancher) = &ctx.backend.native {
                rancher.read_driver().await?;
            }
            verbs::run(&ctx, &cli.command).await
        }
        .await;
        if let Some(t) = ticker {
            t.abort();
        }
        result
    })?;
    if let Some(journal) = journal
        .as_mut()
        .filter(|_| state::changes_state(&cli.command))
    {
        journal.record(
            std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )?;
    }
    Ok(())
}

/// Replays a `--sim-state` journal on a fresh simulator, silently, letting
/// every transition finish after each command.
async fn replay(
    journal: &state::Journal,
    sim: &volume_sim::Sim,
    ctx: &verbs::Ctx,
) -> Result<(), CliError> {
    let quiet = verbs::Ctx {
        backend: provider::Backend {
            name: ctx.backend.name,
            storage: std::sync::Arc::clone(&ctx.backend.storage),
            native: Native::Sim(sim.clone()),
        },
        out: Printer {
            silent: true,
            ..ctx.out
        },
        wait: None,
    };
    for recorded in journal.commands()? {
        verbs::run(&quiet, &recorded.command)
            .await
            .map_err(|e| CliError::Config(format!("the state file cannot be replayed: {e}")))?;
        sim.run_until_quiet();
    }
    sim.run_until_quiet();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }

    /// A global flag and a verb's flag of one name would clash when the
    /// verb's is read: parse the verbs with every global flag given.
    #[test]
    fn global_flags_and_verb_flags_do_not_clash() {
        use clap::FromArgMatches;
        let globals = [
            "--provider=sim",
            "--profile=p",
            "--config=c",
            "--endpoint=e",
            "-o=json",
            "-q",
            "--wait",
            "--timeout=1",
            "-v",
            "--sim-delay=1",
            "--sim-state=s",
        ];
        let verbs: &[&[&str]] = &[
            &[
                "ls",
                "--state=in-use",
                "--name=n",
                "--region=r",
                "--label=a=b",
                "--all",
            ],
            &[
                "create",
                "n",
                "--size=1",
                "--region=r",
                "--type=t",
                "--from-snapshot=s",
            ],
            &["snapshot", "ls", "--volume=v", "--all"],
            &["backup", "restore", "b", "--name=n"],
            &["serve", "--listen=127.0.0.1:0", "--seed=1"],
        ];
        for verb in verbs {
            let args = std::iter::once("volume")
                .chain(verb.iter().copied())
                .chain(globals);
            let matches = super::command().try_get_matches_from(args).unwrap();
            super::Cli::from_arg_matches(&matches).unwrap();
        }
    }
}

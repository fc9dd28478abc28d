//! The fake cloud's command line, shared by the `volume-sim` binary and
//! `volume serve` (feature `server`): one piece of code, so both take the
//! same flags, print the same banner and stop the same way.
//!
//! ```no_run
//! use clap::{CommandFactory, FromArgMatches, Parser};
//! use volume_sim::cli::{self, ServeArgs};
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     serve: ServeArgs,
//!     /// Print one line per request.
//!     #[arg(long)]
//!     verbose: bool,
//! }
//!
//! let matches = cli::with_registry_flags(Args::command()).get_matches();
//! let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
//! let settings = cli::settings(&matches);
//! std::process::exit(cli::run("my-fake", args.serve, args.verbose, settings));
//! ```
//!
//! Binds to loopback unless told otherwise, prints one line per dialect of
//! the [registry](crate::fake::registry) with its base URL and credentials,
//! serves until Ctrl-C (or SIGTERM), then returns 0. The dialects' own flags
//! (`--linode-token`, `--exoscale-secret`, ...) come from the registry;
//! secret ones never show their value in `--help` or in the banner.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use clap::{Arg, ArgMatches, Args};

use crate::fake::registry::{Setting, Settings, REGISTRY};
use crate::nbd::{NbdLimits, NbdServer};
use crate::serve::{Limits, ServeConfig, Server};

/// The fake cloud's own flags (the dialects' settings are added by
/// [`with_registry_flags`]; `--verbose` is the caller's, so that a program
/// with a global `--verbose` can share it).
#[derive(Args, Debug, Clone)]
#[non_exhaustive]
pub struct ServeArgs {
    /// The address to listen on. Loopback by default; any other address
    /// makes the fakes reachable from elsewhere (a warning is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "VOLUME_SIM_LISTEN")]
    pub listen: SocketAddr,

    /// Simulated seconds per real second: 2.0 makes every transition take
    /// half as long. Creating and resizing take 2 simulated seconds.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    pub time_scale: f64,

    /// Instances seeded per region for each tenant (the last of two or more
    /// is offline).
    #[arg(long, default_value_t = 3)]
    pub instances_per_region: u32,

    /// The seed for faults injected at a rate.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,

    /// Connections open at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections, value_parser = at_least_one)]
    pub max_connections: usize,

    /// The largest request body accepted, in bytes; a larger one gets a 413
    /// in the provider's error shape before more of it is read.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,

    /// The largest request head (request line and headers), in bytes, at
    /// least 8192; beyond, a 431.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_header_bytes)]
    pub max_header_bytes: usize,

    /// The most header fields in one request; beyond, a 431.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_headers)]
    pub max_headers: usize,

    /// Seconds a connection may wait for a request's head, counted from
    /// its opening or its last answer: a slow head and an idle keep-alive
    /// connection are both closed after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().header_timeout.as_secs_f64(), value_parser = positive_f64)]
    pub header_timeout: f64,

    /// Seconds a request's body may take to arrive; beyond, a 408.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().body_timeout.as_secs_f64(), value_parser = positive_f64)]
    pub body_timeout: f64,

    /// Also export the fakes' volumes over NBD on this address (off by
    /// default): attached volumes read-write, by id and by the device path
    /// the provider shows; snapshots and backups read-only.
    #[arg(long, value_name = "ADDR", env = "VOLUME_SIM_NBD_LISTEN")]
    pub nbd_listen: Option<SocketAddr>,
}

impl ServeArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            max_body_bytes: self.max_body_bytes,
            max_header_bytes: self.max_header_bytes,
            max_headers: self.max_headers,
            header_timeout: Duration::from_secs_f64(self.header_timeout),
            body_timeout: Duration::from_secs_f64(self.body_timeout),
            ..Limits::default()
        }
    }
}

/// `command` with every registry setting as a flag: each with its
/// environment variable, its default, and, for a secret, no value shown in
/// `--help`.
pub fn with_registry_flags(command: clap::Command) -> clap::Command {
    REGISTRY
        .iter()
        .flat_map(|entry| entry.settings)
        .fold(command, |command, setting| command.arg(flag(setting)))
}

fn flag(setting: &Setting) -> Arg {
    let mut arg = Arg::new(setting.flag)
        .long(setting.flag)
        .value_name(setting.value_name)
        .env(setting.env)
        .help(setting.help)
        .hide_env_values(setting.secret);
    if let Some(default) = setting.default {
        arg = arg.default_value(default);
    }
    arg
}

/// The settings given, by flag or environment, over the defaults, from
/// matches of a command built with [`with_registry_flags`].
pub fn settings(matches: &ArgMatches) -> Settings {
    let mut settings = Settings::defaults();
    for setting in REGISTRY.iter().flat_map(|entry| entry.settings) {
        if let Ok(Some(value)) = matches.try_get_one::<String>(setting.flag) {
            // Every flag here came from the registry, so it is known.
            let _ = settings.set(setting.flag, value.clone());
        }
    }
    settings
}

/// A line on stderr; a closed stderr is not worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(std::io::stderr(), $($arg)*);
    };
}

/// Binds `addr` and exports the fakes' volumes there, warning as for HTTP
/// when it is not loopback.
fn start_nbd(name: &str, server: &Server, addr: SocketAddr) -> Result<NbdServer, String> {
    if !addr.ip().is_loopback() {
        say!(
            "{name}: warning: NBD on {addr}, which is not a loopback address: \
             anyone who can reach it can read and write the attached volumes"
        );
    }
    let listener =
        TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr} for NBD: {e}"))?;
    server
        .serve_nbd(listener, NbdLimits::default())
        .map_err(|e| format!("cannot serve NBD on {addr}: {e}"))
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// Serves the fakes until Ctrl-C or SIGTERM, on a runtime of its own;
/// returns the process exit status: 0 after a clean stop, 1 when it cannot
/// listen or start, 2 when a dialect refuses a setting. `name` prefixes the
/// lines on stderr; `verbose` prints one line per request (never headers or
/// bodies).
pub fn run(name: &str, args: ServeArgs, verbose: bool, settings: Settings) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("{name}: cannot start the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(serve(name, args, verbose, settings))
}

async fn serve(name: &str, args: ServeArgs, verbose: bool, settings: Settings) -> i32 {
    // Handlers first, so that a Ctrl-C as soon as anything is printed stops
    // the server cleanly rather than killing the process.
    let shutdown = match Shutdown::install() {
        Ok(s) => s,
        Err(e) => {
            say!("{name}: cannot handle Ctrl-C: {e}");
            return 1;
        }
    };
    if !args.listen.ip().is_loopback() {
        say!(
            "{name}: warning: listening on {}, which is not a loopback address: \
             anyone who can reach it can use the fakes with the printed credentials",
            args.listen
        );
    }
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            say!("{name}: cannot listen on {}: {e}", args.listen);
            return 1;
        }
    };
    let mut config = ServeConfig::default()
        .with_time_scale(args.time_scale)
        .with_instances_per_region(args.instances_per_region)
        .with_seed(args.seed)
        .with_log_requests(verbose)
        .with_limits(args.limits());
    config.settings = settings;
    let server = match Server::start(listener, &config).await {
        Ok(server) => server,
        Err(e) => {
            say!("{name}: {e}");
            return 2;
        }
    };
    let nbd = match args.nbd_listen.map(|addr| start_nbd(name, &server, addr)) {
        Some(Ok(nbd)) => Some(nbd),
        Some(Err(message)) => {
            say!("{name}: {message}");
            return 1;
        }
        None => None,
    };
    let mut out = std::io::stdout().lock();
    for d in server.dialects() {
        let _ = writeln!(out, "{:<8} {}   {}", d.name, d.base_url, d.credentials);
    }
    if let Some(nbd) = &nbd {
        let _ = writeln!(
            out,
            "{:<8} nbd://{}/<export>   attached volumes by id or device path; snapshot/<id>, backup/<id> read-only",
            "nbd",
            nbd.local_addr()
        );
        for uri in nbd.export_uris() {
            let _ = writeln!(out, "{:<8} {uri}", "");
        }
    }
    let _ = out.flush();
    drop(out);
    say!("{name}: serving on {}; Ctrl-C to stop", server.address());
    shutdown.wait().await;
    drop(nbd);
    drop(server);
    say!("{name}: stopped");
    0
}

/// Ctrl-C, or SIGTERM on Unix, with the handlers installed up front.
struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let Self {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            // If Ctrl-C cannot be waited for, serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

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
//! never show their value in `--help` or in the banner.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser};
use volume_sim::fake::registry::{Setting, Settings, REGISTRY};
use volume_sim::nbd::{NbdLimits, NbdServer};
use volume_sim::serve::{Limits, ServeConfig, Server};

/// Serve volume-rs's fake clouds (every provider of the registry) on one
/// local port.
#[derive(Parser)]
#[command(name = "volume-sim", version)]
struct Args {
    /// The address to listen on. Loopback by default; any other address
    /// makes the fakes reachable from elsewhere (a warning is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "VOLUME_SIM_LISTEN")]
    listen: SocketAddr,

    /// Simulated seconds per real second: 2.0 makes every transition take
    /// half as long. Creating and resizing take 2 simulated seconds.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    time_scale: f64,

    /// Instances seeded per region for each tenant (the last of two or more
    /// is offline).
    #[arg(long, default_value_t = 3)]
    instances_per_region: u32,

    /// The seed for faults injected at a rate.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,

    /// Print one line per request to stderr (never headers or bodies).
    #[arg(long, short)]
    verbose: bool,

    /// Connections open at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections, value_parser = at_least_one)]
    max_connections: usize,

    /// The largest request body accepted, in bytes; a larger one gets a 413
    /// in the provider's error shape before more of it is read.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,

    /// The largest request head (request line and headers), in bytes, at
    /// least 8192; beyond, a 431.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_header_bytes)]
    max_header_bytes: usize,

    /// The most header fields in one request; beyond, a 431.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_headers)]
    max_headers: usize,

    /// Seconds a connection may wait for a request's head, counted from
    /// its opening or its last answer: a slow head and an idle keep-alive
    /// connection are both closed after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().header_timeout.as_secs_f64(), value_parser = positive_f64)]
    header_timeout: f64,

    /// Seconds a request's body may take to arrive; beyond, a 408.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().body_timeout.as_secs_f64(), value_parser = positive_f64)]
    body_timeout: f64,

    /// Also export the fakes' volumes over NBD on this address (off by
    /// default): attached volumes read-write, by id and by the device path
    /// the provider shows; snapshots and backups read-only.
    #[arg(long, value_name = "ADDR", env = "VOLUME_SIM_NBD_LISTEN")]
    nbd_listen: Option<SocketAddr>,
}

impl Args {
    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_connections = self.max_connections;
        limits.max_body_bytes = self.max_body_bytes;
        limits.max_header_bytes = self.max_header_bytes;
        limits.max_headers = self.max_headers;
        limits.header_timeout = Duration::from_secs_f64(self.header_timeout);
        limits.body_timeout = Duration::from_secs_f64(self.body_timeout);
        limits
    }
}

/// The registry's settings as flags: each with its environment variable,
/// its default, and, for a secret, no value shown in `--help`.
fn command() -> clap::Command {
    REGISTRY
        .iter()
        .flat_map(|entry| entry.settings)
        .fold(Args::command(), |command, setting| {
            command.arg(flag(setting))
        })
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

/// The settings given, by flag or environment, over the defaults.
fn settings(matches: &ArgMatches) -> Settings {
    let mut settings = Settings::defaults();
    for setting in REGISTRY.iter().flat_map(|entry| entry.settings) {
        if let Some(value) = matches.get_one::<String>(setting.flag) {
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
fn start_nbd(server: &Server, addr: SocketAddr) -> Result<NbdServer, String> {
    if !addr.ip().is_loopback() {
        say!(
            "volume-sim: warning: NBD on {addr}, which is not a loopback address: \
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

fn main() -> ExitCode {
    let matches = command().get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let settings = settings(&matches);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("volume-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, settings))
}

async fn run(args: Args, settings: Settings) -> ExitCode {
    // Handlers first, so that a Ctrl-C as soon as anything is printed stops
    // the server cleanly rather than killing the process.
    let shutdown = match Shutdown::install() {
        Ok(s) => s,
        Err(e) => {
            say!("volume-sim: cannot handle Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !args.listen.ip().is_loopback() {
        say!(
            "volume-sim: warning: listening on {}, which is not a loopback address: \
             anyone who can reach it can use the fakes with the printed credentials",
            args.listen
        );
    }
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            say!("volume-sim: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let mut config = ServeConfig::default()
        .with_time_scale(args.time_scale)
        .with_instances_per_region(args.instances_per_region)
        .with_seed(args.seed)
        .with_log_requests(args.verbose)
        .with_limits(args.limits());
    config.settings = settings;
    let server = match Server::start(listener, &config).await {
        Ok(server) => server,
        Err(e) => {
            say!("volume-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let nbd = match args.nbd_listen.map(|addr| start_nbd(&server, addr)) {
        Some(Ok(nbd)) => Some(nbd),
        Some(Err(message)) => {
            say!("volume-sim: {message}");
            return ExitCode::FAILURE;
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
    say!(
        "volume-sim: serving on {}; Ctrl-C to stop",
        server.address()
    );
    shutdown.wait().await;
    drop(nbd);
    drop(server);
    say!("volume-sim: stopped");
    ExitCode::SUCCESS
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

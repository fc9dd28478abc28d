//! `volume-sim`: every provider fake on one local port, for official SDKs,
//! CLIs and scripts.
//!
//! ```text
//! cargo run -p volume-sim --bin volume-sim -- --listen 127.0.0.1:8080
//! linode   http://127.0.0.1:8080/v4   token: volume-sim-linode-token
//! ```
//!
//! Binds to loopback unless told otherwise, prints one line per dialect with
//! its base URL and credentials, serves until Ctrl-C (or SIGTERM), then exits
//! with status 0.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use clap::Parser;
use volume_sim::fake::{exoscale, linode};
use volume_sim::serve::{ServeConfig, Server};

/// Serve volume-rs's fake clouds (Linode so far) on one local port.
#[derive(Parser)]
#[command(name = "volume-sim", version)]
struct Args {
    /// The address to listen on. Loopback by default; any other address
    /// makes the fakes reachable from elsewhere (a warning is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "VOLUME_SIM_LISTEN")]
    listen: SocketAddr,

    /// The bearer token the Linode fake accepts.
    #[arg(long, value_name = "TOKEN", default_value = linode::DEFAULT_TOKEN, env = "VOLUME_SIM_LINODE_TOKEN")]
    linode_token: String,

    /// The API key the Exoscale fake accepts.
    #[arg(long, value_name = "KEY", default_value = exoscale::DEFAULT_KEY, env = "VOLUME_SIM_EXOSCALE_KEY")]
    exoscale_key: String,

    /// The API secret of that key.
    #[arg(long, value_name = "SECRET", default_value = exoscale::DEFAULT_SECRET, env = "VOLUME_SIM_EXOSCALE_SECRET")]
    exoscale_secret: String,

    /// Simulated seconds per real second: 2.0 makes every transition take
    /// half as long. Creating and resizing take 2 simulated seconds.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    time_scale: f64,

    /// Instances seeded per region for each tenant (the last of two or more
    /// is offline).
    #[arg(long, default_value_t = 3)]
    instances_per_region: u32,

    /// Limit each Linode token to this many requests per minute (429 with
    /// Retry-After beyond). No limit by default.
    #[arg(long, value_name = "N")]
    linode_rate_limit: Option<u32>,

    /// The seed for faults injected at a rate.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,

    /// Print one line per request to stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// A line on stderr; a closed stderr is not worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(std::io::stderr(), $($arg)*);
    };
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
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
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
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
    let config = ServeConfig::default()
        .with_linode_token(args.linode_token)
        .with_exoscale_key(args.exoscale_key, args.exoscale_secret)
        .with_time_scale(args.time_scale)
        .with_instances_per_region(args.instances_per_region)
        .with_seed(args.seed)
        .with_linode_rate_limit(args.linode_rate_limit)
        .with_log_requests(args.verbose);
    let server = Server::start(listener, &config).await;
    let mut out = std::io::stdout().lock();
    for d in server.dialects() {
        let _ = writeln!(out, "{:<8} {}   {}", d.name, d.base_url, d.credentials);
    }
    let _ = out.flush();
    drop(out);
    say!(
        "volume-sim: serving on {}; Ctrl-C to stop",
        server.address()
    );
    shutdown.wait().await;
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

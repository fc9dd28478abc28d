//! Every fake on one TCP port, for people and their tools: official SDKs,
//! CLIs, scripts. This is the library side of the `volume-sim` binary (and
//! of `volume serve`).
//!
//! Each fake answers under its provider's own path prefix (Linode: `/v4`),
//! so one port serves every dialect; any other path gets a JSON 404. The
//! engine's clock follows the wall clock (scaled by
//! [`ServeConfig::time_scale`]) so that `creating` turns `active` by itself
//! a couple of seconds later, and each tenant starts with a few instances
//! per region.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::serve::{ServeConfig, Server};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let server = Server::start(listener, &ServeConfig::default()).await;
//! for d in server.dialects() {
//!     println!("{:<8} {}   {}", d.name, d.base_url, d.credentials);
//! }
//! # });
//! ```

use std::fmt;
use std::net::{SocketAddr, TcpListener};

use wiremock::MockServer;

use crate::engine::ClockMode;
use crate::fake::exoscale::{self, ExoscaleFake};
use crate::fake::linode::{self, LinodeFake};

/// How to serve.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    /// The bearer token the Linode fake accepts
    /// ([`linode::DEFAULT_TOKEN`] by default).
    pub linode_token: String,
    /// The API key the Exoscale fake accepts ([`exoscale::DEFAULT_KEY`]).
    pub exoscale_key: String,
    /// The secret of that key ([`exoscale::DEFAULT_SECRET`]).
    pub exoscale_secret: String,
    /// Simulated seconds per real second (1.0: real time).
    pub time_scale: f64,
    /// Instances seeded per region for each tenant.
    pub instances_per_region: u32,
    /// The seed for faults at a rate.
    pub seed: u64,
    /// Per-token rate limit of the Linode fake: at most this many requests
    /// per minute (of simulated time). `None`: no limit.
    pub linode_rate_limit: Option<u32>,
    /// Print one line per request to stderr.
    pub log_requests: bool,
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("linode_token", &"******")
            .field("exoscale_key", &self.exoscale_key)
            .field("exoscale_secret", &"******")
            .field("time_scale", &self.time_scale)
            .field("instances_per_region", &self.instances_per_region)
            .field("seed", &self.seed)
            .field("linode_rate_limit", &self.linode_rate_limit)
            .finish_non_exhaustive()
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            linode_token: linode::DEFAULT_TOKEN.to_owned(),
            exoscale_key: exoscale::DEFAULT_KEY.to_owned(),
            exoscale_secret: exoscale::DEFAULT_SECRET.to_owned(),
            time_scale: 1.0,
            instances_per_region: 3,
            seed: 0x5eed,
            linode_rate_limit: None,
            log_requests: false,
        }
    }
}

impl ServeConfig {
    /// Sets the Exoscale API key and secret.
    pub fn with_exoscale_key(mut self, key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.exoscale_key = key.into();
        self.exoscale_secret = secret.into();
        self
    }

    /// Sets the Linode token.
    pub fn with_linode_token(mut self, token: impl Into<String>) -> Self {
        self.linode_token = token.into();
        self
    }

    /// Sets the clock's speed (simulated seconds per real second).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Sets the instances seeded per region.
    pub fn with_instances_per_region(mut self, n: u32) -> Self {
        self.instances_per_region = n;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Limits each Linode token to `per_minute` requests a minute.
    pub fn with_linode_rate_limit(mut self, per_minute: Option<u32>) -> Self {
        self.linode_rate_limit = per_minute;
        self
    }

    /// Prints one line per request to stderr.
    pub fn with_log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }
}

/// One dialect being served.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dialect {
    /// The provider, e.g. `"linode"`.
    pub name: &'static str,
    /// Where its API is, e.g. `http://127.0.0.1:8080/v4`.
    pub base_url: String,
    /// How to authenticate, for people (e.g. `token: ...`). Local fakes'
    /// credentials are not secrets, so they are shown.
    pub credentials: String,
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialect")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The fakes, running on one port until dropped.
pub struct Server {
    server: MockServer,
    linode: LinodeFake,
    linode_token: String,
    exoscale: ExoscaleFake,
    exoscale_key: String,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("address", self.server.address())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Serves every fake on `listener` (already bound: the caller chooses the
    /// address, loopback by default). Runs on a thread of its own until the
    /// `Server` is dropped.
    pub async fn start(listener: TcpListener, config: &ServeConfig) -> Self {
        let clock = ClockMode::Wall {
            speed: if config.time_scale.is_finite() && config.time_scale > 0.0 {
                config.time_scale
            } else {
                1.0
            },
        };
        let mut builder = LinodeFake::builder()
            .token(config.linode_token.clone(), linode::DEFAULT_TENANT)
            .clock(clock)
            .instances_per_region(config.instances_per_region)
            .seed(config.seed)
            .log_requests(config.log_requests);
        if let Some(n) = config.linode_rate_limit {
            builder = builder.rate_limit(n, std::time::Duration::from_secs(60));
        }
        let linode = builder.build();
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        linode.mount(&server).await;
        let exoscale = ExoscaleFake::builder()
            .key(
                config.exoscale_key.clone(),
                config.exoscale_secret.clone(),
                exoscale::DEFAULT_TENANT,
            )
            .clock(clock)
            .instances_per_region(config.instances_per_region)
            .seed(config.seed)
            .log_requests(config.log_requests)
            .build();
        exoscale.mount(&server).await;
        // Anything no fake claims: a JSON 404 rather than wiremock's empty one.
        crate::fake::mount_fallback(&server, linode.handler()).await;
        Self {
            server,
            linode,
            linode_token: config.linode_token.clone(),
            exoscale,
            exoscale_key: config.exoscale_key.clone(),
        }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    /// `http://ADDRESS`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The Linode fake (its engine: clock, faults, state).
    pub fn linode(&self) -> &LinodeFake {
        &self.linode
    }

    /// The Exoscale fake.
    pub fn exoscale(&self) -> &ExoscaleFake {
        &self.exoscale
    }

    /// Every dialect served, with its base URL and credentials.
    pub fn dialects(&self) -> Vec<Dialect> {
        vec![
            Dialect {
                name: "linode",
                base_url: LinodeFake::base_url(&self.server),
                credentials: format!("token: {}", self.linode_token),
            },
            Dialect {
                name: "exoscale",
                base_url: ExoscaleFake::base_url(&self.server),
                // The secret is a flag the user chose or its documented
                // default; the key alone identifies it.
                credentials: format!("key: {}   secret: see --exoscale-secret", self.exoscale_key),
            },
        ]
    }
}

//! Every fake on one TCP port, for people and their tools: official SDKs,
//! CLIs, scripts. This is the library side of the `volume-sim` binary (and
//! of `volume serve`).
//!
//! The fakes come from the [registry](crate::fake::registry): each answers
//! under its provider's own path prefix (Linode: `/v4`, Exoscale: `/v2`),
//! so one port serves every dialect; a path no fake claims gets a JSON 404.
//! The engines' clocks follow the wall clock (scaled by
//! [`ServeConfig::time_scale`]) so that `creating` turns `active` by itself
//! a couple of seconds later, and each tenant starts with a few instances
//! per region.
//!
//! The server is hyper's HTTP/1.1 server: it keeps nothing once an answer
//! is sent, reads no body past [`Limits::max_body_bytes`] (a larger one gets
//! a 413 in the claiming provider's error shape), answers a malformed
//! request with a 400 and a closed connection, caps open connections, and
//! keeps accepting after a failed `accept` (such as running out of file
//! descriptors), backing off until it can.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::serve::{ServeConfig, Server};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let server = Server::start(listener, &ServeConfig::default()).await.unwrap();
//! for d in server.dialects() {
//!     println!("{:<8} {}   {}", d.name, d.base_url, d.credentials);
//! }
//! # });
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::engine::ClockMode;
use crate::fake::registry::{Entry, Settings, REGISTRY};
use crate::fake::{strip_prefix, FakeOptions, FakeRequest, FakeResponse, Handler, Rejection};
use crate::nbd::{NbdExports, NbdLimits, NbdServer};

/// What the server accepts, so that no client can make it hold unbounded
/// memory, descriptors or time. Every limit is a flag of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Connections open at once; more wait in the listen backlog (256).
    pub max_connections: usize,
    /// A request body's size: a larger one is refused with a 413 in the
    /// provider's error shape before more than this is read (1 MiB; the
    /// fakes' APIs take small JSON documents).
    pub max_body_bytes: usize,
    /// The request line and headers together (64 KiB; at least 8 KiB):
    /// beyond, a 431.
    pub max_header_bytes: usize,
    /// Header fields in one request (100): beyond, a 431.
    pub max_headers: usize,
    /// How long a connection may wait for a request's head, counted from
    /// its opening or the end of its last answer (30 s): a head arriving
    /// too slowly and a keep-alive connection left idle are both closed,
    /// within 1.25 times this.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive once its head has
    /// (30 s); beyond, a 408 and a closed connection.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_body_bytes: 1 << 20,
            max_header_bytes: 64 << 10,
            max_headers: HYPER_DEFAULT_MAX_HEADERS,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How to serve.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeConfig {
    /// The dialects' own settings (tokens, keys, rate limits), by flag;
    /// [`Settings::defaults`] by default.
    pub settings: Settings,
    /// Simulated seconds per real second (1.0: real time).
    pub time_scale: f64,
    /// Instances seeded per region for each tenant.
    pub instances_per_region: u32,
    /// The seed for ids and faults at a rate.
    pub seed: u64,
    /// Print one line per request to stderr (never headers or bodies).
    pub log_requests: bool,
    /// What the server accepts.
    pub limits: Limits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            settings: Settings::defaults(),
            time_scale: 1.0,
            instances_per_region: 3,
            seed: 0x5eed,
            log_requests: false,
            limits: Limits::default(),
        }
    }
}

impl ServeConfig {
    /// Sets one dialect setting by its flag (`"linode-token"`).
    ///
    /// # Errors
    /// When no dialect of the registry has that setting.
    pub fn with_setting(
        mut self,
        flag: &str,
        value: impl Into<String>,
    ) -> Result<Self, ServeError> {
        self.settings
            .set(flag, value)
            .map_err(ServeError::Setting)?;
        Ok(self)
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

    /// Prints one line per request to stderr.
    pub fn with_log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// Sets the server's limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn fake_options(&self) -> FakeOptions {
        let speed = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        FakeOptions {
            clock: ClockMode::Wall { speed },
            instances_per_region: self.instances_per_region,
            seed: self.seed,
            log_requests: self.log_requests,
            ..FakeOptions::default()
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A dialect setting is wrong (the message names its flag).
    #[error("{0}")]
    Setting(String),
    /// The listener could not be used.
    #[error("cannot serve: {0}")]
    Io(#[from] io::Error),
}

/// One dialect being served.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dialect {
    /// The provider, e.g. `"linode"`.
    pub name: &'static str,
    /// Where its API is, e.g. `http://127.0.0.1:8080/v4`.
    pub base_url: String,
    /// How to authenticate, for people (`token: ...`): a secret the user
    /// chose is never shown, only the documented defaults are.
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

/// The fakes, served on one port until dropped.
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    settings: Settings,
    accepting: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.address)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Ends the accept loop, and with it every connection (they live in
        // its `JoinSet`).
        self.accepting.abort();
    }
}

/// What every connection shares.
struct Shared {
    fakes: Vec<(Entry, Arc<dyn Handler>)>,
    limits: Limits,
    log_requests: bool,
}

impl Server {
    /// Builds every fake of the registry and serves them on `listener`
    /// (already bound: the caller chooses the address, loopback by
    /// default), on the current tokio runtime, until the `Server` is
    /// dropped.
    ///
    /// # Errors
    /// [`ServeError::Setting`] when a dialect setting is wrong;
    /// [`ServeError::Io`] when the listener cannot be used.
    pub async fn start(
        listener: std::net::TcpListener,
        config: &ServeConfig,
    ) -> Result<Self, ServeError> {
        let options = config.fake_options();
        let fakes = REGISTRY
            .iter()
            .map(|entry| {
                Ok((
                    *entry,
                    (entry.build)(&options, &config.settings).map_err(ServeError::Setting)?,
                ))
            })
            .collect::<Result<Vec<_>, ServeError>>()?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            fakes,
            limits: config.limits,
            log_requests: config.log_requests,
        });
        let accepting = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Self {
            address,
            shared,
            settings: config.settings.clone(),
            accepting,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The fake of `provider` (`"linode"`): its engine, to step the clock,
    /// inject faults or look inside.
    pub fn fake(&self, provider: &str) -> Option<&Arc<dyn Handler>> {
        self.shared
            .fakes
            .iter()
            .find(|(entry, _)| entry.name == provider)
            .map(|(_, fake)| fake)
    }

    /// Exports the fakes' volumes over NBD on `listener` (what each
    /// registry entry exports: attached volumes read-write by id and by the
    /// device path the provider shows, snapshots and backups read-only), on
    /// the current tokio runtime, until the returned server is dropped.
    ///
    /// # Errors
    /// When the listener cannot be used.
    pub fn serve_nbd(
        &self,
        listener: std::net::TcpListener,
        limits: NbdLimits,
    ) -> io::Result<NbdServer> {
        listener.set_nonblocking(true)?;
        let exports = self
            .shared
            .fakes
            .iter()
            .fold(NbdExports::new(), |exports, (entry, fake)| {
                exports.with((entry.exports)(fake.engine().clone()))
            });
        NbdServer::start(TcpListener::from_std(listener)?, exports, limits)
    }

    /// Every dialect served, in registry order, with its base URL and
    /// credentials.
    pub fn dialects(&self) -> Vec<Dialect> {
        let origin = self.uri();
        self.shared
            .fakes
            .iter()
            .map(|(entry, fake)| {
                let base_url = fake.base_url(&origin);
                let credentials = (entry.credentials)(&self.settings)
                    .replace(crate::fake::registry::BASE_URL_PLACEHOLDER, &base_url);
                Dialect {
                    name: entry.name,
                    base_url,
                    credentials,
                }
            })
            .collect()
    }
}

/// Accepts connections until aborted. A failed `accept` (out of file
/// descriptors, say) is waited out with a growing pause rather than ending
/// the loop, so the server recovers once descriptors are free again.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    const FIRST_PAUSE: Duration = Duration::from_millis(5);
    const LONGEST_PAUSE: Duration = Duration::from_millis(250);
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut pause = FIRST_PAUSE;
    loop {
        while connections.try_join_next().is_some() {}
        // At the cap, wait for a connection to end before accepting: the
        // rest wait in the kernel's backlog.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                pause = FIRST_PAUSE;
                connections.spawn(connection(stream, Arc::clone(&shared), permit));
            }
            Err(e) => {
                if shared.log_requests {
                    eprintln!("volume-sim: accept failed ({e}); retrying in {pause:?}");
                }
                drop(permit);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// Serves one connection with hyper's HTTP/1.1 server: keep-alive, the
/// head limits and timeout, 400 and close on anything malformed.
async fn connection(stream: TcpStream, shared: Arc<Shared>, _permit: OwnedSemaphorePermit) {
    let _ = stream.set_nodelay(true);
    let limits = shared.limits;
    let mut builder = http1::Builder::new();
    builder
        // The watchdog below times heads and idleness for the whole
        // connection; hyper's own head timer would cost a timer reset per
        // request (3% of a small GET, by callgrind).
        .header_read_timeout(None)
        // hyper refuses less than 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8 << 10));
    // hyper parses up to 100 headers on the stack; any other cap moves them
    // to the heap for every request, so set it only when it differs.
    if limits.max_headers != HYPER_DEFAULT_MAX_HEADERS {
        builder.max_headers(limits.max_headers.max(1));
    }
    let watch = Arc::new(Watch::new());
    let service = {
        let watch = Arc::clone(&watch);
        service_fn(move |request| {
            let (shared, watch) = (Arc::clone(&shared), Arc::clone(&watch));
            async move {
                watch.begin();
                let answer = shared.answer(request).await;
                watch.end();
                answer
            }
        })
    };
    let served = builder
        .serve_connection(TokioIo::new(stream), service)
        .without_shutdown();
    tokio::pin!(served);
    // A connection waiting for a request (idle, or with half a head) for
    // longer than the head timeout is closed; checked four times per
    // timeout, so it is closed within 1.25 times the timeout.
    let tick = (limits.header_timeout / 4).max(Duration::from_millis(1));
    let served = loop {
        tokio::select! {
            served = &mut served => break Some(served),
            () = tokio::time::sleep(tick) => {
                if watch.waiting_for() >= limits.header_timeout {
                    break None;
                }
            }
        }
    };
    // A connection's errors (a malformed request, a client gone, a dropped
    // connection fault) end that connection and nothing else.
    if let Some(Ok(parts)) = served {
        linger(parts.io.into_inner()).await;
    }
}

/// Whether a connection is answering, and since when it has been waiting
/// for a request when it is not: what the connection's watchdog reads.
struct Watch {
    opened: Instant,
    answering: AtomicUsize,
    /// Milliseconds from `opened` to the end of the last answer.
    idle_since: AtomicU64,
}

impl Watch {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            answering: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        }
    }

    fn begin(&self) {
        self.answering.fetch_add(1, Ordering::Relaxed);
    }

    fn end(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.idle_since.store(now, Ordering::Relaxed);
        self.answering.fetch_sub(1, Ordering::Relaxed);
    }

    /// How long the connection has been waiting for a request (zero while
    /// it is answering one).
    fn waiting_for(&self) -> Duration {
        if self.answering.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let since = Duration::from_millis(self.idle_since.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(since)
    }
}

/// Closes a connection the way HTTP servers must when a client may still
/// be sending (a refused body): our side first, then what the client sends
/// is read and dropped for a moment, so that the kernel does not answer it
/// with a reset that would destroy the response before the client reads
/// it. Bounded in time and bytes.
async fn linger(mut stream: TcpStream) {
    const LINGER_TIME: Duration = Duration::from_secs(1);
    const LINGER_BYTES: usize = 4 << 20;
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 16 << 10];
    let mut drained = 0;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// hyper's own cap on header fields, kept on its faster path.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// Closes the connection instead of answering: the fault
/// [`FakeResponse::drop_connection`] asks for.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

impl Shared {
    /// The fake whose prefix claims `path`, raw as sent (so `/v4/../v2` is
    /// Linode's, never Exoscale's).
    fn claimant(&self, path: &str) -> Option<&Arc<dyn Handler>> {
        self.fakes.iter().map(|(_, fake)| fake).find(|fake| {
            fake.prefixes()
                .iter()
                .any(|p| strip_prefix(path, p).is_some())
        })
    }

    async fn answer(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, DropConnection> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        let Some(fake) = self.claimant(path) else {
            return Ok(self.refused(None, &parts, self.not_served(path)));
        };
        let max = self.limits.max_body_bytes;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = if body.is_end_stream() {
            // No body (most requests): no timer, no buffer.
            Ok(Bytes::new())
        } else if declared.is_some_and(|n| n > max as u64) {
            // Refused on its declared length, before a byte of it is read.
            Err(Rejection::too_large(max))
        } else {
            match tokio::time::timeout(self.limits.body_timeout, Limited::new(body, max).collect())
                .await
            {
                Ok(Ok(collected)) => Ok(collected.to_bytes()),
                Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    Err(Rejection::too_large(max))
                }
                Ok(Err(_)) => Err(Rejection::malformed("The request body could not be read")),
                Err(_) => Err(Rejection::new(
                    crate::fake::RejectKind::Malformed,
                    408,
                    "The request body did not arrive in time",
                )),
            }
        };
        let body = match body {
            Ok(body) => body,
            Err(rejection) => {
                // The rest of the body is unread: the connection cannot be
                // used for another request.
                let mut response = fake.reject(&rejection);
                response
                    .headers
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return Ok(self.refused(Some(fake), &parts, response));
            }
        };
        let request = FakeRequest {
            path: path.to_owned(),
            query: parts.uri.query().map(str::to_owned),
            method: parts.method,
            headers: parts.headers,
            body,
        };
        // The fake logs what it answers.
        let response = fake.handle(&request);
        if let Some(delay) = response.delay.filter(|d| !d.is_zero()) {
            tokio::time::sleep(delay).await;
        }
        if response.drop_connection {
            return Err(DropConnection);
        }
        Ok(to_hyper(response))
    }

    /// A refusal of the server's own (no fake ran), logged when asked.
    fn refused(
        &self,
        fake: Option<&Arc<dyn Handler>>,
        parts: &http::request::Parts,
        response: FakeResponse,
    ) -> Response<Full<Bytes>> {
        if self.log_requests {
            eprintln!(
                "{:<8} {} {} -> {}",
                fake.map_or("-", |f| f.name()),
                parts.method,
                parts.uri.path(),
                response.wire_status()
            );
        }
        to_hyper(response)
    }

    /// The answer for a path no fake claims: JSON, naming the prefixes that
    /// are served.
    fn not_served(&self, path: &str) -> FakeResponse {
        let served: Vec<String> = self
            .fakes
            .iter()
            .flat_map(|(entry, fake)| {
                fake.prefixes()
                    .iter()
                    .map(move |p| format!("{p} ({})", entry.name))
            })
            .collect();
        FakeResponse::json(
            404,
            &serde_json::json!({
                "error": "not_found",
                "message": format!("No fake is served at {path}; the fakes are under {}", served.join(", ")),
            }),
        )
    }
}

fn to_hyper(response: FakeResponse) -> Response<Full<Bytes>> {
    let status =
        StatusCode::from_u16(response.wire_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = Response::new(Full::new(response.body));
    *out.status_mut() = status;
    *out.headers_mut() = response.headers;
    out
}

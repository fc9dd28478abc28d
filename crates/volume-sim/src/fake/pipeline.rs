//! The pipeline every fake runs, written once: [`Fake`], its builder and
//! the object-safe [`Handler`] that servers call.

use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use volume_core::RegionId;

use super::dialect::{Dialect, Operation, Principal, RateStatus};
use super::message::{FakeRequest, FakeResponse};
use super::reject::Rejection;
use crate::engine::{ClockMode, Delays, Engine, EngineConfig, Fault, Quota};

/// A fake as a server sees it: request in, response out.
///
/// Implemented by every [`Fake`]; the [registry](super::registry), the
/// `volume-sim` binary and wiremock mounts hold fakes as
/// `Arc<dyn Handler>`.
pub trait Handler: Send + Sync + 'static {
    /// The provider (`"linode"`).
    fn name(&self) -> &'static str;

    /// The path prefixes it answers under, longest first.
    fn prefixes(&self) -> &'static [&'static str];

    /// Answers one request. Never panics.
    fn handle(&self, request: &FakeRequest) -> FakeResponse;

    /// The provider's answer for a refusal raised outside the fake (the
    /// server's 404, 413, 400). Never panics.
    fn reject(&self, rejection: &Rejection) -> FakeResponse;

    /// The engine underneath.
    fn engine(&self) -> &Engine;

    /// The API's base URL at `origin` (`http://127.0.0.1:8080`): the
    /// origin followed by the documented prefix.
    fn base_url(&self, origin: &str) -> String;
}

/// Whether `path` is `prefix` or lies below it (`/v4`, `/v4/...`, but not
/// `/v4x`); the rest of the path when it is.
pub fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The segments of `path` below the first of `prefixes` that claims it,
/// still percent-encoded, without the empty segments of a leading or
/// trailing `/`; `None` when no prefix claims the path.
pub(crate) fn path_segments<'a>(prefixes: &[&str], path: &'a str) -> Option<Segments<'a>> {
    let rest = prefixes.iter().find_map(|p| strip_prefix(path, p))?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments = Segments::new();
    if !rest.is_empty() {
        segments.extend(rest.split('/'));
    }
    Some(segments)
}

/// Segments a path keeps without allocating: more than any route has.
const INLINE_SEGMENTS: usize = 12;

/// A path's segments ([`path_segments`]), on the stack unless there are
/// more than [`INLINE_SEGMENTS`]: routing a request allocates nothing
/// (every allocation on the serving path costs throughput when the two
/// workers free what the other allocated).
pub(crate) type Segments<'a> = smallvec::SmallVec<[&'a str; INLINE_SEGMENTS]>;

/// The rate-limit windows of the credentials seen, swept of closed ones as
/// the map grows.
#[derive(Default)]
struct Windows {
    /// Per credential: the current window's start and count.
    map: HashMap<Arc<str>, (Duration, u32)>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

/// The smallest map worth sweeping.
const SWEEP_FROM: usize = 1024;

impl Windows {
    /// Credentials come and go (a Keystone token per login): once the map
    /// has grown to `sweep_at`, windows that have closed are dropped, and the
    /// next sweep waits until the map has doubled from what is left, so a
    /// sweep is O(1) per request amortised, even when every credential in
    /// the map stays live. Whether it swept.
    fn sweep(&mut self, now: Duration, window: Duration) -> bool {
        if self.map.len() < self.sweep_at.max(SWEEP_FROM) {
            return false;
        }
        self.map
            .retain(|_, (start, _)| now < start.saturating_add(window));
        self.sweep_at = 2 * self.map.len();
        true
    }
}

/// A rate limit: at most `limit` requests per credential per `window` of
/// the engine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

/// What every fake's builder sets, whatever the provider.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FakeOptions {
    /// Serve this engine instead of a new one.
    pub engine: Option<Engine>,
    /// The regions of a new engine (`None`: the dialect's).
    pub regions: Option<Vec<RegionId>>,
    /// Instances seeded per region for each tenant.
    pub instances_per_region: u32,
    /// The seed for ids and faults.
    pub seed: u64,
    /// Every tenant's quota.
    pub quota: Quota,
    /// How long transitions take (`None`: the dialect's policy's).
    pub delays: Option<Delays>,
    /// How the engine's clock moves.
    pub clock: ClockMode,
    /// A per-credential rate limit (`None`: none).
    pub rate_limit: Option<RateLimit>,
    /// Print one line per request to stderr.
    pub log_requests: bool,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            engine: None,
            regions: None,
            instances_per_region: 3,
            seed: 0x5eed,
            quota: Quota::unlimited(),
            delays: None,
            clock: ClockMode::Manual,
            rate_limit: None,
            log_requests: false,
        }
    }
}

/// Builds a [`Fake`]: the settings every fake shares, and the dialect's own
/// (`token` for Linode, `key` and `zone` for Exoscale, as inherent methods
/// of `FakeBuilder<ThatDialect>`). `Debug` never shows a credential.
#[must_use]
pub struct FakeBuilder<D: Dialect> {
    pub(crate) options: FakeOptions,
    pub(crate) config: D::Config,
}

impl<D: Dialect> fmt::Debug for FakeBuilder<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeBuilder")
            .field("dialect", &D::NAME)
            .field("options", &self.options)
            .field("config", &self.config)
            .finish()
    }
}

impl<D: Dialect> Default for FakeBuilder<D> {
    fn default() -> Self {
        Self {
            options: FakeOptions::default(),
            config: D::Config::default(),
        }
    }
}

impl<D: Dialect> FakeBuilder<D> {
    /// Every shared setting at once.
    pub fn options(mut self, options: FakeOptions) -> Self {
        self.options = options;
        self
    }

    /// Serves `engine` instead of a new one (its policy, regions, clock and
    /// seed then apply, and the settings that shape a new engine are
    /// ignored).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.options.engine = Some(engine);
        self
    }

    /// The regions (the provider's region or zone ids).
    ///
    /// # Errors
    /// When a region id is not a valid id.
    pub fn regions<I, S>(mut self, regions: I) -> volume_core::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.regions = Some(
            regions
                .into_iter()
                .map(RegionId::new)
                .collect::<volume_core::Result<_>>()?,
        );
        Ok(self)
    }

    /// Instances seeded per region for each tenant (3 by default: the last
    /// of two or more is stopped, the others running).
    pub fn instances_per_region(mut self, n: u32) -> Self {
        self.options.instances_per_region = n;
        self
    }

    /// The seed for ids and faults at a rate.
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// Every tenant's quota.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.options.quota = quota;
        self
    }

    /// How long transitions take (default: the provider's).
    pub fn delays(mut self, delays: Delays) -> Self {
        self.options.delays = Some(delays);
        self
    }

    /// How the engine's clock moves: [`ClockMode::Manual`] by default
    /// (tests step it), [`ClockMode::Wall`] when serving people.
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.options.clock = mode;
        self
    }

    /// At most `limit` authenticated requests per credential per `window`
    /// of the engine's clock; more get a 429 with `Retry-After`. Off by
    /// default.
    pub fn rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.options.rate_limit = Some(RateLimit { limit, window });
        self
    }

    /// Prints one line per request (`provider METHOD path -> status`) to
    /// stderr; never headers or bodies, so never a credential.
    pub fn log_requests(mut self, on: bool) -> Self {
        self.options.log_requests = on;
        self
    }

    /// The fake.
    pub fn build(self) -> Fake<D> {
        let options = self.options;
        let engine = options.engine.unwrap_or_else(|| {
            let mut config = EngineConfig {
                policy: D::policy(),
                regions: options.regions.unwrap_or_else(D::default_regions),
                instances_per_region: options.instances_per_region,
                quota: options.quota,
                seed: options.seed,
            };
            if let Some(delays) = options.delays {
                config.policy.delays = delays;
            }
            D::prepare(&self.config, &mut config);
            Engine::with_clock(config, options.clock)
        });
        let dialect = D::new(self.config, &engine);
        Fake {
            inner: Arc::new(Shared {
                dialect,
                engine,
                state: Mutex::default(),
                rate_limit: options.rate_limit,
                windows: Mutex::default(),
                log_requests: options.log_requests,
            }),
        }
    }
}

/// A provider's fake: its [`Dialect`] served from an [`Engine`] through the
/// one pipeline.
///
/// Cheap to clone; clones serve the same cloud. Mount it on a wiremock
/// server ([`mount`](Self::mount), [`start`](Self::start)), hand it to the
/// [`serve`](crate::serve) server, or call [`handle`](Self::handle).
pub struct Fake<D: Dialect> {
    inner: Arc<Shared<D>>,
}

impl<D: Dialect> Clone for Fake<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<D: Dialect> fmt::Debug for Fake<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fake")
            .field("dialect", &D::NAME)
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

impl<D: Dialect> Default for Fake<D> {
    fn default() -> Self {
        FakeBuilder::default().build()
    }
}

struct Shared<D: Dialect> {
    dialect: D,
    engine: Engine,
    /// The dialect's state, locked inside the engine's lock (never the
    /// other way round).
    state: Mutex<D::State>,
    rate_limit: Option<RateLimit>,
    /// Per credential: the current window's start and count.
    windows: Mutex<Windows>,
    log_requests: bool,
}

impl<D: Dialect> Fake<D> {
    /// A builder with the provider's defaults.
    pub fn builder() -> FakeBuilder<D> {
        FakeBuilder::default()
    }

    /// The engine underneath: step its clock, inject faults, look inside.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The dialect.
    pub fn dialect(&self) -> &D {
        &self.inner.dialect
    }

    /// This fake as a [`Handler`], for servers and registries.
    pub fn handler(&self) -> Arc<dyn Handler> {
        Arc::clone(&self.inner) as Arc<dyn Handler>
    }

    /// Answers one request through the pipeline. Never panics.
    pub fn handle(&self, request: &FakeRequest) -> FakeResponse {
        self.inner.handle(request)
    }

    /// Mounts the fake on `server` under its prefixes, at wiremock
    /// priorities 1 and 2 (mount other mocks on those paths above 2).
    pub async fn mount(&self, server: &wiremock::MockServer) {
        super::mock::mount(server, self.handler()).await;
    }

    /// A new wiremock server on a free loopback port with the fake mounted,
    /// and the provider's 404 for every other path.
    pub async fn start(&self) -> wiremock::MockServer {
        let server = wiremock::MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        self.mount(&server).await;
        super::mock::mount_fallback(&server, self.handler()).await;
        server
    }

    /// The base URL of the fake on `server`: `http://127.0.0.1:PORT/v4`.
    pub fn base_url(server: &wiremock::MockServer) -> String {
        format!("{}{}", server.uri(), D::base_path())
    }
}

impl<D: Dialect> wiremock::Respond for Fake<D> {
    /// Answers one request. A `DropConnection` fault cannot close the
    /// connection from here; it is answered 502 after the change (use
    /// [`Fake::mount`] for real dropped connections).
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let response = self.handle(&FakeRequest::from(request));
        if response.drop_connection {
            let mut bad_gateway = self.inner.reject(&Rejection::new(
                super::RejectKind::Internal,
                502,
                "Bad Gateway",
            ));
            bad_gateway.delay = response.delay;
            return bad_gateway.into_template();
        }
        response.into_template()
    }
}

impl<D: Dialect> Handler for Shared<D> {
    fn name(&self) -> &'static str {
        D::NAME
    }

    fn prefixes(&self) -> &'static [&'static str] {
        D::PREFIXES
    }

    fn handle(&self, request: &FakeRequest) -> FakeResponse {
        let response = catch_unwind(AssertUnwindSafe(|| self.answer(request)))
            .unwrap_or_else(|_| self.reject(&Rejection::internal()));
        if self.log_requests {
            eprintln!(
                "{:<8} {} {} -> {}{}",
                D::NAME,
                request.method,
                request.path,
                response.wire_status(),
                if response.drop_connection {
                    " (connection dropped)"
                } else {
                    ""
                }
            );
        }
        response
    }

    fn reject(&self, rejection: &Rejection) -> FakeResponse {
        catch_unwind(AssertUnwindSafe(|| {
            self.dialect.finish(D::render(rejection), None, None)
        }))
        .unwrap_or_else(|_| FakeResponse::json(500, &serde_json::json!({})))
    }

    fn engine(&self) -> &Engine {
        &self.engine
    }

    fn base_url(&self, origin: &str) -> String {
        format!("{}{}", origin.trim_end_matches('/'), D::base_path())
    }
}

impl<D: Dialect> Shared<D> {
    /// The pipeline.
    fn answer(&self, request: &FakeRequest) -> FakeResponse {
        let d = &self.dialect;
        let Some(segments) = path_segments(D::PREFIXES, &request.path) else {
            return self.reject(&Rejection::not_found("Not found"));
        };
        let route = match D::route(request, &segments) {
            Ok(route) => route,
            Err(rejection) => return self.reject(&rejection),
        };
        let refuse = |rejection: Rejection, rate: Option<&RateStatus>| {
            d.finish(D::render(&rejection), Some(&route), rate)
        };
        if let Some(answer) = d.public(&self.engine, &route, request) {
            return match answer {
                Ok(response) => d.finish(response, Some(&route), None),
                Err(rejection) => refuse(rejection, None),
            };
        }
        let principal = match d.authenticate(request) {
            Ok(p) => p,
            Err(rejection) => return refuse(rejection, None),
        };
        let rate = match self.count(&principal) {
            Ok(rate) => rate,
            Err(rejection) => return refuse(rejection, None),
        };
        let rate = rate.as_ref();
        let fault = D::operation(&route).and_then(|op| self.engine.decide_fault(op));
        let delay = match &fault {
            Some(Fault::Latency(d)) => Some(*d),
            _ => None,
        };
        let delayed = |mut response: FakeResponse| {
            response.delay = delay;
            response
        };
        match &fault {
            Some(Fault::ErrorBefore { status, message }) => {
                return delayed(refuse(Rejection::injected(*status, message), rate));
            }
            Some(Fault::RateLimited { retry_after }) => {
                return delayed(refuse(Rejection::rate_limited(*retry_after), rate));
            }
            _ => {}
        }
        let outcome = self.engine.with(|control| {
            control.ensure_tenant(&principal.tenant);
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut op = Operation {
                control,
                state: &mut *state,
                tenant: &principal.tenant,
                fault: fault.as_ref(),
            };
            d.run(&mut op, &route, request)
        });
        let mut response = match (outcome, &fault) {
            (Err(rejection), _) => return delayed(refuse(rejection, rate)),
            (Ok(_), Some(Fault::ErrorAfter { status, message })) => {
                return delayed(refuse(Rejection::injected(*status, message), rate));
            }
            // Written out here, with the engine's lock released.
            (Ok(reply), _) => reply.into(),
        };
        response.drop_connection = matches!(fault, Some(Fault::DropConnection));
        delayed(d.finish(response, Some(&route), rate))
    }

    /// Counts a request against its credential's window: the window's
    /// status when limits are on, a 429 when it is full.
    fn count(&self, principal: &Principal) -> Result<Option<RateStatus>, Rejection> {
        let Some(RateLimit { limit, window }) = self.rate_limit else {
            return Ok(None);
        };
        let now = self.engine.now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.sweep(now, window);
        let (start, count) = windows
            .map
            .entry(Arc::clone(&principal.credential))
            .or_insert((now, 0));
        if now >= start.saturating_add(window) {
            (*start, *count) = (now, 0);
        }
        if *count >= limit {
            let wait = start.saturating_add(window).saturating_sub(now);
            return Err(Rejection::rate_limited(wait.max(Duration::from_secs(1))));
        }
        *count += 1;
        let (remaining, start) = (limit - *count, *start);
        drop(windows);
        let reset = self
            .engine
            .with(|c| c.system_time(start.saturating_add(window)));
        Ok(Some(RateStatus {
            limit,
            remaining,
            reset_unix: reset
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_windows_are_swept_at_amortised_constant_cost() {
        let window = Duration::from_secs(60);
        let mut w = Windows::default();
        let add = |w: &mut Windows, n: usize, at: Duration| {
            for i in 0..n {
                w.map.insert(format!("{at:?}-{i}").into(), (at, 1));
            }
        };
        // Below the threshold: never swept.
        add(&mut w, SWEEP_FROM - 1, Duration::ZERO);
        assert!(!w.sweep(window * 2, window));
        // At it: the closed windows go.
        add(&mut w, 1, Duration::from_nanos(1));
        assert!(w.sweep(window * 2, window));
        assert!(w.map.is_empty());
        // All live: one sweep, and none again until the map has doubled,
        // however many requests come meanwhile.
        let now = window * 10;
        add(&mut w, SWEEP_FROM, now);
        assert!(w.sweep(now, window));
        assert_eq!(w.map.len(), SWEEP_FROM);
        for _ in 0..100 {
            assert!(!w.sweep(now, window));
        }
        add(&mut w, SWEEP_FROM, now + Duration::from_secs(1));
        assert!(w.sweep(now, window));
        assert_eq!(w.map.len(), 2 * SWEEP_FROM);
    }

    #[test]
    fn segments_match_a_plain_split_at_every_length() {
        for n in 0..=2 * INLINE_SEGMENTS + 1 {
            let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            let want: Vec<&str> = names.iter().map(String::as_str).collect();
            for tail in ["", "/"] {
                let path = format!("/p/{}{tail}", names.join("/"));
                let got = path_segments(&["/p"], &path).unwrap();
                assert_eq!(&*got, &want[..], "{path}");
            }
        }
        assert!(path_segments(&["/p"], "/q/x").is_none());
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert_eq!(strip_prefix("/v4", "/v4"), Some(""));
        assert_eq!(strip_prefix("/v4/volumes", "/v4"), Some("/volumes"));
        assert_eq!(strip_prefix("/v4x/volumes", "/v4"), None);
        assert_eq!(strip_prefix("/v2", "/v4"), None);
    }
}

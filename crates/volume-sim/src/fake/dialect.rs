//! What a provider writes to have a fake: a [`Dialect`].
//!
//! A dialect knows its provider's wire protocol and nothing else: where its
//! API lives ([`Dialect::PREFIXES`]), its routes, how a request proves who
//! it is, its JSON, its error body, and how each operation maps onto the
//! [engine](crate::engine). Everything around that is the
//! [pipeline](super::Fake), written once for every provider:
//!
//! ```text
//! route → public? → authenticate → rate limit → fault before
//!       → engine operation → fault after → finish (headers) → log
//! ```
//!
//! with panic containment (a panic is the provider's 500, never a dropped
//! connection) and injected dropped connections. A refusal at any step is a
//! [`Rejection`] that the dialect renders in its own shape, so every error a
//! fake sends, the server's own 404, 413 and 400 included, looks like the
//! provider's.

use std::fmt;
use std::sync::Arc;

use volume_core::RegionId;

use super::message::{FakeRequest, FakeResponse};
use super::reject::Rejection;
use crate::engine::{Control, Engine, EngineConfig, Fault, Policy, SimOp};

/// What an operation answers: the provider's response, or a refusal.
pub type Answer = Result<FakeResponse, Rejection>;

/// Who a request acts for, once authenticated. `Debug` shows the tenant,
/// never the credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// The engine tenant whose resources the request sees.
    pub tenant: Arc<str>,
    /// What rate limits count against (the API key or token id). It is
    /// kept in memory only while a rate limit is configured, and never
    /// printed.
    pub credential: Arc<str>,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("tenant", &self.tenant)
            .field("credential", &"******")
            .finish()
    }
}

impl Principal {
    /// A principal acting for `tenant`, counted under `credential`. Shared
    /// strings, so that a dialect that keeps its credentials as `Arc<str>`
    /// authenticates a request without allocating.
    pub fn new(tenant: impl Into<Arc<str>>, credential: impl Into<Arc<str>>) -> Self {
        Self {
            tenant: tenant.into(),
            credential: credential.into(),
        }
    }
}

/// Where a request stands against its credential's rate limit, for the
/// dialect's headers (`X-RateLimit-*` on Linode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// When the window ends, in Unix seconds of the engine's clock.
    pub reset_unix: u64,
}

/// One authenticated operation, run with the engine's lock held (and the
/// dialect's own state's).
#[derive(Debug)]
pub struct Operation<'a, S> {
    /// The control plane (locked).
    pub control: &'a mut Control,
    /// What the dialect keeps beside the engine (locked).
    pub state: &'a mut S,
    /// The tenant the request acts for (already known to the engine).
    pub tenant: &'a str,
    /// The fault decided for this request, for the engine calls that take
    /// one (`Stuck` and `LandInError` act inside the engine).
    pub fault: Option<&'a Fault>,
}

/// A provider's wire protocol, served from the engine by the
/// [pipeline](super::Fake).
///
/// Every method must answer without panicking; the pipeline contains a
/// panic all the same and answers [`Rejection::internal`].
pub trait Dialect: Sized + Send + Sync + 'static {
    /// The provider, as the registry and logs name it (`"linode"`).
    const NAME: &'static str;

    /// The path prefixes the API answers under, longest first (`/v4beta`
    /// before `/v4`). The first one that is not a beta is the documented
    /// base ([`Dialect::base_path`]).
    const PREFIXES: &'static [&'static str];

    /// A request, routed: what the path and method name.
    type Route: fmt::Debug + Send + Sync;

    /// The dialect's own settings (credentials, the zone served...). Its
    /// `Debug` must not show a secret.
    type Config: Default + fmt::Debug + Send;

    /// What the dialect keeps beside the engine (fields the engine does not
    /// model, asynchronous operation records...). The pipeline holds it
    /// behind a lock taken inside the engine's, and hands it to
    /// [`run`](Self::run).
    type State: Default + fmt::Debug + Send;

    /// What [`run`](Self::run) hands back from under the engine's lock,
    /// turned into the answer once the lock is released: the answer itself
    /// ([`FakeResponse`]), or what the operation read, so that writing the
    /// JSON does not hold every other request up.
    type Reply: Into<FakeResponse> + Send;

    /// The regions of a new engine, unless the builder says otherwise.
    const DEFAULT_REGIONS: &'static [&'static str];

    /// The provider's rules, for a new engine.
    fn policy() -> Policy;

    /// [`DEFAULT_REGIONS`](Self::DEFAULT_REGIONS) as ids.
    fn default_regions() -> Vec<RegionId> {
        Self::DEFAULT_REGIONS
            .iter()
            .filter_map(|r| RegionId::new(*r).ok())
            .collect()
    }

    /// A last look at a new engine's configuration (Exoscale adds the
    /// served zone to the regions).
    fn prepare(_config: &Self::Config, _engine: &mut EngineConfig) {}

    /// The dialect over `engine`.
    fn new(config: Self::Config, engine: &Engine) -> Self;

    /// The path a client's base URL ends with (`/v4`).
    fn base_path() -> &'static str {
        Self::PREFIXES.last().copied().unwrap_or("")
    }

    /// Routes a request. `segments` is the path below the prefix, split at
    /// `/`, still percent-encoded, without a trailing empty segment.
    ///
    /// # Errors
    /// The refusal (no such path, wrong method).
    fn route(request: &FakeRequest, segments: &[&str]) -> Result<Self::Route, Rejection>;

    /// Answers `route` when it needs no credentials (Linode's regions,
    /// Exoscale's zones, pre-flight `OPTIONS`); `None` for every other.
    fn public(&self, _engine: &Engine, _route: &Self::Route, _req: &FakeRequest) -> Option<Answer> {
        None
    }

    /// Who the request acts for.
    ///
    /// # Errors
    /// Missing or wrong credentials, in the provider's terms; the pipeline
    /// then changes nothing.
    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection>;

    /// The engine operation a route performs, for fault decisions (`None`
    /// for static answers that no fault applies to).
    fn operation(route: &Self::Route) -> Option<SimOp>;

    /// Performs `route` with the engine's lock held.
    ///
    /// # Errors
    /// The refusal, in the provider's terms.
    fn run(
        &self,
        op: &mut Operation<'_, Self::State>,
        route: &Self::Route,
        req: &FakeRequest,
    ) -> Result<Self::Reply, Rejection>;

    /// The provider's error answer for `rejection`.
    fn render(rejection: &Rejection) -> FakeResponse;

    /// Headers every answer of the provider carries, added last (to
    /// answers and refusals alike); `route` is `None` when routing failed.
    fn finish(
        &self,
        response: FakeResponse,
        _route: Option<&Self::Route>,
        _rate: Option<&RateStatus>,
    ) -> FakeResponse {
        response
    }
}

/// Compares secrets (keys, passwords, tokens) without stopping at the
/// first difference, so that the time taken says nothing of how much of a
/// guess was right.
pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a dialect's policy against its documented size bounds and
/// features, for each dialect's unit tests.
#[cfg(test)]
pub(crate) fn assert_policy(
    p: &Policy,
    sizes: std::ops::RangeInclusive<u64>,
    clone: bool,
    snapshots: bool,
) {
    use volume_core::Size;
    let (min, max) = (*sizes.start(), *sizes.end());
    assert_eq!(p.check_size(Size::gib(min)), Ok(()));
    assert_eq!(p.check_size(Size::gib(max)), Ok(()));
    assert!(min == 0 || p.check_size(Size::gib(min - 1)).is_err());
    assert!(p.check_size(Size::gib(max + 1)).is_err());
    let caps = p.capabilities();
    assert_eq!((caps.clone, caps.snapshots), (clone, snapshots));
}

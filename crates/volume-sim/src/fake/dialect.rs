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

use volume_core::RegionId;

use super::message::{FakeRequest, FakeResponse};
use super::reject::Rejection;
use crate::engine::{Control, Engine, EngineConfig, Fault, Policy, SimOp};

/// Who a request acts for, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The engine tenant whose resources the request sees.
    pub tenant: String,
    /// What rate limits count against (the API key or token id). It is
    /// kept in memory only while a rate limit is configured, and never
    /// printed.
    pub credential: String,
}

impl Principal {
    /// A principal acting for `tenant`, counted under `credential`.
    pub fn new(tenant: impl Into<String>, credential: impl Into<String>) -> Self {
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

/// One authenticated operation, run with the engine's lock held.
#[derive(Debug)]
pub struct Operation<'a> {
    /// The control plane (locked).
    pub control: &'a mut Control,
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

    /// The provider's rules, for a new engine.
    fn policy() -> Policy;

    /// The regions of a new engine, unless the builder says otherwise.
    fn default_regions() -> Vec<RegionId>;

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
    fn route(&self, request: &FakeRequest, segments: &[&str]) -> Result<Self::Route, Rejection>;

    /// Answers `route` when it needs no credentials (Linode's regions,
    /// Exoscale's zones, pre-flight `OPTIONS`); `None` for every other.
    fn public(
        &self,
        _engine: &Engine,
        _route: &Self::Route,
        _request: &FakeRequest,
    ) -> Option<Result<FakeResponse, Rejection>> {
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
        op: &mut Operation<'_>,
        route: &Self::Route,
        request: &FakeRequest,
    ) -> Result<FakeResponse, Rejection>;

    /// The provider's error answer for `rejection`.
    fn render(&self, rejection: &Rejection) -> FakeResponse;

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

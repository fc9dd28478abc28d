//! The Linode API v4 block-storage dialect, served from the engine.
//!
//! [`LinodeFake`] answers the volume endpoints of `https://api.linode.com/v4`
//! (and `/v4beta`, which linodego uses) the way the API does, per the wire
//! reference `api/linode.md`, the OpenAPI subsets and the recordings of real
//! traffic beside it. It is what the Linode client crate is tested against,
//! and what `linode_api4`, libcloud's Linode driver and `linode-cli` can be
//! pointed at (see the `volume-sim` binary).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::linode::LinodeFake;
//!
//! let fake = LinodeFake::builder().token("secret", "alice").build();
//! let server = fake.start().await;
//! let base = LinodeFake::base_url(&server); // http://127.0.0.1:PORT/v4
//! let created: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{base}/volumes"))
//!     .bearer_auth("secret")
//!     .json(&serde_json::json!({"label": "data", "region": "us-east"}))
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(created["status"], "creating");
//! assert_eq!(created["size"], 20);
//! fake.engine().run_until_quiet(); // the volume becomes active
//! # });
//! ```
//!
//! # What it serves
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /v4/regions`, `GET /v4/regions/{id}` | the regions (public: no token needed) |
//! | `GET /v4/volumes/types` | the one volume type with its prices (public) |
//! | `GET /v4/volumes`, `POST /v4/volumes` | list (paginated, `X-Filter`), create |
//! | `GET`, `PUT`, `DELETE /v4/volumes/{id}` | view, update (`label`, `tags`), delete (`{}`) |
//! | `POST /v4/volumes/{id}/attach`, `.../detach`, `.../clone`, `.../resize` | the actions |
//! | `GET /v4/linode/instances`, `GET /v4/linode/instances/{id}` | the seeded instances |
//! | `GET /v4/linode/instances/{id}/volumes` | the volumes attached to one |
//!
//! Every answer has exactly `Content-Type: application/json` (linodego
//! compares it literally); every error is
//! `{"errors": [{"reason": "...", "field": "..."}]}` with at least one entry.
//!
//! # How it maps onto the engine
//!
//! The engine runs with [`policy`]: numeric ids, sizes 10 to 10240 GiB
//! (20 by default), Linode's label rule ([`label_rule`]), clones but no
//! snapshots or backups, grow-only resize (attached volumes too), and
//! `creating -> active` and `resizing -> active` taking [`DEFAULT_DELAYS`]
//! on the engine's clock. A bearer token maps to a tenant; each tenant sees
//! only its own volumes and its own seeded instances.
//!
//! Linode words: the core states `creating` and `resizing` are shown as
//! themselves, `available` and `in-use` (and the instant `attaching`,
//! `detaching` and `deleting`, which only a `Stuck` fault makes visible) as
//! `active`; the failure states as `contact_support` (the older word
//! linodego, libcloud and the CLI know). Core labels are Linode tags: tag
//! `t` is the label `t` with the value `""` (a label with a value, set
//! through another front end, is shown as the tag `key=value`).
//!
//! # Choices where the reference is silent
//!
//! - Pagination: `page_size` outside 25..=500, or `page` that is not an
//!   integer >= 1, is a 400 naming the parameter (the reference documents the
//!   bounds, linode.md §4, but not the answer). A `page` past the last page
//!   gives an empty `data`; one above 2^64 / `page_size` gives the last page,
//!   as the API documentation says.
//! - `X-Filter` works on `id`, `label`, `linode_id`, `region`, `size`,
//!   `status` and `tags` of volumes (the spec marks only `label` and `tags`);
//!   on `group`, `id`, `image`, `ipv4`, `label`, `region`, `status`, `tags`
//!   and `type` of instances; on `country`, `id`, `site_type` and `status` of
//!   regions, with `+and`, `+or`, `+gt`, `+gte`, `+lt`, `+lte`,
//!   `+contains`, `+neq`, `+order_by` and `+order`; on an array field a
//!   test holds when it holds for any element. Anything else (an unknown
//!   field or operator, `+order` without `+order_by`, bad JSON, nesting
//!   deeper than 16) is a 400 with `field: "X-Filter"`. (`+limit`, which
//!   linode_api4 can send, is not in the reference and is refused.)
//! - Attach while `creating` is accepted, as recorded: the volume shows its
//!   `linode_id` at once and is attached in the engine when it becomes
//!   active (on the next request after that). Attaching an attached volume,
//!   or a Linode in another region, is a 400 with `field: "linode_id"`.
//! - Delete of an attached volume: when its Linode is `offline` it is
//!   detached and deleted (200 `{}`), as the recordings show; when the
//!   Linode is `running` it is a 400 ("Volume must be detached before it
//!   can be deleted.", the words of libcloud's own check). A volume that is
//!   still `creating` or `resizing` cannot be updated, resized, cloned or
//!   deleted (400) — the engine's lifecycle table.
//! - `config_id` (and linode_api4's `config`) are accepted and ignored: the
//!   fake has no Linode configs. `encryption` is kept and shown
//!   (`disabled` unless asked for, as the spec's default).
//! - Faults: each request that reaches an operation calls
//!   [`Engine::decide_fault`] once (`/regions` and `/volumes/types`, which are
//!   static, do not). `ErrorBefore`/`ErrorAfter` become that status with
//!   `{"errors": [{"reason": message}]}`; `RateLimited` a 429
//!   `{"errors": [{"reason": "Too many requests"}]}` with `Retry-After`;
//!   `Latency` a delayed answer; `DropConnection` a closed connection after
//!   the change when mounted with [`LinodeFake::mount`] (a 502 when the fake
//!   is used as a plain [`Respond`]er, which cannot close connections);
//!   `Stuck` and `LandInError` are applied by the engine.
//! - Optional per-token rate limiting ([`LinodeFakeBuilder::rate_limit`]):
//!   a fixed window on the engine's clock, with `X-RateLimit-Limit`,
//!   `X-RateLimit-Remaining`, `X-RateLimit-Reset` and, on the 429,
//!   `Retry-After`.

mod filter;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use volume_core::{
    CloneVolume, CreateVolume, Error, Instance, InstanceId, InstanceState, Labels, RegionId,
    ResourceKind, Size, UpdateVolume, Volume, VolumeId, VolumeState,
};
use wiremock::http::Method;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use self::filter::{Filter, FilterError};
use super::{handle_safely, retry_after_secs, Handler, Reply};
use crate::engine::{
    AttachedResize, ClockMode, Control, Delays, Engine, EngineConfig, Fault, IdStyle, Policy,
    Quota, SimOp,
};
use volume_core::time::format_naive_utc as naive_utc;

/// The token a fake accepts when none is configured; it acts for
/// [`DEFAULT_TENANT`].
pub const DEFAULT_TOKEN: &str = "volume-sim-linode-token";

/// The tenant [`DEFAULT_TOKEN`] acts for.
pub const DEFAULT_TENANT: &str = "default";

/// The regions a fake has unless told otherwise (real Linode region ids).
pub const DEFAULT_REGIONS: [&str; 4] = ["us-east", "us-ord", "eu-west", "ap-south"];

/// How long transitions take by default, on the engine's clock: two seconds
/// for `creating -> active` (create and clone) and `resizing -> active`;
/// attach, detach and delete are instant, as the recordings show them.
pub const DEFAULT_DELAYS: Delays = {
    let mut d = Delays::uniform(Duration::ZERO);
    d.create = Duration::from_secs(2);
    d.resize = Duration::from_secs(2);
    d
};

/// The path prefix a fake answers under (and `/v4beta`).
pub const PATH_PREFIX: &str = "/v4";

/// Smallest and largest volume, in GiB (linode.md §7).
const MIN_SIZE: u64 = 10;
const MAX_SIZE: u64 = 10_240;
const DEFAULT_SIZE: u64 = 20;
/// Page sizes (linode.md §4).
const MIN_PAGE_SIZE: u64 = 25;
const MAX_PAGE_SIZE: u64 = 500;
const DEFAULT_PAGE_SIZE: u64 = 100;

const VOLUME_FIELDS: &[&str] = &[
    "id",
    "label",
    "linode_id",
    "region",
    "size",
    "status",
    "tags",
];
const INSTANCE_FIELDS: &[&str] = &[
    "group", "id", "image", "ipv4", "label", "region", "status", "tags", "type",
];
const REGION_FIELDS: &[&str] = &["country", "id", "site_type", "status"];
const TYPE_FIELDS: &[&str] = &["id", "label", "transfer"];

/// Labels and countries of the real regions a fake may be given.
const KNOWN_REGIONS: &[(&str, &str, &str)] = &[
    ("us-east", "Newark, NJ", "us"),
    ("us-ord", "Chicago, IL", "us"),
    ("us-central", "Dallas, TX", "us"),
    ("us-west", "Fremont, CA", "us"),
    ("us-southeast", "Atlanta, GA", "us"),
    ("us-iad", "Washington, DC", "us"),
    ("us-lax", "Los Angeles, CA", "us"),
    ("us-mia", "Miami, FL", "us"),
    ("ca-central", "Toronto, CA", "ca"),
    ("eu-west", "London, UK", "gb"),
    ("gb-lon", "London 2, UK", "gb"),
    ("eu-central", "Frankfurt, DE", "de"),
    ("fr-par", "Paris, FR", "fr"),
    ("nl-ams", "Amsterdam, NL", "nl"),
    ("se-sto", "Stockholm, SE", "se"),
    ("es-mad", "Madrid, ES", "es"),
    ("it-mil", "Milan, IT", "it"),
    ("ap-south", "Singapore, SG", "sg"),
    ("ap-west", "Mumbai, IN", "in"),
    ("in-maa", "Chennai, IN", "in"),
    ("ap-northeast", "Tokyo, JP", "jp"),
    ("jp-osa", "Osaka, JP", "jp"),
    ("ap-southeast", "Sydney, AU", "au"),
    ("au-mel", "Melbourne, AU", "au"),
    ("id-cgk", "Jakarta, ID", "id"),
    ("br-gru", "Sao Paulo, BR", "br"),
];

/// Linode's volume label rule (linode.md §7): 2 to 32 characters, the first
/// an ASCII letter, the rest ASCII letters, digits, `-` and `_`, with no
/// `--` or `__`. The spec's pattern `^[a-zA-Z]((?!--|__)[a-zA-Z0-9-_])+$`
/// needs one character after the first, so the shortest label is 2
/// characters despite `minLength: 1`.
///
/// # Errors
/// The reason, in the words the fake sends as the 400's `reason`.
pub fn label_rule(label: &str) -> Result<(), String> {
    let len = label.chars().count();
    if !(2..=32).contains(&len) {
        return Err("Label must be between 2 and 32 characters.".to_owned());
    }
    if !label.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("Label must begin with a letter.".to_owned());
    }
    if !label
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "Label can only contain ASCII letters, numbers, dashes (-) and underscores (_)."
                .to_owned(),
        );
    }
    if label.contains("--") || label.contains("__") {
        return Err("Label must not contain two dashes or two underscores in a row.".to_owned());
    }
    Ok(())
}

/// The Linode [`Policy`]: what the engine enforces under this fake.
pub fn policy() -> Policy {
    Policy {
        provider: "linode",
        min_size: Size::gib(MIN_SIZE),
        max_size: Size::gib(MAX_SIZE),
        size_step: 1,
        default_size: Some(Size::gib(DEFAULT_SIZE)),
        name_rule: label_rule,
        unique_names: false,
        volume_types: &[],
        attached_resize: AttachedResize::Allowed,
        delete_with_snapshots: true,
        detach_needs_stopped: false,
        // Eight volumes per config (persist_across_boots, the default).
        max_attachments_per_instance: 8,
        snapshots: false,
        volume_from_snapshot: false,
        volume_from_snapshot_larger: false,
        clone: true,
        backups: false,
        incremental_backups: false,
        labels: true,
        id_style: IdStyle::Numeric,
        delays: DEFAULT_DELAYS,
        default_page_size: 100,
        max_page_size: 500,
        lifecycle: crate::engine::LINODE_LIFECYCLE,
    }
}

// ----- configuration --------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct RateLimit {
    limit: u32,
    window: Duration,
}

/// Builds a [`LinodeFake`]. `Debug` never shows the tokens.
#[must_use]
pub struct LinodeFakeBuilder {
    tokens: Vec<(String, String)>,
    engine: Option<Engine>,
    config: EngineConfig,
    clock: ClockMode,
    rate_limit: Option<RateLimit>,
    log_requests: bool,
}

impl fmt::Debug for LinodeFakeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinodeFakeBuilder")
            .field("tokens", &self.tokens.len())
            .field("regions", &self.config.regions)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl LinodeFakeBuilder {
    /// Accepts `token` as a bearer token acting for `tenant`. Several tokens
    /// may act for one tenant. Without any, [`DEFAULT_TOKEN`] acts for
    /// [`DEFAULT_TENANT`].
    pub fn token(mut self, token: impl Into<String>, tenant: impl Into<String>) -> Self {
        self.tokens.push((token.into(), tenant.into()));
        self
    }

    /// Serves `engine` instead of a new one (its policy, regions, clock and
    /// seed then apply, and the settings below that shape a new engine are
    /// ignored). Give it [`policy`] and numeric ids for Linode's rules.
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// The regions (Linode region ids; the default is [`DEFAULT_REGIONS`]).
    ///
    /// # Errors
    /// When a region id is not a valid id.
    pub fn regions<I, S>(mut self, regions: I) -> volume_core::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.regions = regions
            .into_iter()
            .map(RegionId::new)
            .collect::<volume_core::Result<_>>()?;
        Ok(self)
    }

    /// Instances seeded per region for each tenant (3 by default: the last
    /// of two or more is `offline`, the others `running`).
    pub fn instances_per_region(mut self, n: u32) -> Self {
        self.config.instances_per_region = n;
        self
    }

    /// The seed for faults at a rate.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Every tenant's quota.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.config.quota = quota;
        self
    }

    /// How long transitions take (default [`DEFAULT_DELAYS`]).
    pub fn delays(mut self, delays: Delays) -> Self {
        self.config.policy.delays = delays;
        self
    }

    /// How the engine's clock moves: [`ClockMode::Manual`] by default (tests
    /// step it), [`ClockMode::Wall`] when serving people.
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }

    /// At most `limit` authenticated requests per token per `window` of the
    /// engine's clock; more get a 429 with `Retry-After`. Off by default.
    pub fn rate_limit(mut self, limit: u32, window: Duration) -> Self {
        self.rate_limit = Some(RateLimit { limit, window });
        self
    }

    /// Prints one line per request (`METHOD path -> status`) to stderr.
    pub fn log_requests(mut self, on: bool) -> Self {
        self.log_requests = on;
        self
    }

    /// The fake.
    pub fn build(self) -> LinodeFake {
        let engine = self
            .engine
            .unwrap_or_else(|| Engine::with_clock(self.config, self.clock));
        let mut tokens: HashMap<String, String> = self.tokens.into_iter().collect();
        if tokens.is_empty() {
            tokens.insert(DEFAULT_TOKEN.to_owned(), DEFAULT_TENANT.to_owned());
        }
        LinodeFake {
            inner: Arc::new(Inner {
                engine,
                tokens,
                rate_limit: self.rate_limit,
                log_requests: self.log_requests,
                state: Mutex::default(),
            }),
        }
    }
}

// ----- the fake ---------------------------------------------------------------

/// The Linode API v4 volume endpoints, served from an [`Engine`].
///
/// Cheap to clone; clones serve the same cloud. Mount it on a
/// [`MockServer`] with [`mount`](Self::mount), start a server of its own
/// with [`start`](Self::start), or use it as a wiremock [`Respond`]er.
#[derive(Clone)]
pub struct LinodeFake {
    inner: Arc<Inner>,
}

impl fmt::Debug for LinodeFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinodeFake")
            .field("engine", &self.inner.engine)
            .field("tokens", &self.inner.tokens.len())
            .finish_non_exhaustive()
    }
}

impl Default for LinodeFake {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl LinodeFake {
    /// A builder: [`policy`], [`DEFAULT_REGIONS`], three instances per
    /// region, a manual clock.
    pub fn builder() -> LinodeFakeBuilder {
        LinodeFakeBuilder {
            tokens: Vec::new(),
            engine: None,
            config: EngineConfig {
                policy: policy(),
                regions: DEFAULT_REGIONS
                    .iter()
                    .filter_map(|r| RegionId::new(*r).ok())
                    .collect(),
                ..EngineConfig::default()
            },
            clock: ClockMode::Manual,
            rate_limit: None,
            log_requests: false,
        }
    }

    /// The engine underneath: step its clock, inject faults, look inside.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The tenant `token` acts for, if it is accepted.
    pub fn tenant_of(&self, token: &str) -> Option<&str> {
        self.inner.tokens.get(token).map(String::as_str)
    }

    /// Mounts the fake on `server` under `/v4` and `/v4beta`, at wiremock
    /// priorities 1 and 2 (mount other mocks on those paths above 2).
    pub async fn mount(&self, server: &MockServer) {
        let handler: Arc<dyn Handler> = Arc::clone(&self.inner) as Arc<dyn Handler>;
        super::mount(server, r"^/v4(beta)?(/.*)?$", handler).await;
    }

    /// A new [`MockServer`] on a free loopback port with the fake mounted
    /// (and a JSON 404 for every other path).
    pub async fn start(&self) -> MockServer {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        self.mount(&server).await;
        super::mount_not_found(&server).await;
        server
    }

    /// The base URL of the fake on `server`: `http://127.0.0.1:PORT/v4`.
    pub fn base_url(server: &MockServer) -> String {
        format!("{}{PATH_PREFIX}", server.uri())
    }
}

impl Respond for LinodeFake {
    /// Answers one request. A `DropConnection` fault cannot close the
    /// connection from here; it is answered 502 after the change (use
    /// [`LinodeFake::mount`] for real dropped connections).
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let reply = handle_safely(&*self.inner, request);
        if reply.drop_connection {
            let mut bad_gateway = error_reply(&ApiError::new(502, None, "Bad Gateway"));
            bad_gateway.delay = reply.delay;
            return bad_gateway.into_template();
        }
        reply.into_template()
    }
}

struct Inner {
    engine: Engine,
    tokens: HashMap<String, String>,
    rate_limit: Option<RateLimit>,
    log_requests: bool,
    state: Mutex<FakeState>,
}

/// What the fake keeps beside the engine: Linode-only fields of volumes,
/// attachments waiting for a volume to become active, rate-limit windows.
#[derive(Debug, Default)]
struct FakeState {
    volumes: HashMap<String, VolumeExtra>,
    windows: HashMap<String, Window>,
}

#[derive(Debug, Clone, Default)]
struct VolumeExtra {
    encryption_enabled: bool,
    updated: Option<SystemTime>,
    pending: Option<PendingAttach>,
}

#[derive(Debug, Clone)]
struct PendingAttach {
    tenant: String,
    instance: InstanceId,
    fault: Option<Fault>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Duration,
    count: u32,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Handler for Inner {
    fn handle(&self, request: &Request) -> Reply {
        let reply = self.answer(request);
        if self.log_requests {
            eprintln!(
                "linode  {} {}{} -> {}{}",
                request.method,
                request.url.path(),
                request
                    .url
                    .query()
                    .map_or_else(String::new, |q| format!("?{q}")),
                reply.status,
                if reply.drop_connection {
                    " (connection dropped)"
                } else {
                    ""
                }
            );
        }
        reply
    }

    fn internal_error(&self) -> Reply {
        error_reply(&ApiError::new(500, None, "Internal server error"))
    }
}

// ----- errors -----------------------------------------------------------------

/// A Linode error answer: a status and the entries of `errors`.
#[derive(Debug, Clone)]
struct ApiError {
    status: u16,
    errors: Vec<(Option<String>, String)>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: u16, field: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![(field.map(str::to_owned), reason.into())],
            retry_after: None,
        }
    }

    fn bad_request(field: &str, reason: impl Into<String>) -> Self {
        Self::new(400, Some(field), reason)
    }

    fn not_found() -> Self {
        Self::new(404, None, "Not found")
    }

    fn unauthorized() -> Self {
        Self::new(401, None, "Invalid Token")
    }

    fn too_many(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, None, "Too many requests")
        }
    }

    fn many(entries: Vec<(Option<String>, String)>) -> Self {
        Self {
            status: 400,
            errors: entries,
            retry_after: None,
        }
    }
}

fn error_reply(e: &ApiError) -> Reply {
    let mut errors: Vec<Value> = e
        .errors
        .iter()
        .map(|(field, reason)| {
            let mut m = Map::new();
            m.insert("reason".into(), Value::from(reason.as_str()));
            if let Some(f) = field {
                m.insert("field".into(), Value::from(f.as_str()));
            }
            Value::Object(m)
        })
        .collect();
    if errors.is_empty() {
        // linodego takes an error answer with no entries for a success.
        errors.push(json!({"reason": "Internal server error"}));
    }
    let reply = Reply::json(e.status, &json!({ "errors": errors }));
    match e.retry_after {
        Some(s) => reply.header("retry-after", s.to_string()),
        None => reply,
    }
}

/// The Linode name of a field the engine names in its own words.
fn wire_field(field: &str) -> &str {
    match field {
        "name" => "label",
        "instance_id" => "linode_id",
        "labels" => "tags",
        other => other,
    }
}

/// The Linode answer for an engine error raised by `op` on volume `id`.
fn from_core(e: Error, id: &str) -> ApiError {
    match e {
        Error::NotFound {
            kind: ResourceKind::Instance,
            ..
        } => ApiError::bad_request("linode_id", "Linode not found."),
        Error::NotFound { .. } => ApiError::not_found(),
        Error::AlreadyExists { .. } => {
            ApiError::bad_request("label", "Label must be unique among your Volumes.")
        }
        Error::InvalidState {
            kind,
            state,
            operation,
            ..
        } => ApiError::new(400, None, state_reason(kind, id, &state, operation)),
        Error::InvalidInput { field, reason, .. } => ApiError::bad_request(wire_field(&field), reason),
        Error::QuotaExceeded { message, .. } => ApiError::new(
            400,
            None,
            format!("Account limit reached ({message}). Please contact support describing your requirement."),
        ),
        Error::Unauthenticated { .. } => ApiError::unauthorized(),
        Error::PermissionDenied { .. } => ApiError::new(403, None, "Unauthorized"),
        Error::RateLimited { retry_after, .. } => {
            ApiError::too_many(retry_after.map_or(1, retry_after_secs))
        }
        Error::Unsupported { operation, .. } => {
            ApiError::new(400, None, format!("{operation} is not supported."))
        }
        other => ApiError::new(500, None, format!("Internal server error ({other})")),
    }
}

/// Why an operation is refused in a state, in Linode's terms.
fn state_reason(kind: ResourceKind, id: &str, state: &str, operation: &str) -> String {
    if kind == ResourceKind::Instance {
        return format!("Linode is {state}; it cannot {operation} now.");
    }
    let core = VolumeState::from_word(state);
    match (operation, &core) {
        ("attach_volume", VolumeState::InUse | VolumeState::Attaching) => {
            "Volume is already attached to a Linode.".to_owned()
        }
        ("detach_volume", VolumeState::Available) => {
            "Volume is not attached to a Linode.".to_owned()
        }
        // libcloud's driver words its own check like this.
        ("delete_volume", VolumeState::InUse) => {
            "Volume must be detached before it can be deleted.".to_owned()
        }
        _ => {
            let verb = match operation {
                "update_volume" => "updated",
                "attach_volume" => "attached",
                "detach_volume" => "detached",
                "resize_volume" => "resized",
                "clone_volume" => "cloned",
                "delete_volume" => "deleted",
                other => other,
            };
            format!(
                "Volume {id} is {}; it can be {verb} only when it is active.",
                status_word(&core)
            )
        }
    }
}

// ----- routing ----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Regions,
    Region(String),
    VolumeTypes,
    ListVolumes,
    CreateVolume,
    GetVolume(u64),
    UpdateVolume(u64),
    DeleteVolume(u64),
    Attach(u64),
    Detach(u64),
    Clone(u64),
    Resize(u64),
    ListInstances,
    GetInstance(u64),
    InstanceVolumes(u64),
}

impl Route {
    fn is_public(&self) -> bool {
        matches!(self, Self::Regions | Self::Region(_) | Self::VolumeTypes)
    }

    fn sim_op(&self) -> Option<SimOp> {
        Some(match self {
            Self::Regions | Self::Region(_) | Self::VolumeTypes => return None,
            Self::ListVolumes => SimOp::ListVolumes,
            Self::CreateVolume => SimOp::CreateVolume,
            Self::GetVolume(_) => SimOp::GetVolume,
            Self::UpdateVolume(_) => SimOp::UpdateVolume,
            Self::DeleteVolume(_) => SimOp::DeleteVolume,
            Self::Attach(_) => SimOp::AttachVolume,
            Self::Detach(_) => SimOp::DetachVolume,
            Self::Clone(_) => SimOp::CloneVolume,
            Self::Resize(_) => SimOp::ResizeVolume,
            Self::ListInstances | Self::GetInstance(_) | Self::InstanceVolumes(_) => {
                SimOp::ListInstances
            }
        })
    }

    /// The OAuth scopes the endpoint needs (linode.md §2), for the
    /// `X-Accepted-OAuth-Scopes` header.
    fn scopes(&self) -> &'static str {
        match self {
            Self::Regions | Self::Region(_) | Self::VolumeTypes => "*",
            Self::ListVolumes | Self::GetVolume(_) => "volumes:read_only",
            Self::Attach(_) | Self::Detach(_) => "volumes:read_write linodes:read_write",
            Self::ListInstances | Self::GetInstance(_) | Self::InstanceVolumes(_) => {
                "linodes:read_only"
            }
            _ => "volumes:read_write",
        }
    }
}

/// A path segment that is a Linode integer id.
fn int_id(seg: &str) -> Option<u64> {
    if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seg.parse().ok()
}

/// The route for `method` on the path below the version prefix.
fn route(method: &Method, segs: &[&str]) -> Result<Route, ApiError> {
    let read = *method == Method::GET || *method == Method::HEAD;
    let post = *method == Method::POST;
    let not_allowed = || ApiError::new(405, None, "Method Not Allowed");
    let id = |s: &str| int_id(s).ok_or_else(ApiError::not_found);
    match segs {
        ["regions"] if read => Ok(Route::Regions),
        ["regions", r] if read => Ok(Route::Region((*r).to_owned())),
        ["volumes"] if read => Ok(Route::ListVolumes),
        ["volumes"] if post => Ok(Route::CreateVolume),
        ["volumes", "types"] if read => Ok(Route::VolumeTypes),
        ["volumes", "types"] => Err(not_allowed()),
        ["volumes", v] => {
            let v = id(v)?;
            match *method {
                Method::GET | Method::HEAD => Ok(Route::GetVolume(v)),
                Method::PUT => Ok(Route::UpdateVolume(v)),
                Method::DELETE => Ok(Route::DeleteVolume(v)),
                _ => Err(not_allowed()),
            }
        }
        ["volumes", v, action @ ("attach" | "detach" | "clone" | "resize")] => {
            let v = id(v)?;
            if !post {
                return Err(not_allowed());
            }
            Ok(match *action {
                "attach" => Route::Attach(v),
                "detach" => Route::Detach(v),
                "clone" => Route::Clone(v),
                _ => Route::Resize(v),
            })
        }
        ["linode", "instances"] if read => Ok(Route::ListInstances),
        ["linode", "instances", l] if read => Ok(Route::GetInstance(id(l)?)),
        ["linode", "instances", l, "volumes"] if read => Ok(Route::InstanceVolumes(id(l)?)),
        ["regions"]
        | ["regions", _]
        | ["volumes"]
        | ["linode", "instances"]
        | ["linode", "instances", _]
        | ["linode", "instances", _, "volumes"] => Err(not_allowed()),
        _ => Err(ApiError::not_found()),
    }
}

/// The segments below `/v4` or `/v4beta`, or `None` for another path. A
/// trailing slash is ignored.
fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path
        .strip_prefix("/v4beta")
        .or_else(|| path.strip_prefix("/v4"))?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let rest = rest.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    Some(rest.split('/').collect())
}

// ----- pagination -----------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct PageQuery {
    /// `None`: past 2^64 / page_size, which gets the last page.
    page: Option<u64>,
    size: u64,
}

fn page_query(request: &Request) -> Result<PageQuery, ApiError> {
    let mut page = None;
    let mut size = None;
    for (k, v) in request.url.query_pairs() {
        match &*k {
            "page" => page = Some(v.into_owned()),
            "page_size" => size = Some(v.into_owned()),
            _ => {}
        }
    }
    let size = match size {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => match int_id(&s) {
            Some(n) if (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "page_size",
                    format!(
                        "page_size must be an integer between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}."
                    ),
                ))
            }
        },
    };
    let bad_page = || {
        ApiError::bad_request(
            "page",
            "page must be an integer greater than or equal to 1.",
        )
    };
    let page = match page {
        None => Some(1),
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => return Err(bad_page()),
        Some(p) => match p.parse::<u64>() {
            Ok(0) => return Err(bad_page()),
            Ok(n) if n <= u64::MAX / size => Some(n),
            // Too big for a u64, or past 2^64 / page_size: the last page.
            _ if p.trim_start_matches('0').is_empty() => return Err(bad_page()),
            _ => None,
        },
    };
    Ok(PageQuery { page, size })
}

/// Linode's envelope: `data`, `page`, `pages`, `results`.
fn envelope(items: Vec<Value>, q: PageQuery) -> Value {
    let results = items.len() as u64;
    let pages = results.div_ceil(q.size).max(1);
    let page = q.page.unwrap_or(pages);
    let skip = usize::try_from((page - 1).saturating_mul(q.size)).unwrap_or(usize::MAX);
    let take = usize::try_from(q.size).unwrap_or(usize::MAX);
    let data: Vec<Value> = items.into_iter().skip(skip).take(take).collect();
    json!({"data": data, "page": page, "pages": pages, "results": results})
}

/// Filters, orders and pages `items` as the request asks.
fn list(request: &Request, fields: &[&str], items: Vec<Value>) -> Result<Value, ApiError> {
    let filter = parse_filter(request, fields)?;
    let q = page_query(request)?;
    Ok(filtered(items, &filter, q))
}

fn filtered(items: Vec<Value>, filter: &Filter, q: PageQuery) -> Value {
    let mut items: Vec<Value> = items.into_iter().filter(|i| filter.matches(i)).collect();
    filter.sort(&mut items);
    envelope(items, q)
}

fn parse_filter(request: &Request, fields: &[&str]) -> Result<Filter, ApiError> {
    let raw = request.headers.get("x-filter").map(|v| v.as_bytes());
    Filter::parse(raw, fields)
        .map_err(|FilterError(reason)| ApiError::bad_request("X-Filter", reason))
}

// ----- request bodies ---------------------------------------------------------------

type Entry = (Option<String>, String);

fn entry(field: &str, reason: impl Into<String>) -> Entry {
    (Some(field.to_owned()), reason.into())
}

/// The JSON object a request carries; an empty body is an empty object.
fn body_object(request: &Request) -> Result<Map<String, Value>, ApiError> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            400,
            None,
            "Request body must be a JSON object.",
        )),
        Err(_) => Err(ApiError::new(400, None, "Invalid JSON")),
    }
}

/// A string field; `null` is absent.
fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Entry> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(entry(key, format!("{key} must be a string."))),
    }
}

/// An integer field (wide enough to tell negative and huge values apart);
/// `null` is absent.
fn int_field(obj: &Map<String, Value>, key: &str) -> Result<Option<i128>, Entry> {
    let not_int = || entry(key, format!("{key} must be an integer."));
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(i128::from(u)))
            } else if let Some(i) = n.as_i64() {
                Ok(Some(i128::from(i)))
            } else {
                match n.as_f64() {
                    // A whole number too big for 64 bits: out of every range.
                    #[allow(clippy::cast_possible_truncation)]
                    Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i128)),
                    _ => Err(not_int()),
                }
            }
        }
        Some(_) => Err(not_int()),
    }
}

fn bool_field(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, Entry> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(entry(key, format!("{key} must be a boolean."))),
    }
}

/// `tags`: an array of strings; `null` is absent.
fn tags_field(obj: &Map<String, Value>) -> Result<Option<Labels>, Entry> {
    match obj.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let mut labels = Labels::new();
            for item in items {
                match item {
                    Value::String(t) if !t.is_empty() && t.chars().count() <= 50 => {
                        labels.insert(t.clone(), String::new());
                    }
                    Value::String(_) => {
                        return Err(entry("tags", "Tags must be between 1 and 50 characters."))
                    }
                    _ => return Err(entry("tags", "tags must be an array of strings.")),
                }
            }
            Ok(Some(labels))
        }
        Some(_) => Err(entry("tags", "tags must be an array of strings.")),
    }
}

/// A volume size in the request, checked against 10..=10240.
fn size_field(obj: &Map<String, Value>, required: bool) -> Result<Option<u64>, Entry> {
    match int_field(obj, "size")? {
        None if required => Err(entry("size", "size is required.")),
        None => Ok(None),
        Some(n) if (i128::from(MIN_SIZE)..=i128::from(MAX_SIZE)).contains(&n) => {
            Ok(u64::try_from(n).ok())
        }
        Some(_) => Err(entry(
            "size",
            format!("Size must be between {MIN_SIZE} and {MAX_SIZE}."),
        )),
    }
}

/// A Linode id in the request body.
fn linode_id_field(obj: &Map<String, Value>, key: &str) -> Result<Option<InstanceId>, Entry> {
    match int_field(obj, key)? {
        None => Ok(None),
        Some(n) if n >= 0 => InstanceId::new(n.to_string())
            .map(Some)
            .map_err(|_| entry(key, format!("{key} is not valid."))),
        Some(_) => Err(entry(key, format!("{key} is not valid."))),
    }
}

fn label_field(obj: &Map<String, Value>, required: bool) -> Result<Option<String>, Entry> {
    match str_field(obj, "label")? {
        None if required => Err(entry("label", "Label is required.")),
        None => Ok(None),
        Some(l) => label_rule(l)
            .map(|()| Some(l.to_owned()))
            .map_err(|reason| entry("label", reason)),
    }
}

/// Collects one field's outcome, keeping the error for the 400.
fn keep<T>(r: Result<T, Entry>, errors: &mut Vec<Entry>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

// ----- wire JSON ------------------------------------------------------------------------

/// The wire form of an engine id: the integer when it is one.
fn num(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::from(id), Value::from)
}

/// Linode's word for a core volume state.
fn status_word(state: &VolumeState) -> &str {
    match state {
        VolumeState::Creating => "creating",
        VolumeState::Resizing => "resizing",
        VolumeState::Available
        | VolumeState::InUse
        | VolumeState::Attaching
        | VolumeState::Detaching
        | VolumeState::Snapshotting
        | VolumeState::BackingUp
        | VolumeState::Restoring
        | VolumeState::Deleting => "active",
        VolumeState::Unknown(word) => word,
        _ => "contact_support",
    }
}

fn tags_of(labels: &Labels) -> Vec<Value> {
    labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                Value::from(k.as_str())
            } else {
                Value::from(format!("{k}={v}"))
            }
        })
        .collect()
}

fn instance_status(state: &InstanceState) -> String {
    match state {
        InstanceState::Running => "running".to_owned(),
        InstanceState::Stopped => "offline".to_owned(),
        other => other.to_string(),
    }
}

/// A volume as Linode shows it (linode.md §7 and the recordings).
fn volume_json(c: &Control, st: &FakeState, tenant: &str, v: &Volume) -> Value {
    let extra = st.volumes.get(v.id.as_str());
    let pending = extra.and_then(|e| e.pending.as_ref()).map(|p| &p.instance);
    let attached = v.attached_to().or(pending);
    let linode_label = attached
        .and_then(|i| c.instance(tenant, i).ok())
        .map(|i| i.name);
    let created = v
        .created_at
        .unwrap_or_else(|| c.system_time(Duration::ZERO));
    let updated = extra
        .and_then(|e| e.updated)
        .unwrap_or(created)
        .max(created);
    let io_ready =
        v.attached_to().is_some() && matches!(v.state, VolumeState::InUse | VolumeState::Resizing);
    json!({
        "id": num(v.id.as_str()),
        "label": v.name,
        "status": status_word(&v.state),
        "size": v.size.as_gib(),
        "region": v.region.as_str(),
        "linode_id": attached.map(|i| num(i.as_str())),
        "linode_label": linode_label,
        "filesystem_path": format!("/dev/disk/by-id/scsi-0Linode_Volume_{}", v.name),
        "tags": tags_of(&v.labels),
        "hardware_type": "nvme",
        "encryption": if extra.is_some_and(|e| e.encryption_enabled) { "enabled" } else { "disabled" },
        "created": naive_utc(created),
        "updated": naive_utc(updated),
        "io_ready": io_ready,
        "locks": [],
    })
}

/// A small number from an id, for addresses that differ per instance.
fn low_byte(id: &str) -> u64 {
    id.parse::<u64>().map_or(0, |n| n % 250 + 2)
}

/// A 64-bit mix (splitmix64), for made-up values that differ per instance.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A Linode instance (`GET /linode/instances/{id}`, SPEC-10 and recordings).
fn instance_json(c: &Control, i: &Instance) -> Value {
    let n = low_byte(i.id.as_str());
    let seq = i.id.as_str().parse::<u64>().unwrap_or(0);
    let at = naive_utc(c.system_time(Duration::ZERO));
    json!({
        "id": num(i.id.as_str()),
        "label": i.name,
        "group": "",
        "status": instance_status(&i.state),
        "created": at,
        "updated": at,
        "type": "g6-standard-1",
        "ipv4": [format!("203.0.113.{n}")],
        "ipv6": format!("2001:db8::{n:x}/128"),
        "image": "linode/debian12",
        "region": i.region.as_str(),
        "site_type": "core",
        "specs": {"disk": 51_200, "memory": 2048, "vcpus": 1, "gpus": 0, "transfer": 2000, "accelerated_devices": 0},
        "alerts": {"cpu": 90, "network_in": 10, "network_out": 10, "transfer_quota": 80, "io": 10_000, "system_alerts": [], "user_alerts": []},
        "backups": {"enabled": false, "available": false, "schedule": {"day": null, "window": null}, "last_successful": null},
        "hypervisor": "kvm",
        "watchdog_enabled": true,
        "tags": [],
        "host_uuid": format!("{:016x}{:016x}{:08x}", mix(seq), mix(seq ^ 0x55), mix(seq ^ 0xaa) >> 32),
        "has_user_data": false,
        "placement_group": null,
        "disk_encryption": "disabled",
        "lke_cluster_id": null,
        "capabilities": ["Block Storage Encryption"],
        "interface_generation": "legacy_config",
        "maintenance_policy": "linode/migrate",
        "locks": [],
    })
}

/// A region (`GET /regions`, SPEC-10 and recordings).
fn region_json(id: &str) -> Value {
    let (label, country) = KNOWN_REGIONS
        .iter()
        .find(|(r, _, _)| *r == id)
        .map_or((id, "us"), |(_, l, c)| (*l, *c));
    json!({
        "id": id,
        "label": label,
        "country": country,
        "capabilities": ["Linodes", "Block Storage", "Block Storage Encryption", "Block Storage Migrations", "Object Storage", "NodeBalancers", "Cloud Firewall", "Vlans", "VPCs", "Metadata", "Placement Group"],
        "monitors": {"alerts": ["Managed Databases", "NodeBalancers"], "metrics": ["Managed Databases", "NodeBalancers"]},
        "status": "ok",
        "resolvers": {"ipv4": "192.0.2.10,192.0.2.11,192.0.2.12", "ipv6": "2001:db8::10,2001:db8::11,2001:db8::12"},
        "placement_group_limits": {"maximum_pgs_per_customer": null, "maximum_linodes_per_pg": 5, "maximum_linodes_per_flexible_pg": 5},
        "site_type": "core",
    })
}

/// The volume type and its prices (`GET /volumes/types`, as recorded).
fn volume_types() -> Vec<Value> {
    vec![json!({
        "id": "volume",
        "label": "Storage Volume",
        "price": {"hourly": 0.00015, "monthly": 0.1},
        "region_prices": [
            {"id": "id-cgk", "hourly": 0.00018, "monthly": 0.12},
            {"id": "br-gru", "hourly": 0.00021, "monthly": 0.14},
        ],
        "transfer": 0,
    })]
}

// ----- the request pipeline ---------------------------------------------------------------

fn volume_id(n: u64) -> VolumeId {
    VolumeId::new(n.to_string()).unwrap_or_else(|_| unreachable!("digits are a valid id"))
}

fn instance_id(n: u64) -> InstanceId {
    InstanceId::new(n.to_string()).unwrap_or_else(|_| unreachable!("digits are a valid id"))
}

/// Response headers every answer carries (as recorded on real traffic).
fn common_headers(reply: Reply) -> Reply {
    reply
        .header("access-control-allow-credentials", "true")
        .header(
            "access-control-allow-headers",
            "Authorization, Origin, X-Requested-With, Content-Type, Accept, X-Filter",
        )
        .header(
            "access-control-allow-methods",
            "HEAD, GET, OPTIONS, POST, PUT, DELETE",
        )
        .header("access-control-allow-origin", "*")
        .header(
            "access-control-expose-headers",
            "X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Status",
        )
        .header("cache-control", "max-age=0, no-cache, no-store")
        .header("vary", "Authorization, X-Filter")
}

impl Inner {
    fn answer(&self, request: &Request) -> Reply {
        common_headers(match self.answer_inner(request) {
            Ok(reply) => reply,
            Err(e) => error_reply(&e),
        })
    }

    fn answer_inner(&self, request: &Request) -> Result<Reply, ApiError> {
        let segs = segments(request.url.path()).ok_or_else(ApiError::not_found)?;
        if request.method == Method::OPTIONS {
            // Pre-flight: any known path, no token needed.
            return route(&Method::GET, &segs)
                .or_else(|_| route(&Method::POST, &segs))
                .or_else(|_| route(&Method::PUT, &segs))
                .or_else(|_| route(&Method::DELETE, &segs))
                .map(|_| Reply::json(200, &json!({})));
        }
        let route = route(&request.method, &segs)?;
        if route.is_public() {
            return self
                .public(&route, request)
                .map(|v| Reply::json(200, &v).header("x-accepted-oauth-scopes", "*"));
        }
        let token = bearer(request).ok_or_else(ApiError::unauthorized)?;
        let tenant = self
            .tokens
            .get(token)
            .ok_or_else(ApiError::unauthorized)?
            .clone();
        let limits = self.check_rate(token)?;
        let fault = route.sim_op().and_then(|op| self.engine.decide_fault(op));
        let mut delay = None;
        match &fault {
            Some(Fault::Latency(d)) => delay = Some(*d),
            Some(Fault::ErrorBefore { status, message }) => {
                return Err(injected(*status, message));
            }
            Some(Fault::RateLimited { retry_after }) => {
                return Err(ApiError::too_many(retry_after_secs(*retry_after)));
            }
            _ => {}
        }
        let outcome = self.engine.with(|c| {
            c.ensure_tenant(&tenant);
            let mut st = self.state();
            reconcile(c, &mut st);
            let mut op = Op {
                c,
                st: &mut st,
                tenant: &tenant,
                fault: fault.as_ref(),
            };
            op.run(&route, request)
        });
        let body = outcome?;
        let mut reply = match &fault {
            Some(Fault::ErrorAfter { status, message }) => return Err(injected(*status, message)),
            Some(Fault::DropConnection) => {
                let mut r = Reply::json(200, &body);
                r.drop_connection = true;
                r
            }
            _ => Reply::json(200, &body),
        };
        reply.delay = delay;
        reply = reply
            .header("x-accepted-oauth-scopes", route.scopes())
            .header("x-oauth-scopes", "*");
        if let Some((limit, remaining, reset)) = limits {
            reply = reply
                .header("x-ratelimit-limit", limit.to_string())
                .header("x-ratelimit-remaining", remaining.to_string())
                .header("x-ratelimit-reset", reset.to_string());
        }
        Ok(reply)
    }

    /// The endpoints that need no token.
    fn public(&self, route: &Route, request: &Request) -> Result<Value, ApiError> {
        match route {
            Route::Regions => {
                let items = self.engine.with(|c| {
                    c.regions()
                        .iter()
                        .map(|r| region_json(r.as_str()))
                        .collect()
                });
                list(request, REGION_FIELDS, items)
            }
            Route::Region(id) => {
                let known = self
                    .engine
                    .with(|c| c.regions().iter().any(|r| r.as_str() == id));
                if known {
                    Ok(region_json(id))
                } else {
                    Err(ApiError::not_found())
                }
            }
            _ => list(request, TYPE_FIELDS, volume_types()),
        }
    }

    /// Counts a request against `token`'s window: `Some((limit, remaining,
    /// reset))` when limits are on, a 429 when the window is full.
    fn check_rate(&self, token: &str) -> Result<Option<(u32, u32, u64)>, ApiError> {
        let Some(RateLimit { limit, window }) = self.rate_limit else {
            return Ok(None);
        };
        let now = self.engine.now();
        let reset_at = |start: Duration| {
            let at = self
                .engine
                .with(|c| c.system_time(start.saturating_add(window)));
            at.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let mut st = self.state();
        let w = st.windows.entry(token.to_owned()).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= w.start.saturating_add(window) {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        if w.count >= limit {
            let wait = w.start.saturating_add(window).saturating_sub(now);
            return Err(ApiError::too_many(retry_after_secs(wait).max(1)));
        }
        w.count += 1;
        let (remaining, start) = (limit - w.count, w.start);
        drop(st);
        Ok(Some((limit, remaining, reset_at(start))))
    }
}

/// The bearer token of a request.
fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// An injected error in Linode's shape.
fn injected(status: u16, message: &str) -> ApiError {
    let status = if (400..=599).contains(&status) {
        status
    } else {
        500
    };
    let reason = if message.trim().is_empty() {
        "Internal server error"
    } else {
        message
    };
    ApiError::new(status, None, reason)
}

/// Applies attachments that waited for their volume to leave `creating`.
fn reconcile(c: &mut Control, st: &mut FakeState) {
    let waiting: Vec<String> = st
        .volumes
        .iter()
        .filter(|(_, e)| e.pending.is_some())
        .map(|(id, _)| id.clone())
        .collect();
    for id in waiting {
        let Some(p) = st.volumes.get(&id).and_then(|e| e.pending.clone()) else {
            continue;
        };
        let Ok(vid) = VolumeId::new(id.clone()) else {
            continue;
        };
        match c.get_volume(&p.tenant, &vid) {
            Ok(v) if v.state == VolumeState::Creating => {}
            Ok(v) => {
                if v.state == VolumeState::Available {
                    // The attach was accepted already; if it fails now (the
                    // Linode went away) the volume simply stays detached.
                    let _ = c.attach_volume(&p.tenant, &vid, &p.instance, p.fault.as_ref());
                }
                if let Some(e) = st.volumes.get_mut(&id) {
                    e.pending = None;
                }
            }
            Err(_) => {
                st.volumes.remove(&id);
            }
        }
    }
}

/// One authenticated operation, run with the engine's lock held.
struct Op<'a> {
    c: &'a mut Control,
    st: &'a mut FakeState,
    tenant: &'a str,
    fault: Option<&'a Fault>,
}

impl Op<'_> {
    fn now(&self) -> SystemTime {
        self.c.system_time(self.c.now())
    }

    fn volume(&self, id: u64) -> Result<Volume, ApiError> {
        self.c
            .get_volume(self.tenant, &volume_id(id))
            .map_err(|_| ApiError::not_found())
    }

    fn render(&self, v: &Volume) -> Value {
        volume_json(self.c, self.st, self.tenant, v)
    }

    fn touch(&mut self, id: &VolumeId) {
        let now = self.now();
        self.st.volumes.entry(id.to_string()).or_default().updated = Some(now);
    }

    fn run(&mut self, route: &Route, request: &Request) -> Result<Value, ApiError> {
        match route {
            Route::ListVolumes => {
                let filter = parse_filter(request, VOLUME_FIELDS)?;
                let q = page_query(request)?;
                let items = self
                    .c
                    .all_volumes(self.tenant)
                    .iter()
                    .map(|v| self.render(v))
                    .collect();
                Ok(filtered(items, &filter, q))
            }
            Route::GetVolume(id) => {
                let v = self.volume(*id)?;
                Ok(self.render(&v))
            }
            Route::CreateVolume => self.create(request),
            Route::UpdateVolume(id) => self.update(*id, request),
            Route::DeleteVolume(id) => self.delete(*id),
            Route::Attach(id) => self.attach(*id, request),
            Route::Detach(id) => self.detach(*id),
            Route::Clone(id) => self.clone_volume(*id, request),
            Route::Resize(id) => self.resize(*id, request),
            Route::ListInstances => {
                let filter = parse_filter(request, INSTANCE_FIELDS)?;
                let q = page_query(request)?;
                let items = self
                    .c
                    .all_instances(self.tenant)
                    .iter()
                    .map(|i| instance_json(self.c, i))
                    .collect();
                Ok(filtered(items, &filter, q))
            }
            Route::GetInstance(id) => self
                .c
                .instance(self.tenant, &instance_id(*id))
                .map(|i| instance_json(self.c, &i))
                .map_err(|_| ApiError::not_found()),
            Route::InstanceVolumes(id) => {
                let filter = parse_filter(request, VOLUME_FIELDS)?;
                let q = page_query(request)?;
                let linode = instance_id(*id);
                self.c
                    .instance(self.tenant, &linode)
                    .map_err(|_| ApiError::not_found())?;
                let want = Value::from(*id);
                let items = self
                    .c
                    .all_volumes(self.tenant)
                    .iter()
                    .map(|v| self.render(v))
                    .filter(|v| v["linode_id"] == want)
                    .collect();
                Ok(filtered(items, &filter, q))
            }
            Route::Regions | Route::Region(_) | Route::VolumeTypes => Err(ApiError::not_found()),
        }
    }

    fn create(&mut self, request: &Request) -> Result<Value, ApiError> {
        let body = body_object(request)?;
        let mut errors = Vec::new();
        let label = keep(label_field(&body, true), &mut errors).flatten();
        let size = keep(size_field(&body, false), &mut errors)
            .flatten()
            .unwrap_or(DEFAULT_SIZE);
        let region = keep(str_field(&body, "region"), &mut errors).flatten();
        let linode = keep(linode_id_field(&body, "linode_id"), &mut errors).flatten();
        let config = keep(int_field(&body, "config_id"), &mut errors).flatten();
        let labels = keep(tags_field(&body), &mut errors).flatten();
        let encryption = keep(str_field(&body, "encryption"), &mut errors).flatten();
        let encryption_enabled = match encryption {
            None | Some("disabled") => false,
            Some("enabled") => true,
            Some(_) => {
                errors.push(entry(
                    "encryption",
                    "encryption must be \"enabled\" or \"disabled\".",
                ));
                false
            }
        };
        if config.is_some()
            && linode.is_none()
            && !errors.iter().any(|e| e.0.as_deref() == Some("linode_id"))
        {
            errors.push(entry(
                "config_id",
                "config_id can only be given with linode_id.",
            ));
        }
        let instance = match &linode {
            Some(l) => match self.c.instance(self.tenant, l) {
                Ok(i) => Some(i),
                Err(_) => {
                    errors.push(entry("linode_id", "Linode not found."));
                    None
                }
            },
            None => None,
        };
        let region = match (region, &instance) {
            (Some(r), _) if !self.c.regions().iter().any(|k| k.as_str() == r) => {
                errors.push(entry("region", "region is not valid"));
                None
            }
            (Some(r), Some(i)) if i.region.as_str() != r => {
                errors.push(entry(
                    "region",
                    "Volume and Linode must be in the same region.",
                ));
                None
            }
            (Some(r), _) => RegionId::new(r).ok(),
            (None, Some(i)) => Some(i.region.clone()),
            (None, None) => {
                if linode.is_none() && !errors.iter().any(|e| e.0.as_deref() == Some("linode_id")) {
                    errors.push(entry(
                        "region",
                        "region is required when linode_id is not given.",
                    ));
                }
                None
            }
        };
        if !errors.is_empty() {
            return Err(ApiError::many(errors));
        }
        let (Some(label), Some(region)) = (label, region) else {
            return Err(ApiError::new(400, None, "Invalid request."));
        };
        let mut req = CreateVolume::new(label, Size::gib(size))
            .with_region(region)
            .with_labels(labels.unwrap_or_default());
        if let Some(i) = instance {
            req = req.with_attach_to(i.id);
        }
        let v = self
            .c
            .create_volume(self.tenant, &req, self.fault)
            .map_err(|e| from_core(e, ""))?;
        let now = self.now();
        self.st.volumes.insert(
            v.id.to_string(),
            VolumeExtra {
                encryption_enabled,
                updated: Some(now),
                pending: None,
            },
        );
        Ok(self.render(&v))
    }

    fn update(&mut self, id: u64, request: &Request) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let mut errors = Vec::new();
        let label = keep(label_field(&body, false), &mut errors).flatten();
        let labels = keep(tags_field(&body), &mut errors).flatten();
        if !errors.is_empty() {
            return Err(ApiError::many(errors));
        }
        if label.is_none() && labels.is_none() {
            return Ok(self.render(&v));
        }
        let mut req = UpdateVolume::new();
        if let Some(l) = label {
            req = req.with_name(l);
        }
        if let Some(t) = labels {
            req = req.with_labels(t);
        }
        let v = self
            .c
            .update_volume(self.tenant, &v.id, &req)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(self.render(&v))
    }

    fn delete(&mut self, id: u64) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        // Recorded: a volume attached to an offline Linode is deleted
        // without a detach first.
        if v.state == VolumeState::InUse {
            let offline = v.attachments.iter().all(|a| {
                self.c
                    .instance(self.tenant, &a.instance)
                    .is_ok_and(|i| i.state != InstanceState::Running)
            });
            if offline {
                self.c
                    .detach_volume(self.tenant, &v.id, None)
                    .map_err(|e| from_core(e, v.id.as_str()))?;
            }
        }
        self.c
            .delete_volume(self.tenant, &v.id, self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        if self.c.get_volume(self.tenant, &v.id).is_err() {
            self.st.volumes.remove(v.id.as_str());
        }
        Ok(json!({}))
    }

    fn attach(&mut self, id: u64, request: &Request) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let mut errors = Vec::new();
        let linode = keep(linode_id_field(&body, "linode_id"), &mut errors).flatten();
        let config = keep(int_field(&body, "config_id"), &mut errors).flatten();
        let config_alias = keep(int_field(&body, "config"), &mut errors).flatten();
        let persist = keep(bool_field(&body, "persist_across_boots"), &mut errors).flatten();
        if linode.is_none() && errors.is_empty() {
            errors.push(entry("linode_id", "linode_id is required."));
        }
        if persist == Some(false) && (config.is_some() || config_alias.is_some()) {
            errors.push(entry(
                "config_id",
                "config_id must not be given when persist_across_boots is false.",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::many(errors));
        }
        let Some(linode) = linode else {
            return Err(ApiError::bad_request("linode_id", "linode_id is required."));
        };
        let instance = self
            .c
            .instance(self.tenant, &linode)
            .map_err(|_| ApiError::bad_request("linode_id", "Linode not found."))?;
        let pending = self
            .st
            .volumes
            .get(v.id.as_str())
            .is_some_and(|e| e.pending.is_some());
        if !v.attachments.is_empty() || pending {
            return Err(ApiError::bad_request(
                "linode_id",
                "Volume is already attached to a Linode.",
            ));
        }
        if instance.region != v.region {
            return Err(ApiError::bad_request(
                "linode_id",
                "Volume and Linode must be in the same region.",
            ));
        }
        if persist == Some(false) && instance.state != InstanceState::Running {
            return Err(ApiError::bad_request("linode_id", "Linode is not active"));
        }
        if v.state == VolumeState::Creating {
            // Accepted while creating (recorded); applied once active.
            let extra = self.st.volumes.entry(v.id.to_string()).or_default();
            extra.pending = Some(PendingAttach {
                tenant: self.tenant.to_owned(),
                instance: instance.id,
                fault: self.fault.cloned(),
            });
            self.touch(&v.id);
            return Ok(self.render(&v));
        }
        let v = self
            .c
            .attach_volume(self.tenant, &v.id, &instance.id, self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(self.render(&v))
    }

    fn detach(&mut self, id: u64) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        if let Some(extra) = self.st.volumes.get_mut(v.id.as_str()) {
            if extra.pending.take().is_some() {
                self.touch(&v.id);
                return Ok(json!({}));
            }
        }
        if v.attachments.is_empty() {
            return Err(ApiError::new(
                400,
                None,
                "Volume is not attached to a Linode.",
            ));
        }
        self.c
            .detach_volume(self.tenant, &v.id, self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(json!({}))
    }

    fn clone_volume(&mut self, id: u64, request: &Request) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let label = label_field(&body, true)
            .map_err(|e| ApiError::many(vec![e]))?
            .unwrap_or_default();
        let clone = self
            .c
            .clone_volume(self.tenant, &v.id, &CloneVolume::new(label), self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        let encryption_enabled = self
            .st
            .volumes
            .get(v.id.as_str())
            .is_some_and(|e| e.encryption_enabled);
        let now = self.now();
        self.st.volumes.insert(
            clone.id.to_string(),
            VolumeExtra {
                encryption_enabled,
                updated: Some(now),
                pending: None,
            },
        );
        Ok(self.render(&clone))
    }

    fn resize(&mut self, id: u64, request: &Request) -> Result<Value, ApiError> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let size = size_field(&body, true)
            .map_err(|e| ApiError::many(vec![e]))?
            .unwrap_or(0);
        if size <= v.size.as_gib() {
            return Err(ApiError::bad_request(
                "size",
                format!(
                    "Volumes can only be resized up (from {} GiB).",
                    v.size.as_gib()
                ),
            ));
        }
        let v = self
            .c
            .resize_volume(self.tenant, &v.id, Size::gib(size), self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(self.render(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_reference() {
        for ok in ["ab", "my-volume", "a_b-c", "A1", &"x".repeat(32)] {
            assert_eq!(label_rule(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "1abc",
            "-abc",
            "a--b",
            "a__b",
            "a b",
            "vol.1",
            "é-vol",
            &"x".repeat(33),
        ] {
            assert!(label_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes() {
        let r = |m: Method, p: &str| {
            segments(p)
                .ok_or_else(ApiError::not_found)
                .and_then(|s| route(&m, &s))
        };
        assert_eq!(r(Method::GET, "/v4/volumes").unwrap(), Route::ListVolumes);
        assert_eq!(
            r(Method::GET, "/v4beta/volumes/").unwrap(),
            Route::ListVolumes
        );
        assert_eq!(
            r(Method::POST, "/v4/volumes/12/attach").unwrap(),
            Route::Attach(12)
        );
        assert_eq!(
            r(Method::GET, "/v4/volumes/types").unwrap(),
            Route::VolumeTypes
        );
        assert_eq!(r(Method::GET, "/v4/volumes/+12").unwrap_err().status, 404);
        assert_eq!(r(Method::GET, "/v4/volumes/-1").unwrap_err().status, 404);
        assert_eq!(
            r(Method::GET, "/v4/volumes/99999999999999999999999")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(r(Method::PATCH, "/v4/volumes/1").unwrap_err().status, 405);
        assert_eq!(
            r(Method::GET, "/v4/volumes/1/attach").unwrap_err().status,
            405
        );
        assert_eq!(r(Method::DELETE, "/v4/volumes").unwrap_err().status, 405);
        assert_eq!(r(Method::GET, "/v4x/volumes").unwrap_err().status, 404);
        assert_eq!(
            r(Method::GET, "/v4/linode/instances/7/volumes").unwrap(),
            Route::InstanceVolumes(7)
        );
    }

    #[test]
    fn states_in_linode_words() {
        assert_eq!(status_word(&VolumeState::Creating), "creating");
        assert_eq!(status_word(&VolumeState::InUse), "active");
        assert_eq!(status_word(&VolumeState::Available), "active");
        assert_eq!(status_word(&VolumeState::Resizing), "resizing");
        assert_eq!(status_word(&VolumeState::Error), "contact_support");
        assert_eq!(status_word(&VolumeState::ErrorResizing), "contact_support");
        assert_eq!(
            status_word(&VolumeState::Unknown("key_rotating".into())),
            "key_rotating"
        );
    }

    #[test]
    fn the_policy_is_consistent() {
        let p = policy();
        assert_eq!(p.check_size(Size::gib(10)), Ok(()));
        assert_eq!(p.check_size(Size::gib(10_240)), Ok(()));
        assert!(p.check_size(Size::gib(9)).is_err());
        assert!(p.check_size(Size::gib(10_241)).is_err());
        let caps = p.capabilities();
        assert!(caps.clone);
        assert!(!caps.snapshots);
    }
}

//! The Exoscale API v2 block-storage dialect, served from the engine.
//!
//! [`ExoscaleFake`] answers the block-storage endpoints of
//! `https://api-{zone}.exoscale.com/v2` the way the API does, per the wire
//! reference `api/exoscale.md` and the spec subset beside it: request
//! signatures (`EXO2-HMAC-SHA256`), asynchronous operations, kebab-case JSON.
//! It is what the Exoscale client crate is tested against, and what
//! python-exoscale, egoscale and the `exo` CLI can be pointed at. The JSON is
//! written from the spec here, not from any client's types, so a wrong field
//! name cannot agree on both sides unnoticed.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::exoscale::ExoscaleFake;
//!
//! let fake = ExoscaleFake::builder().key("EXOkey", "secret", "alice").build();
//! let server = fake.start().await;
//! let base = ExoscaleFake::base_url(&server); // http://127.0.0.1:PORT/v2
//! // The zone list is public; everything else needs a signed request.
//! let zones: serde_json::Value = reqwest::get(format!("{base}/zone"))
//!     .await.unwrap().json().await.unwrap();
//! assert_eq!(zones["zones"][0]["name"], "ch-gva-2");
//! let refused = reqwest::get(format!("{base}/block-storage")).await.unwrap();
//! assert_eq!(refused.status(), 403);
//! # });
//! ```
//!
//! # What it serves
//!
//! | method and path (below `/v2`) | answer |
//! |---|---|
//! | `GET /zone` | the zones (public: no signature needed) |
//! | `GET /block-storage` (`?instance-id=`), `POST /block-storage` | list; create (empty or from a snapshot) → operation |
//! | `GET`, `PUT`, `DELETE /block-storage/{id}` | volume; update `name`/`labels` → operation; delete → operation |
//! | `PUT /block-storage/{id}:attach`, `PUT .../{id}:detach` | → operation |
//! | `PUT /block-storage/{id}:resize-volume` | → the volume itself (synchronous, as the spec says) |
//! | `POST /block-storage/{id}:create-snapshot` | → operation (reference: the new snapshot) |
//! | `GET /block-storage-snapshot`, `GET`, `PUT`, `DELETE /block-storage-snapshot/{id}` | list, get, update → operation, delete → operation |
//! | `GET /operation/{id}` | an operation of the same key's tenant |
//! | `GET /instance`, `GET /instance/{id}` | the seeded instances (`running`/`stopped`) |
//!
//! Every success is 200 with `application/json`. Every error is
//! `{"message": "..."}` (exoscale.md §5's recommendation): 400 for a
//! validation failure, 403 for a missing, malformed, expired or wrong
//! signature (python-exoscale's auth error; nothing changes), 404 for an
//! unknown id or path, 405 for a wrong method, 409 for an illegal transition
//! or a limit.
//!
//! # How it maps onto the engine
//!
//! The engine runs with [`policy`]: UUID ids, sizes 1 to 10240 GiB (the
//! spec's minimum, the documented 10 TiB maximum), grow-only resize of
//! detached volumes or volumes attached to stopped instances, snapshots,
//! volumes from snapshots (as large or larger), labels; no clones, no
//! backups; at most five volumes per instance, twenty snapshots per volume.
//! Transitions take [`DEFAULT_DELAYS`] on the engine clock. Each key maps to
//! a tenant; each tenant sees only its own resources.
//!
//! The fake serves one zone (`ch-gva-2` unless
//! [`ExoscaleFakeBuilder::zone`] says otherwise) at `/v2`: volumes are
//! created there and only that zone's volumes, snapshots and instances are
//! listed, as a zone endpoint of the real API does. `GET /zone` lists every
//! zone of the engine; the served one has the fake's own URL as
//! `api-endpoint`, the others Exoscale's.
//!
//! Wire states, from the engine's core states:
//!
//! | core volume state | Exoscale word |
//! |---|---|
//! | `creating` | `creating` |
//! | `available` | `detached` (`snapshotting` while one of its snapshots is being taken) |
//! | `attaching`, `in-use`, `detaching` | `attaching`, `attached` (or `snapshotting`), `detaching` |
//! | `resizing` (only seen with a `Stuck` fault) | `attached` or `detached` |
//! | `deleting`, `deleted` | `deleting`, `deleted` |
//! | `error` and every `error-*` | `error` |
//!
//! | core snapshot state | Exoscale word |
//! |---|---|
//! | `creating`, `available` | `creating`, `created` |
//! | `deleting`, `deleted` | `destroying`, `destroyed` |
//! | `error` | `error` |
//!
//! (`allocated`, `promoting` and `partially-destroyed` are never shown.)
//!
//! Operations: each mutation returns an operation whose `reference` names
//! the volume or snapshot it is about (`id`, `link`, `command`). Its state
//! is `pending` while that resource is in a transient state, `success` once
//! it settles (or is gone, for a delete), and `failure` with a `reason`
//! (`fault`) and `message` when it lands in an error state (an injected
//! `LandInError`). Operations are kept, so `GET /operation/{id}` works
//! after they finish (python-exoscale always polls once): the most recent
//! [`MAX_KEPT_OPERATIONS`] of them, each for [`OPERATION_TTL`], so memory
//! stays bounded.
//!
//! # Choices where the reference is silent
//!
//! - A missing `Authorization` header is a 403 too (python-exoscale's auth
//!   error); so is an unknown key. `expires` is checked against the real
//!   system clock (clients sign with now + 600 s), with no allowance for
//!   skew, and may be at most [`MAX_SIGNATURE_VALIDITY`] (one hour) ahead:
//!   a signature good for longer is a replayable credential, and no client
//!   signs for more than ten minutes. A parameter named in
//!   `signed-query-args` must be in the query (one named but repeated
//!   signs no value, as python-exoscale sends it).
//! - Endpoints in answers (`/zone`) are built from the address the request
//!   arrived at, never from its `Host` header.
//!   The path signed is the escaped path as the server's URL parser sees it.
//! - `name` on create defaults to [`DEFAULT_VOLUME_NAME`]; an unnamed
//!   snapshot is called `<volume name>-snapshot-<n>`. `encrypted` is
//!   `false`, `blocksize` 4096 (Exoscale's fixed 4 KiB block).
//! - A volume with snapshots can be deleted; its snapshots stay.
//! - Detaching a detached volume is a 409 whose message ends in `Volume not
//!   attached` (the words Exoscale's own tools match on); deleting an
//!   attached volume is a 409.
//! - Faults: each request that reaches an operation calls
//!   [`Engine::decide_fault`](crate::engine::Engine::decide_fault) once (`GET /zone`, `GET /operation/{id}` and
//!   snapshot updates do not). `ErrorBefore`/`ErrorAfter` become that status
//!   with `{"message"}`; `RateLimited` a 429 with `Retry-After` and the
//!   spec's `rate-limited` fields (`error`, `retry_after`) beside `message`;
//!   `Latency` a delayed answer; `DropConnection` a closed connection after
//!   the change (a 502 when used as a plain wiremock `Respond`er); `Stuck` and
//!   `LandInError` are applied by the engine and show in the operation.
//! - Snapshot names and labels changed by `PUT /block-storage-snapshot/{id}`
//!   are kept by the fake, over the engine's snapshot (the engine has no
//!   snapshot update).

mod sign;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::Method;
use serde_json::{json, Map, Value};
use volume_core::{
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, InstanceState, Labels,
    ListSnapshots, PageToken, RegionId, ResourceKind, Size, Snapshot, SnapshotId, SnapshotState,
    UpdateVolume, Volume, VolumeId, VolumeState,
};

use super::registry::{Entry, Setting, Settings};
use super::{
    Answer, Dialect, Fake, FakeBuilder, FakeOptions, FakeRequest, FakeResponse, Handler, Operation,
    Principal, RejectKind, Rejection,
};
use crate::engine::made_up::{mix, uuid};
use crate::engine::policy::any_reasonable_name;
use crate::engine::{
    AttachedResize, Control, Delays, Engine, EngineConfig, Fault, IdStyle, Policy, SimOp,
};
use crate::nbd::ExportSource;
use volume_core::time::format_rfc3339 as rfc3339;

/// The API key a fake accepts when none is configured; it acts for
/// [`DEFAULT_TENANT`] with [`DEFAULT_SECRET`].
pub const DEFAULT_KEY: &str = "EXOvolumesim000000000000000";

/// The secret of [`DEFAULT_KEY`]. Local fakes' credentials are not secrets.
pub const DEFAULT_SECRET: &str = "volume-sim-exoscale-secret";

/// The tenant [`DEFAULT_KEY`] acts for.
pub const DEFAULT_TENANT: &str = "default";

/// The zone served at `/v2` unless told otherwise (the spec's default).
pub const DEFAULT_ZONE: &str = "ch-gva-2";

/// The zones a fake has unless told otherwise: the spec's `servers` enum.
pub const DEFAULT_ZONES: [&str; 8] = [
    "ch-gva-2", "ch-dk-2", "de-fra-1", "de-muc-1", "at-vie-1", "at-vie-2", "bg-sof-1", "hr-zag-1",
];

/// The path prefix the fake answers under.
pub const PATH_PREFIX: &str = "/v2";

/// The name of a volume created without one.
pub const DEFAULT_VOLUME_NAME: &str = "block-storage-volume";

/// How long transitions take by default, on the engine's clock: two seconds
/// to create a volume (empty or from a snapshot) or take a snapshot, one to
/// attach, detach or delete. Resize is synchronous (the spec answers it
/// with the volume, not an operation), so it takes no time.
pub const DEFAULT_DELAYS: Delays = {
    let mut d = Delays::uniform(Duration::ZERO);
    d.create = Duration::from_secs(2);
    d.snapshot = Duration::from_secs(2);
    d.attach = Duration::from_secs(1);
    d.detach = Duration::from_secs(1);
    d.delete = Duration::from_secs(1);
    d
};

/// How far ahead a request's `expires` may be: the fake's own limit (the
/// reference gives none), six times the ten minutes both official clients
/// sign for, so that no client meets it while a captured request stays
/// replayable for an hour at most.
pub const MAX_SIGNATURE_VALIDITY: Duration = Duration::from_secs(3600);

/// How many operations a fake remembers for `GET /operation/{id}`: the
/// most recent ones; an older id answers 404 like an unknown one. The
/// fake's own bound (Exoscale documents none): clients poll an operation
/// right after starting it, and memory stays bounded however long the
/// fake runs.
pub const MAX_KEPT_OPERATIONS: usize = 10_000;

/// How long a fake remembers an operation that has ended, by default (see
/// [`operation_ttl`](FakeBuilder::operation_ttl)): after that, its id
/// answers 404 like an unknown one; a pending one is kept. The fake's own
/// limit (Exoscale documents none), far beyond any client's polling. Measured on the wall
/// clock, not the engine's: a fake run fast (`--time-scale`) must still
/// answer a client that polls right away.
pub const OPERATION_TTL: Duration = Duration::from_secs(3600);

/// Smallest and largest volume in GiB: the spec's minimum (since January
/// 2025), the documented 10 TiB maximum.
const MIN_SIZE: u64 = 1;
const MAX_SIZE: u64 = 10_240;
/// Documented limits: volumes attached to one instance, snapshots per volume.
const MAX_ATTACHED: u32 = 5;
const MAX_SNAPSHOTS_PER_VOLUME: usize = 20;
/// Exoscale's fixed block size.
const BLOCKSIZE: u64 = 4096;

/// The Exoscale [`Policy`]: what the engine enforces under this fake.
pub fn policy() -> Policy {
    Policy {
        provider: "exoscale",
        min_size: Size::gib(MIN_SIZE),
        max_size: Size::gib(MAX_SIZE),
        size_step: 1,
        default_size: None,
        name_rule: any_reasonable_name,
        max_name_len: Some(255),
        unique_names: false,
        attached_resize: AttachedResize::StoppedInstanceOnly,
        delete_with_snapshots: true,
        detach_needs_stopped: false,
        max_attachments_per_instance: MAX_ATTACHED,
        snapshots: true,
        volume_from_snapshot: true,
        volume_from_snapshot_larger: true,
        clone: false,
        backups: false,
        incremental_backups: false,
        labels: true,
        volume_types: &[],
        id_style: IdStyle::Uuid,
        delays: DEFAULT_DELAYS,
        default_page_size: 1000,
        max_page_size: 1000,
        lifecycle: &[],
    }
}

// ----- configuration --------------------------------------------------------

/// What an Exoscale fake accepts: API keys with their secrets and tenants,
/// and the zone served. `Debug` never shows a key's secret.
pub struct ExoscaleConfig {
    keys: Vec<(String, String, String)>,
    zone: String,
    operation_ttl: Duration,
}

impl Default for ExoscaleConfig {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            zone: DEFAULT_ZONE.to_owned(),
            operation_ttl: OPERATION_TTL,
        }
    }
}

impl fmt::Debug for ExoscaleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExoscaleConfig")
            .field("keys", &self.keys.len())
            .field("zone", &self.zone)
            .field("operation_ttl", &self.operation_ttl)
            .finish()
    }
}

/// Builds an [`ExoscaleFake`]: the shared settings of [`FakeBuilder`],
/// [`key`](FakeBuilder::key), [`zone`](FakeBuilder::zone) and
/// [`zones`](FakeBuilder::zones).
pub type ExoscaleFakeBuilder = FakeBuilder<ExoscaleDialect>;

impl FakeBuilder<ExoscaleDialect> {
    /// Accepts requests signed with `secret` under API key `key`, acting for
    /// `tenant`. Several keys may act for one tenant. Without any,
    /// [`DEFAULT_KEY`] / [`DEFAULT_SECRET`] act for [`DEFAULT_TENANT`].
    pub fn key(
        mut self,
        key: impl Into<String>,
        secret: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        self.config
            .keys
            .push((key.into(), secret.into(), tenant.into()));
        self
    }

    /// The zones (default [`DEFAULT_ZONES`]); the served zone is added when
    /// it is not among them.
    ///
    /// # Errors
    /// When a zone name is not a valid region id.
    pub fn zones<I, S>(self, zones: I) -> volume_core::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.regions(zones)
    }

    /// The zone served at `/v2` (default [`DEFAULT_ZONE`]).
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.config.zone = zone.into();
        self
    }

    /// How long, on the wall clock, an operation answers
    /// `GET /operation/{id}` (default [`OPERATION_TTL`]).
    pub fn operation_ttl(mut self, ttl: Duration) -> Self {
        self.config.operation_ttl = ttl;
        self
    }
}

// ----- the fake ---------------------------------------------------------------

/// The Exoscale API v2 block-storage endpoints, served from an [`Engine`]:
/// the [`Fake`] of [`ExoscaleDialect`].
///
/// Cheap to clone; clones serve the same cloud. Mount it on a wiremock
/// server with [`mount`](Fake::mount), start a server of its own with
/// [`start`](Fake::start), or use it as a wiremock `Respond`er.
pub type ExoscaleFake = Fake<ExoscaleDialect>;

impl Fake<ExoscaleDialect> {
    /// The zone served at `/v2`.
    pub fn zone(&self) -> &RegionId {
        &self.dialect().zone
    }

    /// The tenant API key `key` acts for, if it is accepted.
    pub fn tenant_of(&self, key: &str) -> Option<&str> {
        self.dialect().keys.get(key).map(|(_, t)| t.as_str())
    }
}

/// Exoscale's settings in the binaries (today's flags and variables).
const SETTINGS: &[Setting] = &[
    Setting {
        flag: "exoscale-key",
        env: "VOLUME_SIM_EXOSCALE_KEY",
        value_name: "KEY",
        default: Some(DEFAULT_KEY),
        help: "The API key the Exoscale fake accepts.",
        secret: false,
    },
    Setting {
        flag: "exoscale-secret",
        env: "VOLUME_SIM_EXOSCALE_SECRET",
        value_name: "SECRET",
        default: Some(DEFAULT_SECRET),
        help: "The API secret of that key.",
        secret: true,
    },
];

/// Exoscale's line in the [registry](super::registry).
pub const ENTRY: Entry = Entry {
    name: "exoscale",
    settings: SETTINGS,
    build: build_from_settings,
    credentials: |s: &Settings| {
        format!(
            "key: {}   secret: {}",
            s.shown("exoscale-key"),
            s.shown("exoscale-secret")
        )
    },
    // Exoscale shows no device path for a volume: exported by id only.
    exports: |engine| ExportSource::new(engine, [DEFAULT_TENANT]),
};

fn build_from_settings(
    options: &FakeOptions,
    settings: &Settings,
) -> Result<std::sync::Arc<dyn Handler>, String> {
    let key = settings.get("exoscale-key").unwrap_or(DEFAULT_KEY);
    let secret = settings.get("exoscale-secret").unwrap_or(DEFAULT_SECRET);
    Ok(ExoscaleFake::builder()
        .options(options.clone())
        .key(key, secret, DEFAULT_TENANT)
        .build()
        .handler())
}

/// The Exoscale dialect: what [`ExoscaleFake`] runs through the pipeline.
pub struct ExoscaleDialect {
    /// key -> (secret, tenant).
    keys: HashMap<String, (String, String)>,
    zone: RegionId,
    operation_ttl: Duration,
}

impl fmt::Debug for ExoscaleDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExoscaleDialect")
            .field("keys", &self.keys.len())
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

/// The served zone of `config`, or the default when it is not a valid id.
fn served_zone(config: &ExoscaleConfig) -> RegionId {
    RegionId::new(config.zone.clone())
        .or_else(|_| RegionId::new(DEFAULT_ZONE))
        .unwrap_or_else(|_| unreachable!("the default zone is a valid id"))
}

/// What the fake keeps beside the engine: operations, and snapshot names
/// and labels changed through the API.
#[derive(Debug, Default)]
pub struct ExoscaleState {
    ops: HashMap<String, OpRec>,
    /// Operation ids, oldest first: what is forgotten past
    /// [`MAX_KEPT_OPERATIONS`].
    op_order: VecDeque<String>,
    op_seq: u64,
    snapshots: HashMap<String, SnapshotEdit>,
}

#[derive(Debug, Clone, Default)]
struct SnapshotEdit {
    name: Option<String>,
    labels: Option<Labels>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Volume,
    Snapshot,
}

/// One operation: whose it is, what it refers to, what it waits for.
#[derive(Debug, Clone)]
struct OpRec {
    tenant: String,
    reference: Option<(Kind, String)>,
    /// `true`: the operation succeeds when the resource is gone.
    gone: bool,
    /// Set once it is no longer pending, with when that was seen on the
    /// wall clock; it never changes after.
    done: Option<(Outcome, Instant)>,
}

impl OpRec {
    /// Records its outcome, the first time it is no longer pending.
    fn end(&mut self, outcome: &Outcome) {
        if *outcome != Outcome::Pending && self.done.is_none() {
            self.done = Some((outcome.clone(), Instant::now()));
        }
    }

    /// Whether it ended `ttl` ago or longer: an operation still pending is
    /// never forgotten by age (a client may be polling it), only past
    /// [`MAX_KEPT_OPERATIONS`].
    fn expired(&self, ttl: Duration) -> bool {
        self.done
            .as_ref()
            .is_some_and(|(_, ended)| ended.elapsed() >= ttl)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Pending,
    Success,
    Failure {
        reason: &'static str,
        message: String,
    },
}

// ----- errors -----------------------------------------------------------------

/// A refusal with Exoscale's `status` and `message`, of the kind the status
/// says.
fn refusal(status: u16, message: impl Into<String>) -> Rejection {
    let kind = match status {
        400 => RejectKind::BadField,
        401 => RejectKind::Unauthenticated,
        403 => RejectKind::Forbidden,
        404 => RejectKind::NotFound,
        405 => RejectKind::MethodNotAllowed,
        409 => RejectKind::Conflict,
        429 => RejectKind::RateLimited,
        _ => RejectKind::Internal,
    };
    Rejection::new(kind, status, message)
}

fn bad_request(message: impl Into<String>) -> Rejection {
    refusal(400, message)
}

fn conflict(message: impl Into<String>) -> Rejection {
    refusal(409, message)
}

fn not_found(kind: Kind) -> Rejection {
    Rejection::not_found(match kind {
        Kind::Volume => "Blockstorage Volume not found",
        Kind::Snapshot => "Blockstorage Snapshot not found",
    })
}

/// The Exoscale name of a field the engine names in its own words.
fn wire_field(field: &str) -> &str {
    match field {
        "instance_id" => "instance",
        "source" => "block-storage-snapshot",
        other => other,
    }
}

/// The Exoscale answer for an engine error.
fn from_core(e: Error) -> Rejection {
    match e {
        Error::NotFound {
            kind: ResourceKind::Instance,
            ..
        } => Rejection::not_found("Instance not found"),
        Error::NotFound {
            kind: ResourceKind::Snapshot,
            ..
        } => not_found(Kind::Snapshot),
        Error::NotFound { .. } => not_found(Kind::Volume),
        Error::AlreadyExists { name, .. } => conflict(format!("{name} already exists")),
        Error::InvalidState {
            kind: ResourceKind::Instance,
            state,
            operation: "resize_volume",
            ..
        } => conflict(format!(
            "Only detached volumes or volumes attached to stopped instances can be resized (the instance is {state})"
        )),
        Error::InvalidState {
            kind,
            state,
            operation,
            ..
        } => conflict(state_message(kind, &state, operation)),
        Error::InvalidInput { field, reason, .. } => {
            bad_request(format!("{}: {reason}", wire_field(&field)))
        }
        Error::QuotaExceeded { message, .. } => conflict(format!("Quota exceeded: {message}")),
        Error::Unsupported { operation, .. } => {
            bad_request(format!("{operation} is not supported"))
        }
        Error::RateLimited { retry_after, .. } => {
            Rejection::rate_limited(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        _ => Rejection::internal(),
    }
}

fn state_message(kind: ResourceKind, state: &str, operation: &str) -> String {
    if kind == ResourceKind::Snapshot {
        let word = snapshot_word(&SnapshotState::from_word(state));
        return format!("Blockstorage Snapshot is {word}; it cannot be used for {operation}");
    }
    let core = VolumeState::from_word(state);
    match (operation, &core) {
        ("detach_volume", VolumeState::Available) => "Volume not attached".to_owned(),
        ("attach_volume", VolumeState::InUse | VolumeState::Attaching) => {
            "Volume already attached".to_owned()
        }
        ("delete_volume", VolumeState::InUse) => {
            "Volume is attached to an instance; detach it first".to_owned()
        }
        _ if state.contains("snapshot(s)") => format!("Volume is {state}"),
        _ => format!(
            "Blockstorage Volume is {}; it cannot be used for {operation} now",
            volume_word_plain(&core, false)
        ),
    }
}

// ----- routing ----------------------------------------------------------------

/// An Exoscale request, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /zone` (unsigned).
    Zones,
    /// `GET /block-storage`.
    ListVolumes,
    /// `POST /block-storage`.
    CreateVolume,
    /// `GET /block-storage/{id}`.
    GetVolume(String),
    /// `PUT /block-storage/{id}`.
    UpdateVolume(String),
    /// `DELETE /block-storage/{id}`.
    DeleteVolume(String),
    /// `PUT /block-storage/{id}:attach`.
    Attach(String),
    /// `PUT /block-storage/{id}:detach`.
    Detach(String),
    /// `PUT /block-storage/{id}:resize-volume`.
    Resize(String),
    /// `POST /block-storage/{id}:create-snapshot`.
    CreateSnapshot(String),
    /// `GET /block-storage-snapshot`.
    ListSnapshots,
    /// `GET /block-storage-snapshot/{id}`.
    GetSnapshot(String),
    /// `PUT /block-storage-snapshot/{id}`.
    UpdateSnapshot(String),
    /// `DELETE /block-storage-snapshot/{id}`.
    DeleteSnapshot(String),
    /// `GET /operation/{id}`.
    GetOperation(String),
    /// `GET /instance`.
    ListInstances,
    /// `GET /instance/{id}`.
    GetInstance(String),
}

impl Route {}

// ----- authentication ------------------------------------------------------------

impl ExoscaleDialect {
    /// Who a correctly signed request acts for.
    fn verify(&self, request: &FakeRequest) -> Result<Principal, sign::AuthError> {
        use sign::AuthError;
        let value = request
            .headers
            .get("authorization")
            .ok_or(AuthError::Missing)?
            .to_str()
            .map_err(|_| AuthError::Malformed("not ASCII"))?;
        let header = sign::parse(value)?;
        let (secret, tenant) = self
            .keys
            .get(header.credential)
            .ok_or(AuthError::UnknownKey)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if header.expires < now {
            return Err(AuthError::Expired);
        }
        if header.expires > now.saturating_add(MAX_SIGNATURE_VALIDITY.as_secs()) {
            return Err(AuthError::TooFarAhead);
        }
        let pairs: Vec<(String, String)> = request
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let values = sign::query_values(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &header.signed_query_args,
        )?;
        let message = sign::message(
            request.method.as_str(),
            &request.path,
            &request.body,
            &values,
            header.expires,
        );
        if sign::verify_mac(secret, &message, &header.signature) {
            Ok(Principal::new(tenant.clone(), header.credential))
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

// ----- request bodies ---------------------------------------------------------------

/// The JSON object a request carries. `required`: an empty body is refused
/// (the spec marks the body required); otherwise it is an empty object.
fn body_object(request: &FakeRequest, required: bool) -> Result<Map<String, Value>, Rejection> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(bad_request("A JSON request body is required"))
        } else {
            Ok(Map::new())
        };
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("The request body must be a JSON object")),
        Err(_) => Err(bad_request("The request body is not valid JSON")),
    }
}

/// A name: a string of 1 to 255 characters; `null` is absent.
fn name_field(obj: &Map<String, Value>) -> Result<Option<String>, Rejection> {
    match obj.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => any_reasonable_name(s)
            .map(|()| Some(s.clone()))
            .map_err(|reason| bad_request(format!("name: {reason}"))),
        Some(_) => Err(bad_request("name: must be a string")),
    }
}

/// A size in GiB: an integer >= 1; `null` is absent.
fn size_field(obj: &Map<String, Value>) -> Result<Option<u64>, Rejection> {
    match obj.get("size") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(s) if s >= 1 => Ok(Some(s)),
            _ if n.as_i64().is_some() || n.as_u64().is_some() => {
                Err(bad_request("size: must be greater than 0"))
            }
            _ => Err(bad_request("size: must be an integer")),
        },
        Some(_) => Err(bad_request("size: must be an integer")),
    }
}

/// `labels`: an object of strings; `null` is absent.
fn labels_field(obj: &Map<String, Value>) -> Result<Option<Labels>, Rejection> {
    match obj.get("labels") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let mut labels = Labels::new();
            for (k, v) in m {
                match v {
                    Value::String(s) if !k.is_empty() => {
                        labels.insert(k.clone(), s.clone());
                    }
                    _ => {
                        return Err(bad_request(
                            "labels: must be an object of non-empty keys and string values",
                        ))
                    }
                }
            }
            Ok(Some(labels))
        }
        Some(_) => Err(bad_request("labels: must be an object")),
    }
}

/// A `{"id": "..."}` reference; `null` is absent.
fn ref_field(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, Rejection> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => match m.get("id") {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            _ => Err(bad_request(format!(
                "{key}: must be an object with a string id"
            ))),
        },
        Some(_) => Err(bad_request(format!(
            "{key}: must be an object with a string id"
        ))),
    }
}

// ----- wire JSON ------------------------------------------------------------------------

/// The Exoscale word for a core volume state; `attached` says whether the
/// volume has an instance (for states Exoscale has no word of its own for).
fn volume_word_plain(state: &VolumeState, attached: bool) -> &'static str {
    let settled = if attached { "attached" } else { "detached" };
    match state {
        VolumeState::Creating => "creating",
        VolumeState::Available => "detached",
        VolumeState::Attaching => "attaching",
        VolumeState::InUse => "attached",
        VolumeState::Detaching => "detaching",
        VolumeState::Snapshotting => "snapshotting",
        VolumeState::Resizing | VolumeState::BackingUp | VolumeState::Restoring => settled,
        VolumeState::Deleting => "deleting",
        VolumeState::Deleted => "deleted",
        _ => "error",
    }
}

/// The Exoscale word for a core snapshot state.
fn snapshot_word(state: &SnapshotState) -> &'static str {
    match state {
        SnapshotState::Creating => "creating",
        SnapshotState::Available => "created",
        SnapshotState::Deleting => "destroying",
        SnapshotState::Deleted => "destroyed",
        _ => "error",
    }
}

fn labels_json(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

fn id_ref(id: &str) -> Value {
    json!({ "id": id })
}

/// Whether a snapshot of volume `id` is being taken.
fn is_snapshotting(snaps: &[Snapshot], id: &VolumeId) -> bool {
    snaps
        .iter()
        .any(|s| s.volume_id.as_ref() == Some(id) && s.state == SnapshotState::Creating)
}

/// A volume as Exoscale shows it (the `block-storage-volume` schema).
fn volume_json(c: &Control, snaps: &[Snapshot], v: &Volume) -> Value {
    let attached = v.attached_to();
    let mut word = volume_word_plain(&v.state, attached.is_some());
    if matches!(v.state, VolumeState::Available | VolumeState::InUse)
        && is_snapshotting(snaps, &v.id)
    {
        word = "snapshotting";
    }
    let created = v
        .created_at
        .unwrap_or_else(|| c.system_time(Duration::ZERO));
    let snapshot_refs: Vec<Value> = snaps
        .iter()
        .filter(|s| s.volume_id.as_ref() == Some(&v.id))
        .map(|s| id_ref(s.id.as_str()))
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), Value::from(v.id.as_str()));
    m.insert("name".into(), Value::from(v.name.as_str()));
    m.insert("size".into(), Value::from(v.size.as_gib()));
    m.insert("blocksize".into(), Value::from(BLOCKSIZE));
    m.insert("state".into(), Value::from(word));
    m.insert("labels".into(), labels_json(&v.labels));
    m.insert("encrypted".into(), Value::Bool(false));
    m.insert("created-at".into(), Value::from(rfc3339(created)));
    m.insert(
        "block-storage-snapshots".into(),
        Value::Array(snapshot_refs),
    );
    if let Some(i) = attached {
        m.insert("instance".into(), id_ref(i.as_str()));
    }
    Value::Object(m)
}

/// A snapshot as Exoscale shows it (the `block-storage-snapshot` schema),
/// with the fake's edits applied.
fn snapshot_json(c: &Control, st: &ExoscaleState, s: &Snapshot) -> Value {
    let edit = st.snapshots.get(s.id.as_str());
    let name = edit.and_then(|e| e.name.as_deref()).unwrap_or(&s.name);
    let labels = edit.and_then(|e| e.labels.as_ref()).unwrap_or(&s.labels);
    let created = s
        .created_at
        .unwrap_or_else(|| c.system_time(Duration::ZERO));
    let mut m = Map::new();
    m.insert("id".into(), Value::from(s.id.as_str()));
    m.insert("name".into(), Value::from(name));
    m.insert("size".into(), Value::from(s.size.as_gib().max(1)));
    m.insert("volume-size".into(), Value::from(s.size.as_gib()));
    m.insert("created-at".into(), Value::from(rfc3339(created)));
    m.insert("state".into(), Value::from(snapshot_word(&s.state)));
    m.insert("labels".into(), labels_json(labels));
    if let Some(v) = &s.volume_id {
        m.insert("block-storage-volume".into(), id_ref(v.as_str()));
    }
    Value::Object(m)
}

/// An instance (a subset of Exoscale's `instance` schema).
fn instance_json(c: &Control, tenant: &str, i: &Instance) -> Value {
    let state = match &i.state {
        InstanceState::Running => "running".to_owned(),
        InstanceState::Stopped => "stopped".to_owned(),
        other => other.to_string(),
    };
    let volumes: Vec<Value> = c
        .volumes_of_instance(tenant, &i.id)
        .unwrap_or_default()
        .iter()
        .map(|v| id_ref(v.id.as_str()))
        .collect();
    json!({
        "id": i.id.as_str(),
        "name": i.name,
        "state": state,
        "created-at": rfc3339(c.system_time(Duration::ZERO)),
        "labels": {},
        "block-storage-volumes": volumes,
    })
}

/// An operation as Exoscale shows it (the `operation` schema).
fn operation_json(id: &str, rec: &OpRec, outcome: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(id));
    let state = match outcome {
        Outcome::Pending => "pending",
        Outcome::Success => "success",
        Outcome::Failure { .. } => "failure",
    };
    m.insert("state".into(), Value::from(state));
    if let Some((kind, rid)) = &rec.reference {
        let (link, command) = match kind {
            Kind::Volume => (
                format!("{PATH_PREFIX}/block-storage/{rid}"),
                "get-block-storage-volume",
            ),
            Kind::Snapshot => (
                format!("{PATH_PREFIX}/block-storage-snapshot/{rid}"),
                "get-block-storage-snapshot",
            ),
        };
        m.insert(
            "reference".into(),
            json!({"id": rid, "link": link, "command": command}),
        );
    }
    if let Outcome::Failure { reason, message } = outcome {
        m.insert("reason".into(), Value::from(*reason));
        m.insert("message".into(), Value::from(message.as_str()));
    }
    Value::Object(m)
}

/// Where an operation stands now, from the resource it refers to.
fn outcome_now(c: &Control, rec: &OpRec) -> Outcome {
    let Some((kind, rid)) = &rec.reference else {
        return Outcome::Success;
    };
    let tenant = &rec.tenant;
    let fail = |word: &str| Outcome::Failure {
        reason: "fault",
        message: format!("the resource is in state {word}"),
    };
    match kind {
        Kind::Volume => {
            let got = VolumeId::new(rid.clone()).and_then(|id| c.get_volume(tenant, &id));
            match got {
                Err(_) if rec.gone => Outcome::Success,
                Err(_) => Outcome::Failure {
                    reason: "not-found",
                    message: "the volume is gone".to_owned(),
                },
                Ok(v) if v.state.is_failure() => fail(v.state.as_str()),
                Ok(v) if v.state.is_transient() => Outcome::Pending,
                Ok(_) => Outcome::Success,
            }
        }
        Kind::Snapshot => {
            let got = SnapshotId::new(rid.clone()).and_then(|id| c.get_snapshot(tenant, &id));
            match got {
                Err(_) if rec.gone => Outcome::Success,
                Err(_) => Outcome::Failure {
                    reason: "not-found",
                    message: "the snapshot is gone".to_owned(),
                },
                Ok(s) if s.state.is_failure() => fail(s.state.as_str()),
                Ok(s) if s.state.is_transient() => Outcome::Pending,
                Ok(_) => Outcome::Success,
            }
        }
    }
}

/// Every snapshot `tenant` holds, oldest first.
fn all_snapshots(c: &Control, tenant: &str) -> Vec<Snapshot> {
    let mut out = Vec::new();
    let mut page: Option<PageToken> = None;
    while let Ok(p) = c.list_snapshots(tenant, &ListSnapshots::new(), page.as_ref()) {
        out.extend(p.items);
        match p.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    out
}

fn uuid_from(n: u64) -> String {
    let hi = mix(n ^ 0x6f70_6572_6174_696f);
    let lo = mix(hi ^ n.rotate_left(29));
    uuid(hi, lo)
}

// ----- the request pipeline ---------------------------------------------------------------

impl Dialect for ExoscaleDialect {
    const NAME: &'static str = "exoscale";
    const PREFIXES: &'static [&'static str] = &[PATH_PREFIX];
    const DEFAULT_REGIONS: &'static [&'static str] = &DEFAULT_ZONES;
    type Config = ExoscaleConfig;
    type State = ExoscaleState;
    type Route = Route;
    type Reply = FakeResponse;

    fn policy() -> Policy {
        policy()
    }

    fn prepare(config: &ExoscaleConfig, engine: &mut EngineConfig) {
        let zone = served_zone(config);
        if !engine.regions.contains(&zone) {
            engine.regions.push(zone);
        }
    }

    fn new(config: ExoscaleConfig, _engine: &Engine) -> Self {
        let zone = served_zone(&config);
        let mut keys: HashMap<String, (String, String)> = config
            .keys
            .into_iter()
            .map(|(k, s, t)| (k, (s, t)))
            .collect();
        if keys.is_empty() {
            keys.insert(
                DEFAULT_KEY.to_owned(),
                (DEFAULT_SECRET.to_owned(), DEFAULT_TENANT.to_owned()),
            );
        }
        Self {
            keys,
            zone,
            operation_ttl: config.operation_ttl,
        }
    }

    fn route(request: &FakeRequest, segs: &[&str]) -> Result<Route, Rejection> {
        let method = &request.method;
        let not_allowed = || refusal(405, "Method Not Allowed");
        let not_found = || refusal(404, "Not Found");
        let (get, post, put, delete) = (
            *method == Method::GET,
            *method == Method::POST,
            *method == Method::PUT,
            *method == Method::DELETE,
        );
        let id = |s: &str| s.to_owned();
        match segs {
            ["zone"] if get => Ok(Route::Zones),
            ["block-storage"] if get => Ok(Route::ListVolumes),
            ["block-storage"] if post => Ok(Route::CreateVolume),
            ["block-storage", rest] => match rest.split_once(':') {
                None if get => Ok(Route::GetVolume(id(rest))),
                None if put => Ok(Route::UpdateVolume(id(rest))),
                None if delete => Ok(Route::DeleteVolume(id(rest))),
                None => Err(not_allowed()),
                Some((v, "attach")) if put => Ok(Route::Attach(id(v))),
                Some((v, "detach")) if put => Ok(Route::Detach(id(v))),
                Some((v, "resize-volume")) if put => Ok(Route::Resize(id(v))),
                Some((v, "create-snapshot")) if post => Ok(Route::CreateSnapshot(id(v))),
                Some((_, "attach" | "detach" | "resize-volume" | "create-snapshot")) => {
                    Err(not_allowed())
                }
                Some(_) => Err(not_found()),
            },
            ["block-storage-snapshot"] if get => Ok(Route::ListSnapshots),
            ["block-storage-snapshot", s] if !s.contains(':') => match *method {
                Method::GET => Ok(Route::GetSnapshot(id(s))),
                Method::PUT => Ok(Route::UpdateSnapshot(id(s))),
                Method::DELETE => Ok(Route::DeleteSnapshot(id(s))),
                _ => Err(not_allowed()),
            },
            ["operation", o] if get => Ok(Route::GetOperation(id(o))),
            ["instance"] if get => Ok(Route::ListInstances),
            ["instance", i] if get => Ok(Route::GetInstance(id(i))),
            ["zone"]
            | ["block-storage"]
            | ["block-storage-snapshot"]
            | ["operation", _]
            | ["instance"]
            | ["instance", _] => Err(not_allowed()),
            _ => Err(not_found()),
        }
    }

    fn public(&self, engine: &Engine, route: &Route, req: &FakeRequest) -> Option<Answer> {
        (*route == Route::Zones).then(|| Ok(FakeResponse::json(200, &self.zones(engine, req))))
    }

    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection> {
        self.verify(request)
            .map_err(|e| Rejection::new(RejectKind::Unauthenticated, 403, e.message()))
    }

    fn operation(route: &Route) -> Option<SimOp> {
        Some(match route {
            Route::Zones | Route::GetOperation(_) | Route::UpdateSnapshot(_) => return None,
            Route::ListVolumes => SimOp::ListVolumes,
            Route::CreateVolume => SimOp::CreateVolume,
            Route::GetVolume(_) => SimOp::GetVolume,
            Route::UpdateVolume(_) => SimOp::UpdateVolume,
            Route::DeleteVolume(_) => SimOp::DeleteVolume,
            Route::Attach(_) => SimOp::AttachVolume,
            Route::Detach(_) => SimOp::DetachVolume,
            Route::Resize(_) => SimOp::ResizeVolume,
            Route::CreateSnapshot(_) => SimOp::CreateSnapshot,
            Route::ListSnapshots => SimOp::ListSnapshots,
            Route::GetSnapshot(_) => SimOp::GetSnapshot,
            Route::DeleteSnapshot(_) => SimOp::DeleteSnapshot,
            Route::ListInstances | Route::GetInstance(_) => SimOp::ListInstances,
        })
    }

    fn run(
        &self,
        op: &mut Operation<'_, ExoscaleState>,
        route: &Route,
        req: &FakeRequest,
    ) -> Answer {
        let mut op = Op {
            c: op.control,
            st: op.state,
            tenant: op.tenant,
            zone: &self.zone,
            fault: op.fault,
            operation_ttl: self.operation_ttl,
        };
        op.run(route, req).map(|v| FakeResponse::json(200, &v))
    }

    /// Exoscale's error body: `{"message": ...}`; a 429 also carries the
    /// spec's `rate-limited` fields (`error`, `retry_after`) and
    /// `Retry-After`.
    fn render(r: &Rejection) -> FakeResponse {
        let message = if r.message.trim().is_empty() {
            "Internal server error"
        } else {
            &r.message
        };
        match r.retry_after_secs() {
            Some(s) => FakeResponse::json(
                r.status,
                &json!({"message": message, "error": message, "retry_after": s}),
            )
            .header("retry-after", s.to_string()),
            None => FakeResponse::json(r.status, &json!({ "message": message })),
        }
    }
}

impl ExoscaleDialect {
    /// `GET /zone`: every zone; the served one points at this fake.
    fn zones(&self, engine: &Engine, request: &FakeRequest) -> Value {
        let origin = request.origin();
        let zones: Vec<Value> = engine.with(|c| {
            c.regions()
                .iter()
                .map(|z| {
                    let (api, sos) = if *z == self.zone {
                        (
                            format!("{origin}{PATH_PREFIX}"),
                            format!("https://sos-{z}.exo.io"),
                        )
                    } else {
                        (
                            format!("https://api-{z}.exoscale.com{PATH_PREFIX}"),
                            format!("https://sos-{z}.exo.io"),
                        )
                    };
                    json!({"name": z.as_str(), "api-endpoint": api, "sos-endpoint": sos})
                })
                .collect()
        });
        json!({ "zones": zones })
    }
}

/// One authenticated operation, run with the engine's lock held.
struct Op<'a> {
    c: &'a mut Control,
    st: &'a mut ExoscaleState,
    tenant: &'a str,
    zone: &'a RegionId,
    fault: Option<&'a Fault>,
    operation_ttl: Duration,
}

impl Op<'_> {
    /// A volume of this tenant in the served zone.
    fn volume(&self, id: &str) -> Result<Volume, Rejection> {
        VolumeId::new(id)
            .and_then(|vid| self.c.get_volume(self.tenant, &vid))
            .ok()
            .filter(|v| v.region == *self.zone)
            .ok_or_else(|| not_found(Kind::Volume))
    }

    /// A snapshot of this tenant in the served zone.
    fn snapshot(&self, id: &str) -> Result<Snapshot, Rejection> {
        SnapshotId::new(id)
            .and_then(|sid| self.c.get_snapshot(self.tenant, &sid))
            .ok()
            .filter(|s| s.region == *self.zone)
            .ok_or_else(|| not_found(Kind::Snapshot))
    }

    fn snapshots(&self) -> Vec<Snapshot> {
        all_snapshots(self.c, self.tenant)
            .into_iter()
            .filter(|s| s.region == *self.zone)
            .collect()
    }

    fn render_volume(&self, v: &Volume) -> Value {
        volume_json(self.c, &self.snapshots(), v)
    }

    /// Records an operation about `reference` and renders it as it stands.
    fn operation(&mut self, reference: Option<(Kind, String)>, gone: bool) -> Value {
        self.st.op_seq += 1;
        let id = uuid_from(self.st.op_seq);
        let mut rec = OpRec {
            tenant: self.tenant.to_owned(),
            reference,
            gone,
            done: None,
        };
        let outcome = outcome_now(self.c, &rec);
        rec.end(&outcome);
        let json = operation_json(&id, &rec, &outcome);
        self.st.ops.insert(id.clone(), rec);
        self.st.op_order.push_back(id);
        // Oldest first: past the count or the time, forgotten.
        while let Some(oldest) = self.st.op_order.front() {
            let stale = self
                .st
                .ops
                .get(oldest)
                .is_none_or(|r| r.expired(self.operation_ttl));
            if self.st.op_order.len() <= MAX_KEPT_OPERATIONS && !stale {
                break;
            }
            if let Some(oldest) = self.st.op_order.pop_front() {
                self.st.ops.remove(&oldest);
            }
        }
        json
    }

    /// Refuses to change a volume while one of its snapshots is being taken.
    fn not_snapshotting(&self, v: &Volume) -> Result<(), Rejection> {
        if is_snapshotting(&self.snapshots(), &v.id) {
            return Err(conflict(
                "Blockstorage Volume is snapshotting; try again when the snapshot is created",
            ));
        }
        Ok(())
    }

    fn run(&mut self, route: &Route, request: &FakeRequest) -> Result<Value, Rejection> {
        match route {
            Route::Zones => Err(refusal(404, "Not Found")),
            Route::ListVolumes => self.list_volumes(request),
            Route::GetVolume(id) => {
                let v = self.volume(id)?;
                Ok(self.render_volume(&v))
            }
            Route::CreateVolume => self.create(request),
            Route::UpdateVolume(id) => self.update(id, request),
            Route::DeleteVolume(id) => self.delete(id),
            Route::Attach(id) => self.attach(id, request),
            Route::Detach(id) => self.detach(id),
            Route::Resize(id) => self.resize(id, request),
            Route::CreateSnapshot(id) => self.create_snapshot(id, request),
            Route::ListSnapshots => {
                let items: Vec<Value> = self
                    .snapshots()
                    .iter()
                    .map(|s| snapshot_json(self.c, self.st, s))
                    .collect();
                Ok(json!({ "block-storage-snapshots": items }))
            }
            Route::GetSnapshot(id) => {
                let s = self.snapshot(id)?;
                Ok(snapshot_json(self.c, self.st, &s))
            }
            Route::UpdateSnapshot(id) => self.update_snapshot(id, request),
            Route::DeleteSnapshot(id) => {
                let s = self.snapshot(id)?;
                self.c
                    .delete_snapshot(self.tenant, &s.id, self.fault)
                    .map_err(from_core)?;
                Ok(self.operation(Some((Kind::Snapshot, s.id.to_string())), true))
            }
            Route::GetOperation(id) => self.get_operation(id),
            Route::ListInstances => {
                let items: Vec<Value> = self
                    .c
                    .all_instances(self.tenant)
                    .iter()
                    .filter(|i| i.region == *self.zone)
                    .map(|i| instance_json(self.c, self.tenant, i))
                    .collect();
                Ok(json!({ "instances": items }))
            }
            Route::GetInstance(id) => InstanceId::new(id.as_str())
                .and_then(|iid| self.c.instance(self.tenant, &iid))
                .ok()
                .filter(|i| i.region == *self.zone)
                .map(|i| instance_json(self.c, self.tenant, &i))
                .ok_or_else(|| refusal(404, "Instance not found")),
        }
    }

    fn list_volumes(&self, request: &FakeRequest) -> Result<Value, Rejection> {
        let mut instance = None;
        for (k, v) in request.query_pairs() {
            if k == "instance-id" {
                instance = Some(v.into_owned());
            }
        }
        let snaps = self.snapshots();
        let items: Vec<Value> = self
            .c
            .all_volumes(self.tenant)
            .iter()
            .filter(|v| v.region == *self.zone)
            .filter(|v| {
                instance
                    .as_deref()
                    .is_none_or(|i| v.attached_to().is_some_and(|a| a.as_str() == i))
            })
            .map(|v| volume_json(self.c, &snaps, v))
            .collect();
        Ok(json!({ "block-storage-volumes": items }))
    }

    fn create(&mut self, request: &FakeRequest) -> Result<Value, Rejection> {
        let body = body_object(request, true)?;
        let name = name_field(&body)?.unwrap_or_else(|| DEFAULT_VOLUME_NAME.to_owned());
        let size = size_field(&body)?;
        let labels = labels_field(&body)?.unwrap_or_default();
        let snapshot = ref_field(&body, "block-storage-snapshot")?;
        let mut req = match &snapshot {
            Some(sid) => {
                let s = self.snapshot(sid)?;
                let req = CreateVolume::from_snapshot(name, s.id);
                match size {
                    Some(n) => req.with_size(Size::gib(n)),
                    None => req,
                }
            }
            None => {
                let n = size.ok_or_else(|| bad_request("size: is required"))?;
                CreateVolume::new(name, Size::gib(n))
            }
        };
        req = req.with_region(self.zone.clone()).with_labels(labels);
        let v = self
            .c
            .create_volume(self.tenant, &req, self.fault)
            .map_err(from_core)?;
        Ok(self.operation(Some((Kind::Volume, v.id.to_string())), false))
    }

    fn update(&mut self, id: &str, request: &FakeRequest) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request, true)?;
        let name = name_field(&body)?;
        let labels = labels_field(&body)?;
        if name.is_some() || labels.is_some() {
            let mut req = UpdateVolume::new();
            if let Some(n) = name {
                req = req.with_name(n);
            }
            if let Some(l) = labels {
                req = req.with_labels(l);
            }
            self.c
                .update_volume(self.tenant, &v.id, &req)
                .map_err(from_core)?;
        }
        Ok(self.operation(Some((Kind::Volume, v.id.to_string())), false))
    }

    fn delete(&mut self, id: &str) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        self.not_snapshotting(&v)?;
        self.c
            .delete_volume(self.tenant, &v.id, self.fault)
            .map_err(from_core)?;
        Ok(self.operation(Some((Kind::Volume, v.id.to_string())), true))
    }

    fn attach(&mut self, id: &str, request: &FakeRequest) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request, true)?;
        let instance =
            ref_field(&body, "instance")?.ok_or_else(|| bad_request("instance: is required"))?;
        let instance = InstanceId::new(instance)
            .ok()
            .and_then(|i| self.c.instance(self.tenant, &i).ok())
            .filter(|i| i.region == *self.zone)
            .ok_or_else(|| refusal(404, "Instance not found"))?;
        self.not_snapshotting(&v)?;
        if !v.attachments.is_empty() {
            return Err(conflict("Volume already attached"));
        }
        self.c
            .attach_volume(self.tenant, &v.id, &instance.id, self.fault)
            .map_err(from_core)?;
        Ok(self.operation(Some((Kind::Volume, v.id.to_string())), false))
    }

    fn detach(&mut self, id: &str) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        if v.attachments.is_empty() {
            return Err(conflict("Volume not attached"));
        }
        self.not_snapshotting(&v)?;
        self.c
            .detach_volume(self.tenant, &v.id, self.fault)
            .map_err(from_core)?;
        Ok(self.operation(Some((Kind::Volume, v.id.to_string())), false))
    }

    fn resize(&mut self, id: &str, request: &FakeRequest) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request, true)?;
        let size = size_field(&body)?.ok_or_else(|| bad_request("size: is required"))?;
        if size <= v.size.as_gib() {
            return Err(bad_request(format!(
                "size: the volume can only grow (it is {} GiB)",
                v.size.as_gib()
            )));
        }
        self.not_snapshotting(&v)?;
        let v = self
            .c
            .resize_volume(self.tenant, &v.id, Size::gib(size), self.fault)
            .map_err(from_core)?;
        Ok(self.render_volume(&v))
    }

    fn create_snapshot(&mut self, id: &str, request: &FakeRequest) -> Result<Value, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request, false)?;
        let name = name_field(&body)?;
        let labels = labels_field(&body)?.unwrap_or_default();
        let snaps = self.snapshots();
        if is_snapshotting(&snaps, &v.id) {
            return Err(conflict("Blockstorage Volume is snapshotting already"));
        }
        let taken = snaps
            .iter()
            .filter(|s| s.volume_id.as_ref() == Some(&v.id))
            .count();
        if taken >= MAX_SNAPSHOTS_PER_VOLUME {
            return Err(conflict(format!(
                "A volume can have at most {MAX_SNAPSHOTS_PER_VOLUME} snapshots"
            )));
        }
        let name = name.unwrap_or_else(|| format!("{}-snapshot-{}", v.name, taken + 1));
        let mut req = CreateSnapshot::new(v.id.clone(), name);
        req.labels = labels;
        let s = self
            .c
            .create_snapshot(self.tenant, &req, self.fault)
            .map_err(from_core)?;
        Ok(self.operation(Some((Kind::Snapshot, s.id.to_string())), false))
    }

    fn update_snapshot(&mut self, id: &str, request: &FakeRequest) -> Result<Value, Rejection> {
        let s = self.snapshot(id)?;
        let body = body_object(request, true)?;
        let name = name_field(&body)?;
        let labels = labels_field(&body)?;
        if s.state != SnapshotState::Available && (name.is_some() || labels.is_some()) {
            return Err(conflict(format!(
                "Blockstorage Snapshot is {}; it can be updated only when created",
                snapshot_word(&s.state)
            )));
        }
        let edit = self.st.snapshots.entry(s.id.to_string()).or_default();
        if name.is_some() {
            edit.name = name;
        }
        if labels.is_some() {
            edit.labels = labels;
        }
        Ok(self.operation(Some((Kind::Snapshot, s.id.to_string())), false))
    }

    fn get_operation(&mut self, id: &str) -> Result<Value, Rejection> {
        let not_found = || refusal(404, "Operation not found");
        let rec = self
            .st
            .ops
            .get(id)
            .filter(|r| r.tenant == self.tenant && !r.expired(self.operation_ttl))
            .cloned()
            .ok_or_else(not_found)?;
        let outcome = match &rec.done {
            Some((o, _)) => o.clone(),
            None => outcome_now(self.c, &rec),
        };
        if let Some(r) = self.st.ops.get_mut(id) {
            r.end(&outcome);
        }
        Ok(operation_json(id, &rec, &outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_reference() {
        let r = |m: Method, p: &str| {
            super::super::pipeline::path_segments(ExoscaleDialect::PREFIXES, p)
                .ok_or_else(|| refusal(404, ""))
                .and_then(|s| ExoscaleDialect::route(&FakeRequest::new(m.clone(), p), &s))
        };
        assert_eq!(r(Method::GET, "/v2/zone").unwrap(), Route::Zones);
        assert_eq!(
            r(Method::PUT, "/v2/block-storage/abc:attach").unwrap(),
            Route::Attach("abc".into())
        );
        assert_eq!(
            r(Method::PUT, "/v2/block-storage/abc:resize-volume").unwrap(),
            Route::Resize("abc".into())
        );
        assert_eq!(
            r(Method::POST, "/v2/block-storage/abc:create-snapshot").unwrap(),
            Route::CreateSnapshot("abc".into())
        );
        assert_eq!(
            r(Method::POST, "/v2/block-storage/abc:attach")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(
            r(Method::PUT, "/v2/block-storage/abc:explode")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            r(Method::PATCH, "/v2/block-storage").unwrap_err().status,
            405
        );
        assert_eq!(r(Method::GET, "/v3/zone").unwrap_err().status, 404);
        assert_eq!(
            r(Method::GET, "/v2/block-storage-snapshot/x").unwrap(),
            Route::GetSnapshot("x".into())
        );
    }

    #[test]
    fn states_in_exoscale_words() {
        assert_eq!(
            volume_word_plain(&VolumeState::Available, false),
            "detached"
        );
        assert_eq!(volume_word_plain(&VolumeState::InUse, true), "attached");
        assert_eq!(volume_word_plain(&VolumeState::Resizing, true), "attached");
        assert_eq!(
            volume_word_plain(&VolumeState::ErrorDeleting, false),
            "error"
        );
        assert_eq!(snapshot_word(&SnapshotState::Available), "created");
        assert_eq!(snapshot_word(&SnapshotState::Deleting), "destroying");
    }

    #[test]
    fn operation_ids_are_uuids() {
        let id = uuid_from(1);
        assert_eq!(id.len(), 36);
        assert_ne!(uuid_from(1), uuid_from(2));
    }

    #[test]
    fn the_policy_is_consistent() {
        super::super::dialect::assert_policy(&policy(), 1..=10_240, false, true);
    }
}

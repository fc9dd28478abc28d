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
//!   linode_api4 can send, is not in the reference and is refused.) So is a
//!   filter longer than 8 KiB or with more than 64 terms: the fake's own
//!   bounds (Linode documents none), far above what any client builds. A
//!   filtered listing is filtered and written after the engine's lock is
//!   released, so it delays no other request.
//! - Attach while `creating` is accepted, as recorded: the volume shows its
//!   `linode_id` at once and is attached in the engine when it becomes
//!   active (on the next request after that). Attaching an attached volume,
//!   or a Linode in another region, is a 400 with `field: "linode_id"`.
//! - Delete of an attached volume: when its Linode is `offline` it is
//!   detached and deleted (200 `{}`), as the recordings show; when the
//!   Linode is `running` it is a 400 ("Volume must be detached before it
//!   can be deleted.", the words of libcloud's own check). A volume that is
//!   still `creating` can be deleted (200 `{}`): linodego's recording
//!   `TestInstance_Volumes_List` deletes one right after the listing shows
//!   it `creating`, so [`policy`] relaxes the core lifecycle table with
//!   [`LINODE_LIFECYCLE`](crate::engine::LINODE_LIFECYCLE). A volume still
//!   `creating` or `resizing` cannot be updated, resized or cloned, nor
//!   deleted while `resizing` (400), as the core table says.
//! - `config_id` (and linode_api4's `config`) are accepted and ignored: the
//!   fake has no Linode configs. `encryption` is kept and shown
//!   (`disabled` unless asked for, as the spec's default).
//! - Faults: each request that reaches an operation calls
//!   [`Engine::decide_fault`](crate::engine::Engine::decide_fault) once (`/regions` and `/volumes/types`, which are
//!   static, do not). `ErrorBefore`/`ErrorAfter` become that status with
//!   `{"errors": [{"reason": message}]}`; `RateLimited` a 429
//!   `{"errors": [{"reason": "Too many requests"}]}` with `Retry-After`;
//!   `Latency` a delayed answer; `DropConnection` a closed connection after
//!   the change when mounted with [`Fake::mount`] or served by the binary
//!   (a 502 when the fake is used as a plain wiremock `Respond`er, which
//!   cannot close connections);
//!   `Stuck` and `LandInError` are applied by the engine.
//! - Optional per-token rate limiting ([`LinodeFakeBuilder::rate_limit`]):
//!   a fixed window on the engine's clock, with `X-RateLimit-Limit`,
//!   `X-RateLimit-Remaining`, `X-RateLimit-Reset` and, on the 429,
//!   `Retry-After`.

mod filter;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde_json::{json, Map, Value};
use volume_core::{
    CloneVolume, CreateVolume, Error, Instance, InstanceId, InstanceState, Labels, RegionId,
    ResourceKind, Size, UpdateVolume, Volume, VolumeId, VolumeState,
};

use self::filter::{Filter, FilterError};
use super::registry::{Entry, Setting, Settings};
use super::{
    Answer, Dialect, Fake, FakeBuilder, FakeOptions, FakeRequest, FakeResponse, Handler, Operation,
    Principal, RateLimit, RateStatus, Rejection,
};
use crate::engine::made_up::mix;
use crate::engine::{AttachedResize, Control, Delays, Engine, Fault, IdStyle, Policy, SimOp};
use crate::nbd::ExportSource;
use volume_core::time::{format_naive_utc as naive_utc, naive_utc_ascii, NaiveUtc};

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
        max_name_len: Some(32),
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

/// What a Linode fake accepts: bearer tokens and the tenant each acts for.
/// `Debug` shows how many, never a token.
#[derive(Default)]
pub struct LinodeConfig {
    tokens: Vec<(String, String)>,
}

impl fmt::Debug for LinodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinodeConfig")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

/// Builds a [`LinodeFake`]: the shared settings of [`FakeBuilder`] and
/// [`token`](FakeBuilder::token).
pub type LinodeFakeBuilder = FakeBuilder<LinodeDialect>;

impl FakeBuilder<LinodeDialect> {
    /// Accepts `token` as a bearer token acting for `tenant`. Several tokens
    /// may act for one tenant. Without any, [`DEFAULT_TOKEN`] acts for
    /// [`DEFAULT_TENANT`].
    pub fn token(mut self, token: impl Into<String>, tenant: impl Into<String>) -> Self {
        self.config.tokens.push((token.into(), tenant.into()));
        self
    }
}

// ----- the fake ---------------------------------------------------------------

/// The Linode API v4 volume endpoints, served from an [`Engine`]: the
/// [`Fake`] of [`LinodeDialect`].
///
/// Cheap to clone; clones serve the same cloud. Mount it on a wiremock
/// server with [`mount`](Fake::mount), start a server of its own with
/// [`start`](Fake::start), or use it as a wiremock `Respond`er.
pub type LinodeFake = Fake<LinodeDialect>;

impl Fake<LinodeDialect> {
    /// The tenant `token` acts for, if it is accepted.
    pub fn tenant_of(&self, token: &str) -> Option<&str> {
        self.dialect().tokens.get(token).map(|tenant| &**tenant)
    }
}

/// Linode's settings in the binaries (today's flags and variables).
const SETTINGS: &[Setting] = &[
    Setting {
        flag: "linode-token",
        env: "VOLUME_SIM_LINODE_TOKEN",
        value_name: "TOKEN",
        default: Some(DEFAULT_TOKEN),
        help: "The bearer token the Linode fake accepts.",
        secret: true,
    },
    Setting {
        flag: "linode-rate-limit",
        env: "VOLUME_SIM_LINODE_RATE_LIMIT",
        value_name: "N",
        default: None,
        help: "Limit each Linode token to this many requests per minute (429 with Retry-After beyond). No limit by default.",
        secret: false,
    },
];

/// Linode's line in the [registry](super::registry).
pub const ENTRY: Entry = Entry {
    name: "linode",
    settings: SETTINGS,
    build: build_from_settings,
    credentials: |s: &Settings| format!("token: {}", s.shown("linode-token")),
    exports: |engine| {
        ExportSource::new(engine, [DEFAULT_TENANT]).with_alias(|v| Some(device_path(&v.name)))
    },
};

/// Where Linode says a volume appears on its Linode (`filesystem_path`):
/// also the volume's NBD export alias.
pub fn device_path(label: &str) -> String {
    DevicePath(label).to_string()
}

/// [`device_path`] written where it is needed (a response body) without a
/// `String` of its own.
#[derive(Debug, Clone, Copy)]
struct DevicePath<'a>(&'a str);

impl fmt::Display for DevicePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/dev/disk/by-id/scsi-0Linode_Volume_{}", self.0)
    }
}

impl Serialize for DevicePath<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn build_from_settings(
    options: &FakeOptions,
    settings: &Settings,
) -> Result<std::sync::Arc<dyn Handler>, String> {
    let mut options = options.clone();
    if let Some(n) = settings.get("linode-rate-limit") {
        let limit = n
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("--linode-rate-limit: {n:?} is not a whole number"))?;
        options.rate_limit = Some(RateLimit {
            limit,
            window: Duration::from_secs(60),
        });
    }
    let token = settings.get("linode-token").unwrap_or(DEFAULT_TOKEN);
    Ok(LinodeFake::builder()
        .options(options)
        .token(token, DEFAULT_TENANT)
        .build()
        .handler())
}

/// The Linode dialect: what [`LinodeFake`] runs through the pipeline.
pub struct LinodeDialect {
    /// token -> tenant, both shared with the principals made from them.
    tokens: HashMap<Arc<str>, Arc<str>>,
}

impl fmt::Debug for LinodeDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinodeDialect")
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

/// What the Linode fake keeps beside the engine: Linode-only fields of
/// volumes, and attachments waiting for a volume to become active.
#[derive(Debug, Default)]
pub struct LinodeState {
    volumes: HashMap<String, VolumeExtra>,
    /// Attachments accepted while their volume was `creating`, by volume:
    /// kept apart so that applying them costs what is waiting, not the
    /// size of the cloud.
    pending: HashMap<String, PendingAttach>,
}

#[derive(Debug, Clone, Default)]
struct VolumeExtra {
    encryption_enabled: bool,
    updated: Option<SystemTime>,
}

#[derive(Debug, Clone)]
struct PendingAttach {
    tenant: String,
    instance: InstanceId,
    fault: Option<Fault>,
}

// ----- errors -----------------------------------------------------------------

/// The Linode name of a field the engine names in its own words.
fn wire_field(field: &str) -> &str {
    match field {
        "name" => "label",
        "instance_id" => "linode_id",
        "labels" => "tags",
        other => other,
    }
}

/// A 400 without a field.
fn refused(reason: impl Into<String>) -> Rejection {
    Rejection::conflict(400, reason)
}

fn not_found() -> Rejection {
    Rejection::not_found("Not found")
}

/// The Linode answer for an engine error raised by `op` on volume `id`.
fn from_core(e: Error, id: &str) -> Rejection {
    match e {
        Error::NotFound {
            kind: ResourceKind::Instance,
            ..
        } => Rejection::bad_field("linode_id", "Linode not found."),
        Error::NotFound { .. } => not_found(),
        Error::AlreadyExists { .. } => {
            Rejection::bad_field("label", "Label must be unique among your Volumes.")
        }
        Error::InvalidState {
            kind,
            state,
            operation,
            ..
        } => refused(state_reason(kind, id, &state, operation)),
        Error::InvalidInput { field, reason, .. } => {
            Rejection::bad_field(wire_field(&field), reason)
        }
        Error::QuotaExceeded { message, .. } => refused(format!(
            "Account limit reached ({message}). Please contact support describing your requirement."
        )),
        Error::Unauthenticated { .. } => Rejection::unauthenticated("Invalid Token"),
        Error::PermissionDenied { .. } => Rejection::forbidden("Unauthorized"),
        Error::RateLimited { retry_after, .. } => {
            Rejection::rate_limited(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        Error::Unsupported { operation, .. } => refused(format!("{operation} is not supported.")),
        other => Rejection::new(
            super::RejectKind::Internal,
            500,
            format!("Internal server error ({other})"),
        ),
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

/// A Linode request, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `OPTIONS` on a known path: the CORS pre-flight.
    Preflight,
    /// `GET /regions`.
    Regions,
    /// `GET /regions/{id}`.
    Region(String),
    /// `GET /volumes/types`.
    VolumeTypes,
    /// `GET /volumes`.
    ListVolumes,
    /// `POST /volumes`.
    CreateVolume,
    /// `GET /volumes/{id}`.
    GetVolume(u64),
    /// `PUT /volumes/{id}`.
    UpdateVolume(u64),
    /// `DELETE /volumes/{id}`.
    DeleteVolume(u64),
    /// `POST /volumes/{id}/attach`.
    Attach(u64),
    /// `POST /volumes/{id}/detach`.
    Detach(u64),
    /// `POST /volumes/{id}/clone`.
    Clone(u64),
    /// `POST /volumes/{id}/resize`.
    Resize(u64),
    /// `GET /linode/instances`.
    ListInstances,
    /// `GET /linode/instances/{id}`.
    GetInstance(u64),
    /// `GET /linode/instances/{id}/volumes`.
    InstanceVolumes(u64),
}

impl Route {
    fn is_public(&self) -> bool {
        matches!(
            self,
            Self::Preflight | Self::Regions | Self::Region(_) | Self::VolumeTypes
        )
    }

    /// The OAuth scopes the endpoint needs (linode.md §2), for the
    /// `X-Accepted-OAuth-Scopes` header.
    fn scopes(&self) -> &'static str {
        match self {
            Self::Preflight | Self::Regions | Self::Region(_) | Self::VolumeTypes => "*",
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
fn route(method: &Method, segs: &[&str]) -> Result<Route, Rejection> {
    let read = *method == Method::GET || *method == Method::HEAD;
    let post = *method == Method::POST;
    let not_allowed = || Rejection::method_not_allowed("Method Not Allowed");
    let id = |s: &str| int_id(s).ok_or_else(not_found);
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
        _ => Err(not_found()),
    }
}

// ----- pagination -----------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct PageQuery {
    /// `None`: past 2^64 / page_size, which gets the last page.
    page: Option<u64>,
    size: u64,
}

fn page_query(request: &FakeRequest) -> Result<PageQuery, Rejection> {
    let mut page = None;
    let mut size = None;
    for (k, v) in request.query_pairs() {
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
                return Err(Rejection::bad_field(
                    "page_size",
                    format!(
                        "page_size must be an integer between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}."
                    ),
                ))
            }
        },
    };
    let bad_page = || {
        Rejection::bad_field(
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
    paged(items, q, |item| item)
}

/// The page `q` asks of `items`, each rendered by `render` (only the
/// page's items are), in Linode's envelope.
fn paged<T>(items: Vec<T>, q: PageQuery, render: impl FnMut(T) -> Value) -> Value {
    let results = items.len() as u64;
    let pages = results.div_ceil(q.size).max(1);
    let page = q.page.unwrap_or(pages);
    let skip = usize::try_from((page - 1).saturating_mul(q.size)).unwrap_or(usize::MAX);
    let take = usize::try_from(q.size).unwrap_or(usize::MAX);
    let data: Vec<Value> = items
        .into_iter()
        .skip(skip)
        .take(take)
        .map(render)
        .collect();
    json!({"data": data, "page": page, "pages": pages, "results": results})
}

/// Filters, orders and pages `items` in their wire form. With no
/// `X-Filter`, only the page asked for is rendered, so a listing costs a
/// page of JSON however many items there are.
fn listing<T>(
    items: Vec<T>,
    filter: &Filter,
    q: PageQuery,
    render: impl FnMut(T) -> Value,
) -> Value {
    if filter.is_none() {
        return paged(items, q, render);
    }
    filtered(items.into_iter().map(render).collect(), filter, q)
}

/// Filters, orders and pages `items` as the request asks.
fn list(request: &FakeRequest, fields: &[&str], items: Vec<Value>) -> Result<Value, Rejection> {
    let filter = parse_filter(request, fields)?;
    let q = page_query(request)?;
    Ok(filtered(items, &filter, q))
}

fn filtered(items: Vec<Value>, filter: &Filter, q: PageQuery) -> Value {
    let mut items: Vec<Value> = items.into_iter().filter(|i| filter.matches(i)).collect();
    filter.sort(&mut items);
    envelope(items, q)
}

fn parse_filter(request: &FakeRequest, fields: &[&str]) -> Result<Filter, Rejection> {
    let raw = request.headers.get("x-filter").map(|v| v.as_bytes());
    Filter::parse(raw, fields)
        .map_err(|FilterError(reason)| Rejection::bad_field("X-Filter", reason))
}

// ----- request bodies ---------------------------------------------------------------

type FieldError = (String, String);

fn entry(field: &str, reason: impl Into<String>) -> FieldError {
    (field.to_owned(), reason.into())
}

/// The JSON object a request carries; an empty body is an empty object.
fn body_object(request: &FakeRequest) -> Result<Map<String, Value>, Rejection> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(refused("Request body must be a JSON object.")),
        Err(_) => Err(refused("Invalid JSON")),
    }
}

/// A string field; `null` is absent.
fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(entry(key, format!("{key} must be a string."))),
    }
}

/// An integer field (wide enough to tell negative and huge values apart);
/// `null` is absent.
fn int_field(obj: &Map<String, Value>, key: &str) -> Result<Option<i128>, FieldError> {
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

fn bool_field(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(entry(key, format!("{key} must be a boolean."))),
    }
}

/// `tags`: an array of strings; `null` is absent.
fn tags_field(obj: &Map<String, Value>) -> Result<Option<Labels>, FieldError> {
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
fn size_field(obj: &Map<String, Value>, required: bool) -> Result<Option<u64>, FieldError> {
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
fn linode_id_field(obj: &Map<String, Value>, key: &str) -> Result<Option<InstanceId>, FieldError> {
    match int_field(obj, key)? {
        None => Ok(None),
        Some(n) if n >= 0 => InstanceId::new(n.to_string())
            .map(Some)
            .map_err(|_| entry(key, format!("{key} is not valid."))),
        Some(_) => Err(entry(key, format!("{key} is not valid."))),
    }
}

fn label_field(obj: &Map<String, Value>, required: bool) -> Result<Option<String>, FieldError> {
    match str_field(obj, "label")? {
        None if required => Err(entry("label", "Label is required.")),
        None => Ok(None),
        Some(l) => label_rule(l)
            .map(|()| Some(l.to_owned()))
            .map_err(|reason| entry("label", reason)),
    }
}

/// Collects one field's outcome, keeping the error for the 400.
fn keep<T>(r: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
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
/// What a Linode volume's JSON needs, read under the engine's lock; written
/// out after it is released ([`VolumeView::json`]).
#[derive(Debug)]
struct VolumeView {
    volume: Arc<Volume>,
    attached: Option<InstanceId>,
    linode_label: Option<String>,
    created: SystemTime,
    updated: SystemTime,
    encryption_enabled: bool,
}

/// The Linode a volume shows as its `linode_id`: where it is attached, or
/// where an attachment accepted while it was creating will put it.
fn linode_of<'v>(st: &'v LinodeState, v: &'v Volume) -> Option<&'v InstanceId> {
    v.attached_to()
        .or_else(|| st.pending.get(v.id.as_str()).map(|p| &p.instance))
}

fn volume_view(c: &Control, st: &LinodeState, tenant: &str, volume: Arc<Volume>) -> VolumeView {
    let extra = st.volumes.get(volume.id.as_str());
    let attached = linode_of(st, &volume).cloned();
    let linode_label = attached
        .as_ref()
        .and_then(|i| c.instance(tenant, i).ok())
        .map(|i| i.name);
    let created = volume
        .created_at
        .unwrap_or_else(|| c.system_time(Duration::ZERO));
    let updated = extra
        .and_then(|e| e.updated)
        .unwrap_or(created)
        .max(created);
    VolumeView {
        attached,
        linode_label,
        created,
        updated,
        encryption_enabled: extra.is_some_and(|e| e.encryption_enabled),
        volume,
    }
}

impl VolumeView {
    /// The filterable fields among `fields` ([`VOLUME_FIELDS`]) as
    /// [`json`](Self::json) writes them (the same helpers, pinned equal by
    /// the fake's tests), without writing the rest: what `X-Filter` tests
    /// and orders on.
    fn only(&self, fields: &[&str]) -> Value {
        let v = &self.volume;
        let mut shown = Map::with_capacity(fields.len());
        for &field in fields {
            let value = match field {
                "id" => num(v.id.as_str()),
                "label" => Value::from(v.name.as_str()),
                "linode_id" => self
                    .attached
                    .as_ref()
                    .map_or(Value::Null, |i| num(i.as_str())),
                "region" => Value::from(v.region.as_str()),
                "size" => Value::from(v.size.as_gib()),
                "status" => Value::from(status_word(&v.state)),
                "tags" => Value::Array(tags_of(&v.labels)),
                _ => continue,
            };
            shown.insert(field.to_owned(), value);
        }
        Value::Object(shown)
    }

    fn json(&self) -> VolumeJson<'_> {
        let v = &self.volume;
        VolumeJson {
            id: num(v.id.as_str()),
            label: &v.name,
            status: status_word(&v.state),
            size: v.size.as_gib(),
            region: v.region.as_str(),
            linode_id: self.attached.as_ref().map(|i| num(i.as_str())),
            linode_label: self.linode_label.as_deref(),
            filesystem_path: DevicePath(&v.name),
            tags: tags_of(&v.labels),
            hardware_type: "nvme",
            encryption: if self.encryption_enabled {
                "enabled"
            } else {
                "disabled"
            },
            created: naive_utc_ascii(self.created),
            updated: naive_utc_ascii(self.updated),
            io_ready: v.attached_to().is_some()
                && matches!(v.state, VolumeState::InUse | VolumeState::Resizing),
            locks: [],
        }
    }
}

/// What a Linode operation hands back from under the engine's lock: an
/// answer, or a volume to write out once the lock is released.
#[derive(Debug)]
pub struct LinodeReply(Reply);

#[derive(Debug)]
enum Reply {
    Ready(FakeResponse),
    Volume(Box<VolumeView>),
    /// Volumes to filter, order and page by `X-Filter`.
    Filtered {
        views: Vec<VolumeView>,
        filter: Filter,
        q: PageQuery,
    },
}

impl From<FakeResponse> for LinodeReply {
    fn from(response: FakeResponse) -> Self {
        Self(Reply::Ready(response))
    }
}

impl From<LinodeReply> for FakeResponse {
    fn from(reply: LinodeReply) -> Self {
        match reply.0 {
            Reply::Ready(response) => response,
            Reply::Volume(view) => Self::json_of(200, &view.json()),
            Reply::Filtered { views, filter, q } => {
                // Each volume shows only the fields the filter reads; only
                // the page's volumes are written out whole.
                let fields = filter.fields();
                let mut kept: Vec<(Value, &VolumeView)> = views
                    .iter()
                    .filter_map(|v| {
                        let shown = v.only(&fields);
                        filter.matches(&shown).then_some((shown, v))
                    })
                    .collect();
                filter.sort_by(&mut kept, |(shown, _)| shown);
                let page = paged(kept, q, |(_, v)| {
                    serde_json::to_value(v.json()).unwrap_or(Value::Null)
                });
                Self::json(200, &page)
            }
        }
    }
}

/// A Linode volume as the API writes it (SPEC-10 and recordings), in the
/// documented field order; serialised straight into the answer.
#[derive(Serialize)]
struct VolumeJson<'a> {
    id: Value,
    label: &'a str,
    status: &'a str,
    size: u64,
    region: &'a str,
    linode_id: Option<Value>,
    linode_label: Option<&'a str>,
    filesystem_path: DevicePath<'a>,
    tags: Vec<Value>,
    hardware_type: &'static str,
    encryption: &'static str,
    created: NaiveUtc,
    updated: NaiveUtc,
    io_ready: bool,
    locks: [(); 0],
}

/// A small number from an id, for addresses that differ per instance.
fn low_byte(id: &str) -> u64 {
    id.parse::<u64>().map_or(0, |n| n % 250 + 2)
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
fn common_headers(reply: FakeResponse) -> FakeResponse {
    // Appended to the answer's own map, which has room for them: cloning a
    // prepared map took fewer instructions but three allocations more
    // (the clone's two, and its growth for the answer's own headers), and
    // with two workers each allocation freed on the other one costs more.
    reply.with_headers(COMMON_HEADERS)
}

/// Every answer's CORS and caching headers, as Linode sends them; made at
/// compile time.
const COMMON_HEADERS: [(HeaderName, HeaderValue); 7] = [
    (
        HeaderName::from_static("access-control-allow-credentials"),
        HeaderValue::from_static("true"),
    ),
    (
        HeaderName::from_static("access-control-allow-headers"),
        HeaderValue::from_static(
            "Authorization, Origin, X-Requested-With, Content-Type, Accept, X-Filter",
        ),
    ),
    (
        HeaderName::from_static("access-control-allow-methods"),
        HeaderValue::from_static("HEAD, GET, OPTIONS, POST, PUT, DELETE"),
    ),
    (
        HeaderName::from_static("access-control-allow-origin"),
        HeaderValue::from_static("*"),
    ),
    (
        HeaderName::from_static("access-control-expose-headers"),
        HeaderValue::from_static("X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Status"),
    ),
    (
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("max-age=0, no-cache, no-store"),
    ),
    (
        HeaderName::from_static("vary"),
        HeaderValue::from_static("Authorization, X-Filter"),
    ),
];

/// The scope headers: the route's accepted scopes, and the token's (all)
/// on a success.
const ACCEPTED_SCOPES: HeaderName = HeaderName::from_static("x-accepted-oauth-scopes");
const TOKEN_SCOPES: HeaderName = HeaderName::from_static("x-oauth-scopes");
const ALL_SCOPES: HeaderValue = HeaderValue::from_static("*");

impl Dialect for LinodeDialect {
    const NAME: &'static str = "linode";
    const PREFIXES: &'static [&'static str] = &["/v4beta", PATH_PREFIX];
    type Route = Route;
    type Reply = LinodeReply;
    type State = LinodeState;
    const DEFAULT_REGIONS: &'static [&'static str] = &DEFAULT_REGIONS;
    type Config = LinodeConfig;

    fn policy() -> Policy {
        policy()
    }

    fn new(config: LinodeConfig, _engine: &Engine) -> Self {
        let mut tokens: Vec<(String, String)> = config.tokens;
        if tokens.is_empty() {
            tokens.push((DEFAULT_TOKEN.to_owned(), DEFAULT_TENANT.to_owned()));
        }
        let tokens = tokens
            .into_iter()
            .map(|(token, tenant)| (Arc::from(token), Arc::from(tenant)))
            .collect();
        Self { tokens }
    }

    fn route(request: &FakeRequest, segments: &[&str]) -> Result<Route, Rejection> {
        if request.method != Method::OPTIONS {
            return route(&request.method, segments);
        }
        // Pre-flight: any known path, no token needed.
        [Method::GET, Method::POST, Method::PUT, Method::DELETE]
            .iter()
            .find_map(|m| route(m, segments).ok())
            .map(|_| Route::Preflight)
            .ok_or_else(not_found)
    }

    fn public(&self, engine: &Engine, route: &Route, request: &FakeRequest) -> Option<Answer> {
        if !route.is_public() {
            return None;
        }
        let answer = match route {
            Route::Preflight => Ok(json!({})),
            Route::Regions => {
                let items = engine.with(|c| {
                    c.regions()
                        .iter()
                        .map(|r| region_json(r.as_str()))
                        .collect()
                });
                list(request, REGION_FIELDS, items)
            }
            Route::Region(id) => {
                if engine.with(|c| c.regions().iter().any(|r| r.as_str() == id)) {
                    Ok(region_json(id))
                } else {
                    Err(not_found())
                }
            }
            _ => list(request, TYPE_FIELDS, volume_types()),
        };
        Some(answer.map(|v| FakeResponse::json(200, &v)))
    }

    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection> {
        let unauthorized = || Rejection::unauthenticated("Invalid Token");
        let token = bearer(request).ok_or_else(unauthorized)?;
        let (token, tenant) = self.tokens.get_key_value(token).ok_or_else(unauthorized)?;
        Ok(Principal::new(Arc::clone(tenant), Arc::clone(token)))
    }

    fn operation(route: &Route) -> Option<SimOp> {
        Some(match route {
            Route::Preflight | Route::Regions | Route::Region(_) | Route::VolumeTypes => {
                return None
            }
            // The instances' endpoints list what volumes attach to.
            Route::ListInstances | Route::GetInstance(_) | Route::InstanceVolumes(_) => {
                SimOp::ListInstances
            }
            Route::ListVolumes => SimOp::ListVolumes,
            Route::GetVolume(_) => SimOp::GetVolume,
            Route::CreateVolume => SimOp::CreateVolume,
            Route::Clone(_) => SimOp::CloneVolume,
            Route::UpdateVolume(_) => SimOp::UpdateVolume,
            Route::Resize(_) => SimOp::ResizeVolume,
            Route::Attach(_) => SimOp::AttachVolume,
            Route::Detach(_) => SimOp::DetachVolume,
            Route::DeleteVolume(_) => SimOp::DeleteVolume,
        })
    }

    fn run(
        &self,
        op: &mut Operation<'_, LinodeState>,
        route: &Route,
        req: &FakeRequest,
    ) -> Result<LinodeReply, Rejection> {
        reconcile(op.control, op.state);
        let mut op = Op {
            c: op.control,
            st: op.state,
            tenant: op.tenant,
            fault: op.fault,
        };
        op.run(route, req)
    }

    /// Linode's error body: `{"errors": [{"reason": ..., "field": ...}]}`
    /// with at least one entry, and `Retry-After` on a 429.
    fn render(r: &Rejection) -> FakeResponse {
        let entry = |field: Option<&str>, reason: &str| {
            let mut m = Map::new();
            m.insert("reason".into(), Value::from(reason));
            if let Some(f) = field {
                m.insert("field".into(), Value::from(f));
            }
            Value::Object(m)
        };
        let mut errors: Vec<Value> = r
            .fields
            .iter()
            .map(|(field, reason)| entry(Some(field), reason))
            .collect();
        if errors.is_empty() {
            // linodego takes an error answer with no entries for a success.
            let reason = if r.message.is_empty() {
                "Internal server error"
            } else {
                &r.message
            };
            errors.push(entry(None, reason));
        }
        let reply = FakeResponse::json(r.status, &json!({ "errors": errors }));
        match r.retry_after_secs() {
            Some(s) => reply.header("retry-after", s.to_string()),
            None => reply,
        }
    }

    fn finish(
        &self,
        response: FakeResponse,
        route: Option<&Route>,
        rate: Option<&RateStatus>,
    ) -> FakeResponse {
        let mut response = common_headers(response);
        if let Some(route) = route {
            let scopes = HeaderValue::from_static(route.scopes());
            response = response.with_headers([(ACCEPTED_SCOPES, scopes)]);
            if !route.is_public() && response.status < 300 {
                response = response.with_headers([(TOKEN_SCOPES, ALL_SCOPES)]);
            }
        }
        if let Some(rate) = rate {
            response = response
                .header("x-ratelimit-limit", rate.limit.to_string())
                .header("x-ratelimit-remaining", rate.remaining.to_string())
                .header("x-ratelimit-reset", rate.reset_unix.to_string());
        }
        response
    }
}

/// The bearer token of a request.
fn bearer(request: &FakeRequest) -> Option<&str> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Linode's answer to a change with nothing to say: `{}`.
fn empty_object() -> FakeResponse {
    FakeResponse::new(200, "application/json", &b"{}"[..])
}

/// Applies attachments that waited for their volume to leave `creating`.
fn reconcile(c: &mut Control, st: &mut LinodeState) {
    if st.pending.is_empty() {
        return;
    }
    let mut gone = Vec::new();
    st.pending.retain(|id, p| {
        let Ok(vid) = VolumeId::new(id.clone()) else {
            return false;
        };
        match c.get_volume(&p.tenant, &vid) {
            Ok(v) if v.state == VolumeState::Creating => true,
            Ok(v) => {
                if v.state == VolumeState::Available {
                    // The attach was accepted already; if it fails now (the
                    // Linode went away) the volume simply stays detached.
                    let _ = c.attach_volume(&p.tenant, &vid, &p.instance, p.fault.as_ref());
                }
                false
            }
            Err(_) => {
                gone.push(id.clone());
                false
            }
        }
    });
    for id in gone {
        st.volumes.remove(&id);
    }
}

/// One authenticated operation, run with the engine's lock held.
struct Op<'a> {
    c: &'a mut Control,
    st: &'a mut LinodeState,
    tenant: &'a str,
    fault: Option<&'a Fault>,
}

impl Op<'_> {
    fn now(&self) -> SystemTime {
        self.c.system_time(self.c.now())
    }

    fn volume(&self, id: u64) -> Result<Volume, Rejection> {
        self.c
            .get_volume(self.tenant, &volume_id(id))
            .map_err(|_| not_found())
    }

    /// A volume as a JSON value, for listings and their filters.
    fn render(&self, v: Arc<Volume>) -> Value {
        let view = volume_view(self.c, self.st, self.tenant, v);
        serde_json::to_value(view.json()).unwrap_or(Value::Null)
    }

    /// A listing of `volumes`: without a filter only the page is written,
    /// here; with one, what each volume shows is read here and the
    /// filtering, ordering and writing happen once the engine's lock is
    /// released, so a costly filter holds no other request up.
    fn volume_listing(
        &self,
        volumes: Vec<Arc<Volume>>,
        filter: Filter,
        q: PageQuery,
    ) -> LinodeReply {
        if filter.is_none() {
            let answer = listing(volumes, &filter, q, |v| self.render(v));
            return FakeResponse::json(200, &answer).into();
        }
        let views = volumes
            .into_iter()
            .map(|v| volume_view(self.c, self.st, self.tenant, v))
            .collect();
        LinodeReply(Reply::Filtered { views, filter, q })
    }

    /// A volume as the whole answer, written out once the lock is released.
    fn reply(&self, v: Volume) -> LinodeReply {
        self.reply_shared(Arc::new(v))
    }

    /// [`reply`](Self::reply) for a volume the engine shares.
    fn reply_shared(&self, v: Arc<Volume>) -> LinodeReply {
        LinodeReply(Reply::Volume(Box::new(volume_view(
            self.c,
            self.st,
            self.tenant,
            v,
        ))))
    }

    fn touch(&mut self, id: &VolumeId) {
        let now = self.now();
        self.st.volumes.entry(id.to_string()).or_default().updated = Some(now);
    }

    fn run(&mut self, route: &Route, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
        match route {
            Route::ListVolumes => {
                let filter = parse_filter(request, VOLUME_FIELDS)?;
                let q = page_query(request)?;
                let volumes = self.c.all_volumes_shared(self.tenant);
                Ok(self.volume_listing(volumes, filter, q))
            }
            Route::GetVolume(id) => {
                let v = self
                    .c
                    .get_volume_shared(self.tenant, &volume_id(*id))
                    .map_err(|_| not_found())?;
                Ok(self.reply_shared(v))
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
                let instances = self.c.all_instances(self.tenant);
                let answer = listing(instances, &filter, q, |i| instance_json(self.c, &i));
                Ok(FakeResponse::json(200, &answer).into())
            }
            Route::GetInstance(id) => self
                .c
                .instance(self.tenant, &instance_id(*id))
                .map(|i| FakeResponse::json(200, &instance_json(self.c, &i)).into())
                .map_err(|_| not_found()),
            Route::InstanceVolumes(id) => {
                let filter = parse_filter(request, VOLUME_FIELDS)?;
                let q = page_query(request)?;
                let linode = instance_id(*id);
                self.c
                    .instance(self.tenant, &linode)
                    .map_err(|_| not_found())?;
                // Its volumes, as `linode_id` shows them (pending
                // attachments included), chosen before any is rendered.
                let volumes: Vec<Arc<Volume>> = self
                    .c
                    .all_volumes_shared(self.tenant)
                    .into_iter()
                    .filter(|v| linode_of(self.st, v) == Some(&linode))
                    .collect();
                Ok(self.volume_listing(volumes, filter, q))
            }
            Route::Preflight | Route::Regions | Route::Region(_) | Route::VolumeTypes => {
                Err(not_found())
            }
        }
    }

    fn create(&mut self, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
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
        if config.is_some() && linode.is_none() && !errors.iter().any(|e| e.0 == "linode_id") {
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
                if linode.is_none() && !errors.iter().any(|e| e.0 == "linode_id") {
                    errors.push(entry(
                        "region",
                        "region is required when linode_id is not given.",
                    ));
                }
                None
            }
        };
        if !errors.is_empty() {
            return Err(Rejection::bad_fields(errors));
        }
        let (Some(label), Some(region)) = (label, region) else {
            return Err(refused("Invalid request."));
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
            },
        );
        Ok(self.reply(v))
    }

    fn update(&mut self, id: u64, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let mut errors = Vec::new();
        let label = keep(label_field(&body, false), &mut errors).flatten();
        let labels = keep(tags_field(&body), &mut errors).flatten();
        if !errors.is_empty() {
            return Err(Rejection::bad_fields(errors));
        }
        if label.is_none() && labels.is_none() {
            return Ok(self.reply(v));
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
        Ok(self.reply(v))
    }

    fn delete(&mut self, id: u64) -> Result<LinodeReply, Rejection> {
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
            self.st.pending.remove(v.id.as_str());
        }
        Ok(empty_object().into())
    }

    fn attach(&mut self, id: u64, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
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
            return Err(Rejection::bad_fields(errors));
        }
        let Some(linode) = linode else {
            return Err(Rejection::bad_field("linode_id", "linode_id is required."));
        };
        let instance = self
            .c
            .instance(self.tenant, &linode)
            .map_err(|_| Rejection::bad_field("linode_id", "Linode not found."))?;
        if !v.attachments.is_empty() || self.st.pending.contains_key(v.id.as_str()) {
            return Err(Rejection::bad_field(
                "linode_id",
                "Volume is already attached to a Linode.",
            ));
        }
        if instance.region != v.region {
            return Err(Rejection::bad_field(
                "linode_id",
                "Volume and Linode must be in the same region.",
            ));
        }
        if persist == Some(false) && instance.state != InstanceState::Running {
            return Err(Rejection::bad_field("linode_id", "Linode is not active"));
        }
        if v.state == VolumeState::Creating {
            // Accepted while creating (recorded); applied once active.
            self.st.pending.insert(
                v.id.to_string(),
                PendingAttach {
                    tenant: self.tenant.to_owned(),
                    instance: instance.id,
                    fault: self.fault.cloned(),
                },
            );
            self.touch(&v.id);
            return Ok(self.reply(v));
        }
        let v = self
            .c
            .attach_volume(self.tenant, &v.id, &instance.id, self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(self.reply(v))
    }

    fn detach(&mut self, id: u64) -> Result<LinodeReply, Rejection> {
        let v = self.volume(id)?;
        if self.st.pending.remove(v.id.as_str()).is_some() {
            self.touch(&v.id);
            return Ok(empty_object().into());
        }
        if v.attachments.is_empty() {
            return Err(refused("Volume is not attached to a Linode."));
        }
        self.c
            .detach_volume(self.tenant, &v.id, self.fault)
            .map_err(|e| from_core(e, v.id.as_str()))?;
        self.touch(&v.id);
        Ok(empty_object().into())
    }

    fn clone_volume(&mut self, id: u64, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let label = label_field(&body, true)
            .map_err(|e| Rejection::bad_fields(vec![e]))?
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
            },
        );
        Ok(self.reply(clone))
    }

    fn resize(&mut self, id: u64, request: &FakeRequest) -> Result<LinodeReply, Rejection> {
        let v = self.volume(id)?;
        let body = body_object(request)?;
        let size = size_field(&body, true)
            .map_err(|e| Rejection::bad_fields(vec![e]))?
            .unwrap_or(0);
        if size <= v.size.as_gib() {
            return Err(Rejection::bad_field(
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
        Ok(self.reply(v))
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
            super::super::pipeline::path_segments(LinodeDialect::PREFIXES, p)
                .ok_or_else(not_found)
                .and_then(|s| LinodeDialect::route(&FakeRequest::new(m.clone(), p), &s))
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
        super::super::dialect::assert_policy(&policy(), 10..=10_240, true, false);
    }
}

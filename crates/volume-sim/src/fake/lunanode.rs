//! The LunaNode Dynamic API volume dialect, served from the engine.
//!
//! [`LunaNodeFake`] answers `POST /api/{category}/{action}/` the way
//! `https://dynamic.lunanode.com/api/` does, per the wire reference
//! `api/lunanode.md` and the documented examples beside it: a form-encoded
//! body whose `req` field is the JSON parameters, signed with HMAC-SHA512,
//! every value a string, and every error an HTTP 200 whose body says
//! `{"success": "no", "error": "..."}`. It is what the `volume-lunanode`
//! crate is tested against, and what LunaNode's own `lndynamic` clients can
//! be pointed at. The JSON is written from the reference here, not from any
//! client's types.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::lunanode::LunaNodeFake;
//!
//! let fake = LunaNodeFake::builder().build();
//! let server = fake.start().await;
//! // An unsigned request is refused, in LunaNode's way: HTTP 200 and
//! // `"success": "no"`.
//! let refused: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/volume/list/", LunaNodeFake::base_url(&server)))
//!     .form(&[("req", "{}")])
//!     .send().await.unwrap().json().await.unwrap();
//! assert_eq!(refused["success"], "no");
//! # });
//! ```
//!
//! # What it serves
//!
//! | action (below `/api/`) | parameters (required; *optional*) | answer besides `"success": "yes"` |
//! |---|---|---|
//! | `volume/create/` | `region`, `label`, `size`; *`image`* or *`snapshot_id`* | `volume_id` |
//! | `volume/list/` | *`region`* | `volumes` (list shape) |
//! | `volume/info/` | `volume_id` | `volume` (info shape) |
//! | `volume/attach/` | `volume_id`, `vm_id`, `target` (`auto` or `/dev/…`) | – |
//! | `volume/detach/` | `volume_id` | – |
//! | `volume/extend/` | `volume_id`, `size` (the new total; only detached volumes) | – |
//! | `volume/rename/` | `volume_id`, `name` | – |
//! | `volume/delete/` | `volume_id` | – |
//! | `volume/snapshot-create/` | `volume_id`, `label` | `snapshot_id` |
//! | `volume/snapshot-list/` | `region` | `snapshots` |
//! | `volume/snapshot-replicate/` | `region`, `snapshot_id`, `image_name`, `dst_region` | `image_id` |
//! | `volume/snapshot-delete/` | `region`, `snapshot_id` | – |
//! | `vm/list/` | – | `vms` (the seeded instances) |
//! | `image/list/` | *`region`* | `images` (those made by `snapshot-replicate`) |
//!
//! `region` is accepted on every action, checked where it is a parameter
//! (create, list, the snapshot actions, `image/list`) and ignored on the
//! others, as the reference recommends; `handler` and every unknown field
//! or parameter are ignored.
//!
//! # Authentication
//!
//! The signature is verified over `req` exactly as received (never
//! re-serialised), with the handler taken from the URL path; `api_id` must
//! be a configured id and `api_partialkey` the first 64 characters of its
//! key. The nonce must be within [`DEFAULT_NONCE_SKEW`] of the server's
//! clock (the real clock, as clients sign with it), and a replay inside
//! [`DEFAULT_REPLAY_WINDOW`] is refused: by default the same signed
//! request seen again ([`NonceRule::SameRequest`], because LunaNode's own
//! clients use the current second as the nonce, so two different calls in
//! one second share it), or any reuse of a nonce with
//! [`NonceRule::Unique`]. A refused request changes nothing.
//!
//! # How it maps onto the engine
//!
//! The engine runs with [`policy`]: numeric volume ids, sizes 1 to
//! 10 000 GB, extend only while detached, snapshots and volumes from them
//! (as large or larger), no clones, no backups, no labels; a volume with
//! snapshots cannot be deleted (LunaNode's volumes are Cinder volumes).
//! Transitions take [`DEFAULT_DELAYS`] on the engine clock. Each API id
//! maps to a tenant. Snapshots, VMs and images are the engine's snapshots,
//! instances and images (an image is a read-only copy of a snapshot's data,
//! sharing its chunks, in the region `dst_region` names); snapshot and VM
//! ids are shown as UUIDs derived from the engine's ids, as LunaNode shows
//! UUIDs for both.
//!
//! Status words, from the engine's core states:
//!
//! | core volume state | `volume/list` `status` | `volume/info` `status` |
//! |---|---|---|
//! | `creating` | `pending` | `creating` |
//! | `available` | `active` | `available` |
//! | `attaching`, `in-use`, `detaching` | `active` | `attaching`, `in-use`, `detaching` |
//! | `resizing` | `active` | `extending` |
//! | `deleting` | `active` | `deleting` |
//! | `error`, `error-*` | `error` | `error` (`error_deleting`, `error_extending`) |
//!
//! Snapshots show `creating`, `available`, `deleting` or `error`.
//!
//! # Choices where the reference is silent
//!
//! - Errors are HTTP 200 with `{"success": "no", "error": ...}` (§1, §8);
//!   the only exceptions are faults a test injects (their own status), a
//!   rate limit (429 with `Retry-After`) and the fake's own failure (500).
//! - Error texts: a missing parameter is `<name> not set` (as captured for
//!   `region`); the rest are short lower-case sentences (`volume not
//!   found`, `volume must be detached to be extended`, ...), listed in
//!   [`messages`].
//! - Parameter values must be strings (DOC-OV: "string-to-string"); whole
//!   numbers are accepted as their decimal string, anything else is refused
//!   with `invalid <name>`.
//! - `target` must be `auto` or a device path (`/dev/` and letters).
//! - Deleting an attached volume is refused.
//! - `image/list` lists only the images `snapshot-replicate` made, with
//!   `image_id`, `name`, `region`, `size` and `status` (`active`).

mod sign;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use serde_json::{json, Map, Value};
use volume_core::{
    CreateSnapshot, CreateVolume, Error, Instance, InstanceId, ListSnapshots, PageToken, RegionId,
    ResourceKind, Size, Snapshot, SnapshotState, UpdateVolume, Volume, VolumeId, VolumeState,
};

use super::registry::{Entry, Setting, Settings};
use super::{
    Dialect, Fake, FakeBuilder, FakeOptions, FakeRequest, FakeResponse, Handler, Operation,
    Principal, RejectKind, Rejection,
};
use crate::engine::made_up::{mix, uuid};
use crate::engine::policy::any_reasonable_name;
use crate::engine::VolumeImage;
use crate::engine::{AttachedResize, Control, Delays, Engine, Fault, IdStyle, Policy, SimOp};
use crate::nbd::ExportSource;
use volume_core::time::format_rfc3339 as rfc3339;

pub use sign::NonceRule;

/// The API id a fake accepts when none is configured (16 characters, as
/// LunaNode's ids are); it acts for [`DEFAULT_TENANT`] with
/// [`DEFAULT_API_KEY`].
pub const DEFAULT_API_ID: &str = "volumesim0000001";

/// The API key of [`DEFAULT_API_ID`] (128 characters, as LunaNode's keys
/// are). Local fakes' credentials are not secrets.
pub const DEFAULT_API_KEY: &str = concat!(
    "volume-sim-lunanode-api-key-0000",
    "volume-sim-lunanode-api-key-0001",
    "volume-sim-lunanode-api-key-0002",
    "volume-sim-lunanode-api-key-0003",
);

/// The tenant [`DEFAULT_API_ID`] acts for.
pub const DEFAULT_TENANT: &str = "default";

/// LunaNode's regions (lunanode.md §4).
pub const DEFAULT_REGIONS: [&str; 3] = ["toronto", "montreal", "roubaix"];

/// The path prefix the fake answers under.
pub const PATH_PREFIX: &str = "/api";

/// How far a nonce may be from the server's clock, either way.
pub const DEFAULT_NONCE_SKEW: Duration = Duration::from_secs(300);

/// How long a nonce is remembered for replay checks.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(600);

/// How long transitions take by default, on the engine's clock: one second
/// each to create, attach, detach, extend, delete and snapshot.
pub const DEFAULT_DELAYS: Delays = {
    let mut d = Delays::uniform(Duration::ZERO);
    d.create = Duration::from_secs(1);
    d.attach = Duration::from_secs(1);
    d.detach = Duration::from_secs(1);
    d.resize = Duration::from_secs(1);
    d.delete = Duration::from_secs(1);
    d.snapshot = Duration::from_secs(1);
    d
};

/// Smallest and largest volume in GB (a choice: LunaNode documents none).
const MIN_SIZE: u64 = 1;
const MAX_SIZE: u64 = 10_000;
/// Volumes attached to one VM (a choice: LunaNode documents none).
const MAX_ATTACHED: u32 = 16;

/// The LunaNode [`Policy`]: what the engine enforces under this fake.
pub fn policy() -> Policy {
    Policy {
        provider: "lunanode",
        min_size: Size::gib(MIN_SIZE),
        max_size: Size::gib(MAX_SIZE),
        size_step: 1,
        default_size: None,
        name_rule: any_reasonable_name,
        max_name_len: Some(255),
        unique_names: false,
        attached_resize: AttachedResize::Refused,
        delete_with_snapshots: false,
        detach_needs_stopped: false,
        max_attachments_per_instance: MAX_ATTACHED,
        snapshots: true,
        volume_from_snapshot: true,
        volume_from_snapshot_larger: true,
        clone: false,
        backups: false,
        incremental_backups: false,
        labels: false,
        volume_types: &[],
        id_style: IdStyle::Numeric,
        delays: DEFAULT_DELAYS,
        default_page_size: 1000,
        max_page_size: 1000,
        lifecycle: &[],
    }
}

/// The error texts of the fake, in one place.
pub mod messages {
    /// An unknown or foreign volume id.
    pub const VOLUME_NOT_FOUND: &str = "volume not found";
    /// An unknown or foreign snapshot id (or one in another region).
    pub const SNAPSHOT_NOT_FOUND: &str = "volume snapshot not found";
    /// An unknown or foreign VM id.
    pub const VM_NOT_FOUND: &str = "virtual machine not found";
    /// An unknown or foreign image id.
    pub const IMAGE_NOT_FOUND: &str = "image not found";
    /// A region that is not one of LunaNode's.
    pub const INVALID_REGION: &str = "invalid region";
    /// `volume/extend` of an attached volume.
    pub const EXTEND_ATTACHED: &str = "volume must be detached to be extended";
    /// `volume/extend` to a size that is not larger.
    pub const EXTEND_SMALLER: &str = "new size must be larger than the current size";
    /// `volume/attach` of an attached volume.
    pub const ALREADY_ATTACHED: &str = "volume is already attached";
    /// `volume/detach` of a detached volume.
    pub const NOT_ATTACHED: &str = "volume is not attached";
    /// `volume/delete` of an attached volume.
    pub const DELETE_ATTACHED: &str = "volume is attached to a virtual machine; detach it first";
    /// Any action on a volume in a transition.
    pub const BUSY: &str = "volume is busy, try again later";
    /// A volume and a VM in different regions.
    pub const OTHER_REGION: &str = "volume and virtual machine are in different regions";
    /// `volume/delete` of a volume that has snapshots.
    pub const HAS_SNAPSHOTS: &str = "volume has snapshots; delete them first";
    /// The action is not one the API has.
    pub const INVALID_ACTION: &str = "invalid category or action";
}

// ----- configuration --------------------------------------------------------

/// What a LunaNode fake accepts: API ids with their keys and tenants, and
/// the nonce rules. `Debug` never shows a key.
pub struct LunaNodeConfig {
    credentials: Vec<(String, String, String)>,
    skew: Duration,
    window: Duration,
    rule: NonceRule,
}

impl Default for LunaNodeConfig {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            skew: DEFAULT_NONCE_SKEW,
            window: DEFAULT_REPLAY_WINDOW,
            rule: NonceRule::default(),
        }
    }
}

impl fmt::Debug for LunaNodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LunaNodeConfig")
            .field("credentials", &self.credentials.len())
            .field("skew", &self.skew)
            .field("window", &self.window)
            .field("rule", &self.rule)
            .finish()
    }
}

/// Builds a [`LunaNodeFake`]: the shared settings of [`FakeBuilder`],
/// [`credentials`](FakeBuilder::credentials), and the nonce rules.
pub type LunaNodeFakeBuilder = FakeBuilder<LunaNodeDialect>;

impl FakeBuilder<LunaNodeDialect> {
    /// Accepts requests signed with `api_key` under `api_id`, acting for
    /// `tenant`. Without any, [`DEFAULT_API_ID`] / [`DEFAULT_API_KEY`] act
    /// for [`DEFAULT_TENANT`].
    pub fn credentials(
        mut self,
        api_id: impl Into<String>,
        api_key: impl Into<String>,
        tenant: impl Into<String>,
    ) -> Self {
        self.config
            .credentials
            .push((api_id.into(), api_key.into(), tenant.into()));
        self
    }

    /// How far a nonce may be from the server's clock (default
    /// [`DEFAULT_NONCE_SKEW`]).
    pub fn nonce_skew(mut self, skew: Duration) -> Self {
        self.config.skew = skew;
        self
    }

    /// How long nonces are remembered (default [`DEFAULT_REPLAY_WINDOW`];
    /// never less than the nonce skew, or a forgotten nonce could be
    /// replayed while still fresh).
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.config.window = window;
        self
    }

    /// Which reuse of a nonce is refused (default
    /// [`NonceRule::SameRequest`]).
    pub fn nonce_rule(mut self, rule: NonceRule) -> Self {
        self.config.rule = rule;
        self
    }
}

// ----- the fake ---------------------------------------------------------------

/// The LunaNode Dynamic API volume endpoints, served from an [`Engine`]: the
/// [`Fake`] of [`LunaNodeDialect`].
pub type LunaNodeFake = Fake<LunaNodeDialect>;

impl Fake<LunaNodeDialect> {
    /// The tenant `api_id` acts for, if it is accepted.
    pub fn tenant_of(&self, api_id: &str) -> Option<&str> {
        self.dialect()
            .credentials
            .get(api_id)
            .map(|(_, t)| t.as_str())
    }

    /// The UUID the fake shows for engine instance `id` (a VM's `vm_id`).
    pub fn vm_uuid(id: &InstanceId) -> String {
        uuid_of(VM_SALT, id.as_str())
    }
}

const SETTINGS: &[Setting] = &[
    Setting {
        flag: "lunanode-api-id",
        env: "VOLUME_SIM_LUNANODE_API_ID",
        value_name: "ID",
        default: Some(DEFAULT_API_ID),
        help: "The API id (16 characters) the LunaNode fake accepts.",
        secret: false,
    },
    Setting {
        flag: "lunanode-api-key",
        env: "VOLUME_SIM_LUNANODE_API_KEY",
        value_name: "KEY",
        default: Some(DEFAULT_API_KEY),
        help: "The API key (128 characters) of that id.",
        secret: true,
    },
    Setting {
        flag: "lunanode-nonce-rule",
        env: "VOLUME_SIM_LUNANODE_NONCE_RULE",
        value_name: "RULE",
        default: Some("same-request"),
        help: "Which nonce reuse is a replay: same-request (the same signed request again) or unique (any reuse for the id).",
        secret: false,
    },
];

/// LunaNode's line in the [registry](super::registry).
pub const ENTRY: Entry = Entry {
    name: "lunanode",
    settings: SETTINGS,
    build: build_from_settings,
    credentials: |s: &Settings| {
        format!(
            "api id: {}   api key: {}",
            s.shown("lunanode-api-id"),
            s.shown("lunanode-api-key")
        )
    },
    exports: |engine| ExportSource::new(engine, [DEFAULT_TENANT]),
};

fn build_from_settings(
    options: &FakeOptions,
    settings: &Settings,
) -> Result<std::sync::Arc<dyn Handler>, String> {
    let id = settings.get("lunanode-api-id").unwrap_or(DEFAULT_API_ID);
    let key = settings.get("lunanode-api-key").unwrap_or(DEFAULT_API_KEY);
    if id.chars().count() != 16 {
        return Err("--lunanode-api-id: must be 16 characters, as LunaNode's are".to_owned());
    }
    if key.chars().count() != 128 {
        return Err("--lunanode-api-key: must be 128 characters, as LunaNode's are".to_owned());
    }
    let rule = match settings
        .get("lunanode-nonce-rule")
        .unwrap_or("same-request")
    {
        "same-request" => NonceRule::SameRequest,
        "unique" => NonceRule::Unique,
        other => {
            return Err(format!(
                "--lunanode-nonce-rule: {other:?} is not same-request or unique"
            ))
        }
    };
    Ok(LunaNodeFake::builder()
        .options(options.clone())
        .credentials(id, key, DEFAULT_TENANT)
        .nonce_rule(rule)
        .build()
        .handler())
}

/// The LunaNode dialect: what [`LunaNodeFake`] runs through the pipeline.
pub struct LunaNodeDialect {
    /// api id -> (key, tenant).
    credentials: HashMap<String, (String, String)>,
    skew: Duration,
    window: Duration,
    rule: NonceRule,
    nonces: Mutex<sign::NonceBook>,
}

impl fmt::Debug for LunaNodeDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LunaNodeDialect")
            .field("credentials", &self.credentials.len())
            .field("skew", &self.skew)
            .field("window", &self.window)
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

// ----- errors -----------------------------------------------------------------

/// A refusal with LunaNode's text (always answered as a 200).
fn refuse(kind: RejectKind, message: impl Into<String>) -> Rejection {
    Rejection::new(kind, 200, message)
}

fn bad(message: impl Into<String>) -> Rejection {
    refuse(RejectKind::BadField, message)
}

fn not_found(message: &str) -> Rejection {
    refuse(RejectKind::NotFound, message)
}

fn conflict(message: impl Into<String>) -> Rejection {
    refuse(RejectKind::Conflict, message)
}

/// The LunaNode answer for an engine error.
fn from_core(e: Error) -> Rejection {
    match e {
        Error::NotFound { kind, .. } => not_found(match kind {
            ResourceKind::Snapshot => messages::SNAPSHOT_NOT_FOUND,
            ResourceKind::Instance => messages::VM_NOT_FOUND,
            ResourceKind::Other => messages::IMAGE_NOT_FOUND,
            _ => messages::VOLUME_NOT_FOUND,
        }),
        Error::AlreadyExists { name, .. } => conflict(format!("{name} already exists")),
        Error::InvalidState {
            kind: ResourceKind::Snapshot,
            state,
            ..
        } => conflict(format!("volume snapshot is {state}")),
        Error::InvalidState {
            state, operation, ..
        } => conflict(state_message(&state, operation)),
        Error::InvalidInput { field, reason, .. } => {
            let field = match field.as_str() {
                "instance_id" => "vm_id",
                "name" => "label",
                "source" => "snapshot_id",
                other => other,
            };
            if field == "vm_id" && reason.contains(" is in ") {
                bad(messages::OTHER_REGION)
            } else {
                bad(format!("invalid {field}: {reason}"))
            }
        }
        Error::QuotaExceeded { message, .. } => {
            refuse(RejectKind::Core, format!("quota exceeded: {message}"))
        }
        Error::Unsupported { operation, .. } => {
            refuse(RejectKind::Core, format!("{operation} is not supported"))
        }
        Error::RateLimited { retry_after, .. } => {
            Rejection::rate_limited(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        _ => Rejection::internal(),
    }
}

fn state_message(state: &str, operation: &str) -> String {
    let core = VolumeState::from_word(state);
    match (operation, &core) {
        ("detach_volume", VolumeState::Available) => messages::NOT_ATTACHED.to_owned(),
        ("attach_volume", VolumeState::InUse | VolumeState::Attaching) => {
            messages::ALREADY_ATTACHED.to_owned()
        }
        ("delete_volume", VolumeState::InUse) => messages::DELETE_ATTACHED.to_owned(),
        ("resize_volume", VolumeState::InUse) => messages::EXTEND_ATTACHED.to_owned(),
        _ if state.contains("snapshot") => messages::HAS_SNAPSHOTS.to_owned(),
        _ if core.is_transient() => messages::BUSY.to_owned(),
        _ => format!("volume is {}", info_word(&core)),
    }
}

// ----- routing ----------------------------------------------------------------

/// A LunaNode action, routed from `/api/{category}/{action}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `volume/create/`.
    Create,
    /// `volume/list/`.
    List,
    /// `volume/info/`.
    Info,
    /// `volume/attach/`.
    Attach,
    /// `volume/detach/`.
    Detach,
    /// `volume/extend/`.
    Extend,
    /// `volume/rename/`.
    Rename,
    /// `volume/delete/`.
    Delete,
    /// `volume/snapshot-create/`.
    SnapshotCreate,
    /// `volume/snapshot-list/`.
    SnapshotList,
    /// `volume/snapshot-replicate/`.
    SnapshotReplicate,
    /// `volume/snapshot-delete/`.
    SnapshotDelete,
    /// `vm/list/`.
    VmList,
    /// `image/list/`.
    ImageList,
}

impl Route {
    /// The handler the signature covers (`volume/create/`).
    pub fn handler(self) -> &'static str {
        match self {
            Self::Create => "volume/create/",
            Self::List => "volume/list/",
            Self::Info => "volume/info/",
            Self::Attach => "volume/attach/",
            Self::Detach => "volume/detach/",
            Self::Extend => "volume/extend/",
            Self::Rename => "volume/rename/",
            Self::Delete => "volume/delete/",
            Self::SnapshotCreate => "volume/snapshot-create/",
            Self::SnapshotList => "volume/snapshot-list/",
            Self::SnapshotReplicate => "volume/snapshot-replicate/",
            Self::SnapshotDelete => "volume/snapshot-delete/",
            Self::VmList => "vm/list/",
            Self::ImageList => "image/list/",
        }
    }

    const ALL: [Self; 14] = [
        Self::Create,
        Self::List,
        Self::Info,
        Self::Attach,
        Self::Detach,
        Self::Extend,
        Self::Rename,
        Self::Delete,
        Self::SnapshotCreate,
        Self::SnapshotList,
        Self::SnapshotReplicate,
        Self::SnapshotDelete,
        Self::VmList,
        Self::ImageList,
    ];
}

// ----- requests ---------------------------------------------------------------

/// The fields of a form body, first value of each.
struct Form {
    req: Option<String>,
    signature: Option<String>,
    nonce: Option<String>,
}

fn form(request: &FakeRequest) -> Form {
    let mut f = Form {
        req: None,
        signature: None,
        nonce: None,
    };
    for (k, v) in url::form_urlencoded::parse(&request.body) {
        let slot = match k.as_ref() {
            "req" => &mut f.req,
            "signature" => &mut f.signature,
            "nonce" => &mut f.nonce,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    f
}

/// The parameters of `req`, as strings (whole numbers become their decimal
/// string; other values are refused).
fn params(req: &str) -> Result<BTreeMap<String, String>, Rejection> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(req) else {
        return Err(bad(sign::AuthError::BadRequestMessage.message()));
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let s = match v {
            Value::String(s) => s,
            Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
            Value::Null => continue,
            _ => return Err(bad(format!("invalid {k}"))),
        };
        out.insert(k, s);
    }
    Ok(out)
}

struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, Rejection> {
        self.get(name)
            .ok_or_else(|| bad(sign::AuthError::Missing(name).message()))
    }

    /// A whole number of GB.
    fn size(&self, name: &'static str) -> Result<u64, Rejection> {
        let s = self.require(name)?;
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("invalid {name}")))
    }
}

// ----- wire JSON ------------------------------------------------------------------------

const VOLUME_SALT: u64 = 0x766f_6c75_6d65;
const SNAPSHOT_SALT: u64 = 0x736e_6170;
const VM_SALT: u64 = 0x766d;

/// A UUID derived from an engine id, stable for the id.
fn uuid_of(salt: u64, id: &str) -> String {
    let mut h = salt;
    for b in id.bytes() {
        h = mix(h ^ u64::from(b));
    }
    let hi = mix(h ^ 0x4c75_6e61);
    uuid(hi, mix(hi ^ h.rotate_left(17)))
}

/// The `user_id` LunaNode shows: a number per tenant.
fn user_id(tenant: &str) -> String {
    let mut h = 0x7573_6572_u64;
    for b in tenant.bytes() {
        h = mix(h ^ u64::from(b));
    }
    (h % 90_000 + 10).to_string()
}

/// The `volume/list` word for a core state.
fn list_word(state: &VolumeState) -> &'static str {
    match state {
        VolumeState::Creating => "pending",
        s if s.is_failure() => "error",
        _ => "active",
    }
}

/// The `volume/info` (Cinder) word for a core state.
fn info_word(state: &VolumeState) -> &'static str {
    match state {
        VolumeState::Creating => "creating",
        VolumeState::Available => "available",
        VolumeState::Attaching => "attaching",
        VolumeState::InUse => "in-use",
        VolumeState::Detaching => "detaching",
        VolumeState::Resizing => "extending",
        VolumeState::Deleting | VolumeState::Deleted => "deleting",
        VolumeState::ErrorDeleting => "error_deleting",
        VolumeState::ErrorResizing => "error_extending",
        // Snapshotting, backing up and restoring are not LunaNode's: the
        // volume shows as it was.
        VolumeState::Snapshotting | VolumeState::BackingUp | VolumeState::Restoring => "available",
        _ => "error",
    }
}

fn snapshot_word(state: &SnapshotState) -> &'static str {
    match state {
        SnapshotState::Creating => "creating",
        SnapshotState::Available => "available",
        SnapshotState::Deleting | SnapshotState::Deleted => "deleting",
        _ => "error",
    }
}

fn created(c: &Control, at: Option<SystemTime>) -> String {
    rfc3339(at.unwrap_or_else(|| c.system_time(Duration::ZERO)))
}

/// A volume in the `volume/list` shape.
fn volume_list_json(c: &Control, tenant: &str, v: &Volume) -> Value {
    json!({
        "id": v.id.as_str(),
        "identification": uuid_of(VOLUME_SALT, v.id.as_str()),
        "name": v.name,
        "region": v.region.as_str(),
        "size": v.size.as_gib().to_string(),
        "status": list_word(&v.state),
        "time_created": created(c, v.created_at),
        "user_id": user_id(tenant),
    })
}

/// A volume in the `volume/info` shape.
fn volume_info_json(c: &Control, v: &Volume) -> Value {
    let attached = v
        .attached_to()
        .map(|i| uuid_of(VM_SALT, i.as_str()))
        .unwrap_or_default();
    let mut status = info_word(&v.state);
    if matches!(v.state, VolumeState::Snapshotting) && !attached.is_empty() {
        status = "in-use";
    }
    json!({
        "attached": attached,
        "created": created(c, v.created_at),
        "id": v.id.as_str(),
        "identification": uuid_of(VOLUME_SALT, v.id.as_str()),
        "name": v.name,
        "size": v.size.as_gib().to_string(),
        "status": status,
    })
}

fn snapshot_json(c: &Control, tenant: &str, s: &Snapshot) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), uuid_of(SNAPSHOT_SALT, s.id.as_str()).into());
    m.insert("name".into(), s.name.clone().into());
    m.insert("region".into(), s.region.as_str().into());
    m.insert("size".into(), s.size.as_gib().to_string().into());
    m.insert("status".into(), snapshot_word(&s.state).into());
    m.insert("user_id".into(), user_id(tenant).into());
    if let Some(v) = s
        .volume_id
        .as_ref()
        .and_then(|id| c.get_volume(tenant, id).ok())
    {
        m.insert("volume".into(), volume_list_json(c, tenant, &v));
    }
    Value::Object(m)
}

fn vm_json(i: &Instance, n: usize) -> Value {
    // Made-up addresses from the documentation ranges.
    let last = n % 250 + 2;
    json!({
        "vm_id": uuid_of(VM_SALT, i.id.as_str()),
        "name": i.name,
        "hostname": i.name,
        "plan_id": "1",
        "primaryip": format!("192.0.2.{last}"),
        "privateip": format!("10.0.0.{last}"),
        "ram": "1024",
        "vcpu": "1",
        "storage": "20",
        "bandwidth": "1000",
        "region": i.region.as_str(),
        "status": i.raw_state,
    })
}

fn image_json(i: &VolumeImage) -> Value {
    json!({
        "image_id": i.id,
        "name": i.name,
        "region": i.region.as_str(),
        "size": i.size.as_gib().to_string(),
        "status": "active",
    })
}

fn success(mut m: Map<String, Value>) -> FakeResponse {
    m.insert("success".into(), "yes".into());
    FakeResponse::json_of(200, &m)
}

fn success_with(key: &str, value: Value) -> FakeResponse {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    success(m)
}

// ----- the request pipeline ---------------------------------------------------------------

impl Dialect for LunaNodeDialect {
    const NAME: &'static str = "lunanode";
    const PREFIXES: &'static [&'static str] = &[PATH_PREFIX];
    const DEFAULT_REGIONS: &'static [&'static str] = &DEFAULT_REGIONS;
    type Config = LunaNodeConfig;
    type State = ();
    type Route = Route;
    type Reply = FakeResponse;

    fn policy() -> Policy {
        policy()
    }

    fn new(config: LunaNodeConfig, _engine: &Engine) -> Self {
        let mut credentials: HashMap<String, (String, String)> = config
            .credentials
            .into_iter()
            .map(|(i, k, t)| (i, (k, t)))
            .collect();
        if credentials.is_empty() {
            credentials.insert(
                DEFAULT_API_ID.to_owned(),
                (DEFAULT_API_KEY.to_owned(), DEFAULT_TENANT.to_owned()),
            );
        }
        Self {
            credentials,
            skew: config.skew,
            // A nonce forgotten while it would still be accepted could be
            // replayed: it is remembered at least as long as the skew.
            window: config.window.max(config.skew),
            rule: config.rule,
            nonces: Mutex::default(),
        }
    }

    fn route(request: &FakeRequest, segs: &[&str]) -> Result<Route, Rejection> {
        let handler = match segs {
            [category, action] => format!("{category}/{action}/"),
            _ => return Err(not_found(messages::INVALID_ACTION)),
        };
        let route = Route::ALL
            .into_iter()
            .find(|r| r.handler() == handler)
            .ok_or_else(|| not_found(messages::INVALID_ACTION))?;
        if request.method != Method::POST {
            return Err(refuse(
                RejectKind::MethodNotAllowed,
                "requests must be POSTed",
            ));
        }
        Ok(route)
    }

    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection> {
        // The handler signed is the one the URL names.
        let handler = super::pipeline::path_segments(Self::PREFIXES, &request.path)
            .and_then(|s| Self::route(request, &s).ok())
            .map_or("", Route::handler);
        self.verify(request, handler)
            .map_err(|e| refuse(RejectKind::Unauthenticated, e.message()))
    }

    fn operation(route: &Route) -> Option<SimOp> {
        Some(match route {
            Route::Create => SimOp::CreateVolume,
            Route::List => SimOp::ListVolumes,
            Route::Info => SimOp::GetVolume,
            Route::Attach => SimOp::AttachVolume,
            Route::Detach => SimOp::DetachVolume,
            Route::Extend => SimOp::ResizeVolume,
            Route::Rename => SimOp::UpdateVolume,
            Route::Delete => SimOp::DeleteVolume,
            Route::SnapshotCreate => SimOp::CreateSnapshot,
            Route::SnapshotList => SimOp::ListSnapshots,
            Route::SnapshotReplicate => SimOp::GetSnapshot,
            Route::SnapshotDelete => SimOp::DeleteSnapshot,
            Route::VmList => SimOp::ListInstances,
            Route::ImageList => return None,
        })
    }

    fn run(
        &self,
        op: &mut Operation<'_, ()>,
        route: &Route,
        req: &FakeRequest,
    ) -> Result<FakeResponse, Rejection> {
        let raw = form(req).req.unwrap_or_default();
        let params = Params(params(&raw)?);
        let mut op = Op {
            c: op.control,
            tenant: op.tenant,
            fault: op.fault,
            p: &params,
        };
        op.run(*route)
    }

    /// LunaNode's error body, `{"success": "no", "error": ...}`, as a 200;
    /// injected faults keep their status, a rate limit is a 429 with
    /// `Retry-After`, the fake's own failure a 500.
    fn render(r: &Rejection) -> FakeResponse {
        let message = if r.message.trim().is_empty() {
            "internal error"
        } else {
            &r.message
        };
        let body = json!({"success": "no", "error": message});
        match r.kind {
            RejectKind::RateLimited => {
                let s = r.retry_after_secs().unwrap_or(1);
                FakeResponse::json(429, &body).header("retry-after", s.to_string())
            }
            RejectKind::Injected | RejectKind::Internal => FakeResponse::json(r.status, &body),
            _ => FakeResponse::json(200, &body),
        }
    }
}

impl LunaNodeDialect {
    /// Who a correctly signed, fresh request acts for.
    fn verify(&self, request: &FakeRequest, handler: &str) -> Result<Principal, sign::AuthError> {
        use sign::AuthError;
        let f = form(request);
        let req = f.req.ok_or(AuthError::Missing("req"))?;
        let signature = f.signature.ok_or(AuthError::Missing("signature"))?;
        let nonce_text = f.nonce.ok_or(AuthError::Missing("nonce"))?;
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&req) else {
            return Err(AuthError::BadRequestMessage);
        };
        let api_id = match fields.get("api_id") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(AuthError::UnknownId),
        };
        let (key, tenant) = self.credentials.get(api_id).ok_or(AuthError::UnknownId)?;
        let partial: String = key.chars().take(64).collect();
        match fields.get("api_partialkey") {
            Some(Value::String(p))
                if super::dialect::constant_eq(p.as_bytes(), partial.as_bytes()) => {}
            _ => return Err(AuthError::BadPartialKey),
        }
        if !sign::verify(key, &sign::message(handler, &req, &nonce_text), &signature) {
            return Err(AuthError::BadSignature);
        }
        let nonce: u64 = nonce_text.trim().parse().map_err(|_| AuthError::BadNonce)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if nonce.abs_diff(now) > self.skew.as_secs() {
            return Err(AuthError::Skewed);
        }
        self.nonces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(api_id, nonce, &signature, self.rule, now, self.window)?;
        Ok(Principal::new(tenant.clone(), api_id))
    }
}

/// One authenticated action, run with the engine's lock held.
struct Op<'a> {
    c: &'a mut Control,
    tenant: &'a str,
    fault: Option<&'a Fault>,
    p: &'a Params,
}

impl Op<'_> {
    fn run(&mut self, route: Route) -> Result<FakeResponse, Rejection> {
        // `region` is accepted on every action and ignored where it is not
        // a parameter (older clients send it everywhere: lunanode.md §5).
        match route {
            Route::Create => self.create(),
            Route::List => self.list(),
            Route::Info => {
                let v = self.volume()?;
                Ok(success_with("volume", volume_info_json(self.c, &v)))
            }
            Route::Attach => self.attach(),
            Route::Detach => {
                let v = self.volume()?;
                if v.attachments.is_empty() && v.state == VolumeState::Available {
                    return Err(conflict(messages::NOT_ATTACHED));
                }
                self.c
                    .detach_volume(self.tenant, &v.id, self.fault)
                    .map_err(from_core)?;
                Ok(success(Map::new()))
            }
            Route::Extend => self.extend(),
            Route::Rename => {
                let v = self.volume()?;
                let name = self.p.require("name")?.to_owned();
                self.c
                    .update_volume(self.tenant, &v.id, &UpdateVolume::new().with_name(name))
                    .map_err(from_core)?;
                Ok(success(Map::new()))
            }
            Route::Delete => {
                let v = self.volume()?;
                if !v.attachments.is_empty() {
                    return Err(conflict(messages::DELETE_ATTACHED));
                }
                self.c
                    .delete_volume(self.tenant, &v.id, self.fault)
                    .map_err(from_core)?;
                Ok(success(Map::new()))
            }
            Route::SnapshotCreate => {
                let v = self.volume()?;
                let label = self.p.require("label")?.to_owned();
                let s = self
                    .c
                    .create_snapshot(self.tenant, &CreateSnapshot::new(v.id, label), self.fault)
                    .map_err(from_core)?;
                Ok(success_with(
                    "snapshot_id",
                    uuid_of(SNAPSHOT_SALT, s.id.as_str()).into(),
                ))
            }
            Route::SnapshotList => {
                let region = self.region(self.p.require("region")?)?;
                let items: Vec<Value> = self
                    .snapshots()
                    .iter()
                    .filter(|s| s.region == region)
                    .map(|s| snapshot_json(self.c, self.tenant, s))
                    .collect();
                Ok(success_with("snapshots", Value::Array(items)))
            }
            Route::SnapshotReplicate => {
                let region = self.region(self.p.require("region")?)?;
                let s = self.snapshot(&region)?;
                let name = self.p.require("image_name")?.to_owned();
                let dst = self.region(self.p.require("dst_region")?)?;
                let image = self
                    .c
                    .image_from_snapshot(self.tenant, &s.id, &name, &dst)
                    .map_err(from_core)?;
                Ok(success_with("image_id", image.id.into()))
            }
            Route::SnapshotDelete => {
                let region = self.region(self.p.require("region")?)?;
                let s = self.snapshot(&region)?;
                self.c
                    .delete_snapshot(self.tenant, &s.id, self.fault)
                    .map_err(from_core)?;
                Ok(success(Map::new()))
            }
            Route::VmList => {
                let items: Vec<Value> = self
                    .c
                    .all_instances(self.tenant)
                    .iter()
                    .enumerate()
                    .map(|(n, i)| vm_json(i, n))
                    .collect();
                Ok(success_with("vms", Value::Array(items)))
            }
            Route::ImageList => {
                let region = match self.p.get("region") {
                    Some(r) => Some(self.region(r)?),
                    None => None,
                };
                let items: Vec<Value> = self
                    .c
                    .volume_images(self.tenant)
                    .iter()
                    .filter(|i| region.as_ref().is_none_or(|r| i.region == *r))
                    .map(image_json)
                    .collect();
                Ok(success_with("images", Value::Array(items)))
            }
        }
    }

    /// One of LunaNode's regions that the engine has.
    fn region(&self, name: &str) -> Result<RegionId, Rejection> {
        RegionId::new(name)
            .ok()
            .filter(|r| self.c.regions().contains(r))
            .ok_or_else(|| bad(messages::INVALID_REGION))
    }

    /// The volume `volume_id` names.
    fn volume(&self) -> Result<Volume, Rejection> {
        let id = self.p.require("volume_id")?;
        VolumeId::new(id)
            .and_then(|vid| self.c.get_volume(self.tenant, &vid))
            .map_err(|_| not_found(messages::VOLUME_NOT_FOUND))
    }

    fn snapshots(&self) -> Vec<Snapshot> {
        let mut out = Vec::new();
        let mut page: Option<PageToken> = None;
        // Bounded: one pass over the pages the engine hands out.
        for _ in 0..10_000 {
            let Ok(p) = self
                .c
                .list_snapshots(self.tenant, &ListSnapshots::new(), page.as_ref())
            else {
                break;
            };
            out.extend(p.items);
            match p.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        out
    }

    /// The snapshot `snapshot_id` names (its UUID, or the engine's id), in
    /// `region`.
    fn snapshot(&self, region: &RegionId) -> Result<Snapshot, Rejection> {
        let id = self.p.require("snapshot_id")?;
        self.snapshots()
            .into_iter()
            .find(|s| uuid_of(SNAPSHOT_SALT, s.id.as_str()) == id || s.id.as_str() == id)
            .filter(|s| s.region == *region)
            .ok_or_else(|| not_found(messages::SNAPSHOT_NOT_FOUND))
    }

    fn create(&mut self) -> Result<FakeResponse, Rejection> {
        let region = self.region(self.p.require("region")?)?;
        let label = self.p.require("label")?.to_owned();
        let size = Size::gib(self.p.size("size")?);
        let image = self.p.get("image");
        let snapshot = self.p.get("snapshot_id");
        let v = match (image, snapshot) {
            (Some(_), Some(_)) => {
                return Err(bad("only one of image and snapshot_id may be set"));
            }
            (Some(image), None) => {
                let req = CreateVolume::new(label, size).with_region(region);
                self.c
                    .create_volume_from_image(self.tenant, image, &req, self.fault)
                    .map_err(from_core)?
            }
            (None, Some(_)) => {
                let s = self.snapshot(&region)?;
                let req = CreateVolume::from_snapshot(label, s.id)
                    .with_size(size)
                    .with_region(region);
                self.c
                    .create_volume(self.tenant, &req, self.fault)
                    .map_err(from_core)?
            }
            (None, None) => {
                let req = CreateVolume::new(label, size).with_region(region);
                self.c
                    .create_volume(self.tenant, &req, self.fault)
                    .map_err(from_core)?
            }
        };
        Ok(success_with("volume_id", v.id.as_str().into()))
    }

    fn list(&self) -> Result<FakeResponse, Rejection> {
        let region = match self.p.get("region") {
            Some(r) => Some(self.region(r)?),
            None => None,
        };
        let items: Vec<Value> = self
            .c
            .all_volumes_shared(self.tenant)
            .iter()
            .filter(|v| region.as_ref().is_none_or(|r| v.region == *r))
            .map(|v| volume_list_json(self.c, self.tenant, v))
            .collect();
        Ok(success_with("volumes", Value::Array(items)))
    }

    fn attach(&mut self) -> Result<FakeResponse, Rejection> {
        let v = self.volume()?;
        let vm = self.p.require("vm_id")?;
        let target = self.p.require("target")?;
        let device = target.strip_prefix("/dev/").is_some_and(|d| {
            !d.is_empty() && d.len() <= 16 && d.bytes().all(|b| b.is_ascii_lowercase())
        });
        if target != "auto" && !device {
            return Err(bad("invalid target"));
        }
        let instance = self
            .c
            .all_instances(self.tenant)
            .into_iter()
            .find(|i| uuid_of(VM_SALT, i.id.as_str()) == vm || i.id.as_str() == vm)
            .ok_or_else(|| not_found(messages::VM_NOT_FOUND))?;
        if !v.attachments.is_empty() {
            return Err(conflict(messages::ALREADY_ATTACHED));
        }
        if instance.region != v.region {
            return Err(bad(messages::OTHER_REGION));
        }
        self.c
            .attach_volume(self.tenant, &v.id, &instance.id, self.fault)
            .map_err(from_core)?;
        Ok(success(Map::new()))
    }

    fn extend(&mut self) -> Result<FakeResponse, Rejection> {
        let v = self.volume()?;
        let size = self.p.size("size")?;
        if !v.attachments.is_empty() {
            return Err(conflict(messages::EXTEND_ATTACHED));
        }
        if size <= v.size.as_gib() {
            return Err(bad(messages::EXTEND_SMALLER));
        }
        self.c
            .resize_volume(self.tenant, &v.id, Size::gib(size), self.fault)
            .map_err(from_core)?;
        Ok(success(Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_consistent() {
        super::super::dialect::assert_policy(&policy(), 1..=10_000, false, true);
    }

    #[test]
    fn default_credentials_have_lunanode_lengths() {
        assert_eq!(DEFAULT_API_ID.len(), 16);
        assert_eq!(DEFAULT_API_KEY.len(), 128);
    }

    #[test]
    fn routes_are_the_documented_handlers() {
        let r = |m: Method, p: &str| {
            super::super::pipeline::path_segments(LunaNodeDialect::PREFIXES, p)
                .ok_or_else(|| not_found(""))
                .and_then(|s| LunaNodeDialect::route(&FakeRequest::new(m.clone(), p), &s))
        };
        assert_eq!(
            r(Method::POST, "/api/volume/create/").unwrap(),
            Route::Create
        );
        assert_eq!(
            r(Method::POST, "/api/volume/snapshot-replicate/").unwrap(),
            Route::SnapshotReplicate
        );
        assert_eq!(r(Method::POST, "/api/vm/list/").unwrap(), Route::VmList);
        assert!(r(Method::POST, "/api/volume/explode/").is_err());
        assert!(r(Method::GET, "/api/volume/list/").is_err());
        for route in Route::ALL {
            let path = format!("/api/{}", route.handler());
            assert_eq!(r(Method::POST, &path).unwrap(), route);
        }
    }

    #[test]
    fn status_words_follow_the_two_vocabularies() {
        assert_eq!(list_word(&VolumeState::Creating), "pending");
        assert_eq!(list_word(&VolumeState::InUse), "active");
        assert_eq!(info_word(&VolumeState::Available), "available");
        assert_eq!(info_word(&VolumeState::InUse), "in-use");
        assert_eq!(info_word(&VolumeState::Resizing), "extending");
    }

    #[test]
    fn errors_are_200s_with_success_no() {
        let r = LunaNodeDialect::render(&not_found(messages::VOLUME_NOT_FOUND));
        assert_eq!(r.status, 200);
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, json!({"success": "no", "error": "volume not found"}));
        assert_eq!(
            LunaNodeDialect::render(&Rejection::too_large(10)).status,
            200
        );
        assert_eq!(
            LunaNodeDialect::render(&Rejection::injected(503, "busy")).status,
            503
        );
    }

    #[test]
    fn params_are_strings() {
        let p = params(r#"{"size": 10, "label": "a", "x": null}"#).unwrap();
        assert_eq!(p["size"], "10");
        assert!(params(r#"{"size": 2.5}"#).is_err());
        assert!(params("[1]").is_err());
    }
}

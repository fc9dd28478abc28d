//! The Rancher 1.x (Cattle) API dialect, `v2-beta` and `v1`, served from the
//! engine.
//!
//! [`RancherFake`] answers the volume, snapshot, backup, storage-driver and
//! host resources of a Cattle server the way Cattle does, per the wire
//! reference `api/rancher.md` and the captured schemas beside it: HTTP Basic
//! authentication with API keys, HATEOAS envelopes (`links` and an
//! `actions` map holding exactly the actions the resource's state allows),
//! collections with `limit`/`marker` pagination, filters with modifiers and
//! sorting, Cattle's error resources, and the schema collection official
//! clients (`cattle`, `gdapi-python`, go-rancher) bootstrap from through the
//! `X-API-Schemas` header. The JSON is written here from the reference, not
//! from any client's types.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::rancher::{RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
//!
//! let fake = RancherFake::builder().build();
//! let server = fake.start().await;
//! let base = RancherFake::base_url(&server); // http://127.0.0.1:PORT/v2-beta
//! let client = reqwest::Client::new();
//! let volumes: serde_json::Value = client
//!     .get(format!("{base}/projects/1a5/volumes"))
//!     .basic_auth(DEFAULT_ACCESS_KEY, Some(DEFAULT_SECRET_KEY))
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(volumes["type"], "collection");
//! assert_eq!(volumes["resourceType"], "volume");
//! // Without credentials: Cattle's 401, with its challenge.
//! let refused = client.get(format!("{base}/volumes")).send().await.unwrap();
//! assert_eq!(refused.status(), 401);
//! assert!(refused.headers().contains_key("www-authenticate"));
//! # });
//! ```
//!
//! # What it serves
//!
//! Below `/v2-beta` and `/v1`, in three equivalent scopes: the bare form
//! (`/v2-beta/volumes`, as an environment API key sees it), the
//! project-scoped form (`/v2-beta/projects/1a5/volumes`, as an account key
//! uses it) and the same under `/v1`. Links in every answer keep the form
//! the request used.
//!
//! | method and path (below the version, optionally below `projects/1a5`) | answer |
//! |---|---|
//! | `GET /` | the API root (`apiVersion`), or the project resource when scoped |
//! | `GET /schemas`, `GET /schemas/{id}` | the schemas (volume, snapshot, backup, storageDriver, host, project, their action inputs, error, apiVersion, schema) |
//! | `GET /projects`, `GET /projects/1a5` | the one project |
//! | `GET /volumes`, `POST /volumes` | list (filters, sort, `limit`/`marker`); create → 201 |
//! | `GET`, `PUT`, `DELETE /volumes/{id}` | get (removed ones too); update `description`/`driverOpts`/`hostId`; remove → 200, 405 when not removable |
//! | `POST /volumes/{id}?action=` | `allocate`, `deallocate`, `remove`, `purge`, `update`, `reverttosnapshot`, `restorefrombackup` → 202; `snapshot` → 200 with the snapshot |
//! | `GET /snapshots`, `GET`, `DELETE /snapshots/{id}`, `POST ?action=backup`/`remove` | snapshots; `backup` (input `backupTargetId`, required) → 200 with the backup |
//! | `GET /backups`, `GET`, `DELETE /backups/{id}`, `POST ?action=remove` | backups |
//! | `GET /storagedrivers`, `GET /storagedrivers/{id}` | `local` (no capabilities) and `rancher-longhorn` (`snapshot`, `schedule.size`) |
//! | `GET /hosts`, `GET /hosts/{id}` | the engine's seeded instances, as hosts (`1h1`, `1h2`...) |
//! | `GET /backuptargets`, `GET /backuptargets/1bt1` | the one backup target |
//! | `GET /volumes/{id}/snapshots`, `.../backups`, `/snapshots/{id}/backups` | the related collections the `links` name |
//!
//! The type segment may be the schema id or its plural, in any case
//! (`/v1/volume`, `/v2-beta/storageDrivers`), as Cattle resolves both.
//!
//! # States and time
//!
//! A volume follows Cattle's processes (reference §6): create goes
//! `registering` → `inactive`; `allocate` `activating` → `active`;
//! `deallocate` `deactivating` → `inactive`; remove (`DELETE` or the
//! action) `removing` → `removed`; `purge` `purging` → `purged` (the
//! engine's volume is deleted then); `update` `updating-*`;
//! `reverttosnapshot` `reverting-*`; `restorefrombackup` `restoring-*`.
//! Each takes its [`DEFAULT_DELAYS`] entry on the engine's clock (create:
//! `create`; allocate: `attach`; deallocate: `detach`; remove and purge:
//! `delete`; update: `resize`, zero by default; revert and restore:
//! `restore`), shows `transitioning: "yes"` meanwhile, and offers exactly
//! the actions whose process starts from the state it shows
//! (`snapshot`, `reverttosnapshot` and `restorefrombackup` only on a
//! resting volume whose storage driver has the `snapshot` capability).
//! These processes are the dialect's, not the engine's: a test moves them
//! with [`Engine::advance`](crate::engine::Engine::advance) (or a wall
//! clock), not `step`/`run_until_quiet`. Snapshots and backups show the
//! engine's states in Cattle's words (`creating`, `created`, `removing`,
//! then `removed`). A `Stuck` fault on an operation keeps it transitioning;
//! `LandInError` ends it with `transitioning: "error"` and a
//! `transitioningMessage`, as a failed Cattle process does.
//!
//! # Choices where the reference is silent
//!
//! - Links and action URLs are absolute, built from the address the
//!   request arrived at (never its `Host` header, which a client may set
//!   to anything), in the version and scope the request used. `X-API-Schemas` of a
//!   project-scoped request is the project's `…/projects/1a5/schemas`, and
//!   its schemas' `collection` links stay in the project.
//! - One project, `1a5`, served to the one key pair; `/v2-beta/volumes`
//!   (an environment key's view) and `/v2-beta/projects/1a5/volumes` are
//!   the same collection. Another project id is a 404.
//! - Ids: one sequence for volumes, snapshots and backups (`1v1`, `1s2`,
//!   `1b3`), as Cattle's database ids share none but never repeat.
//!   `externalId` of a volume is the engine's volume id (the NBD export
//!   name).
//! - Storage drivers: `local` (`1sd1`, no capabilities) and
//!   `rancher-longhorn` (`1sd2`, `snapshot` and `schedule.size`). A
//!   `driver` naming neither is accepted with no storage driver (as
//!   Cattle does), so it has no capabilities. `sizeMb` becomes the engine
//!   size rounded up to whole GiB; without it a volume is 1 GiB.
//! - `stackId` and `volumeTemplateId` name resources the fake does not
//!   have: any value is 422 `InvalidReference`.
//! - Update writes `description`, `driverOpts` and `hostId` in any state
//!   and ignores the other fields; `PUT` answers 200, the `update` action
//!   202.
//! - The maximum `limit` is 3000 (Cattle's code since 2016; its
//!   documentation says 1000).
//! - `/v1` serves the same resources and schemas as `/v2-beta` (Rancher
//!   1.x still served both from one Cattle); its links stay under `/v1`.
//! - Every answer is JSON: Cattle's HTML pages for browsers (`Accept: */*`
//!   with a browser's `User-Agent`) are not served.
//! - Answers the server itself gives before a fake sees the request (413,
//!   431) carry a relative `X-API-Schemas: /v2-beta/schemas`, as no `Host`
//!   is known there.
//! - Hosts are the engine's instances, but volumes are never attached to
//!   them in the engine (Rancher mounts volumes into containers), so the
//!   NBD export serves a Rancher volume's snapshots and backups, not the
//!   volume itself.
//! - 404, 405, 401 and 409 carry `message` equal to `code` (`Not Found`,
//!   `Method not allowed`); validation errors naming a field carry
//!   `message: null`. Injected errors carry their status's code.

mod envelope;
mod errors;
mod filters;
mod resources;
mod schemas;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use super::registry::{Entry, Setting, Settings};
use super::{
    Deferred, Dialect, Fake, FakeBuilder, FakeOptions, FakeRequest, FakeResponse, Handler,
    Operation, Principal, Rejection,
};
use crate::engine::policy::any_reasonable_name;
use crate::engine::{AttachedResize, Delays, Engine, IdStyle, LifecycleRule, Policy, SimOp};
use crate::nbd::ExportSource;
use volume_core::state::VolumeOp;
use volume_core::{Size, VolumeState};

pub use envelope::Version;
pub use resources::RancherState;

/// The access key (the Basic-auth user name) a fake accepts when none is
/// configured.
pub const DEFAULT_ACCESS_KEY: &str = "volume-sim-rancher-access-key";

/// The secret key (the Basic-auth password) of [`DEFAULT_ACCESS_KEY`].
/// Local fakes' credentials are not secrets.
pub const DEFAULT_SECRET_KEY: &str = "volume-sim-rancher-secret-key";

/// The one project (Rancher's "environment") the fake serves, with the id
/// Rancher's own documentation uses.
pub const DEFAULT_PROJECT_ID: &str = "1a5";

/// The path prefixes the fake answers under: the current API and the old one.
pub const PATH_PREFIXES: &[&str] = &["/v2-beta", "/v1"];

/// How long transitions take by default, on the engine's clock: one second
/// for every Cattle process (create's `registering`, `activating`,
/// `deactivating`, `removing`, `purging`, `reverting-*`, `restoring-*`,
/// taking a snapshot) and two for a backup. Update is immediate.
pub const DEFAULT_DELAYS: Delays = {
    let mut d = Delays::uniform(Duration::from_secs(1));
    d.backup = Duration::from_secs(2);
    d.resize = Duration::ZERO;
    d
};

/// The [`Policy`] the engine runs with under this fake: volumes of 1 GiB
/// (the size of a volume created without `sizeMb`) up to 16 TiB, snapshots
/// and backups (taken from snapshots), no clones and no volumes created
/// from a snapshot (Cattle's create has no such field), no resize, delete
/// with snapshots allowed (a purged volume's snapshots and backups stay).
pub fn policy() -> Policy {
    Policy {
        provider: "rancher",
        min_size: Size::gib(1),
        max_size: Size::gib(16 * 1024),
        size_step: 1,
        default_size: Some(Size::gib(1)),
        name_rule: any_reasonable_name,
        max_name_len: Some(255),
        unique_names: false,
        attached_resize: AttachedResize::Refused,
        delete_with_snapshots: true,
        detach_needs_stopped: false,
        max_attachments_per_instance: 16,
        snapshots: true,
        volume_from_snapshot: false,
        volume_from_snapshot_larger: false,
        clone: false,
        backups: true,
        incremental_backups: false,
        labels: false,
        volume_types: &[],
        id_style: IdStyle::Prefixed,
        delays: DEFAULT_DELAYS,
        default_page_size: filters::DEFAULT_LIMIT,
        max_page_size: filters::MAX_LIMIT,
        lifecycle: RANCHER_LIFECYCLE,
    }
}

/// Where Cattle differs from the core lifecycle table: a volume can be
/// removed while it is still `registering` (remove starts from
/// `registering`, reference §6), so its purge may reach the engine's volume
/// while that is still being created.
pub const RANCHER_LIFECYCLE: &[LifecycleRule] = &[LifecycleRule::allow(
    VolumeState::Creating,
    VolumeOp::Delete,
    VolumeState::Deleting,
    VolumeState::Deleted,
)];

// ----- configuration ----------------------------------------------------------

/// What a Rancher fake accepts: one API key pair, acting for
/// [`DEFAULT_PROJECT_ID`]. `Debug` shows neither key.
pub struct RancherConfig {
    access_key: String,
    secret_key: String,
}

impl Default for RancherConfig {
    fn default() -> Self {
        Self {
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
        }
    }
}

impl fmt::Debug for RancherConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RancherConfig")
            .field("access_key", &"******")
            .field("secret_key", &"******")
            .finish()
    }
}

/// Builds a [`RancherFake`]: the shared settings of [`FakeBuilder`] and
/// [`keys`](FakeBuilder::keys).
pub type RancherFakeBuilder = FakeBuilder<RancherDialect>;

impl FakeBuilder<RancherDialect> {
    /// Accepts `access` / `secret` (HTTP Basic user name and password)
    /// instead of [`DEFAULT_ACCESS_KEY`] / [`DEFAULT_SECRET_KEY`]; they act
    /// for project [`DEFAULT_PROJECT_ID`].
    pub fn keys(mut self, access: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.access_key = access.into();
        self.config.secret_key = secret.into();
        self
    }
}

// ----- the fake ---------------------------------------------------------------

/// The Rancher (Cattle) API, served from an [`Engine`]: the [`Fake`] of
/// [`RancherDialect`].
///
/// [`RancherFake::base_url`](Fake::base_url) is `http://127.0.0.1:PORT/v2-beta`;
/// the project-scoped form account API keys use is that followed by
/// `/projects/1a5` ([`DEFAULT_PROJECT_ID`]), and `/v1` serves the same
/// resources.
pub type RancherFake = Fake<RancherDialect>;

/// Rancher's settings in the binaries.
const SETTINGS: &[Setting] = &[
    Setting {
        flag: "rancher-access-key",
        env: "VOLUME_SIM_RANCHER_ACCESS_KEY",
        value_name: "KEY",
        default: Some(DEFAULT_ACCESS_KEY),
        help: "The API access key (Basic-auth user) the Rancher fake accepts.",
        secret: false,
    },
    Setting {
        flag: "rancher-secret-key",
        env: "VOLUME_SIM_RANCHER_SECRET_KEY",
        value_name: "SECRET",
        default: Some(DEFAULT_SECRET_KEY),
        help: "The API secret key (Basic-auth password) of that access key.",
        secret: true,
    },
];

/// Rancher's line in the [registry](super::registry).
pub const ENTRY: Entry = Entry {
    name: "rancher",
    settings: SETTINGS,
    build: build_from_settings,
    credentials: |s: &Settings| {
        format!(
            "access key: {}   secret key: {}   project: {DEFAULT_PROJECT_ID}",
            s.shown("rancher-access-key"),
            s.shown("rancher-secret-key")
        )
    },
    exports: |engine| ExportSource::new(engine, [DEFAULT_PROJECT_ID]),
};

fn build_from_settings(
    options: &FakeOptions,
    settings: &Settings,
) -> Result<Arc<dyn Handler>, String> {
    let access = settings
        .get("rancher-access-key")
        .unwrap_or(DEFAULT_ACCESS_KEY);
    let secret = settings
        .get("rancher-secret-key")
        .unwrap_or(DEFAULT_SECRET_KEY);
    if access.is_empty() || access.contains(':') {
        return Err("--rancher-access-key must be non-empty and hold no ':'".to_owned());
    }
    Ok(RancherFake::builder()
        .options(options.clone())
        .keys(access, secret)
        .build()
        .handler())
}

/// The Rancher dialect: what [`RancherFake`] runs through the pipeline.
pub struct RancherDialect {
    access_key: String,
    secret_key: String,
}

impl fmt::Debug for RancherDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RancherDialect").finish_non_exhaustive()
    }
}

pub use envelope::Route;

impl RancherDialect {
    /// Who a request's Basic credentials act for.
    fn check_basic(&self, request: &FakeRequest) -> bool {
        let Some(value) = request.header("authorization") else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|b| *b == b':') else {
            return false;
        };
        let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
        // Compared whole, in constant time per length, so a wrong key's
        // prefix says nothing.
        super::dialect::constant_eq(user, self.access_key.as_bytes())
            & super::dialect::constant_eq(pass, self.secret_key.as_bytes())
    }
}

impl Dialect for RancherDialect {
    const NAME: &'static str = "rancher";
    const PREFIXES: &'static [&'static str] = PATH_PREFIXES;
    const DEFAULT_REGIONS: &'static [&'static str] = &["local"];
    type Config = RancherConfig;
    type State = RancherState;
    type Route = Route;
    type Reply = Deferred;

    fn policy() -> Policy {
        policy()
    }

    fn new(config: RancherConfig, _engine: &Engine) -> Self {
        Self {
            access_key: config.access_key,
            secret_key: config.secret_key,
        }
    }

    fn base_path() -> &'static str {
        PATH_PREFIXES[0]
    }

    fn route(request: &FakeRequest, segments: &[&str]) -> Result<Route, Rejection> {
        Ok(envelope::route(request, segments))
    }

    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection> {
        if self.check_basic(request) {
            Ok(Principal::new(DEFAULT_PROJECT_ID, self.access_key.clone()))
        } else {
            Err(errors::unauthorized())
        }
    }

    fn operation(route: &Route) -> Option<SimOp> {
        route.sim_op()
    }

    fn run(
        &self,
        op: &mut Operation<'_, RancherState>,
        route: &Route,
        req: &FakeRequest,
    ) -> Result<Deferred, Rejection> {
        resources::run(op, route, req)
    }

    fn render(rejection: &Rejection) -> FakeResponse {
        errors::render(rejection)
    }

    fn finish(
        &self,
        response: FakeResponse,
        route: Option<&Route>,
        _rate: Option<&super::RateStatus>,
    ) -> FakeResponse {
        envelope::finish(response, route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> FakeRequest {
        let mut r = FakeRequest::new(http::Method::GET, "/v2-beta/volumes");
        r.headers.insert("authorization", value.parse().unwrap());
        r
    }

    fn basic(user: &str, pass: &str) -> String {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {token}")
    }

    #[test]
    fn basic_credentials_must_match_whole() {
        let d = RancherDialect {
            access_key: "ak".into(),
            secret_key: "s:k".into(),
        };
        assert!(d.check_basic(&with_auth(&basic("ak", "s:k"))));
        assert!(d.check_basic(&with_auth(&format!("basic {}", &basic("ak", "s:k")[6..]))));
        for wrong in [
            basic("ak", "s:"),
            basic("a", "ks:k"),
            basic("ak", "s:kk"),
            "Bearer x".to_owned(),
            "Basic".to_owned(),
            "Basic ###".to_owned(),
        ] {
            assert!(!d.check_basic(&with_auth(&wrong)), "{wrong}");
        }
        assert!(!d.check_basic(&FakeRequest::new(http::Method::GET, "/v2-beta")));
    }

    #[test]
    fn keys_never_show_in_debug() {
        let builder = RancherFakeBuilder::default().keys("access-XYZ", "secret-XYZ");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("XYZ"), "{shown}");
        let fake = builder.build();
        assert!(!format!("{fake:?} {:?}", fake.dialect()).contains("XYZ"));
    }

    #[test]
    fn the_policy_is_consistent() {
        super::super::dialect::assert_policy(&policy(), 1..=16 * 1024, false, true);
    }
}

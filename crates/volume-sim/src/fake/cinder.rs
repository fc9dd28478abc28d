//! OpenStack Cinder v3, with the Keystone v3 and Nova pieces it needs,
//! served from the engine.
//!
//! [`CinderFake`] answers three APIs on one server, each under its own
//! prefix, the way a devstack cloud lays them out:
//!
//! | prefix | API |
//! |---|---|
//! | `/identity` | Keystone v3: version discovery, tokens (password and application credential), the catalog |
//! | `/volume` | Cinder block storage v3, at `/volume/v3/{project_id}` (and the project-less `/volume/v3`) |
//! | `/compute` | the part of Nova that attaches volumes: `os-volume_attachments` on the seeded servers |
//!
//! It follows the wire reference `api/cinder.md` and the api-ref samples
//! beside it; the JSON is written from them here, never from a client's
//! types. The catalog a token carries points at the same server, built from
//! the request's own `Host`, so openstacksdk, python-cinderclient and the
//! `openstack` CLI find Cinder and Nova here once given [`CinderFake::auth_url`].
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::cinder::{CinderFake, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER};
//!
//! let fake = CinderFake::builder().build();
//! let server = fake.start().await;
//! let auth_url = CinderFake::auth_url(&server); // http://127.0.0.1:PORT/identity/v3
//! let body = serde_json::json!({"auth": {
//!     "identity": {"methods": ["password"], "password": {"user": {
//!         "name": DEFAULT_USER, "domain": {"name": "Default"}, "password": DEFAULT_PASSWORD}}},
//!     "scope": {"project": {"name": DEFAULT_PROJECT, "domain": {"name": "Default"}}}}});
//! let http = reqwest::Client::new();
//! let reply = http.post(format!("{auth_url}/auth/tokens")).json(&body).send().await.unwrap();
//! assert_eq!(reply.status(), 201);
//! let token = reply.headers()["x-subject-token"].to_str().unwrap().to_owned();
//! let doc: serde_json::Value = reply.json().await.unwrap();
//! let project = doc["token"]["project"]["id"].as_str().unwrap();
//! let volumes = http
//!     .get(format!("{}/volume/v3/{project}/volumes/detail", server.uri()))
//!     .header("x-auth-token", token)
//!     .send().await.unwrap();
//! assert_eq!(volumes.status(), 200);
//! # });
//! ```
//!
//! # What it serves
//!
//! Keystone (below `/identity`):
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /`, `GET /v3` | version discovery (300 `{"versions": {"values": [...]}}`, 200 `{"version": {...}}`) |
//! | `POST /v3/auth/tokens` | password (user and project by name or id), application credential (by id, or name and user; no scope), token: 201, `X-Subject-Token`, `{"token": {...}}` with the catalog (`?nocatalog` omits it) |
//! | `GET`, `HEAD /v3/auth/tokens` | validates `X-Subject-Token` for a valid `X-Auth-Token` |
//! | `DELETE /v3/auth/tokens` | revokes `X-Subject-Token` (204) |
//! | `GET /v3/projects[?name=]`, `GET /v3/projects/{id}` | the one project |
//!
//! Cinder (below `/volume/v3/{project_id}` or `/volume/v3`, with
//! `X-Auth-Token`; `GET /volume/` (300) and `GET /volume/v3/` are the
//! version documents):
//!
//! | resource | endpoints |
//! |---|---|
//! | volumes | list, `detail`, `summary` (3.12), create (empty, `snapshot_id`, `source_volid`, `backup_id` (3.47), `imageRef`; `volume_type` by name or id, `availability_zone`, `metadata`, `description`), show, update, delete (`cascade`, `force` 3.23), metadata (all six forms) |
//! | volume actions | `os-extend` (in-use from 3.42), `os-retype`, `os-set_bootable`, `os-reset_status`, `os-force_delete`, `os-attach`, `os-detach`, `os-reserve`, `os-unreserve`, `os-begin_detaching`, `os-roll_detaching`, `os-initialize_connection`, `os-terminate_connection`, `os-update_readonly_flag` |
//! | snapshots | list, `detail`, create (the 3.66 rule on `force`), show, update, delete, metadata, `os-reset_status`, `os-update_snapshot_status`, `os-force_delete` |
//! | backups | list, `detail`, create (full, incremental), show, update (3.9), delete, restore (to a new or an existing volume), `os-reset_status`, `os-force_delete` |
//! | attachments (3.27) | list, `detail`, create, show, update, `os-complete` (3.44), delete |
//! | the rest | `types` (show, `default`, `extra_specs`), `qos-specs` (read), `limits`, `os-quota-sets/{project}` (`?usage=true`, `/defaults`), `os-availability-zone`, `messages` (3.3; list, show, delete) |
//!
//! Lists take `limit`, `marker`, `offset`, `sort` (or `sort_key`/`sort_dir`),
//! the documented filters and `with_count` (3.45), and carry
//! `<collection>_links` with the next page when a page is full.
//!
//! Nova (below `/compute/v2.1`, microversion 2.1 only; `GET /compute/` and
//! `GET /compute/v2.1` are its version documents): `GET /servers`,
//! `GET /servers/detail`, `GET /servers/{id}` (the seeded instances,
//! `ACTIVE` or `SHUTOFF`) and `os-volume_attachments` (list, attach, show,
//! detach).
//!
//! # Wire behaviour
//!
//! - Errors: `{"<faultName>": {"code", "message"}}` (`badRequest`,
//!   `itemNotFound`, `badMethod`, `conflictingRequest`, `overLimit` with
//!   `retryAfter` and `Retry-After: 0` for quotas, `computeFault`...);
//!   a missing, unknown or expired token is the auth middleware's 401
//!   `{"error": {"code", "title", "message"}}` with `WWW-Authenticate`, as
//!   are Keystone's own refusals (in Keystone's shape).
//! - Microversions: `OpenStack-API-Version: volume 3.N` (`latest` is the
//!   maximum, no header is 3.0), echoed with `Vary` on every Cinder answer
//!   but the 401s; out of range 406 `computeFault`, malformed 400; a method
//!   below its microversion is a 404 `itemNotFound`; fields of a higher
//!   microversion are absent below it.
//! - Every answer has `x-openstack-request-id` (`req-<uuid>`); refusals also
//!   `x-compute-request-id`.
//! - Volume states: `creating`, `available`, `attaching`, `in-use`,
//!   `detaching`, `extending`, `retyping`, `backing-up`, `restoring-backup`,
//!   `deleting`, `error`, `error_extending`, `error_deleting`,
//!   `error_restoring`; `reserved` while an attachment is reserved; any
//!   documented word after `os-reset_status`. Each transition takes
//!   [`DEFAULT_DELAYS`] on the engine's clock.
//! - Faults: `ErrorBefore`/`ErrorAfter` are that status in Cinder's shape
//!   (a 503 is `serviceUnavailable`); `RateLimited` is a 429 with
//!   `Retry-After` and `{"overLimit": {"code": 429, "message",
//!   "retryAfter"}}` (Cinder has no rate limit of its own; this is what a
//!   limiter in front would say); `LandInError` lands the volume, snapshot
//!   or backup in `error` and records a user message (`VOLUME_000002` "No
//!   storage could be allocated for this volume request." for a volume's
//!   creation, `VOLUME_000001` "An unknown error occurred." otherwise),
//!   visible once the failure lands. A volume action's fault is decided by
//!   the action it names (`os-extend`: resize, `os-attach`: attach...).
//!
//! # Choices where the reference is silent
//!
//! See each submodule's docs for its own; the ones a user meets first:
//! - The version documents (`GET /volume/`, `GET /volume/v3/`, Keystone's and
//!   Nova's) need no token (stock Cinder puts `/v3/` behind the auth
//!   middleware; the reference leaves it open for Xloud).
//! - Every user is `admin`, `member` and `reader` of the one project, so
//!   the admin actions work with the default credentials.
//! - The project id in a Cinder path is not compared with the token's: the
//!   token alone decides the project (and so the engine tenant) a request
//!   acts for. `os-quota-sets` of another project is a 403.
//! - The catalog's URLs are built from the address the request arrived at
//!   (never its `Host` header, which a client may set to anything), as the
//!   Exoscale fake builds its zone endpoint.
//! - Refusals the server raises itself (a body over its limit, a malformed
//!   request) come in Cinder's shape under `/identity` too.

mod attach;
mod backups;
mod error;
mod info;
mod keystone;
mod microversion;
mod ops;
mod routes;
mod snapshots;
mod state;
mod views;
mod volumes;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use volume_core::Size;

use super::registry::{Entry, Setting, Settings, BASE_URL_PLACEHOLDER};
use super::{
    Answer, Deferred, Dialect, Fake, FakeBuilder, FakeOptions, FakeRequest, FakeResponse, Handler,
    Operation, Principal, Rejection,
};
use crate::engine::{AttachedResize, Delays, Engine, IdStyle, Policy, SimOp};
use crate::nbd::ExportSource;

pub use microversion::Microversion;
pub use routes::Route;

/// The user a fake accepts when none is configured (password
/// [`DEFAULT_PASSWORD`], domain [`DEFAULT_DOMAIN`]).
pub const DEFAULT_USER: &str = "demo";

/// The password of [`DEFAULT_USER`]. Local fakes' credentials are not secrets.
pub const DEFAULT_PASSWORD: &str = "volume-sim-cinder-password";

/// The project every user of the fake is a member of, unless told otherwise.
pub const DEFAULT_PROJECT: &str = "demo";

/// The one domain of the fake (Keystone's default domain: id `default`,
/// name `Default`).
pub const DEFAULT_DOMAIN: &str = "Default";

/// The region the catalog names.
pub const DEFAULT_REGION: &str = "RegionOne";

/// The application credential a fake accepts when none is configured: it
/// belongs to the first user and is scoped to the project.
pub const DEFAULT_APP_CREDENTIAL_ID: &str = "a0c2d9e4f1b84a7e9c3d5b6f7e8a9b01";

/// The secret of [`DEFAULT_APP_CREDENTIAL_ID`].
pub const DEFAULT_APP_CREDENTIAL_SECRET: &str = "volume-sim-cinder-app-secret";

/// The name of [`DEFAULT_APP_CREDENTIAL_ID`] (for the by-name form).
pub const DEFAULT_APP_CREDENTIAL_NAME: &str = "volume-sim";

/// The newest Cinder microversion served unless told otherwise: 3.71, the
/// maximum of the Cinder release the reference was read from.
pub const DEFAULT_MAX_MICROVERSION: &str = "3.71";

/// How long a token lives unless told otherwise: Keystone's default
/// `[token] expiration = 3600`.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The availability zone volumes are created in (Cinder's default `nova`).
pub const DEFAULT_AVAILABILITY_ZONE: &str = "nova";

/// The volume types: `__DEFAULT__` (Cinder's built-in default) and two more,
/// so retype has somewhere to go.
pub const VOLUME_TYPES: &[&str] = &["__DEFAULT__", "ssd", "hdd"];

/// How long transitions take by default on the engine's clock: a second
/// each, so clients see `creating`, `attaching`, `extending`... and poll.
pub const DEFAULT_DELAYS: Delays = Delays::uniform(Duration::from_secs(1));

/// The Cinder [`Policy`]: what the engine enforces under this fake.
///
/// Sizes from 1 GiB (Cinder's minimum) to 16 TiB (Cinder has no maximum of
/// its own beyond quotas; this bounds the simulator); extend of in-use
/// volumes allowed by the engine, refused below 3.42 by the dialect; a
/// volume with snapshots is refused deletion by the dialect unless
/// `cascade`; clones, snapshots, volumes from snapshots (as large or
/// larger), backups (full and incremental); UUID ids.
pub fn policy() -> Policy {
    Policy {
        provider: "cinder",
        min_size: Size::gib(1),
        max_size: Size::gib(16 * 1024),
        size_step: 1,
        default_size: None,
        name_rule: cinder_name,
        max_name_len: Some(255),
        unique_names: false,
        attached_resize: AttachedResize::Allowed,
        // The dialect says no (or cascades) before the engine is asked.
        delete_with_snapshots: true,
        detach_needs_stopped: false,
        max_attachments_per_instance: 26,
        snapshots: true,
        volume_from_snapshot: true,
        volume_from_snapshot_larger: true,
        clone: true,
        backups: true,
        incremental_backups: true,
        labels: true,
        volume_types: VOLUME_TYPES,
        id_style: IdStyle::Uuid,
        delays: DEFAULT_DELAYS,
        default_page_size: 1000,
        max_page_size: 1000,
        lifecycle: &[],
    }
}

/// Cinder's names: null or empty allowed, at most 255 characters.
fn cinder_name(name: &str) -> Result<(), String> {
    if name.chars().count() > 255 {
        return Err("must be at most 255 characters".to_owned());
    }
    Ok(())
}

// ----- configuration --------------------------------------------------------

/// What a Cinder fake accepts: users with passwords, the project, application
/// credentials, the microversion range and the token lifetime. `Debug` never
/// shows a password or secret.
pub struct CinderConfig {
    users: Vec<(String, String)>,
    project: String,
    app_credentials: Vec<(String, String)>,
    max_microversion: String,
    token_lifetime: Duration,
}

impl Default for CinderConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            project: DEFAULT_PROJECT.to_owned(),
            app_credentials: Vec::new(),
            max_microversion: DEFAULT_MAX_MICROVERSION.to_owned(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }
}

impl fmt::Debug for CinderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CinderConfig")
            .field(
                "users",
                &self.users.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .field("project", &self.project)
            .field(
                "app_credentials",
                &self
                    .app_credentials
                    .iter()
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>(),
            )
            .field("max_microversion", &self.max_microversion)
            .field("token_lifetime", &self.token_lifetime)
            .finish()
    }
}

/// Builds a [`CinderFake`]: the shared settings of [`FakeBuilder`], and
/// [`user`](FakeBuilder::user), [`project`](FakeBuilder::project),
/// [`app_credential`](FakeBuilder::app_credential),
/// [`max_microversion`](FakeBuilder::max_microversion) and
/// [`token_lifetime`](FakeBuilder::token_lifetime).
pub type CinderFakeBuilder = FakeBuilder<CinderDialect>;

impl FakeBuilder<CinderDialect> {
    /// Accepts user `name` (domain [`DEFAULT_DOMAIN`]) with `password`, a
    /// member of the project. Several users may be added; without any,
    /// [`DEFAULT_USER`] / [`DEFAULT_PASSWORD`] is.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.users.push((name.into(), password.into()));
        self
    }

    /// The project's name (default [`DEFAULT_PROJECT`]); its id is derived
    /// from the name (32 hex digits, as Keystone's are).
    pub fn project(mut self, name: impl Into<String>) -> Self {
        self.config.project = name.into();
        self
    }

    /// Accepts application credential `id` with `secret`, of the first user
    /// and scoped to the project. Without any,
    /// [`DEFAULT_APP_CREDENTIAL_ID`] / [`DEFAULT_APP_CREDENTIAL_SECRET`] is.
    pub fn app_credential(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.app_credentials.push((id.into(), secret.into()));
        self
    }

    /// The newest Cinder microversion served (`"3.60"`; default
    /// [`DEFAULT_MAX_MICROVERSION`]). A value that is not `3.N` with
    /// `N <= 71` keeps the default.
    pub fn max_microversion(mut self, version: impl Into<String>) -> Self {
        self.config.max_microversion = version.into();
        self
    }

    /// How long a token lives on the engine's clock (default
    /// [`DEFAULT_TOKEN_LIFETIME`]).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }
}

// ----- the fake ---------------------------------------------------------------

/// Keystone, Cinder v3 and Nova's volume attachments, served from an
/// [`Engine`]: the [`Fake`] of [`CinderDialect`].
pub type CinderFake = Fake<CinderDialect>;

impl Fake<CinderDialect> {
    /// The Keystone URL of the fake on `server`:
    /// `http://127.0.0.1:PORT/identity/v3` (what `OS_AUTH_URL` is set to).
    pub fn auth_url(server: &wiremock::MockServer) -> String {
        format!("{}{}", server.uri(), keystone::AUTH_PATH)
    }

    /// The id of the project (the engine tenant its requests act for).
    pub fn project_id(&self) -> &str {
        &self.dialect().identity.project.id
    }
}

/// Cinder's settings in the binaries.
const SETTINGS: &[Setting] = &[
    Setting {
        flag: "cinder-user",
        env: "VOLUME_SIM_CINDER_USER",
        value_name: "NAME",
        default: Some(DEFAULT_USER),
        help: "The Keystone user the Cinder fake accepts (domain Default).",
        secret: false,
    },
    Setting {
        flag: "cinder-password",
        env: "VOLUME_SIM_CINDER_PASSWORD",
        value_name: "PASSWORD",
        default: Some(DEFAULT_PASSWORD),
        help: "That user's password.",
        secret: true,
    },
    Setting {
        flag: "cinder-project",
        env: "VOLUME_SIM_CINDER_PROJECT",
        value_name: "NAME",
        default: Some(DEFAULT_PROJECT),
        help: "The project the user is a member of (domain Default).",
        secret: false,
    },
    Setting {
        flag: "cinder-app-credential-id",
        env: "VOLUME_SIM_CINDER_APP_CREDENTIAL_ID",
        value_name: "ID",
        default: Some(DEFAULT_APP_CREDENTIAL_ID),
        help: "An application credential of that user, scoped to the project.",
        secret: false,
    },
    Setting {
        flag: "cinder-app-credential-secret",
        env: "VOLUME_SIM_CINDER_APP_CREDENTIAL_SECRET",
        value_name: "SECRET",
        default: Some(DEFAULT_APP_CREDENTIAL_SECRET),
        help: "That application credential's secret.",
        secret: true,
    },
];

/// Cinder's line in the [registry](super::registry).
pub const ENTRY: Entry = Entry {
    name: "cinder",
    settings: SETTINGS,
    build: build_from_settings,
    credentials: banner,
    exports: |engine| {
        let project = keystone::Project::named(DEFAULT_PROJECT);
        ExportSource::new(engine, [project.id])
    },
};

/// The banner's credentials: the user, project and application credential,
/// then a `clouds.yaml` ready to paste, with a cloud for each
/// (`openstack --os-cloud volume-sim volume list`,
/// `--os-cloud volume-sim-app-credential`). A password or secret shows only when it is
/// the documented default.
fn banner(s: &Settings) -> String {
    let user = s.shown("cinder-user");
    let password = s.shown("cinder-password");
    let project = s.shown("cinder-project");
    let pad = |line: &str| format!("\n{:<8} {line}", "");
    let mut out = format!(
        "user: {user}   password: {password}   project: {project}   domain: {DEFAULT_DOMAIN}   region: {DEFAULT_REGION}"
    );
    out.push_str(&pad(&format!(
        "application credential: {}   secret: {}",
        s.shown("cinder-app-credential-id"),
        s.shown("cinder-app-credential-secret")
    )));
    out.push_str(&pad("clouds.yaml:"));
    for line in [
        "  clouds:".to_owned(),
        "    volume-sim:".to_owned(),
        "      auth:".to_owned(),
        format!("        auth_url: {BASE_URL_PLACEHOLDER}"),
        format!("        username: {user}"),
        format!("        password: {password}"),
        format!("        project_name: {project}"),
        format!("        user_domain_name: {DEFAULT_DOMAIN}"),
        format!("        project_domain_name: {DEFAULT_DOMAIN}"),
        format!("      region_name: {DEFAULT_REGION}"),
        "      identity_api_version: 3".to_owned(),
        "    volume-sim-app-credential:".to_owned(),
        "      auth_type: v3applicationcredential".to_owned(),
        "      auth:".to_owned(),
        format!("        auth_url: {BASE_URL_PLACEHOLDER}"),
        format!(
            "        application_credential_id: {}",
            s.shown("cinder-app-credential-id")
        ),
        format!(
            "        application_credential_secret: {}",
            s.shown("cinder-app-credential-secret")
        ),
        format!("      region_name: {DEFAULT_REGION}"),
        "      identity_api_version: 3".to_owned(),
    ] {
        out.push_str(&pad(&line));
    }
    out
}

fn build_from_settings(
    options: &FakeOptions,
    settings: &Settings,
) -> Result<Arc<dyn Handler>, String> {
    let get = |flag, default| settings.get(flag).unwrap_or(default);
    Ok(CinderFake::builder()
        .options(options.clone())
        .user(
            get("cinder-user", DEFAULT_USER),
            get("cinder-password", DEFAULT_PASSWORD),
        )
        .project(get("cinder-project", DEFAULT_PROJECT))
        .app_credential(
            get("cinder-app-credential-id", DEFAULT_APP_CREDENTIAL_ID),
            get(
                "cinder-app-credential-secret",
                DEFAULT_APP_CREDENTIAL_SECRET,
            ),
        )
        .build()
        .handler())
}

/// The Cinder dialect: what [`CinderFake`] runs through the pipeline.
pub struct CinderDialect {
    identity: keystone::Identity,
    tokens: Mutex<keystone::Tokens>,
    max_microversion: Microversion,
    engine: Engine,
    request_ids: AtomicU64,
}

impl fmt::Debug for CinderDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CinderDialect")
            .field("project", &self.identity.project.name)
            .field("max_microversion", &self.max_microversion)
            .finish_non_exhaustive()
    }
}

pub use state::CinderState;

impl CinderDialect {
    /// A fresh `req-<uuid>` for `x-openstack-request-id`.
    fn request_id(&self) -> String {
        use crate::engine::made_up::{mix, uuid};
        let n = self.request_ids.fetch_add(1, Ordering::Relaxed);
        let hi = mix(n ^ 0x7265_7175_6573_7400);
        format!("req-{}", uuid(hi, mix(hi ^ n)))
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, keystone::Tokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Dialect for CinderDialect {
    const NAME: &'static str = "cinder";
    const PREFIXES: &'static [&'static str] = &["/identity", "/volume", "/compute"];
    type Route = Route;
    type Config = CinderConfig;
    type State = CinderState;
    type Reply = Deferred;
    const DEFAULT_REGIONS: &'static [&'static str] = &[DEFAULT_AVAILABILITY_ZONE];

    fn policy() -> Policy {
        policy()
    }

    fn new(config: CinderConfig, engine: &Engine) -> Self {
        let max_microversion = Microversion::parse(&config.max_microversion)
            .filter(|v| *v <= Microversion::MAX_KNOWN && *v >= Microversion::MIN)
            .unwrap_or(Microversion::MAX_KNOWN);
        Self {
            identity: keystone::Identity::new(&config),
            tokens: Mutex::new(keystone::Tokens::new(config.token_lifetime)),
            max_microversion,
            engine: engine.clone(),
            request_ids: AtomicU64::new(1),
        }
    }

    /// Keystone's base: the `auth_url`.
    fn base_path() -> &'static str {
        keystone::AUTH_PATH
    }

    fn route(request: &FakeRequest, segments: &[&str]) -> Result<Route, Rejection> {
        routes::route(request, segments)
    }

    fn public(&self, _engine: &Engine, route: &Route, req: &FakeRequest) -> Option<Answer> {
        match route {
            Route::Keystone(k) => Some(Ok(self.keystone(k, req))),
            Route::VolumeVersions { versioned } => Some(Ok(views::cinder_versions(
                req,
                *versioned,
                self.max_microversion,
            ))),
            Route::ComputeVersions { versioned } => Some(Ok(views::nova_versions(req, *versioned))),
            _ => None,
        }
    }

    fn authenticate(&self, request: &FakeRequest) -> Result<Principal, Rejection> {
        let now = self.engine.now();
        let token = request
            .header("x-auth-token")
            .ok_or_else(error::unauthorized)?;
        let rec = self
            .tokens()
            .valid(token, now)
            .ok_or_else(error::unauthorized)?;
        // An unscoped token reaches no project's resources.
        let project = rec.project.ok_or_else(|| {
            error::fault(
                403,
                "Policy doesn't allow this operation with an unscoped token.",
            )
        })?;
        Ok(Principal::new(project.id, token))
    }

    fn operation(route: &Route) -> Option<SimOp> {
        route.operation()
    }

    fn run(
        &self,
        op: &mut Operation<'_, CinderState>,
        route: &Route,
        req: &FakeRequest,
    ) -> Result<Deferred, Rejection> {
        ops::run(self, op, route, req)
    }

    fn render(rejection: &Rejection) -> FakeResponse {
        error::render(rejection)
    }

    fn finish(
        &self,
        response: FakeResponse,
        route: Option<&Route>,
        _rate: Option<&super::RateStatus>,
    ) -> FakeResponse {
        // An operation that recorded a message set its id already.
        let (id, mut response) = match response.headers.get("x-openstack-request-id") {
            Some(id) => (id.to_str().unwrap_or_default().to_owned(), response),
            None => {
                let id = self.request_id();
                (id.clone(), response.header("x-openstack-request-id", id))
            }
        };
        if response.status >= 400 {
            response = response.header("x-compute-request-id", &id);
        }
        match route {
            Some(Route::Cinder { header, .. }) if response.status != 401 => {
                let v = microversion::requested(header.as_deref(), self.max_microversion)
                    .unwrap_or(Microversion::MIN);
                response
                    .header("openstack-api-version", format!("volume {v}"))
                    .header("vary", "OpenStack-API-Version")
            }
            _ => response,
        }
    }
}

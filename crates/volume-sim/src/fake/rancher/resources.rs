//! The resources and their processes: volumes (Cattle's state machine,
//! moved along on the engine's clock), snapshots and backups (the engine's,
//! in Cattle's words), storage drivers, backup targets and hosts, and the
//! project; every request carried out and answered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use volume_core::{
    BackupId, BackupState, CreateSnapshot, CreateVolume, Error, Instance, InstanceState,
    RestoreBackup, Size, SnapshotId, SnapshotState, VolumeId,
};

use super::envelope::{self, put_date, Base, Kind, Route, Target};
use super::errors::{self, invalid, invalid_with_message};
use super::filters::ListQuery;
use super::schemas;
use super::DEFAULT_PROJECT_ID;
use crate::engine::made_up::{mix, uuid};
use crate::engine::{Control, Fault};
use crate::fake::{Deferred, FakeRequest, FakeResponse, Operation, Rejection};

// ----- static resources --------------------------------------------------------------

/// A storage driver the fake offers.
#[derive(Debug, Clone, Copy)]
struct Driver {
    id: &'static str,
    name: &'static str,
    scope: &'static str,
    access_mode: &'static str,
    capabilities: &'static [&'static str],
}

/// `local` (Docker's local driver: no snapshots, no sizes) and
/// `rancher-longhorn` (block storage with snapshots and sizes).
const DRIVERS: [Driver; 2] = [
    Driver {
        id: "1sd1",
        name: "local",
        scope: "local",
        access_mode: "singleHostRW",
        capabilities: &[],
    },
    Driver {
        id: "1sd2",
        name: "rancher-longhorn",
        scope: "environment",
        access_mode: "singleHostRW",
        capabilities: &["snapshot", "schedule.size"],
    },
];

/// The one backup target snapshots are backed up to.
const BACKUP_TARGET_ID: &str = "1bt1";

fn driver_by_id(id: &str) -> Option<&'static Driver> {
    DRIVERS.iter().find(|d| d.id == id)
}

fn driver_by_name(name: &str) -> Option<&'static Driver> {
    DRIVERS.iter().find(|d| d.name == name)
}

fn can(driver: Option<&'static Driver>, capability: &str) -> bool {
    driver.is_some_and(|d| d.capabilities.contains(&capability))
}

// ----- the dialect's records -------------------------------------------------------------

/// A Cattle process under way: the state shown meanwhile, where it ends,
/// and when (on the engine's clock).
#[derive(Debug, Clone)]
struct Process {
    from: Duration,
    during: &'static str,
    to: &'static str,
    until: Duration,
    /// Set when the process fails (an injected `LandInError`): the
    /// resource then shows `transitioning: error` with this message, in
    /// `during`, from `until` on.
    fails: Option<String>,
}

/// What Cattle keeps about a volume beyond the engine's.
#[derive(Debug, Clone)]
struct VolumeRec {
    engine: VolumeId,
    name: String,
    driver: Option<String>,
    driver_id: Option<&'static str>,
    driver_opts: Option<Map<String, Value>>,
    description: Option<String>,
    host_id: Option<String>,
    size_mb: Option<u64>,
    uri: Option<String>,
    access_mode: &'static str,
    created: SystemTime,
    state: &'static str,
    process: Option<Process>,
    failed: Option<String>,
    removed: Option<SystemTime>,
}

/// A snapshot's or backup's Rancher-only fields.
#[derive(Debug, Clone)]
struct ArtifactRec {
    engine: String,
    name: Option<String>,
    volume: u64,
    snapshot: Option<u64>,
    /// When its removal was asked for, and when it completes.
    removing: Option<(Duration, Duration)>,
    created: SystemTime,
}

/// What the fake keeps beside the engine: Rancher's volumes with their
/// state machine, and the Rancher ids of snapshots and backups.
#[derive(Debug, Default)]
pub struct RancherState {
    /// Shared, so that a listing can render them after the engine's lock
    /// is released; a change copies the one it changes.
    volumes: BTreeMap<u64, Arc<VolumeRec>>,
    /// The processes under way, by the time they end: a request ends the
    /// due ones without looking at any other volume.
    due: BTreeSet<(Duration, u64)>,
    snapshots: BTreeMap<u64, ArtifactRec>,
    backups: BTreeMap<u64, ArtifactRec>,
    next: u64,
}

impl RancherState {
    /// The next database id: one sequence, like Cattle's id generator, so
    /// ids never repeat across types.
    fn mint(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// The numeric part of `id` when it is `<prefix><n>`.
fn db_id(id: &str, prefix: &str) -> Option<u64> {
    let n = id.strip_prefix(prefix)?;
    if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

fn uuid_of(kind: u64, n: u64) -> String {
    let hi = mix(n ^ kind.rotate_left(40));
    uuid(hi, mix(hi ^ 0x7261_6e63_6865_7221))
}

/// Which processes each action is, with its start states (Cattle's
/// process definitions), and which actions are not processes.
const VOLUME_ACTIONS: &[(&str, &[&str])] = &[
    ("allocate", &["inactive"]),
    ("create", &["requested"]),
    ("deallocate", &["activating", "active"]),
    ("purge", &["removed"]),
    (
        "remove",
        &[
            "requested",
            "inactive",
            "detached",
            "deactivating",
            "registering",
            "updating-active",
            "updating-inactive",
        ],
    ),
    ("restorefrombackup", &["active", "inactive"]),
    ("reverttosnapshot", &["active", "inactive"]),
    ("snapshot", &["active", "inactive"]),
    ("update", &["inactive", "active"]),
];

/// Every action name of the volume schema (also `restore`, which current
/// Cattle never offers).
const VOLUME_ACTION_NAMES: &[&str] = &[
    "allocate",
    "create",
    "deallocate",
    "purge",
    "remove",
    "restore",
    "restorefrombackup",
    "reverttosnapshot",
    "snapshot",
    "update",
];

// ----- one request -------------------------------------------------------------------------

/// What a request runs with.
struct Ctx<'a, 'r> {
    c: &'a mut Control,
    st: &'a mut RancherState,
    tenant: &'a str,
    fault: Option<&'a Fault>,
    base: &'r Base,
    now: Duration,
}

/// Carries out `route` on the engine and answers it.
pub(super) fn run(
    op: &mut Operation<'_, RancherState>,
    route: &Route,
    req: &FakeRequest,
) -> Result<Deferred, Rejection> {
    let now = op.control.now();
    let mut ctx = Ctx {
        c: op.control,
        st: op.state,
        tenant: op.tenant,
        fault: op.fault,
        base: &route.base,
        now,
    };
    ctx.settle();
    ctx.answer(&route.target, req)
}

fn ok(status: u16, v: &Value) -> FakeResponse {
    FakeResponse::json(status, v)
}

impl Ctx<'_, '_> {
    /// Ends every process whose time has come.
    fn settle(&mut self) {
        let now = self.now;
        while let Some(&(until, n)) = self.st.due.first() {
            if until > now {
                break;
            }
            self.st.due.pop_first();
            let Some(v) = self.st.volumes.get_mut(&n).map(Arc::make_mut) else {
                continue;
            };
            let Some(p) = v.process.take_if(|p| p.until <= now) else {
                continue;
            };
            if let Some(message) = p.fails {
                v.state = p.during;
                v.failed = Some(message);
                continue;
            }
            v.state = p.to;
            if p.to == "removed" {
                v.removed = Some(self.c.system_time(p.until));
            }
        }
    }

    fn time(&self, at: Duration) -> SystemTime {
        self.c.system_time(at)
    }

    /// Starts a process on volume `n` from its current state; instant when
    /// `delay` is zero (and no fault says otherwise).
    fn start(&mut self, n: u64, during: &'static str, to: &'static str, delay: Duration) {
        let fault = self.fault.cloned();
        let now = self.now;
        let Some(v) = self.st.volumes.get_mut(&n).map(Arc::make_mut) else {
            return;
        };
        v.failed = None;
        let until = match fault {
            Some(Fault::Stuck) => Duration::MAX,
            _ => now.saturating_add(delay),
        };
        let fails = matches!(fault, Some(Fault::LandInError))
            .then(|| format!("Failed to run process for volume: {during} did not complete"));
        if let Some(old) = &v.process {
            self.st.due.remove(&(old.until, n));
        }
        if until <= now && fails.is_none() {
            v.state = to;
            if to == "removed" {
                v.removed = Some(self.c.system_time(now));
            }
            v.process = None;
        } else {
            v.process = Some(Process {
                from: now,
                during,
                to,
                until,
                fails,
            });
            self.st.due.insert((until, n));
        }
    }

    fn answer(&mut self, target: &Target, req: &FakeRequest) -> Result<Deferred, Rejection> {
        match target {
            Target::List(kind) => self.list(*kind, req, None),
            Target::Related(parent, id, child) => {
                // The parent must exist; its related items are the child
                // collection filtered by it.
                self.get(*parent, id)?;
                let field = match parent {
                    Kind::Volume => "volumeId",
                    _ => "snapshotId",
                };
                self.list(*child, req, Some((field, id.as_str())))
            }
            _ => self.answer_now(target, req).map(Deferred::Now),
        }
    }

    /// The answers written under the lock: all but listings.
    fn answer_now(
        &mut self,
        target: &Target,
        req: &FakeRequest,
    ) -> Result<FakeResponse, Rejection> {
        let base = self.base;
        match target {
            Target::Refused(r) => Err(r.clone()),
            Target::Root => Ok(ok(200, &self.root())),
            Target::Project => Ok(ok(200, &self.project())),
            Target::Projects => {
                let url = format!("{}/projects", base.root());
                Ok(ok(
                    200,
                    &envelope::collection("project", &url, None, vec![self.project()], Map::new()),
                ))
            }
            Target::Schemas => Ok(ok(
                200,
                &envelope::collection(
                    "schema",
                    &base.schemas(),
                    None,
                    schemas::collection(base),
                    Map::new(),
                ),
            )),
            Target::Schema(id) => schemas::one(base, id)
                .map(|v| ok(200, &v))
                .ok_or_else(errors::not_found),
            // Listings come through `answer`, which writes them after the
            // lock; here they are written at once.
            Target::List(_) | Target::Related(..) => self.answer(target, req).map(Into::into),
            Target::Get(kind, id) => self.get(*kind, id).map(|v| ok(200, &v)),
            Target::Create(_) => self.create(req),
            Target::Update(_, id) => {
                let n = self.volume_id(id)?;
                self.update(n, req)?;
                Ok(ok(200, &self.volume_json(n)))
            }
            Target::Delete(kind, id) => self.delete(*kind, id),
            Target::Action(kind, id, action) => self.action(*kind, id, action, req),
        }
    }

    // ----- reading -------------------------------------------------------------------------

    fn root(&self) -> Value {
        let b = self.base;
        let mut links = Map::new();
        links.insert("self".into(), Value::from(b.root()));
        links.insert(
            "schemas".into(),
            Value::from(format!("{}/schemas", b.root())),
        );
        links.insert(
            "projects".into(),
            Value::from(format!("{}/projects", b.root())),
        );
        for k in Kind::ALL {
            let unscoped = Base {
                scoped: false,
                ..b.clone()
            };
            links.insert(k.plural().into(), Value::from(unscoped.collection(k)));
        }
        let id = match b.version {
            envelope::Version::V2Beta => "v2-beta",
            envelope::Version::V1 => "v1",
        };
        json!({"id": id, "type": "apiVersion", "baseType": "apiVersion", "links": links, "actions": {}})
    }

    fn project(&self) -> Value {
        let b = self.base;
        let scoped = Base {
            scoped: true,
            ..b.clone()
        };
        let this = format!("{}/projects/{DEFAULT_PROJECT_ID}", b.root());
        let mut links = Map::new();
        links.insert("self".into(), Value::from(this));
        links.insert("schemas".into(), Value::from(scoped.schemas()));
        for k in Kind::ALL {
            links.insert(k.plural().into(), Value::from(scoped.collection(k)));
        }
        let mut m = Map::new();
        m.insert("id".into(), Value::from(DEFAULT_PROJECT_ID));
        m.insert("type".into(), Value::from("project"));
        m.insert("baseType".into(), Value::from("project"));
        m.insert("links".into(), Value::Object(links));
        m.insert("actions".into(), json!({}));
        m.insert("name".into(), Value::from("Default"));
        m.insert("description".into(), Value::Null);
        m.insert("kind".into(), Value::from("project"));
        m.insert("state".into(), Value::from("active"));
        m.insert("orchestration".into(), Value::from("cattle"));
        m.insert("uuid".into(), Value::from(uuid_of(1, 5)));
        put_date(&mut m, "created", Some(self.time(Duration::ZERO)));
        put_date(&mut m, "removed", None);
        m.insert("transitioning".into(), Value::from("no"));
        m.insert("transitioningMessage".into(), Value::Null);
        m.insert("transitioningProgress".into(), Value::Null);
        Value::Object(m)
    }

    /// Lists `kind`; `only`: the related items of one resource (field and
    /// value), under that resource's link.
    fn list(
        &self,
        kind: Kind,
        req: &FakeRequest,
        only: Option<(&str, &str)>,
    ) -> Result<Deferred, Rejection> {
        let fields = schemas::filters_of(kind);
        let query = ListQuery::parse(req, fields)?;
        if kind == Kind::Volume && only.is_none() {
            // The records are shared, not copied: filtering and rendering
            // (every volume, when the query has conditions) happen after
            // the engine's lock is released.
            let volumes: Vec<(u64, Arc<VolumeRec>)> = self
                .st
                .volumes
                .iter()
                .filter(|(_, v)| query.removed || v.removed.is_none())
                .map(|(n, v)| (*n, Arc::clone(v)))
                .collect();
            let (base, now) = (self.base.clone(), self.now);
            return Ok(Deferred::Later(Box::new(move || {
                let url = base.collection(kind);
                let (page, extra) = query.page_of(
                    volumes,
                    |(n, v)| volume_json(&base, now, n, &v),
                    &url,
                    fields,
                );
                ok(
                    200,
                    &envelope::collection(kind.type_name(), &url, Some(&url), page, extra),
                )
            })));
        }
        // Under a parent (`/volumes/1v5/snapshots`), only its own records
        // are rendered, not every one of the tenant's.
        let related = |r: &ArtifactRec| match only {
            Some(("volumeId", parent)) => db_id(parent, "1v") == Some(r.volume),
            Some(("snapshotId", parent)) => {
                db_id(parent, "1s").is_some() && db_id(parent, "1s") == r.snapshot
            }
            _ => true,
        };
        let items: Vec<Value> = match kind {
            Kind::Volume => self
                .st
                .volumes
                .iter()
                .filter(|(_, v)| query.removed || v.removed.is_none())
                .map(|(n, _)| self.volume_json(*n))
                .collect(),
            Kind::Snapshot => self
                .st
                .snapshots
                .iter()
                .filter(|(_, r)| related(r))
                .filter_map(|(n, _)| self.snapshot_json(*n))
                .filter(|v| query.removed || v["removed"].is_null())
                .collect(),
            Kind::Backup => self
                .st
                .backups
                .iter()
                .filter(|(_, r)| related(r))
                .filter_map(|(n, _)| self.backup_json(*n))
                .filter(|v| query.removed || v["removed"].is_null())
                .collect(),
            Kind::StorageDriver => DRIVERS.iter().map(|d| self.driver_json(d)).collect(),
            Kind::BackupTarget => vec![self.backup_target_json()],
            Kind::Host => self
                .hosts()
                .iter()
                .enumerate()
                .map(|(i, h)| self.host_json(i, h))
                .collect(),
        };
        let items = match only {
            Some((field, value)) => items.into_iter().filter(|i| i[field] == value).collect(),
            None => items,
        };
        let url = match only {
            Some((field, value)) => {
                let parent = if field == "volumeId" {
                    Kind::Volume
                } else {
                    Kind::Snapshot
                };
                format!("{}/{}", self.base.resource(parent, value), kind.plural())
            }
            None => self.base.collection(kind),
        };
        let (page, extra) = query.page(items, &url, fields);
        let create = (kind == Kind::Volume && only.is_none()).then_some(url.as_str());
        Ok(Deferred::Now(ok(
            200,
            &envelope::collection(kind.type_name(), &url, create, page, extra),
        )))
    }

    fn get(&self, kind: Kind, id: &str) -> Result<Value, Rejection> {
        let found = match kind {
            Kind::Volume => db_id(id, "1v")
                .filter(|n| self.st.volumes.contains_key(n))
                .map(|n| self.volume_json(n)),
            Kind::Snapshot => db_id(id, "1s").and_then(|n| self.snapshot_json(n)),
            Kind::Backup => db_id(id, "1b").and_then(|n| self.backup_json(n)),
            Kind::StorageDriver => driver_by_id(id).map(|d| self.driver_json(d)),
            Kind::BackupTarget => (id == BACKUP_TARGET_ID).then(|| self.backup_target_json()),
            Kind::Host => {
                let hosts = self.hosts();
                db_id(id, "1h")
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| hosts.get(i).map(|h| self.host_json(i, h)))
            }
        };
        found.ok_or_else(errors::not_found)
    }

    fn hosts(&self) -> Vec<Instance> {
        self.c.all_instances(self.tenant)
    }

    fn volume_id(&self, id: &str) -> Result<u64, Rejection> {
        db_id(id, "1v")
            .filter(|n| self.st.volumes.contains_key(n))
            .ok_or_else(errors::not_found)
    }

    /// The state, `transitioning` and its message of volume `v`.
    fn volume_status(v: &VolumeRec) -> (&'static str, &'static str, Option<String>) {
        match (&v.process, &v.failed) {
            (Some(p), _) => (p.during, "yes", None),
            (None, Some(m)) => (v.state, "error", Some(m.clone())),
            (None, None) => (v.state, "no", None),
        }
    }

    /// The actions volume `v` offers now.
    fn volume_actions(v: &VolumeRec) -> Vec<&'static str> {
        let (state, transitioning, _) = Self::volume_status(v);
        let driver = v.driver_id.and_then(driver_by_id);
        VOLUME_ACTIONS
            .iter()
            .filter(|(name, starts)| {
                starts.contains(&state)
                    && match *name {
                        "snapshot" | "reverttosnapshot" | "restorefrombackup" => {
                            can(driver, "snapshot") && transitioning == "no"
                        }
                        _ => true,
                    }
            })
            .map(|(name, _)| *name)
            .collect()
    }

    fn volume_json(&self, n: u64) -> Value {
        self.st
            .volumes
            .get(&n)
            .map_or(Value::Null, |v| volume_json(self.base, self.now, n, v))
    }

    fn snapshot_json(&self, n: u64) -> Option<Value> {
        let rec = self.st.snapshots.get(&n)?;
        let engine = SnapshotId::new(rec.engine.clone())
            .ok()
            .and_then(|id| self.c.get_snapshot(self.tenant, &id).ok());
        let (state, transitioning, message) = artifact_status(
            engine.as_ref().map(|s| snapshot_word(&s.state)),
            rec,
            self.now,
        );
        let id = format!("1s{n}");
        let actions: &[&str] = match state {
            "created" if transitioning == "no" => &["backup", "remove"],
            "creating" | "created" => &["remove"],
            _ => &[],
        };
        let volume = self
            .base
            .resource(Kind::Volume, &format!("1v{}", rec.volume));
        let this = self.base.resource(Kind::Snapshot, &id);
        let links = [("volume", volume), ("backups", format!("{this}/backups"))];
        let mut m = envelope::resource(self.base, Kind::Snapshot, &id, &links, actions);
        self.artifact_fields(&mut m, rec, state, transitioning, message, 0x73, n);
        m.insert("volumeId".into(), Value::from(format!("1v{}", rec.volume)));
        Some(Value::Object(m))
    }

    fn backup_json(&self, n: u64) -> Option<Value> {
        let rec = self.st.backups.get(&n)?;
        let engine = BackupId::new(rec.engine.clone())
            .ok()
            .and_then(|id| self.c.get_backup(self.tenant, &id).ok());
        let (state, transitioning, message) = artifact_status(
            engine.as_ref().map(|b| backup_word(&b.state)),
            rec,
            self.now,
        );
        let id = format!("1b{n}");
        let actions: &[&str] = match state {
            "creating" | "created" => &["remove"],
            _ => &[],
        };
        let mut links = vec![(
            "volume",
            self.base
                .resource(Kind::Volume, &format!("1v{}", rec.volume)),
        )];
        if let Some(s) = rec.snapshot {
            links.push((
                "snapshot",
                self.base.resource(Kind::Snapshot, &format!("1s{s}")),
            ));
        }
        let mut m = envelope::resource(self.base, Kind::Backup, &id, &links, actions);
        self.artifact_fields(&mut m, rec, state, transitioning, message, 0x62, n);
        m.insert("volumeId".into(), Value::from(format!("1v{}", rec.volume)));
        m.insert(
            "snapshotId".into(),
            rec.snapshot
                .map_or(Value::Null, |s| Value::from(format!("1s{s}"))),
        );
        m.insert("backupTargetId".into(), Value::from(BACKUP_TARGET_ID));
        m.insert(
            "uri".into(),
            Value::from(format!(
                "vfs:///var/lib/rancher/volumes/backups/{}",
                rec.engine
            )),
        );
        Some(Value::Object(m))
    }

    #[allow(clippy::too_many_arguments)]
    fn artifact_fields(
        &self,
        m: &mut Map<String, Value>,
        rec: &ArtifactRec,
        state: &str,
        transitioning: &str,
        message: Option<String>,
        kind: u64,
        n: u64,
    ) {
        m.insert("name".into(), opt_str(rec.name.as_deref()));
        m.insert("state".into(), Value::from(state));
        m.insert("transitioning".into(), Value::from(transitioning));
        m.insert(
            "transitioningMessage".into(),
            message.map_or(Value::Null, Value::from),
        );
        m.insert("transitioningProgress".into(), Value::Null);
        m.insert("accountId".into(), Value::from(DEFAULT_PROJECT_ID));
        m.insert("description".into(), Value::Null);
        m.insert("kind".into(), m["type"].clone());
        m.insert("uuid".into(), Value::from(uuid_of(kind, n)));
        put_date(m, "created", Some(rec.created));
        // Removed once the state says so (a stuck or failed remove is not).
        let removed = rec
            .removing
            .filter(|(_, done)| *done <= self.now && state == "removed")
            .map(|(_, done)| self.time(done));
        put_date(m, "removed", removed);
        put_date(m, "removeTime", None);
    }

    fn driver_json(&self, d: &Driver) -> Value {
        let mut m = envelope::resource(self.base, Kind::StorageDriver, d.id, &[], &[]);
        self.plain_fields(&mut m, d.name, "active", 0x7364, d.id);
        m.insert("kind".into(), Value::from("storageDriver"));
        m.insert("scope".into(), Value::from(d.scope));
        m.insert("serviceId".into(), Value::Null);
        m.insert("volumeAccessMode".into(), Value::from(d.access_mode));
        m.insert("volumeCapabilities".into(), json!(d.capabilities));
        m.insert("blockDevicePath".into(), Value::Null);
        Value::Object(m)
    }

    fn backup_target_json(&self) -> Value {
        let mut m = envelope::resource(self.base, Kind::BackupTarget, BACKUP_TARGET_ID, &[], &[]);
        self.plain_fields(&mut m, "default", "created", 0x6274, BACKUP_TARGET_ID);
        m.insert("kind".into(), Value::from("backupTarget"));
        m.insert("nfsConfig".into(), Value::Null);
        Value::Object(m)
    }

    fn host_json(&self, index: usize, h: &Instance) -> Value {
        let id = format!("1h{}", index + 1);
        let state = if h.state == InstanceState::Running {
            "active"
        } else {
            "inactive"
        };
        let mut m = envelope::resource(self.base, Kind::Host, &id, &[], &[]);
        self.plain_fields(&mut m, &h.name, state, 0x68, &id);
        m.insert("kind".into(), Value::from("docker"));
        m.insert("hostname".into(), Value::from(h.name.as_str()));
        m.insert("agentState".into(), Value::from(state));
        m.insert(
            "agentIpAddress".into(),
            Value::from(format!("10.42.0.{}", (index % 250) + 1)),
        );
        m.insert(
            "labels".into(),
            json!({ "io.volume-sim.instance": h.id.as_str() }),
        );
        Value::Object(m)
    }

    /// Fields of the resources the fake does not change.
    fn plain_fields(
        &self,
        m: &mut Map<String, Value>,
        name: &str,
        state: &str,
        kind: u64,
        id: &str,
    ) {
        m.insert("name".into(), Value::from(name));
        m.insert("state".into(), Value::from(state));
        m.insert("transitioning".into(), Value::from("no"));
        m.insert("transitioningMessage".into(), Value::Null);
        m.insert("transitioningProgress".into(), Value::Null);
        m.insert("accountId".into(), Value::from(DEFAULT_PROJECT_ID));
        m.insert("description".into(), Value::Null);
        let n = id
            .bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        m.insert("uuid".into(), Value::from(uuid_of(kind, n)));
        put_date(m, "created", Some(self.time(Duration::ZERO)));
        put_date(m, "removed", None);
        put_date(m, "removeTime", None);
    }

    // ----- changing -------------------------------------------------------------------------

    fn create(&mut self, req: &FakeRequest) -> Result<FakeResponse, Rejection> {
        let body = body_object(req)?;
        let name = match body.get("name") {
            None | Some(Value::Null) => return Err(invalid("MissingRequired", "name")),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("InvalidFormat", "name")),
        };
        check_text("name", &name, 255)?;
        let description = opt_text(&body, "description", 1024)?;
        let driver_name = opt_text(&body, "driver", 255)?;
        let driver_id = opt_text(&body, "storageDriverId", 255)?;
        let driver_opts = driver_opts(&body)?;
        let host_id = self.host_ref(&body)?;
        for field in ["stackId", "volumeTemplateId"] {
            if !matches!(body.get(field), None | Some(Value::Null)) {
                return Err(invalid("InvalidReference", field));
            }
        }
        let driver = match (&driver_id, &driver_name) {
            (None, None) => {
                return Err(invalid_with_message(
                    "MissingRequired",
                    "Either driver or storageDriverId is required",
                ))
            }
            (Some(id), _) => Some(
                driver_by_id(id).ok_or_else(|| invalid("InvalidReference", "storageDriverId"))?,
            ),
            (None, Some(name)) => driver_by_name(name),
        };
        let driver_name = driver.map(|d| d.name.to_owned()).or(driver_name);
        let size_mb = match body.get("sizeMb") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(mb) if mb < 1 => return Err(invalid("MinLimitExceeded", "sizeMb")),
                Some(mb) => Some(u64::try_from(mb).unwrap_or(u64::MAX)),
                None => return Err(invalid("InvalidFormat", "sizeMb")),
            },
            Some(_) => return Err(invalid("InvalidFormat", "sizeMb")),
        };
        if size_mb.is_some() && !can(driver, "schedule.size") {
            return Err(invalid_with_message(
                "InvalidOption",
                format!(
                    "Volume driver {} does not support specifying a size.",
                    driver_name.as_deref().unwrap_or_default()
                ),
            ));
        }
        if let Some(d) = driver {
            let taken = self
                .st
                .volumes
                .values()
                .any(|v| v.removed.is_none() && v.driver_id == Some(d.id) && v.name == name);
            if taken {
                return Err(invalid("NotUnique", "name"));
            }
        }
        let gib = size_mb.map_or(1, |mb| mb.div_ceil(1024).max(1));
        let max = self.c.policy().max_size.as_gib();
        if gib > max {
            return Err(invalid("MaxLimitExceeded", "sizeMb"));
        }
        let create = CreateVolume::new(name.clone(), Size::gib(gib));
        let engine = self
            .c
            .create_volume(self.tenant, &create, None)
            .map_err(core_error)?;
        let n = self.st.mint();
        let uri = driver_name.as_ref().map(|d| format!("{d}:///{name}"));
        let created = self.time(self.now);
        self.st.volumes.insert(
            n,
            Arc::new(VolumeRec {
                engine: engine.id,
                name,
                driver: driver_name,
                driver_id: driver.map(|d| d.id),
                driver_opts,
                description,
                host_id,
                size_mb,
                uri,
                access_mode: driver.map_or("multiHostRW", |d| d.access_mode),
                created,
                state: "requested",
                process: None,
                failed: None,
                removed: None,
            }),
        );
        let delay = self.c.policy().delays.create;
        self.start(n, "registering", "inactive", delay);
        Ok(ok(201, &self.volume_json(n)))
    }

    /// `hostId`, when given: a host of the fake, or 422 `InvalidReference`.
    fn host_ref(&self, body: &Map<String, Value>) -> Result<Option<String>, Rejection> {
        match body.get("hostId") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(h)) => {
                let count = self.hosts().len() as u64;
                db_id(h, "1h")
                    .filter(|n| *n <= count)
                    .map(|_| Some(h.clone()))
                    .ok_or_else(|| invalid("InvalidReference", "hostId"))
            }
            Some(_) => Err(invalid("InvalidReference", "hostId")),
        }
    }

    /// Writes the updatable fields present in the body (others are ignored,
    /// as Cattle ignores them).
    fn update(&mut self, n: u64, req: &FakeRequest) -> Result<(), Rejection> {
        let body = body_object(req)?;
        let description = if body.contains_key("description") {
            Some(opt_text(&body, "description", 1024)?)
        } else {
            None
        };
        let opts = if body.contains_key("driverOpts") {
            Some(driver_opts(&body)?)
        } else {
            None
        };
        let host = if body.contains_key("hostId") {
            Some(self.host_ref(&body)?)
        } else {
            None
        };
        let Some(v) = self.st.volumes.get_mut(&n).map(Arc::make_mut) else {
            return Err(errors::not_found());
        };
        if let Some(d) = description {
            v.description = d;
        }
        if let Some(o) = opts {
            v.driver_opts = o;
        }
        if let Some(h) = host {
            v.host_id = h;
        }
        Ok(())
    }

    fn delete(&mut self, kind: Kind, id: &str) -> Result<FakeResponse, Rejection> {
        match kind {
            Kind::Volume => {
                let n = self.volume_id(id)?;
                let allowed = self
                    .st
                    .volumes
                    .get(&n)
                    .is_some_and(|v| Self::volume_actions(v).contains(&"remove"));
                if !allowed {
                    return Err(errors::method_not_allowed());
                }
                self.remove_volume(n);
                Ok(ok(200, &self.volume_json(n)))
            }
            Kind::Snapshot | Kind::Backup => {
                let json = self.get(kind, id)?;
                if json["actions"].get("remove").is_none() {
                    return Err(errors::method_not_allowed());
                }
                self.remove_artifact(kind, id)?;
                self.get(kind, id).map(|v| ok(200, &v))
            }
            _ => Err(errors::method_not_allowed()),
        }
    }

    fn remove_volume(&mut self, n: u64) {
        let delay = self.c.policy().delays.delete;
        self.start(n, "removing", "removed", delay);
    }

    fn remove_artifact(&mut self, kind: Kind, id: &str) -> Result<(), Rejection> {
        let delay = self.c.policy().delays.delete;
        let (map, prefix) = match kind {
            Kind::Snapshot => (&mut self.st.snapshots, "1s"),
            _ => (&mut self.st.backups, "1b"),
        };
        let rec = db_id(id, prefix)
            .and_then(|n| map.get_mut(&n))
            .ok_or_else(errors::not_found)?;
        let result = match kind {
            Kind::Snapshot => SnapshotId::new(rec.engine.clone())
                .and_then(|s| self.c.delete_snapshot(self.tenant, &s, self.fault)),
            _ => BackupId::new(rec.engine.clone())
                .and_then(|b| self.c.delete_backup(self.tenant, &b, self.fault)),
        };
        result.map_err(core_error)?;
        rec.removing = Some((self.now, self.now.saturating_add(delay)));
        Ok(())
    }

    fn action(
        &mut self,
        kind: Kind,
        id: &str,
        action: &str,
        req: &FakeRequest,
    ) -> Result<FakeResponse, Rejection> {
        let current = self.get(kind, id)?;
        let known: &[&str] = match kind {
            Kind::Volume => VOLUME_ACTION_NAMES,
            Kind::Snapshot => &["backup", "create", "remove"],
            Kind::Backup => &["create", "remove"],
            _ => &[],
        };
        if !known.contains(&action) {
            return Err(invalid("InvalidAction", "action"));
        }
        if current["actions"].get(action).is_none() {
            return Err(invalid("ActionNotAvailable", "action"));
        }
        match kind {
            Kind::Volume => self.volume_action(id, action, req),
            Kind::Snapshot if action == "backup" => self.backup(id, req),
            _ => {
                // `remove` on a snapshot or backup.
                self.remove_artifact(kind, id)?;
                self.get(kind, id).map(|v| ok(202, &v))
            }
        }
    }

    fn volume_action(
        &mut self,
        id: &str,
        action: &str,
        req: &FakeRequest,
    ) -> Result<FakeResponse, Rejection> {
        let n = self.volume_id(id)?;
        let delays = self.c.policy().delays;
        let resting = self.st.volumes.get(&n).map_or("inactive", |v| v.state);
        match action {
            "snapshot" => return self.snapshot(n, req),
            "allocate" => self.start(n, "activating", "active", delays.attach),
            "deallocate" => self.start(n, "deactivating", "inactive", delays.detach),
            "remove" => self.remove_volume(n),
            "purge" => {
                let engine = self.st.volumes.get(&n).map(|v| v.engine.clone());
                if let Some(e) = engine {
                    // Already gone from the engine is fine: purging twice
                    // cannot happen (purge needs `removed`).
                    match self.c.delete_volume(self.tenant, &e, None) {
                        Ok(()) | Err(Error::NotFound { .. }) => {}
                        Err(err) => return Err(core_error(err)),
                    }
                }
                self.start(n, "purging", "purged", delays.delete);
            }
            "update" => {
                self.update(n, req)?;
                let during = if resting == "active" {
                    "updating-active"
                } else {
                    "updating-inactive"
                };
                self.start(n, during, resting, delays.resize);
            }
            "reverttosnapshot" => {
                let body = body_object(req)?;
                let s = self.reference(&body, "snapshotId", "1s")?;
                let rec = self.st.snapshots.get(&s).cloned();
                let belongs = rec.as_ref().is_some_and(|r| r.volume == n);
                let snap_json = self.snapshot_json(s);
                let created = snap_json
                    .as_ref()
                    .is_some_and(|v| v["state"] == "created" && v["transitioning"] == "no");
                if !belongs || !created {
                    return Err(invalid_with_message(
                        "InvalidReference",
                        "Snapshot must be in created state and belong to this volume",
                    ));
                }
                let (engine_volume, engine_snapshot) = (
                    self.st.volumes.get(&n).map(|v| v.engine.clone()),
                    rec.map(|r| r.engine),
                );
                if let (Some(v), Some(s)) = (engine_volume, engine_snapshot) {
                    let s = SnapshotId::new(s).map_err(core_error)?;
                    self.c
                        .revert_to_snapshot(self.tenant, &v, &s, None)
                        .map_err(core_error)?;
                }
                let during = if resting == "active" {
                    "reverting-active"
                } else {
                    "reverting-inactive"
                };
                self.start(n, during, resting, delays.restore);
            }
            "restorefrombackup" => {
                let body = body_object(req)?;
                let b = self.reference(&body, "backupId", "1b")?;
                let rec = self.st.backups.get(&b).cloned();
                let belongs = rec.as_ref().is_some_and(|r| r.volume == n);
                let created = self
                    .backup_json(b)
                    .is_some_and(|v| v["state"] == "created" && v["transitioning"] == "no");
                if !belongs || !created {
                    return Err(invalid_with_message(
                        "InvalidReference",
                        "Backup must be in created state and belong to this volume",
                    ));
                }
                let engine_volume = self.st.volumes.get(&n).map(|v| v.engine.clone());
                if let (Some(v), Some(r)) = (engine_volume, rec) {
                    let bid = BackupId::new(r.engine).map_err(core_error)?;
                    self.c
                        .restore_backup(self.tenant, &bid, &RestoreBackup::over_volume(v), None)
                        .map_err(core_error)?;
                }
                let during = if resting == "active" {
                    "restoring-active"
                } else {
                    "restoring-inactive"
                };
                self.start(n, during, resting, delays.restore);
            }
            // `create` (offered only in `requested`, which no volume of the
            // fake rests in) and anything else the table lets through.
            _ => return Err(invalid("ActionNotAvailable", "action")),
        }
        Ok(ok(202, &self.volume_json(n)))
    }

    /// A required reference field of an action input: its database id, or
    /// 422 `MissingRequired` / `InvalidReference`.
    fn reference(
        &self,
        body: &Map<String, Value>,
        field: &str,
        prefix: &str,
    ) -> Result<u64, Rejection> {
        match body.get(field) {
            None | Some(Value::Null) => Err(invalid("MissingRequired", field)),
            Some(Value::String(s)) => {
                db_id(s, prefix).ok_or_else(|| invalid("InvalidReference", field))
            }
            Some(_) => Err(invalid("InvalidReference", field)),
        }
    }

    fn snapshot(&mut self, n: u64, req: &FakeRequest) -> Result<FakeResponse, Rejection> {
        let body = body_object(req)?;
        let name = opt_text(&body, "name", 255)?;
        let Some(v) = self.st.volumes.get(&n) else {
            return Err(errors::not_found());
        };
        let s = self.st.next + 1;
        let engine_name = name.clone().unwrap_or_else(|| format!("snapshot-1s{s}"));
        let engine = self
            .c
            .create_snapshot(
                self.tenant,
                &CreateSnapshot::new(v.engine.clone(), engine_name),
                self.fault,
            )
            .map_err(core_error)?;
        let s = self.st.mint();
        let created = self.time(self.now);
        self.st.snapshots.insert(
            s,
            ArtifactRec {
                engine: engine.id.to_string(),
                name,
                volume: n,
                snapshot: None,
                removing: None,
                created,
            },
        );
        let json = self.snapshot_json(s).unwrap_or(Value::Null);
        Ok(ok(200, &json))
    }

    fn backup(&mut self, id: &str, req: &FakeRequest) -> Result<FakeResponse, Rejection> {
        let body = body_object(req)?;
        match body.get("backupTargetId") {
            None | Some(Value::Null) => return Err(invalid("MissingRequired", "backupTargetId")),
            Some(Value::String(t)) if t == BACKUP_TARGET_ID => {}
            Some(_) => return Err(invalid("InvalidReference", "backupTargetId")),
        }
        let name = opt_text(&body, "name", 255)?;
        let s = db_id(id, "1s").ok_or_else(errors::not_found)?;
        let rec = self
            .st
            .snapshots
            .get(&s)
            .cloned()
            .ok_or_else(errors::not_found)?;
        let b = self.st.next + 1;
        let engine_name = name.clone().unwrap_or_else(|| format!("backup-1b{b}"));
        let sid = SnapshotId::new(rec.engine).map_err(core_error)?;
        let engine = self
            .c
            .backup_snapshot(self.tenant, &sid, &engine_name, self.fault)
            .map_err(core_error)?;
        let b = self.st.mint();
        let created = self.time(self.now);
        self.st.backups.insert(
            b,
            ArtifactRec {
                engine: engine.id.to_string(),
                name,
                volume: rec.volume,
                snapshot: Some(s),
                removing: None,
                created,
            },
        );
        let json = self.backup_json(b).unwrap_or(Value::Null);
        Ok(ok(200, &json))
    }
}

// ----- helpers ------------------------------------------------------------------------------

/// The state, `transitioning` and message of a snapshot or backup: the
/// engine's state in Cattle's words, `removing` until its removal is done,
/// then `removed`.
fn artifact_status(
    engine: Option<(&'static str, &'static str)>,
    rec: &ArtifactRec,
    now: Duration,
) -> (&'static str, &'static str, Option<String>) {
    if let Some((_, done)) = rec.removing {
        // The engine has the last word: a remove it keeps `removing` (a
        // stuck one) is still transitioning, and one it failed shows the
        // process's error, however long ago it began.
        return match engine {
            None | Some(("removed", _)) => ("removed", "no", None),
            Some(("error", _)) => (
                "removing",
                "error",
                Some("Failed to remove: the storage driver reported an error".to_owned()),
            ),
            Some(("removing", _)) => ("removing", "yes", None),
            _ if done <= now => ("removed", "no", None),
            _ => ("removing", "yes", None),
        };
    }
    match engine {
        Some(("error", _)) => (
            "creating",
            "error",
            Some("Failed to create: the storage driver reported an error".to_owned()),
        ),
        Some((word, t)) => (word, t, None),
        None => ("removed", "no", None),
    }
}

fn snapshot_word(s: &SnapshotState) -> (&'static str, &'static str) {
    match s {
        SnapshotState::Creating => ("creating", "yes"),
        SnapshotState::Available => ("created", "no"),
        SnapshotState::Deleting => ("removing", "yes"),
        SnapshotState::Deleted => ("removed", "no"),
        _ => ("error", "error"),
    }
}

fn backup_word(b: &BackupState) -> (&'static str, &'static str) {
    match b {
        BackupState::Creating => ("creating", "yes"),
        BackupState::Available | BackupState::Restoring => ("created", "no"),
        BackupState::Deleting => ("removing", "yes"),
        BackupState::Deleted => ("removed", "no"),
        _ => ("error", "error"),
    }
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// The body as a JSON object, whatever its `Content-Type`; empty is `{}`.
fn body_object(req: &FakeRequest) -> Result<Map<String, Value>, Rejection> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(errors::bad_body()),
    }
}

/// A string field's length and characters, as Cattle's schema checks them.
fn check_text(field: &str, s: &str, max: usize) -> Result<(), Rejection> {
    if s.chars().count() > max {
        return Err(invalid("MaxLengthExceeded", field));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("InvalidCharacters", field));
    }
    Ok(())
}

/// An optional string field: absent or `null` is `None`.
fn opt_text(
    body: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, Rejection> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => check_text(field, s, max).map(|()| Some(s.clone())),
        Some(_) => Err(invalid("InvalidFormat", field)),
    }
}

/// `driverOpts`: a map of strings (numbers and booleans are taken as their
/// text, as Cattle's `map[string]` converts them).
fn driver_opts(body: &Map<String, Value>) -> Result<Option<Map<String, Value>>, Rejection> {
    match body.get("driverOpts") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            if m.len() > 256 {
                return Err(invalid("MaxLimitExceeded", "driverOpts"));
            }
            m.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), Value::from(s.as_str()))),
                    Value::Number(_) | Value::Bool(_) => {
                        Ok((k.clone(), Value::from(v.to_string())))
                    }
                    _ => Err(invalid("InvalidFormat", "driverOpts")),
                })
                .collect::<Result<Map<_, _>, _>>()
                .map(Some)
        }
        Some(_) => Err(invalid("InvalidFormat", "driverOpts")),
    }
}

/// Cattle's answer for an engine refusal.
fn core_error(e: Error) -> Rejection {
    match e {
        Error::NotFound { .. } => errors::not_found(),
        Error::QuotaExceeded { message, .. } => {
            invalid_with_message("MaxLimitExceeded", format!("Quota exceeded: {message}"))
        }
        Error::InvalidInput { field, .. } => invalid("InvalidOption", &field),
        Error::InvalidState { .. } | Error::AlreadyExists { .. } => errors::conflict(),
        Error::RateLimited { retry_after, .. } => {
            Rejection::rate_limited(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        _ => Rejection::internal(),
    }
}

/// Volume `n` as Cattle renders it, from its record alone (so that a
/// listing can render after the engine's lock is released).
fn volume_json(base: &Base, now: Duration, n: u64, v: &VolumeRec) -> Value {
    let id = format!("1v{n}");
    let (state, transitioning, message) = Ctx::volume_status(v);
    let this = base.resource(Kind::Volume, &id);
    let mut links = vec![
        ("snapshots", format!("{this}/snapshots")),
        ("backups", format!("{this}/backups")),
    ];
    if let Some(d) = v.driver_id {
        links.push(("storageDriver", base.resource(Kind::StorageDriver, d)));
    }
    if let Some(h) = &v.host_id {
        links.push(("host", base.resource(Kind::Host, h)));
    }
    let mut m = envelope::resource(base, Kind::Volume, &id, &links, &Ctx::volume_actions(v));
    m.insert("name".into(), Value::from(v.name.as_str()));
    m.insert("state".into(), Value::from(state));
    m.insert("transitioning".into(), Value::from(transitioning));
    m.insert(
        "transitioningMessage".into(),
        message.map_or(Value::Null, Value::from),
    );
    m.insert(
        "transitioningProgress".into(),
        match &v.process {
            Some(p) if p.until != Duration::MAX => Value::from(progress(now, p)),
            _ => Value::Null,
        },
    );
    m.insert("accountId".into(), Value::from(DEFAULT_PROJECT_ID));
    put_date(&mut m, "created", Some(v.created));
    put_date(&mut m, "removed", v.removed);
    put_date(&mut m, "removeTime", None);
    m.insert("description".into(), opt_str(v.description.as_deref()));
    m.insert("driver".into(), opt_str(v.driver.as_deref()));
    m.insert(
        "driverOpts".into(),
        v.driver_opts.clone().map_or(Value::Null, Value::Object),
    );
    m.insert("externalId".into(), Value::from(v.engine.as_str()));
    m.insert("hostId".into(), opt_str(v.host_id.as_deref()));
    m.insert("imageId".into(), Value::Null);
    m.insert("instanceId".into(), Value::Null);
    m.insert("isHostPath".into(), Value::Bool(false));
    m.insert("kind".into(), Value::from("volume"));
    m.insert("mounts".into(), json!([]));
    m.insert("sizeMb".into(), v.size_mb.map_or(Value::Null, Value::from));
    m.insert("stackId".into(), Value::Null);
    m.insert("storageDriverId".into(), opt_str(v.driver_id));
    m.insert("uri".into(), opt_str(v.uri.as_deref()));
    m.insert("uuid".into(), Value::from(uuid_of(0x76, n)));
    m.insert("volumeTemplateId".into(), Value::Null);
    m.insert("accessMode".into(), Value::from(v.access_mode));
    Value::Object(m)
}

/// Percent of a process done at `now`, 0 to 100.
fn progress(now: Duration, p: &Process) -> u64 {
    let total = p.until.saturating_sub(p.from).as_millis().max(1);
    let done = now.saturating_sub(p.from).as_millis().min(total);
    u64::try_from(done * 100 / total).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly() {
        assert_eq!(db_id("1v12", "1v"), Some(12));
        assert_eq!(db_id("1v012", "1v"), None);
        assert_eq!(db_id("1v", "1v"), None);
        assert_eq!(db_id("1v1x", "1v"), None);
        assert_eq!(db_id("1v99999999999999999999999", "1v"), None);
        assert_eq!(db_id("1s3", "1v"), None);
    }

    #[test]
    fn the_actions_table_follows_cattle() {
        let starts = |a: &str| VOLUME_ACTIONS.iter().find(|(n, _)| *n == a).unwrap().1;
        assert!(!starts("remove").contains(&"active"));
        assert!(starts("purge") == ["removed"]);
        assert!(starts("allocate") == ["inactive"]);
    }
}

//! Cinder's backups (reference §6): full and incremental, restore into a
//! new or an existing volume.
//!
//! Choices where the reference is silent: `container` is kept as given
//! (default `null`); `object_count` is 0 while creating and the size in GiB
//! after; `snapshot_id` is accepted and recorded, the backup taken from the
//! volume itself; `availability_zone` is `null` as in the samples.

use std::collections::HashMap;
use std::time::SystemTime;

use serde_json::{json, Value};
use volume_core::{
    Backup, BackupId, BackupState, CreateBackup, RestoreBackup, VolumeId, VolumeState,
};

use super::super::{FakeResponse, Rejection};
use super::error::{self, bad_request, not_found};
use super::ops::{
    accepted, labels_json, metadata, only, opt_string, parse_bool, Ctx, Listing, SortKey,
};
use super::state::ArtifactExtra;
use super::views::links;
use crate::engine::Fault;

/// The newest incremental backup's time, per volume: what tells whether a
/// full backup has dependents, worked out once per request rather than by
/// a scan of every backup for each one shown.
struct LatestIncremental(HashMap<Option<VolumeId>, Option<SystemTime>>);

impl LatestIncremental {
    fn of(all: &[Backup]) -> Self {
        let mut latest: HashMap<Option<VolumeId>, Option<SystemTime>> = HashMap::new();
        for o in all.iter().filter(|o| o.incremental) {
            let t = latest.entry(o.volume_id.clone()).or_insert(o.created_at);
            *t = (*t).max(o.created_at);
        }
        Self(latest)
    }

    /// A full backup has dependents when an incremental backup of the same
    /// volume was made at or after it (the engine chains them by volume).
    fn has_dependents(&self, b: &Backup) -> bool {
        !b.incremental && self.0.get(&b.volume_id).is_some_and(|t| *t >= b.created_at)
    }
}

impl Ctx<'_> {
    fn backup(&self, id: &str) -> Result<Backup, Rejection> {
        BackupId::new(id)
            .ok()
            .and_then(|bid| self.c.get_backup(self.tenant, &bid).ok())
            .filter(|b| b.state != BackupState::Deleted)
            .ok_or_else(|| not_found("Backup", id))
    }

    fn backup_extra(&mut self, id: &str) -> &mut ArtifactExtra {
        let tenant = self.tenant.to_owned();
        let user = self.user_id.clone();
        self.st
            .backups
            .entry(id.to_owned())
            .or_insert_with(|| ArtifactExtra {
                tenant,
                user_id: user,
                ..ArtifactExtra::default()
            })
    }

    fn backup_name(&self, b: &Backup) -> Value {
        let name = self
            .st
            .backups
            .get(b.id.as_str())
            .and_then(|e| e.name.clone())
            .unwrap_or_else(|| b.name.clone());
        if name.is_empty() {
            Value::Null
        } else {
            Value::String(name)
        }
    }

    fn backup_status(&self, b: &Backup) -> String {
        self.st
            .backups
            .get(b.id.as_str())
            .and_then(|e| e.status.clone())
            .unwrap_or_else(|| b.state.as_str().to_owned())
    }

    /// The tenant's backups (of `volume` only, when given) that are not
    /// gone, oldest first.
    fn all_backups(&self, volume: Option<&VolumeId>) -> Result<Vec<Backup>, Rejection> {
        let q = match volume {
            Some(v) => volume_core::ListBackups::new().with_volume(v.clone()),
            None => volume_core::ListBackups::new(),
        };
        let mut all = Vec::new();
        let mut token = None;
        for _ in 0..1000 {
            let page = self
                .c
                .list_backups(self.tenant, &q, token.as_ref())
                .map_err(|e| self.core(e))?;
            all.extend(
                page.items
                    .into_iter()
                    .filter(|b| b.state != BackupState::Deleted),
            );
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(all)
    }

    /// The backups that can depend on `b`: none for an incremental one,
    /// else those of its volume.
    fn volume_backups(&self, b: &Backup) -> Result<Vec<Backup>, Rejection> {
        match (&b.volume_id, b.incremental) {
            (Some(v), false) => self.all_backups(Some(v)),
            _ => Ok(Vec::new()),
        }
    }

    fn backup_summary(&self, b: &Backup) -> Value {
        json!({
            "id": b.id.as_str(),
            "links": links(&self.origin, self.tenant, "backups", b.id.as_str()),
            "name": self.backup_name(b),
        })
    }

    fn backup_json(&self, b: &Backup, latest: &LatestIncremental) -> Value {
        let extra = self.st.backups.get(b.id.as_str());
        let dependents = latest.has_dependents(b);
        let mut out = json!({
            "availability_zone": null,
            "container": extra.and_then(|e| e.container.clone()),
            "created_at": Self::time(b.created_at),
            "data_timestamp": Self::time(b.created_at),
            "description": extra.and_then(|e| e.description.clone()),
            "fail_reason": if b.state == BackupState::Error { Value::from("An unknown error occurred.") } else { Value::Null },
            "has_dependent_backups": dependents,
            "id": b.id.as_str(),
            "is_incremental": b.incremental,
            "links": links(&self.origin, self.tenant, "backups", b.id.as_str()),
            "name": self.backup_name(b),
            "object_count": if b.state == BackupState::Available { b.size.as_gib() } else { 0 },
            "size": b.size.as_gib(),
            "snapshot_id": null,
            "status": self.backup_status(b),
            "updated_at": Self::time(extra.and_then(|e| e.updated_at).or(b.created_at)),
            "volume_id": b.volume_id.as_ref().map(|v| v.as_str()),
        });
        let Some(m) = out.as_object_mut() else {
            return out;
        };
        if self.mv.at_least(18) {
            m.insert(
                "os-backup-project-attr:project_id".into(),
                Value::from(self.tenant),
            );
        }
        if self.mv.at_least(43) {
            let labels = extra
                .and_then(|e| e.metadata.clone())
                .unwrap_or_else(|| b.labels.clone());
            m.insert("metadata".into(), labels_json(&labels));
        }
        if self.mv.at_least(56) {
            let user = extra.map_or_else(|| self.user_id.clone(), |e| e.user_id.clone());
            m.insert("user_id".into(), Value::from(user));
        }
        out
    }

    pub(super) fn list_backups(&mut self, detail: bool) -> Result<FakeResponse, Rejection> {
        let filters = self.filters()?;
        let all = self.all_backups(None)?;
        let kept: Vec<Backup> = all
            .iter()
            .filter(|b| {
                filters.iter().all(|f| match f.key.as_str() {
                    "name" => self.backup_name(b).as_str() == Some(f.want.as_str()),
                    "status" => self.backup_status(b) == f.want,
                    "volume_id" => b.volume_id.as_ref().is_some_and(|v| v.as_str() == f.want),
                    _ => true,
                })
            })
            .cloned()
            .collect();
        let latest = LatestIncremental::of(&all);
        let key = |b: &Backup, k: &str| -> Option<SortKey> {
            Some(match k {
                "created_at" => SortKey::time(b.created_at),
                "updated_at" => SortKey::time(
                    self.st
                        .backups
                        .get(b.id.as_str())
                        .and_then(|e| e.updated_at),
                ),
                "id" => SortKey::Text(b.id.as_str().to_owned()),
                "name" | "display_name" => {
                    SortKey::Text(self.backup_name(b).as_str().unwrap_or_default().to_owned())
                }
                "size" => SortKey::Num(u128::from(b.size.as_gib())),
                "status" => SortKey::Text(self.backup_status(b)),
                _ => return None,
            })
        };
        let path = if detail { "backups/detail" } else { "backups" };
        let body = self.page(
            Listing {
                collection: "backups",
                link_path: path,
                kind: "Backup",
                sort_keys: &[
                    "created_at",
                    "updated_at",
                    "id",
                    "name",
                    "display_name",
                    "size",
                    "status",
                ],
            },
            kept,
            key,
            |b| b.id.as_str(),
            |ctx, b| {
                if detail {
                    ctx.backup_json(b, &latest)
                } else {
                    ctx.backup_summary(b)
                }
            },
        )?;
        Ok(FakeResponse::json(200, &body))
    }

    pub(super) fn create_backup(&mut self) -> Result<FakeResponse, Rejection> {
        let body = self.body_of("backup")?;
        only(
            &body,
            &[
                "volume_id",
                "container",
                "description",
                "incremental",
                "force",
                "name",
                "snapshot_id",
                "metadata",
                "availability_zone",
            ],
        )?;
        let volume_id = match body.get("volume_id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(error::invalid_field("volume_id", other, "is not a 'uuid'")),
            None => return Err(bad_request("'volume_id' is a required property")),
        };
        let flag = |key: &str| -> Result<bool, Rejection> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(v) => parse_bool(v)
                    .ok_or_else(|| error::invalid_field(key, v, "is not of type 'boolean'")),
            }
        };
        let incremental = flag("incremental")?;
        let force = flag("force")?;
        let name = opt_string(&body, "name")?;
        let description = opt_string(&body, "description")?;
        let container = opt_string(&body, "container")?;
        let labels = if self.mv.at_least(43) {
            metadata(&body, "metadata")?
        } else {
            None
        };
        if let Some(s) = opt_string(&body, "snapshot_id")? {
            let sid =
                volume_core::SnapshotId::new(s.as_str()).map_err(|_| not_found("Snapshot", &s))?;
            self.c
                .get_snapshot(self.tenant, &sid)
                .map_err(|_| not_found("Snapshot", &s))?;
        }
        let v = self.volume(&volume_id)?;
        let status = self.volume_status(&v);
        if !(status == "available" || (status == "in-use" && force)) {
            return Err(bad_request(format!(
                "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"{status}\"."
            )));
        }
        if incremental {
            let has_full = self
                .all_backups(Some(&v.id))?
                .iter()
                .any(|b| b.state == BackupState::Available);
            if !has_full {
                return Err(bad_request(
                    "Invalid backup: No backups available to do an incremental backup.",
                ));
            }
        }
        let req = CreateBackup::new(v.id.clone(), name.clone().unwrap_or_default())
            .incremental(incremental);
        let b = self
            .c
            .create_backup(self.tenant, &req, self.fault)
            .map_err(|e| self.core(e))?;
        let id = b.id.as_str().to_owned();
        let e = self.backup_extra(&id);
        e.description = description;
        e.container = container;
        e.metadata = labels;
        if matches!(self.fault, Some(Fault::LandInError)) {
            let delay = self.c.policy().delays.backup;
            self.message(
                "VOLUME_BACKUP",
                &id,
                "VOLUME_000001",
                "An unknown error occurred.",
                delay,
            );
        }
        let b = self.backup(&id)?;
        Ok(FakeResponse::json(
            202,
            &json!({"backup": self.backup_summary(&b)}),
        ))
    }

    pub(super) fn show_backup(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let b = self.backup(id)?;
        // Whether it has dependents needs only its own volume's backups.
        let all = self.volume_backups(&b)?;
        Ok(FakeResponse::json(
            200,
            &json!({"backup": self.backup_json(&b, &LatestIncremental::of(&all))}),
        ))
    }

    pub(super) fn update_backup(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(9)?;
        let b = self.backup(id)?;
        let body = self.body_of("backup")?;
        let mut allowed = vec!["name", "description"];
        if self.mv.at_least(43) {
            allowed.push("metadata");
        }
        only(&body, &allowed)?;
        let name = opt_string(&body, "name")?;
        let description = opt_string(&body, "description")?;
        let labels = metadata(&body, "metadata")?;
        let now = self.now();
        let e = self.backup_extra(id);
        if name.is_some() {
            e.name = name;
        }
        if body.contains_key("description") {
            e.description = description;
        }
        if labels.is_some() {
            e.metadata = labels;
        }
        e.updated_at = Some(now);
        Ok(FakeResponse::json(
            200,
            &json!({"backup": self.backup_summary(&b)}),
        ))
    }

    pub(super) fn delete_backup(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let b = self.backup(id)?;
        let status = self.backup_status(&b);
        if status != "available" && status != "error" {
            return Err(bad_request(format!(
                "Invalid backup: Backup status must be available or error, but current status is: {status}."
            )));
        }
        let all = self.volume_backups(&b)?;
        if LatestIncremental::of(&all).has_dependents(&b) {
            return Err(bad_request(
                "Invalid backup: Incremental backups exist for this backup.",
            ));
        }
        self.c
            .delete_backup(self.tenant, &b.id, self.fault)
            .map_err(|e| self.core(e))?;
        Ok(accepted())
    }

    pub(super) fn restore_backup(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let b = self.backup(id)?;
        let body = self.body()?;
        super::ops::only(&body, &["restore"])?;
        let restore = match body.get("restore") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(error::invalid_field(
                    "restore",
                    other,
                    "is not of type 'object', 'null'",
                ))
            }
        };
        only(&restore, &["name", "volume_id"])?;
        let name = opt_string(&restore, "name")?;
        let target = opt_string(&restore, "volume_id")?;
        if self.backup_status(&b) != "available" {
            return Err(bad_request(format!(
                "Invalid backup: Backup status must be available, but current status is: {}.",
                self.backup_status(&b)
            )));
        }
        let req = match &target {
            Some(t) => {
                let v = self.volume(t)?;
                let status = self.volume_status(&v);
                if status != "available" {
                    return Err(bad_request(format!(
                        "Invalid volume: Volume to be restored to must be available, but the current status is \"{status}\"."
                    )));
                }
                if v.size < b.size {
                    return Err(bad_request(format!(
                        "Invalid volume: volume size {} is too small to restore backup of size {}.",
                        v.size.as_gib(),
                        b.size.as_gib()
                    )));
                }
                RestoreBackup::over_volume(v.id.clone())
            }
            None => RestoreBackup::to_new_volume(
                name.clone()
                    .unwrap_or_else(|| format!("restore_backup_{id}")),
            ),
        };
        let v = self
            .c
            .restore_backup(self.tenant, &b.id, &req, self.fault)
            .map_err(|e| self.core(e))?;
        let vid = v.id.as_str().to_owned();
        let now = self.now();
        self.extra_mut(&vid).updated_at = Some(now);
        if matches!(self.fault, Some(Fault::LandInError)) {
            let delay = self.c.policy().delays.restore;
            self.message(
                "VOLUME",
                &vid,
                "VOLUME_000001",
                "An unknown error occurred.",
                delay,
            );
        }
        let shown_name = if v.state == VolumeState::Deleted {
            String::new()
        } else {
            v.name.clone()
        };
        Ok(FakeResponse::json(
            202,
            &json!({"restore": {"backup_id": id, "volume_id": vid, "volume_name": shown_name}}),
        ))
    }

    pub(super) fn backup_action(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let b = self.backup(id)?;
        let body = self.body()?;
        let Some((action, args)) = body.iter().next() else {
            return Err(bad_request("Malformed request body"));
        };
        let args = args.as_object().cloned().unwrap_or_default();
        match action.as_str() {
            "os-reset_status" => {
                let status = opt_string(&args, "status")?
                    .ok_or_else(|| bad_request("'status' is a required property"))?;
                if status != "available" && status != "error" {
                    return Err(bad_request(
                        "Invalid input received: Must specify a valid status",
                    ));
                }
                let now = self.now();
                let e = self.backup_extra(id);
                e.status = Some(status);
                e.updated_at = Some(now);
                Ok(accepted())
            }
            "os-force_delete" => {
                self.c
                    .delete_backup(self.tenant, &b.id, self.fault)
                    .map_err(|e| self.core(e))?;
                Ok(accepted())
            }
            other => Err(bad_request(format!("There is no such action: {other}"))),
        }
    }
}

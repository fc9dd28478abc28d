//! Cinder's volumes: create, show, list, update, delete, metadata, summary
//! and the `action` endpoint (reference §3).
//!
//! Choices where the reference is silent:
//! - `imageRef` creates an empty, bootable volume that remembers the image
//!   id (`volume_image_metadata.image_id`): images are not simulated.
//! - `os-reset_status` sets the status word shown until the volume's next
//!   change; the engine's own state (what it allows next) is not changed.
//!   `os-reserve` and `os-begin_detaching` do the same with `attaching` and
//!   `detaching` (undone by `os-unreserve`, `os-roll_detaching`).
//! - `os-attach` needs `instance_uuid` naming a seeded server (a
//!   `host_name`-only attach is refused with 400).
//! - A retype shows `retyping` for the engine's resize delay, then the
//!   previous status with the new type; `migration_policy` is checked and
//!   otherwise ignored (there is one backend).

use http::Method;
use serde_json::{json, Map, Value};
use volume_core::{
    CreateVolume, Labels, Size, SnapshotId, UpdateVolume, Volume, VolumeId, VolumeSource,
    VolumeState,
};

use super::super::{Deferred, FakeResponse, Rejection};
use super::error::{self, bad_request, not_found};
use super::info::{type_id, type_named};
use super::ops::{
    accepted, labels_json, labels_of, metadata, only, opt_string, parse_bool, Ctx, Filter, Listing,
    Shape, SortKey,
};
use super::state::{MessageRec, VolumeExtra};
use super::views::links;
use crate::engine::Fault;

/// Every status word Cinder has for a volume (reference §2.4).
pub(super) const VOLUME_STATUSES: &[&str] = &[
    "creating",
    "available",
    "reserved",
    "attaching",
    "detaching",
    "in-use",
    "maintenance",
    "deleting",
    "awaiting-transfer",
    "error",
    "error_deleting",
    "backing-up",
    "restoring-backup",
    "error_backing-up",
    "error_restoring",
    "error_extending",
    "downloading",
    "uploading",
    "retyping",
    "extending",
];

/// The long refusal of a delete (`cinder/volume/api.py`).
const DELETE_REFUSED: &str = "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.";

/// Cinder's word for an engine state.
pub(super) fn state_word(s: &VolumeState) -> String {
    match s {
        VolumeState::Creating => "creating",
        VolumeState::Available | VolumeState::Snapshotting => "available",
        VolumeState::Attaching => "attaching",
        VolumeState::InUse => "in-use",
        VolumeState::Detaching => "detaching",
        VolumeState::Resizing => "extending",
        VolumeState::BackingUp => "backing-up",
        VolumeState::Restoring => "restoring-backup",
        VolumeState::Deleting => "deleting",
        VolumeState::Deleted => "deleted",
        VolumeState::Error => "error",
        VolumeState::ErrorResizing => "error_extending",
        VolumeState::ErrorDeleting => "error_deleting",
        VolumeState::ErrorRestoring => "error_restoring",
        VolumeState::Unknown(w) => return w.clone(),
        _ => "error",
    }
    .to_owned()
}

/// A size: an integer, or a string of digits; at least 1.
pub(super) fn size_of(field: &str, v: &Value) -> Result<u64, Rejection> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    match n {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(error::invalid_field(
            field,
            v,
            "must be an integer (or a string of digits) of at least 1",
        )),
    }
}

impl Ctx<'_> {
    /// The volume `id` of this tenant, or Cinder's 404.
    pub(super) fn volume(&self, id: &str) -> Result<Volume, Rejection> {
        VolumeId::new(id)
            .ok()
            .and_then(|vid| self.c.get_volume(self.tenant, &vid).ok())
            .filter(|v| v.state != VolumeState::Deleted)
            .ok_or_else(|| not_found("Volume", id))
    }

    /// The status word shown for `v`.
    pub(super) fn volume_status(&self, v: &Volume) -> String {
        let extra = self.st.volumes.get(v.id.as_str());
        if let Some(s) = extra.and_then(|e| e.status.clone()) {
            return s;
        }
        if extra
            .and_then(|e| e.retyping_until)
            .is_some_and(|until| self.c.now() < until)
        {
            return "retyping".to_owned();
        }
        state_word(&v.state)
    }

    /// The type name shown for `v`.
    pub(super) fn volume_type_of(&self, v: &Volume) -> String {
        self.st
            .volumes
            .get(v.id.as_str())
            .and_then(|e| e.volume_type.clone())
            .or_else(|| v.volume_type.clone())
            .unwrap_or_else(|| super::VOLUME_TYPES[0].to_owned())
    }

    pub(super) fn extra_mut(&mut self, id: &str) -> &mut VolumeExtra {
        let tenant = self.tenant.to_owned();
        let user = self.user_id.clone();
        self.st
            .volumes
            .entry(id.to_owned())
            .or_insert_with(|| VolumeExtra {
                tenant,
                user_id: user,
                ..VolumeExtra::default()
            })
    }

    /// Marks a change: the admin's status word and reservations go, and
    /// `updated_at` moves.
    pub(super) fn touched(&mut self, id: &str) {
        let now = self.now();
        let e = self.extra_mut(id);
        e.status = None;
        e.updated_at = Some(now);
    }

    /// The detail view of a volume (reference §3.2), by microversion;
    /// `extended` adds the `os-vol-*` attributes of show and detail (the
    /// create and update answers have none).
    pub(super) fn volume_json(&self, v: &Volume, extended: bool) -> Value {
        render_volume(&self.shape(), &self.view(v), extended)
    }

    /// What rendering `v` needs from under the engine's lock.
    pub(super) fn view(&self, v: &Volume) -> VolumeView {
        VolumeView {
            extra: self.st.volumes.get(v.id.as_str()).cloned(),
            status: self.volume_status(v),
            type_name: self.volume_type_of(v),
            volume: v.clone(),
        }
    }

    // ----- list ---------------------------------------------------------------

    pub(super) fn list_volumes(&mut self, detail: bool) -> Result<Deferred, Rejection> {
        let filters = self.filters()?;
        let all = self.c.all_volumes_shared(self.tenant);
        let mut kept = Vec::with_capacity(all.len());
        for v in all {
            if v.state == VolumeState::Deleted {
                continue;
            }
            if self.volume_matches(&v, &filters)? {
                kept.push(v);
            }
        }
        let key = |v: &std::sync::Arc<Volume>, k: &str| -> Option<SortKey> {
            Some(match k {
                "created_at" => SortKey::time(v.created_at),
                "updated_at" => SortKey::time(
                    self.st
                        .volumes
                        .get(v.id.as_str())
                        .and_then(|e| e.updated_at),
                ),
                "id" => SortKey::Text(v.id.as_str().to_owned()),
                "name" | "display_name" => SortKey::Text(v.name.clone()),
                "size" => SortKey::Num(u128::from(v.size.as_gib())),
                "status" => SortKey::Text(self.volume_status(v)),
                "availability_zone" => SortKey::Text(v.region.as_str().to_owned()),
                "bootable" => SortKey::Num(u128::from(
                    self.st
                        .volumes
                        .get(v.id.as_str())
                        .is_some_and(|e| e.bootable),
                )),
                _ => return None,
            })
        };
        let path = if detail { "volumes/detail" } else { "volumes" };
        let list = Listing {
            collection: "volumes",
            link_path: path,
            kind: "Volume",
            sort_keys: &[
                "created_at",
                "updated_at",
                "id",
                "name",
                "display_name",
                "size",
                "status",
                "availability_zone",
                "bootable",
            ],
        };
        let page = self.select(list, kept, key, |v| v.id.as_str())?;
        // Only what the page needs is copied out; the JSON is written
        // after the engine's lock is released.
        let page = page.map(|v| self.view(&v));
        let shape = self.shape();
        Ok(Deferred::Later(Box::new(move || {
            let body = page.into_json(|view| {
                if detail {
                    render_volume(&shape, view, true)
                } else {
                    summary_json(&shape, &view.volume)
                }
            });
            FakeResponse::json(200, &body)
        })))
    }

    fn volume_matches(&self, v: &Volume, filters: &[Filter]) -> Result<bool, Rejection> {
        for filter in filters {
            let want = &filter.want;
            let ok = match filter.key.as_str() {
                "name" | "display_name" => v.name == *want,
                "name~" | "display_name~" if self.mv.at_least(34) => v.name.contains(want.as_str()),
                "status" => self.volume_status(v) == *want,
                "availability_zone" => v.region.as_str() == want,
                "size" => want.parse::<u64>().is_ok_and(|s| s == v.size.as_gib()),
                "bootable" => {
                    let b = parse_bool(&Value::String(want.clone())).ok_or_else(|| {
                        bad_request(format!("Invalid value '{want}' for bootable."))
                    })?;
                    self.st
                        .volumes
                        .get(v.id.as_str())
                        .is_some_and(|e| e.bootable)
                        == b
                }
                "metadata" => filter.metadata_matches(&v.labels),
                "volume_type" => {
                    let t = self.volume_type_of(v);
                    t == *want || type_id(&t) == *want
                }
                // Other filters (admin-only columns, `group_id`...) match
                // every volume here.
                _ => true,
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    // ----- create ---------------------------------------------------------------

    pub(super) fn create_volume(&mut self) -> Result<FakeResponse, Rejection> {
        let mut body = self.body()?;
        only(&body, &["volume", "OS-SCH-HNT:scheduler_hints"])?;
        let v = match body.remove("volume") {
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(error::invalid_field(
                    "volume",
                    &other,
                    "is not of type 'object'",
                ))
            }
            None => return Err(bad_request("'volume' is a required property")),
        };
        if self.mv.at_least(53) {
            only(
                &v,
                &[
                    "size",
                    "name",
                    "display_name",
                    "description",
                    "display_description",
                    "volume_type",
                    "availability_zone",
                    "snapshot_id",
                    "source_volid",
                    "consistencygroup_id",
                    "backup_id",
                    "group_id",
                    "imageRef",
                    "image_id",
                    "metadata",
                    "multiattach",
                ],
            )?;
        }
        if v.get("multiattach").and_then(parse_bool) == Some(true) {
            return Err(bad_request("multiattach parameter has been removed. The default behavior is to use multiattach enabled volume types. Contact your administrator to create a multiattach enabled volume type and use it to create multiattach volumes."));
        }
        let size = match v.get("size") {
            None | Some(Value::Null) => None,
            Some(s) => Some(size_of("size", s)?),
        };
        let name = match opt_string(&v, "name")? {
            Some(n) => Some(n),
            None => opt_string(&v, "display_name")?,
        };
        let description = match opt_string(&v, "description")? {
            Some(d) => Some(d),
            None => opt_string(&v, "display_description")?,
        };
        let volume_type = match opt_string(&v, "volume_type")? {
            None => None,
            Some(t) => Some(type_named(&t).ok_or_else(|| {
                Rejection::not_found(format!("Volume type with name {t} could not be found."))
            })?),
        };
        let az = opt_string(&v, "availability_zone")?;
        if let Some(az) = &az {
            if !self.c.regions().iter().any(|r| r.as_str() == az) {
                return Err(bad_request(format!(
                    "Invalid input received: Availability zone '{az}' is invalid."
                )));
            }
        }
        let snapshot = opt_string(&v, "snapshot_id")?;
        let source = opt_string(&v, "source_volid")?;
        let backup = if self.mv.at_least(47) {
            opt_string(&v, "backup_id")?
        } else {
            None
        };
        let image = match opt_string(&v, "imageRef")? {
            Some(i) => Some(i),
            None => opt_string(&v, "image_id")?,
        };
        let labels = metadata(&v, "metadata")?.unwrap_or_default();
        let sources = [&snapshot, &source, &backup, &image]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if sources > 1 {
            return Err(bad_request(
                "Invalid input received: only one of snapshot_id, source_volid, backup_id and imageRef may be given.",
            ));
        }
        let name = name.unwrap_or_default();
        let mut req = if let Some(s) = &snapshot {
            let sid = SnapshotId::new(s.as_str()).map_err(|_| not_found("Snapshot", s))?;
            let snap = self
                .c
                .get_snapshot(self.tenant, &sid)
                .map_err(|_| not_found("Snapshot", s))?;
            let mut req = CreateVolume::from_snapshot(name.clone(), sid);
            if volume_type.is_none() {
                if let Some(t) = snap
                    .volume_id
                    .as_ref()
                    .and_then(|vid| self.c.get_volume(self.tenant, vid).ok())
                    .map(|sv| self.volume_type_of(&sv))
                {
                    req = req.with_volume_type(t);
                }
            }
            req
        } else if let Some(s) = &source {
            let src = self.volume(s)?;
            let mut req = CreateVolume::new(name.clone(), src.size)
                .with_source(VolumeSource::Volume(src.id.clone()));
            if volume_type.is_none() {
                req = req.with_volume_type(self.volume_type_of(&src));
            }
            req
        } else if let Some(b) = &backup {
            let bid = volume_core::BackupId::new(b.as_str()).map_err(|_| not_found("Backup", b))?;
            self.c
                .get_backup(self.tenant, &bid)
                .map_err(|_| not_found("Backup", b))?;
            CreateVolume::from_backup(name.clone(), bid)
        } else {
            let size = size.ok_or_else(|| {
                bad_request(
                    "Invalid input received: Volume size '' must be an integer and greater than 0",
                )
            })?;
            CreateVolume::new(name.clone(), Size::gib(size))
        };
        if let Some(s) = size {
            req = req.with_size(Size::gib(s));
        }
        if let Some(t) = volume_type {
            req = req.with_volume_type(t);
        }
        if let Some(az) = &az {
            let region =
                volume_core::RegionId::new(az.as_str()).map_err(|_| Rejection::internal())?;
            req = req.with_region(region);
        }
        req = req.with_labels(labels);
        let created = self
            .c
            .create_volume(self.tenant, &req, self.fault)
            .map_err(|e| self.core(e))?;
        let id = created.id.as_str().to_owned();
        let e = self.extra_mut(&id);
        e.description = description;
        e.bootable = image.is_some();
        e.image_id = image;
        if matches!(self.fault, Some(Fault::LandInError)) {
            let delay = self.c.policy().delays.create;
            self.message(
                "VOLUME",
                &id,
                "VOLUME_000002",
                "No storage could be allocated for this volume request.",
                delay,
            );
        }
        let v = self.volume(&id)?;
        Ok(FakeResponse::json(
            202,
            &json!({"volume": self.volume_json(&v, false)}),
        ))
    }

    /// Records a user message about a resource, visible once the failure
    /// lands (`after` from now on the engine clock).
    pub(super) fn message(
        &mut self,
        resource_type: &'static str,
        resource: &str,
        event_id: &'static str,
        text: &str,
        after: std::time::Duration,
    ) {
        let visible_from = self.c.now().saturating_add(after);
        let created_at = self.c.system_time(visible_from);
        let id = self.st.mint(0x6d65_7373);
        let rec = MessageRec {
            id,
            tenant: self.tenant.to_owned(),
            request_id: self.request_id.clone(),
            event_id,
            user_message: text.to_owned(),
            resource_type,
            resource_uuid: resource.to_owned(),
            created_at,
            visible_from,
        };
        self.st.record(rec);
    }

    // ----- show, update, delete -------------------------------------------------------

    pub(super) fn show_volume(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"volume": self.volume_json(&v, true)}),
        ))
    }

    pub(super) fn update_volume(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        let body = self.body_of("volume")?;
        only(
            &body,
            &[
                "name",
                "description",
                "display_name",
                "display_description",
                "metadata",
            ],
        )?;
        if self.mv.at_least(53) && body.is_empty() {
            return Err(bad_request("Invalid input for field/attribute volume. Value: {}. {} does not have enough properties"));
        }
        let name = match opt_string(&body, "name")? {
            Some(n) => Some(n),
            None => opt_string(&body, "display_name")?,
        };
        let null_name = matches!(body.get("name"), Some(Value::Null));
        let description = if body.contains_key("description") {
            Some(opt_string(&body, "description")?)
        } else if body.contains_key("display_description") {
            Some(opt_string(&body, "display_description")?)
        } else {
            None
        };
        let labels = metadata(&body, "metadata")?;
        let mut update = UpdateVolume::new();
        if let Some(n) = name {
            update = update.with_name(n);
        } else if null_name {
            update = update.with_name("");
        }
        if let Some(l) = labels {
            update = update.with_labels(l);
        }
        self.c
            .update_volume(self.tenant, &v.id, &update)
            .map_err(|e| self.core(e))?;
        if let Some(d) = description {
            self.extra_mut(id).description = d;
        }
        let now = self.now();
        self.extra_mut(id).updated_at = Some(now);
        let v = self.volume(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"volume": self.volume_json(&v, false)}),
        ))
    }

    pub(super) fn delete_volume(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        let cascade = self.query_flag("cascade")?;
        let force = self.mv.at_least(23) && self.query_flag("force")?;
        let status = self.volume_status(&v);
        let deletable = ["available", "error", "error_restoring", "error_extending"];
        if !force && !deletable.contains(&status.as_str()) {
            return Err(bad_request(DELETE_REFUSED));
        }
        if !v.attachments.is_empty() {
            return Err(bad_request(DELETE_REFUSED));
        }
        let snapshots = self.snapshots_of(&v.id);
        if !snapshots.is_empty() && !cascade {
            return Err(bad_request(DELETE_REFUSED));
        }
        self.delete_now(&v, &snapshots)
    }

    /// Deletes `v`, its `snapshots` first.
    fn delete_now(
        &mut self,
        v: &Volume,
        snapshots: &[SnapshotId],
    ) -> Result<FakeResponse, Rejection> {
        for s in snapshots {
            let gone = self
                .c
                .get_snapshot(self.tenant, s)
                .map_or(true, |s| s.state == volume_core::SnapshotState::Deleting);
            if !gone {
                self.c
                    .delete_snapshot(self.tenant, s, None)
                    .map_err(|e| self.core(e))?;
            }
        }
        self.c
            .delete_volume(self.tenant, &v.id, self.fault)
            .map_err(|e| match e {
                volume_core::Error::InvalidState { .. } => bad_request(DELETE_REFUSED),
                other => self.core(other),
            })?;
        self.touched(v.id.as_str());
        Ok(accepted())
    }

    /// The snapshots of volume `id` that are not gone.
    pub(super) fn snapshots_of(&self, id: &VolumeId) -> Vec<SnapshotId> {
        let q = volume_core::ListSnapshots::new().with_volume(id.clone());
        let mut out = Vec::new();
        let mut token = None;
        // Bounded: one page per 1000 snapshots, at most 1000 pages.
        for _ in 0..1000 {
            let Ok(page) = self.c.list_snapshots(self.tenant, &q, token.as_ref()) else {
                break;
            };
            out.extend(
                page.items
                    .into_iter()
                    .filter(|s| s.state != volume_core::SnapshotState::Deleted)
                    .map(|s| s.id),
            );
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out
    }

    pub(super) fn volumes_summary(&mut self) -> Result<FakeResponse, Rejection> {
        self.need(12)?;
        let all: Vec<std::sync::Arc<Volume>> = self
            .c
            .all_volumes_shared(self.tenant)
            .into_iter()
            .filter(|v| v.state != VolumeState::Deleted)
            .collect();
        let total: u64 = all.iter().map(|v| v.size.as_gib()).sum();
        let mut summary = json!({"total_size": total, "total_count": all.len()});
        if self.mv.at_least(36) {
            let mut meta: Map<String, Value> = Map::new();
            for v in &all {
                for (k, val) in &v.labels {
                    let entry = meta.entry(k.clone()).or_insert_with(|| json!([]));
                    if let Value::Array(a) = entry {
                        if !a.iter().any(|x| x == val) {
                            a.push(Value::from(val.as_str()));
                        }
                    }
                }
            }
            summary["metadata"] = Value::Object(meta);
        }
        Ok(FakeResponse::json(200, &json!({"volume-summary": summary})))
    }

    // ----- metadata ---------------------------------------------------------------

    pub(super) fn volume_metadata(
        &mut self,
        m: &Method,
        id: &str,
    ) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        if *m == Method::GET {
            return Ok(FakeResponse::json(
                200,
                &json!({"metadata": labels_json(&v.labels)}),
            ));
        }
        let body = self.body_of("metadata")?;
        let given = labels_of(&body)?;
        let labels = if *m == Method::POST {
            let mut merged = v.labels.clone();
            merged.extend(given);
            merged
        } else {
            given
        };
        self.set_labels(&v, labels)?;
        let v = self.volume(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"metadata": labels_json(&v.labels)}),
        ))
    }

    fn set_labels(&mut self, v: &Volume, labels: Labels) -> Result<(), Rejection> {
        self.c
            .update_volume(self.tenant, &v.id, &UpdateVolume::new().with_labels(labels))
            .map_err(|e| self.core(e))?;
        let now = self.now();
        self.extra_mut(v.id.as_str()).updated_at = Some(now);
        Ok(())
    }

    pub(super) fn volume_metadata_key(
        &mut self,
        m: &Method,
        id: &str,
        key: &str,
    ) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        let missing =
            || Rejection::not_found(format!("Volume {id} has no metadata with key {key}."));
        if *m == Method::GET {
            let value = v.labels.get(key).ok_or_else(missing)?;
            return Ok(FakeResponse::json(200, &json!({"meta": {key: value}})));
        }
        if *m == Method::DELETE {
            let mut labels = v.labels.clone();
            labels.remove(key).ok_or_else(missing)?;
            self.set_labels(&v, labels)?;
            return Ok(FakeResponse::empty(200));
        }
        let body = self.body_of("meta")?;
        if body.len() > 1 {
            return Err(bad_request("Request body contains too many items"));
        }
        if !body.contains_key(key) {
            return Err(bad_request("Request body and URI mismatch"));
        }
        let given = labels_of(&body)?;
        let mut labels = v.labels.clone();
        labels.extend(given.clone());
        self.set_labels(&v, labels)?;
        Ok(FakeResponse::json(
            200,
            &json!({"meta": labels_json(&given)}),
        ))
    }

    // ----- actions ------------------------------------------------------------------

    pub(super) fn volume_action(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let v = self.volume(id)?;
        let body = self.body()?;
        let Some((action, args)) = body.iter().next() else {
            return Err(bad_request("Malformed request body"));
        };
        let args = match args {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        match action.as_str() {
            "os-extend" => self.extend(&v, &args),
            "os-retype" => self.retype(&v, &args),
            "os-set_bootable" => {
                let b = args
                    .get("bootable")
                    .and_then(parse_bool)
                    .ok_or_else(|| bad_request("Invalid value for bootable: must be a boolean."))?;
                self.extra_mut(id).bootable = b;
                Ok(FakeResponse::empty(200))
            }
            "os-reset_status" => {
                let status = opt_string(&args, "status")?;
                if let Some(s) = &status {
                    if !VOLUME_STATUSES.contains(&s.as_str()) {
                        return Err(bad_request(
                            "Invalid input received: Must specify a valid status",
                        ));
                    }
                }
                if status.is_none()
                    && !args.contains_key("attach_status")
                    && !args.contains_key("migration_status")
                {
                    return Err(bad_request(
                        "Must specify 'status', 'attach_status' or 'migration_status' for update.",
                    ));
                }
                let now = self.now();
                let e = self.extra_mut(id);
                if status.is_some() {
                    e.status = status;
                }
                e.updated_at = Some(now);
                Ok(accepted())
            }
            "os-force_delete" => {
                let snapshots = self.snapshots_of(&v.id);
                if !snapshots.is_empty() {
                    return Err(bad_request(DELETE_REFUSED));
                }
                self.delete_now(&v, &[])
            }
            "os-attach" => {
                let mountpoint = opt_string(&args, "mountpoint")?
                    .filter(|m| !m.is_empty())
                    .ok_or_else(|| bad_request("'mountpoint' is a required property"))?;
                let instance = opt_string(&args, "instance_uuid")?.ok_or_else(|| {
                    bad_request("Invalid request to attach volume to an invalid target: the fake attaches to servers (instance_uuid) only")
                })?;
                self.attach(&v, &instance, &mountpoint, false)?;
                Ok(accepted())
            }
            "os-detach" => {
                self.detach(&v)?;
                Ok(accepted())
            }
            "os-reserve" => {
                if self.volume_status(&v) != "available" {
                    return Err(bad_request(format!("Invalid volume: Volume status must be available to reserve, but the status is {}.", self.volume_status(&v))));
                }
                self.extra_mut(id).status = Some("attaching".to_owned());
                Ok(accepted())
            }
            "os-unreserve" | "os-roll_detaching" => {
                self.extra_mut(id).status = None;
                Ok(accepted())
            }
            "os-begin_detaching" => {
                if v.state != VolumeState::InUse {
                    return Err(bad_request("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach."));
                }
                self.extra_mut(id).status = Some("detaching".to_owned());
                Ok(accepted())
            }
            "os-initialize_connection" => {
                if !matches!(args.get("connector"), Some(Value::Object(_))) {
                    return Err(bad_request("'connector' is a required property"));
                }
                Ok(FakeResponse::json(
                    200,
                    &json!({"connection_info": {"driver_volume_type": "iscsi", "data": {
                        "target_discovered": false,
                        "target_iqn": format!("iqn.2010-10.org.openstack:volume-{id}"),
                        "target_portal": "127.0.0.1:3260",
                        "target_lun": 0,
                        "volume_id": id,
                        "access_mode": "rw",
                    }}}),
                ))
            }
            "os-terminate_connection" | "os-update_readonly_flag" => Ok(accepted()),
            other => Err(bad_request(format!("There is no such action: {other}"))),
        }
    }

    fn extend(&mut self, v: &Volume, args: &Map<String, Value>) -> Result<FakeResponse, Rejection> {
        let new_size = size_of("new_size", args.get("new_size").unwrap_or(&Value::Null))?;
        let status = self.volume_status(v);
        let allowed = status == "available" || (status == "in-use" && self.mv.at_least(42));
        if !allowed {
            return Err(bad_request(format!(
                "Invalid volume: Volume {} status must be '{{'status': 'available'}}' to extend, currently {status}.",
                v.id
            )));
        }
        let current = v.size.as_gib();
        if new_size <= current {
            return Err(bad_request(format!(
                "Invalid input received: New size for extend must be greater than current size. (current: {current}, extended: {new_size})."
            )));
        }
        self.c
            .resize_volume(self.tenant, &v.id, Size::gib(new_size), self.fault)
            .map_err(|e| self.core(e))?;
        if matches!(self.fault, Some(Fault::LandInError)) {
            let delay = self.c.policy().delays.resize;
            self.message(
                "VOLUME",
                v.id.as_str(),
                "VOLUME_000005",
                "Compute service failed to extend volume.",
                delay,
            );
        }
        self.touched(v.id.as_str());
        Ok(accepted())
    }

    fn retype(&mut self, v: &Volume, args: &Map<String, Value>) -> Result<FakeResponse, Rejection> {
        let new = opt_string(args, "new_type")?
            .ok_or_else(|| bad_request("'new_type' is a required property"))?;
        match args.get("migration_policy") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) if p == "never" || p == "on-demand" => {}
            Some(other) => {
                return Err(error::invalid_field(
                    "migration_policy",
                    other,
                    "is not one of ['on-demand', 'never', None]",
                ))
            }
        }
        let new = type_named(&new).ok_or_else(|| {
            Rejection::not_found(format!("Volume type with name {new} could not be found."))
        })?;
        let status = self.volume_status(v);
        if status != "available" && status != "in-use" {
            return Err(bad_request(format!(
                "Invalid volume: Volume {} status must be available or in-use, but current status is: {status}.",
                v.id
            )));
        }
        if self.volume_type_of(v) == new {
            return Err(bad_request(
                "Invalid input received: New volume type must be different from the original.",
            ));
        }
        let until = self.c.now().saturating_add(self.c.policy().delays.resize);
        self.touched(v.id.as_str());
        let e = self.extra_mut(v.id.as_str());
        e.volume_type = Some(new);
        e.retyping_until = Some(until);
        Ok(accepted())
    }
}

/// What a volume's JSON needs besides the volume: read under the lock,
/// rendered after.
#[derive(Debug, Clone)]
pub(super) struct VolumeView {
    volume: Volume,
    extra: Option<VolumeExtra>,
    status: String,
    type_name: String,
}

/// A volume's detail view (reference §3.2) for `shape`: the JSON, written
/// without the engine's lock.
pub(super) fn render_volume(shape: &Shape, view: &VolumeView, extended: bool) -> Value {
    let v = &view.volume;
    let extra = view.extra.as_ref();
    let status = view.status.as_str();
    let type_name = view.type_name.as_str();
    let attachments: Vec<Value> = if matches!(v.state, VolumeState::Attaching) {
        Vec::new()
    } else {
        v.attachments
            .iter()
            .map(|a| {
                let info = extra.and_then(|e| e.attached.get(a.instance.as_str()));
                json!({
                    "id": v.id.as_str(),
                    "attachment_id": info.map_or_else(|| v.id.as_str().to_owned(), |i| i.attachment_id.clone()),
                    "volume_id": v.id.as_str(),
                    "server_id": a.instance.as_str(),
                    "host_name": null,
                    "device": info.map(|i| i.device.clone()).or_else(|| a.device.clone()).unwrap_or_else(|| "/dev/vdb".to_owned()),
                    "attached_at": Ctx::time(info.map(|i| i.at)),
                })
            })
            .collect()
    };
    let (snapshot_id, source_volid) = match &v.source {
        VolumeSource::Snapshot(s) => (Value::from(s.as_str()), Value::Null),
        VolumeSource::Volume(s) => (Value::Null, Value::from(s.as_str())),
        _ => (Value::Null, Value::Null),
    };
    let name = if v.name.is_empty() {
        Value::Null
    } else {
        Value::from(v.name.as_str())
    };
    let mut out = json!({
        "attachments": attachments,
        "availability_zone": v.region.as_str(),
        "bootable": if extra.is_some_and(|e| e.bootable) { "true" } else { "false" },
        "consistencygroup_id": null,
        "created_at": Ctx::time(v.created_at),
        "description": extra.and_then(|e| e.description.clone()),
        "encrypted": false,
        "id": v.id.as_str(),
        "links": links(&shape.origin, &shape.tenant, "volumes", v.id.as_str()),
        "metadata": labels_json(&v.labels),
        "migration_status": null,
        "multiattach": false,
        "name": name,
        "os-vol-host-attr:host": "volume-sim@sim#sim",
        "os-vol-mig-status-attr:migstat": null,
        "os-vol-mig-status-attr:name_id": null,
        "os-vol-tenant-attr:tenant_id": shape.tenant,
        "replication_status": null,
        "size": v.size.as_gib(),
        "snapshot_id": snapshot_id,
        "source_volid": source_volid,
        "status": status,
        "updated_at": Ctx::time(extra.and_then(|e| e.updated_at)),
        "user_id": extra.map_or_else(|| shape.user_id.clone(), |e| e.user_id.clone()),
        "volume_type": type_name,
    });
    let m = out.as_object_mut();
    let Some(m) = m else { return out };
    if !extended {
        for k in [
            "os-vol-host-attr:host",
            "os-vol-mig-status-attr:migstat",
            "os-vol-mig-status-attr:name_id",
            "os-vol-tenant-attr:tenant_id",
        ] {
            m.remove(k);
        }
    }
    if let Some(image) = extra.and_then(|e| e.image_id.as_ref()) {
        m.insert("volume_image_metadata".into(), json!({"image_id": image}));
    }
    if shape.mv.at_least(13) {
        m.insert("group_id".into(), Value::Null);
    }
    if shape.mv.at_least(21) {
        m.insert("provider_id".into(), Value::Null);
    }
    if shape.mv.at_least(48) {
        m.insert(
            "service_uuid".into(),
            Value::from("0f7d1a3b-5e6c-4d8f-9a2b-1c3d5e7f9a0b"),
        );
        // Before 3.69 a null `shared_targets` shows as `true`.
        let shared = if shape.mv.at_least(69) {
            Value::Null
        } else {
            Value::Bool(true)
        };
        m.insert("shared_targets".into(), shared);
    }
    if shape.mv.at_least(61) {
        m.insert("cluster_name".into(), Value::Null);
    }
    if shape.mv.at_least(63) {
        m.insert("volume_type_id".into(), Value::from(type_id(type_name)));
    }
    if shape.mv.at_least(65) {
        m.insert("consumes_quota".into(), Value::Bool(true));
    }
    out
}

/// A volume's summary view: `id`, `links`, `name`.
fn summary_json(shape: &Shape, v: &Volume) -> Value {
    json!({
        "id": v.id.as_str(),
        "links": links(&shape.origin, &shape.tenant, "volumes", v.id.as_str()),
        "name": if v.name.is_empty() { Value::Null } else { Value::from(v.name.as_str()) },
    })
}

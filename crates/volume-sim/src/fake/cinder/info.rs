//! What a Cinder user reads about the cloud rather than their volumes:
//! volume types and extra specs, QoS specs, absolute limits, quota sets,
//! availability zones, and the user messages (reference §7–§9, §2.5).
//!
//! Choices where the reference is silent: the types are
//! [`VOLUME_TYPES`](super::VOLUME_TYPES) (`__DEFAULT__`, `ssd`, `hdd`), with
//! ids derived from their names; one QoS spec (`sim-iops`) is associated
//! with `ssd`; an unlimited engine quota shows as `-1`; backup gigabytes
//! and per-type quotas are unlimited; messages are kept for 30 days of
//! `guaranteed_until`, at most [`MAX_MESSAGES`](super::state::MAX_MESSAGES).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Map, Value};
use volume_core::BackupState;

use super::super::{FakeResponse, Rejection};
use super::error::{self, not_found};
use super::ops::{Ctx, Listing, SortKey};
use super::state::MessageRec;
use super::views::{iso, links};
use super::VOLUME_TYPES;

/// The id of volume type `name`: a UUID derived from it.
pub(super) fn type_id(name: &str) -> String {
    derived_uuid("volume-type", name)
}

fn derived_uuid(kind: &str, name: &str) -> String {
    use crate::engine::made_up::{mix, uuid};
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let hi = mix(h);
    uuid(hi, mix(hi ^ h))
}

/// The type named `name_or_id` (by name or id), as its name.
pub(super) fn type_named(name_or_id: &str) -> Option<String> {
    VOLUME_TYPES
        .iter()
        .find(|t| **t == name_or_id || type_id(t) == name_or_id)
        .map(|t| (*t).to_owned())
}

const QOS_NAME: &str = "sim-iops";

fn qos_id() -> String {
    derived_uuid("qos", QOS_NAME)
}

fn type_description(name: &str) -> &'static str {
    match name {
        "__DEFAULT__" => "Default Volume Type",
        "ssd" => "Solid-state storage",
        _ => "Hard-disk storage",
    }
}

fn extra_specs(name: &str) -> Value {
    match name {
        "__DEFAULT__" => json!({}),
        other => json!({"volume_backend_name": "sim", "disk_type": other}),
    }
}

fn type_json(name: &str) -> Value {
    json!({
        "description": type_description(name),
        "extra_specs": extra_specs(name),
        "id": type_id(name),
        "is_public": true,
        "name": name,
        "os-volume-type-access:is_public": true,
        "qos_specs_id": if name == "ssd" { Value::from(qos_id()) } else { Value::Null },
    })
}

/// `-1` for unlimited.
fn limit(l: Option<u64>) -> i64 {
    l.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

impl Ctx<'_> {
    fn volume_type(&self, id: &str) -> Result<String, Rejection> {
        if id == "default" {
            return Ok(VOLUME_TYPES[0].to_owned());
        }
        type_named(id).ok_or_else(|| not_found("Volume type", id))
    }

    pub(super) fn list_types(&mut self) -> Result<FakeResponse, Rejection> {
        let types: Vec<Value> = VOLUME_TYPES.iter().map(|t| type_json(t)).collect();
        Ok(FakeResponse::json(200, &json!({ "volume_types": types })))
    }

    pub(super) fn show_type(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let name = self.volume_type(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"volume_type": type_json(&name)}),
        ))
    }

    pub(super) fn type_extra_specs(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let name = self.volume_type(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"extra_specs": extra_specs(&name)}),
        ))
    }

    pub(super) fn type_extra_spec(
        &mut self,
        id: &str,
        key: &str,
    ) -> Result<FakeResponse, Rejection> {
        let name = self.volume_type(id)?;
        match extra_specs(&name).get(key) {
            Some(v) => Ok(FakeResponse::json(200, &json!({ key: v }))),
            None => Err(Rejection::not_found(format!(
                "Volume Type {} has no extra specs with key {key}.",
                type_id(&name)
            ))),
        }
    }

    fn qos_json(&self) -> Value {
        json!({
            "consumer": "back-end",
            "id": qos_id(),
            "name": QOS_NAME,
            "specs": {"total_iops_sec": "1000"},
        })
    }

    pub(super) fn list_qos(&mut self) -> Result<FakeResponse, Rejection> {
        Ok(FakeResponse::json(
            200,
            &json!({"qos_specs": [self.qos_json()]}),
        ))
    }

    pub(super) fn show_qos(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        if id != qos_id() {
            return Err(Rejection::not_found(format!("No such QoS spec {id}.")));
        }
        Ok(FakeResponse::json(
            200,
            &json!({"qos_specs": self.qos_json(), "links": links(&self.origin, self.tenant, "qos-specs", id)}),
        ))
    }

    /// Backups held and their GiB.
    fn backup_usage(&self, project: &str) -> (u64, u64) {
        let q = volume_core::ListBackups::new();
        let (mut n, mut gib) = (0u64, 0u64);
        let mut token = None;
        for _ in 0..1000 {
            let Ok(page) = self.c.list_backups(project, &q, token.as_ref()) else {
                break;
            };
            for b in page
                .items
                .iter()
                .filter(|b| b.state != BackupState::Deleted)
            {
                n = n.saturating_add(1);
                gib = gib.saturating_add(b.size.as_gib());
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        (n, gib)
    }

    pub(super) fn limits(&mut self) -> Result<FakeResponse, Rejection> {
        let quota = self.c.quota(self.tenant);
        let used = self.c.quota_usage(self.tenant);
        let (_, backup_gib) = self.backup_usage(self.tenant);
        Ok(FakeResponse::json(
            200,
            &json!({"limits": {"rate": [], "absolute": {
                "totalSnapshotsUsed": used.snapshots,
                "maxTotalBackups": limit(quota.backups),
                "maxTotalVolumeGigabytes": limit(quota.gigabytes),
                "maxTotalSnapshots": limit(quota.snapshots),
                "maxTotalBackupGigabytes": -1,
                "totalBackupGigabytesUsed": backup_gib,
                "maxTotalVolumes": limit(quota.volumes),
                "totalVolumesUsed": used.volumes,
                "totalBackupsUsed": used.backups,
                "totalGigabytesUsed": used.gigabytes,
            }}}),
        ))
    }

    pub(super) fn quota_set(
        &mut self,
        project: &str,
        defaults: bool,
    ) -> Result<FakeResponse, Rejection> {
        let usage = !defaults && self.query_flag("usage")?;
        if project != self.tenant {
            // Only the caller's own project is known to this fake.
            return Err(error::fault(
                403,
                "Policy doesn't allow volume_extension:quotas:show to be performed.",
            ));
        }
        let quota = self.c.quota(project);
        let used = self.c.quota_usage(project);
        // What is in use is counted only when it is shown.
        let backup_gib = if usage {
            self.backup_usage(project).1
        } else {
            0
        };
        let mut entries: Vec<(String, i64, u64)> = vec![
            ("volumes".into(), limit(quota.volumes), used.volumes),
            ("snapshots".into(), limit(quota.snapshots), used.snapshots),
            ("backups".into(), limit(quota.backups), used.backups),
            ("groups".into(), 10, 0),
            ("gigabytes".into(), limit(quota.gigabytes), used.gigabytes),
            ("backup_gigabytes".into(), -1, backup_gib),
            ("per_volume_gigabytes".into(), -1, 0),
        ];
        // One pass over the volumes, counted by type as the volume views
        // show it (an untyped volume is of the default type).
        let mut by_type: HashMap<String, (u64, u64)> = HashMap::new();
        let volumes = if usage {
            self.c.all_volumes_shared(project)
        } else {
            Vec::new()
        };
        for v in volumes {
            if v.state != volume_core::VolumeState::Deleted {
                let count = by_type.entry(self.volume_type_of(&v)).or_default();
                count.0 += 1;
                count.1 = count.1.saturating_add(v.size.as_gib());
            }
        }
        for t in VOLUME_TYPES {
            let (vols, gib) = by_type.get(*t).copied().unwrap_or_default();
            entries.push((format!("volumes_{t}"), -1, vols));
            entries.push((format!("snapshots_{t}"), -1, 0));
            entries.push((format!("gigabytes_{t}"), -1, gib));
        }
        let mut set = Map::new();
        set.insert("id".into(), Value::from(project));
        for (k, l, u) in entries {
            let v = if usage {
                json!({"in_use": u, "limit": l, "reserved": 0})
            } else {
                Value::from(l)
            };
            set.insert(k, v);
        }
        Ok(FakeResponse::json(200, &json!({ "quota_set": set })))
    }

    pub(super) fn availability_zones(&mut self) -> Result<FakeResponse, Rejection> {
        let zones: Vec<Value> = self
            .c
            .regions()
            .iter()
            .map(|r| json!({"zoneName": r.as_str(), "zoneState": {"available": true}}))
            .collect();
        Ok(FakeResponse::json(
            200,
            &json!({ "availabilityZoneInfo": zones }),
        ))
    }

    fn visible_messages(&self) -> Vec<MessageRec> {
        let now = self.c.now();
        self.st
            .messages
            .iter()
            .filter(|m| m.tenant == self.tenant && m.visible_from <= now)
            .cloned()
            .collect()
    }

    fn message_json(&self, m: &MessageRec) -> Value {
        let until = m.created_at + Duration::from_secs(30 * 24 * 3600);
        json!({
            "created_at": iso(m.created_at),
            "event_id": m.event_id,
            "guaranteed_until": iso(until),
            "id": m.id,
            "links": links(&self.origin, self.tenant, "messages", &m.id),
            "message_level": "ERROR",
            "request_id": m.request_id,
            "resource_type": m.resource_type,
            "resource_uuid": m.resource_uuid,
            "user_message": m.user_message,
        })
    }

    pub(super) fn list_messages(&mut self) -> Result<FakeResponse, Rejection> {
        self.need(3)?;
        let filters = self.filters()?;
        let kept: Vec<MessageRec> = self
            .visible_messages()
            .into_iter()
            .filter(|m| {
                filters.iter().all(|f| match f.key.as_str() {
                    "resource_uuid" => m.resource_uuid == f.want,
                    "resource_type" => m.resource_type == f.want,
                    "event_id" => m.event_id == f.want,
                    "request_id" => m.request_id == f.want,
                    "message_level" => f.want == "ERROR",
                    _ => true,
                })
            })
            .collect();
        let key = |m: &MessageRec, k: &str| -> Option<SortKey> {
            Some(match k {
                "created_at" => SortKey::time(Some(m.created_at)),
                "id" => SortKey::Text(m.id.clone()),
                "event_id" => SortKey::Text(m.event_id.to_owned()),
                "resource_uuid" => SortKey::Text(m.resource_uuid.clone()),
                _ => return None,
            })
        };
        let body = self.page(
            Listing {
                collection: "messages",
                link_path: "messages",
                kind: "Message",
                sort_keys: &["created_at", "id", "event_id", "resource_uuid"],
            },
            kept,
            key,
            |m| m.id.as_str(),
            |ctx, m| ctx.message_json(m),
        )?;
        Ok(FakeResponse::json(200, &body))
    }

    pub(super) fn show_message(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(3)?;
        let m = self
            .visible_messages()
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Rejection::not_found(format!("Message {id} could not be found.")))?;
        Ok(FakeResponse::json(
            200,
            &json!({"message": self.message_json(&m)}),
        ))
    }

    pub(super) fn delete_message(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(3)?;
        let now = self.c.now();
        let tenant = self.tenant.to_owned();
        let before = self.st.messages.len();
        self.st
            .messages
            .retain(|m| !(m.id == id && m.tenant == tenant && m.visible_from <= now));
        if self.st.messages.len() == before {
            return Err(Rejection::not_found(format!(
                "Message {id} could not be found."
            )));
        }
        Ok(FakeResponse::empty(204))
    }
}

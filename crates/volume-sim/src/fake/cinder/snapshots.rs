//! Cinder's snapshots (reference §5), with the 3.66 rule on `force`.
//!
//! The engine keeps a snapshot's data, size, state and the name and
//! metadata it was taken with; later edits of name, description and
//! metadata are kept by the fake.

use http::Method;
use serde_json::{json, Map, Value};
use volume_core::{CreateSnapshot, Labels, Snapshot, SnapshotId, SnapshotState};

use super::super::{FakeResponse, Rejection};
use super::error::{self, bad_request, not_found};
use super::ops::{
    accepted, labels_json, labels_of, metadata, only, opt_string, parse_bool, Ctx, Listing, SortKey,
};
use super::state::ArtifactExtra;
use crate::engine::Fault;

/// Cinder's words when `force: false` is sent from 3.66.
const FORCE_INVALID: &str = "Since microversion 3.66 the 'force' flag is invalid for this request. For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored.";

impl Ctx<'_> {
    fn snapshot(&self, id: &str) -> Result<Snapshot, Rejection> {
        SnapshotId::new(id)
            .ok()
            .and_then(|sid| self.c.get_snapshot(self.tenant, &sid).ok())
            .filter(|s| s.state != SnapshotState::Deleted)
            .ok_or_else(|| not_found("Snapshot", id))
    }

    fn snapshot_extra(&mut self, id: &str) -> &mut ArtifactExtra {
        let tenant = self.tenant.to_owned();
        let user = self.user_id.clone();
        self.st
            .snapshots
            .entry(id.to_owned())
            .or_insert_with(|| ArtifactExtra {
                tenant,
                user_id: user,
                ..ArtifactExtra::default()
            })
    }

    fn snapshot_name(&self, s: &Snapshot) -> Value {
        let name = self
            .st
            .snapshots
            .get(s.id.as_str())
            .and_then(|e| e.name.clone())
            .unwrap_or_else(|| s.name.clone());
        if name.is_empty() {
            Value::Null
        } else {
            Value::String(name)
        }
    }

    fn snapshot_labels<'a>(&'a self, s: &'a Snapshot) -> &'a Labels {
        self.st
            .snapshots
            .get(s.id.as_str())
            .and_then(|e| e.metadata.as_ref())
            .unwrap_or(&s.labels)
    }

    fn snapshot_status(&self, s: &Snapshot) -> String {
        self.st
            .snapshots
            .get(s.id.as_str())
            .and_then(|e| e.status.clone())
            .unwrap_or_else(|| s.state.as_str().to_owned())
    }

    /// A snapshot's view; `extended` adds the `os-extended-snapshot-attributes`
    /// of show and detail.
    fn snapshot_json(&self, s: &Snapshot, extended: bool) -> Value {
        let extra = self.st.snapshots.get(s.id.as_str());
        let mut out = json!({
            "created_at": Self::time(s.created_at),
            "description": extra.and_then(|e| e.description.clone()),
            "id": s.id.as_str(),
            "metadata": labels_json(self.snapshot_labels(s)),
            "name": self.snapshot_name(s),
            "size": s.size.as_gib(),
            "status": self.snapshot_status(s),
            "updated_at": Self::time(extra.and_then(|e| e.updated_at)),
            "volume_id": s.volume_id.as_ref().map(|v| v.as_str()),
        });
        let Some(m) = out.as_object_mut() else {
            return out;
        };
        if extended {
            let progress = if s.state == SnapshotState::Available {
                "100%"
            } else {
                "0%"
            };
            m.insert(
                "os-extended-snapshot-attributes:progress".into(),
                Value::from(progress),
            );
            m.insert(
                "os-extended-snapshot-attributes:project_id".into(),
                Value::from(self.tenant),
            );
        }
        if self.mv.at_least(14) {
            m.insert("group_snapshot_id".into(), Value::Null);
        }
        if self.mv.at_least(41) {
            let user = extra.map_or_else(|| self.user_id.clone(), |e| e.user_id.clone());
            m.insert("user_id".into(), Value::from(user));
        }
        if self.mv.at_least(65) {
            m.insert("consumes_quota".into(), Value::Bool(true));
        }
        out
    }

    pub(super) fn list_snapshots(&mut self, detail: bool) -> Result<FakeResponse, Rejection> {
        let filters = self.filters()?;
        let q = volume_core::ListSnapshots::new();
        let mut all = Vec::new();
        let mut token = None;
        for _ in 0..1000 {
            let page = self
                .c
                .list_snapshots(self.tenant, &q, token.as_ref())
                .map_err(|e| self.core(e))?;
            all.extend(
                page.items
                    .into_iter()
                    .filter(|s| s.state != SnapshotState::Deleted),
            );
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let kept: Vec<Snapshot> = all
            .into_iter()
            .filter(|s| {
                filters.iter().all(|f| match f.key.as_str() {
                    "name" | "display_name" => {
                        self.snapshot_name(s).as_str() == Some(f.want.as_str())
                    }
                    "status" => self.snapshot_status(s) == f.want,
                    "volume_id" => s.volume_id.as_ref().is_some_and(|v| v.as_str() == f.want),
                    "metadata" => f.metadata_matches(self.snapshot_labels(s)),
                    _ => true,
                })
            })
            .collect();
        let key = |s: &Snapshot, k: &str| -> Option<SortKey> {
            Some(match k {
                "created_at" => SortKey::time(s.created_at),
                "updated_at" => SortKey::time(
                    self.st
                        .snapshots
                        .get(s.id.as_str())
                        .and_then(|e| e.updated_at),
                ),
                "id" => SortKey::Text(s.id.as_str().to_owned()),
                "name" | "display_name" => SortKey::Text(
                    self.snapshot_name(s)
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                "size" => SortKey::Num(u128::from(s.size.as_gib())),
                "status" => SortKey::Text(self.snapshot_status(s)),
                _ => return None,
            })
        };
        let path = if detail {
            "snapshots/detail"
        } else {
            "snapshots"
        };
        let body = self.page(
            Listing {
                collection: "snapshots",
                link_path: path,
                kind: "Snapshot",
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
            |s| s.id.as_str(),
            |ctx, s| ctx.snapshot_json(s, detail),
        )?;
        Ok(FakeResponse::json(200, &body))
    }

    pub(super) fn create_snapshot(&mut self) -> Result<FakeResponse, Rejection> {
        let body = self.body_of("snapshot")?;
        only(
            &body,
            &[
                "volume_id",
                "name",
                "display_name",
                "description",
                "display_description",
                "force",
                "metadata",
            ],
        )?;
        let volume_id = match body.get("volume_id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(error::invalid_field("volume_id", other, "is not a 'uuid'")),
            None => return Err(bad_request("'volume_id' is a required property")),
        };
        let force = match body.get("force") {
            None | Some(Value::Null) => None,
            Some(f) => Some(
                parse_bool(f)
                    .ok_or_else(|| error::invalid_field("force", f, "is not of type 'boolean'"))?,
            ),
        };
        let name = match opt_string(&body, "name")? {
            Some(n) => Some(n),
            None => opt_string(&body, "display_name")?,
        };
        let description = match opt_string(&body, "description")? {
            Some(d) => Some(d),
            None => opt_string(&body, "display_description")?,
        };
        let labels = metadata(&body, "metadata")?.unwrap_or_default();
        let v = self.volume(&volume_id)?;
        if self.mv.at_least(66) && force == Some(false) {
            return Err(bad_request(FORCE_INVALID));
        }
        let status = self.volume_status(&v);
        let in_use_ok = self.mv.at_least(66) || force == Some(true);
        if !(status == "available" || (status == "in-use" && in_use_ok)) {
            return Err(bad_request(format!(
                "Invalid volume: Volume {volume_id} status must be available, but current status is: {status}."
            )));
        }
        let mut req = CreateSnapshot::new(v.id.clone(), name.unwrap_or_default());
        for (k, val) in &labels {
            req = req.with_label(k.clone(), val.clone());
        }
        let snap = self
            .c
            .create_snapshot(self.tenant, &req, self.fault)
            .map_err(|e| self.core(e))?;
        let id = snap.id.as_str().to_owned();
        self.snapshot_extra(&id).description = description;
        if matches!(self.fault, Some(Fault::LandInError)) {
            let delay = self.c.policy().delays.snapshot;
            self.message(
                "SNAPSHOT",
                &id,
                "VOLUME_000001",
                "An unknown error occurred.",
                delay,
            );
        }
        let s = self.snapshot(&id)?;
        Ok(FakeResponse::json(
            202,
            &json!({"snapshot": self.snapshot_json(&s, false)}),
        ))
    }

    pub(super) fn show_snapshot(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"snapshot": self.snapshot_json(&s, true)}),
        ))
    }

    pub(super) fn update_snapshot(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        let body = self.body_of("snapshot")?;
        only(
            &body,
            &["name", "description", "display_name", "display_description"],
        )?;
        let name = match opt_string(&body, "name")? {
            Some(n) => Some(n),
            None => opt_string(&body, "display_name")?,
        };
        let description = if body.contains_key("description") {
            Some(opt_string(&body, "description")?)
        } else if body.contains_key("display_description") {
            Some(opt_string(&body, "display_description")?)
        } else {
            None
        };
        let now = self.now();
        let e = self.snapshot_extra(id);
        if let Some(n) = name {
            e.name = Some(n);
        }
        if let Some(d) = description {
            e.description = d;
        }
        e.updated_at = Some(now);
        Ok(FakeResponse::json(
            200,
            &json!({"snapshot": self.snapshot_json(&s, false)}),
        ))
    }

    pub(super) fn delete_snapshot(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        let status = self.snapshot_status(&s);
        if status != "available" && status != "error" {
            return Err(bad_request(format!(
                "Invalid snapshot: Volume Snapshot status must be available or error, but current status is: {status}."
            )));
        }
        self.c
            .delete_snapshot(self.tenant, &s.id, self.fault)
            .map_err(|e| self.core(e))?;
        Ok(accepted())
    }

    pub(super) fn snapshot_action(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        let body = self.body()?;
        let Some((action, args)) = body.iter().next() else {
            return Err(bad_request("Malformed request body"));
        };
        let args = args.as_object().cloned().unwrap_or_default();
        match action.as_str() {
            "os-reset_status" | "os-update_snapshot_status" => {
                let status = opt_string(&args, "status")?
                    .ok_or_else(|| bad_request("'status' is a required property"))?;
                const KNOWN: &[&str] = &[
                    "creating",
                    "available",
                    "backing-up",
                    "deleting",
                    "error",
                    "deleted",
                    "unmanaging",
                    "restoring",
                    "error_deleting",
                    "updating",
                ];
                if !KNOWN.contains(&status.as_str()) {
                    return Err(bad_request(
                        "Invalid input received: Must specify a valid status",
                    ));
                }
                let now = self.now();
                let e = self.snapshot_extra(id);
                e.status = Some(status);
                e.updated_at = Some(now);
                Ok(accepted())
            }
            "os-force_delete" => {
                self.c
                    .delete_snapshot(self.tenant, &s.id, self.fault)
                    .map_err(|e| self.core(e))?;
                Ok(accepted())
            }
            other => Err(bad_request(format!("There is no such action: {other}"))),
        }
    }

    pub(super) fn snapshot_metadata(
        &mut self,
        m: &Method,
        id: &str,
    ) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        if *m == Method::GET {
            return Ok(FakeResponse::json(
                200,
                &json!({"metadata": labels_json(self.snapshot_labels(&s))}),
            ));
        }
        let body = self.body_of("metadata")?;
        let given = labels_of(&body)?;
        let labels = if *m == Method::POST {
            let mut merged = self.snapshot_labels(&s).clone();
            merged.extend(given);
            merged
        } else {
            given
        };
        let now = self.now();
        let e = self.snapshot_extra(id);
        e.metadata = Some(labels.clone());
        e.updated_at = Some(now);
        Ok(FakeResponse::json(
            200,
            &json!({"metadata": labels_json(&labels)}),
        ))
    }

    pub(super) fn snapshot_metadata_key(
        &mut self,
        m: &Method,
        id: &str,
        key: &str,
    ) -> Result<FakeResponse, Rejection> {
        let s = self.snapshot(id)?;
        let mut labels = self.snapshot_labels(&s).clone();
        let missing =
            || Rejection::not_found(format!("Snapshot {id} has no metadata with key {key}."));
        if *m == Method::GET {
            let value = labels.get(key).ok_or_else(missing)?;
            return Ok(FakeResponse::json(200, &json!({"meta": {key: value}})));
        }
        let answer = if *m == Method::DELETE {
            labels.remove(key).ok_or_else(missing)?;
            FakeResponse::empty(200)
        } else {
            let body: Map<String, Value> = self.body_of("meta")?;
            if body.len() > 1 {
                return Err(bad_request("Request body contains too many items"));
            }
            if !body.contains_key(key) {
                return Err(bad_request("Request body and URI mismatch"));
            }
            let given = labels_of(&body)?;
            labels.extend(given.clone());
            FakeResponse::json(200, &json!({"meta": labels_json(&given)}))
        };
        let now = self.now();
        let e = self.snapshot_extra(id);
        e.metadata = Some(labels);
        e.updated_at = Some(now);
        Ok(answer)
    }
}

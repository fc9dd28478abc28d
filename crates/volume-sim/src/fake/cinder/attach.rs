//! Attaching volumes: Nova's `os-volume_attachments` on the seeded servers
//! (the path Xloud recommends), Cinder's attachments API (3.27+), and what
//! both share with the legacy `os-attach`/`os-detach` actions.
//!
//! Every attachment is one record, whichever API made it; the volume goes
//! `attaching` → `in-use` on the engine clock when it is attached, and
//! `detaching` → `available` when it is detached.
//!
//! Choices where the reference is silent:
//! - Servers are the engine's seeded instances (`ACTIVE` or `SHUTOFF`);
//!   the fake serves Nova's base microversion 2.1 only, so an attachment's
//!   `id` is the volume id.
//! - Nova picks `/dev/vdb`, `/dev/vdc`... when no `device` is given.
//! - An attachments-API attachment needs `instance_uuid` (a seeded server)
//!   to be connected: one without stays `reserved`.
//! - Deleting through Cinder an attachment Nova made is a 409.

use serde_json::{json, Value};
use volume_core::{Instance, InstanceId, InstanceState, Volume, VolumeState};

use super::super::{FakeResponse, Rejection};
use super::error::{self, bad_request, not_found};
use super::ops::{only, opt_string, Ctx, Listing, SortKey};
use super::state::{AttachInfo, AttachmentRec};

impl Ctx<'_> {
    fn server(&self, id: &str) -> Result<Instance, Rejection> {
        InstanceId::new(id)
            .ok()
            .and_then(|i| self.c.instance(self.tenant, &i).ok())
            .ok_or_else(|| not_found("Instance", id))
    }

    /// Attaches `v` to server `instance` at `device`: one attachment
    /// record, the engine's attach, and the volume's view updated. Returns
    /// the attachment's id.
    pub(super) fn attach(
        &mut self,
        v: &Volume,
        instance: &str,
        device: &str,
        nova: bool,
    ) -> Result<String, Rejection> {
        let server = self.server(instance)?;
        let status = self.volume_status(v);
        if !["available", "attaching", "reserved"].contains(&status.as_str()) {
            return Err(bad_request(format!(
                "Invalid volume: Volume {} status must be available or reserved to attach, but current status is: {status}.",
                v.id
            )));
        }
        self.c
            .attach_volume(self.tenant, &v.id, &server.id, self.fault)
            .map_err(|e| self.core(e))?;
        let id = self.st.mint(0x6174_7461);
        let at = self.now();
        self.touched(v.id.as_str());
        self.extra_mut(v.id.as_str()).attached.insert(
            instance.to_owned(),
            AttachInfo {
                attachment_id: id.clone(),
                at,
                device: device.to_owned(),
            },
        );
        self.st.attachments.insert(
            id.clone(),
            AttachmentRec {
                tenant: self.tenant.to_owned(),
                volume_id: v.id.as_str().to_owned(),
                instance: Some(instance.to_owned()),
                status: "attached",
                mode: "rw".to_owned(),
                connector: None,
                attached_at: Some(at),
                nova,
            },
        );
        Ok(id)
    }

    /// Detaches `v` from whatever it is attached to, and forgets its
    /// attachment records.
    pub(super) fn detach(&mut self, v: &Volume) -> Result<(), Rejection> {
        if v.attachments.is_empty() || !matches!(v.state, VolumeState::InUse) {
            return Err(bad_request(format!(
                "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach. Currently: status: '{}', attach_status: '{}.'",
                self.volume_status(v),
                if v.attachments.is_empty() { "detached" } else { "attached" }
            )));
        }
        self.c
            .detach_volume(self.tenant, &v.id, self.fault)
            .map_err(|e| self.core(e))?;
        self.touched(v.id.as_str());
        self.extra_mut(v.id.as_str()).attached.clear();
        let vid = v.id.as_str();
        self.st.attachments.retain(|_, a| a.volume_id != vid);
        Ok(())
    }

    // ----- Nova -------------------------------------------------------------------

    fn server_json(&self, s: &Instance, detail: bool) -> Value {
        let links = json!([
            {"href": format!("{}/compute/v2.1/servers/{}", self.origin, s.id), "rel": "self"},
            {"href": format!("{}/compute/servers/{}", self.origin, s.id), "rel": "bookmark"},
        ]);
        if !detail {
            return json!({"id": s.id.as_str(), "name": s.name, "links": links});
        }
        let volumes: Vec<Value> = self
            .c
            .volumes_of_instance(self.tenant, &s.id)
            .unwrap_or_default()
            .iter()
            .map(|v| json!({"id": v.id.as_str(), "delete_on_termination": false}))
            .collect();
        let running = s.state == InstanceState::Running;
        json!({
            "id": s.id.as_str(),
            "name": s.name,
            "status": if running { "ACTIVE" } else { "SHUTOFF" },
            "tenant_id": self.tenant,
            "user_id": self.user_id,
            "metadata": {},
            "hostId": "",
            "image": "",
            "flavor": {"id": "1", "links": []},
            "addresses": {},
            "created": "2026-01-01T00:00:00Z",
            "updated": "2026-01-01T00:00:00Z",
            "accessIPv4": "",
            "accessIPv6": "",
            "links": links,
            "OS-EXT-AZ:availability_zone": s.region.as_str(),
            "OS-EXT-STS:power_state": if running { 1 } else { 4 },
            "OS-EXT-STS:task_state": null,
            "OS-EXT-STS:vm_state": if running { "active" } else { "stopped" },
            "os-extended-volumes:volumes_attached": volumes,
        })
    }

    pub(super) fn list_servers(&mut self, detail: bool) -> Result<FakeResponse, Rejection> {
        let servers: Vec<Value> = self
            .c
            .all_instances(self.tenant)
            .iter()
            .map(|s| self.server_json(s, detail))
            .collect();
        Ok(FakeResponse::json(200, &json!({ "servers": servers })))
    }

    pub(super) fn show_server(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        let s = self.server(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"server": self.server_json(&s, true)}),
        ))
    }

    fn nova_attachment_json(&self, server: &str, v: &Volume) -> Value {
        let device = self
            .st
            .volumes
            .get(v.id.as_str())
            .and_then(|e| e.attached.get(server))
            .map_or_else(|| "/dev/vdb".to_owned(), |a| a.device.clone());
        json!({"device": device, "id": v.id.as_str(), "serverId": server, "volumeId": v.id.as_str()})
    }

    fn attached_to(&self, server: &Instance) -> Vec<Volume> {
        self.c
            .volumes_of_instance(self.tenant, &server.id)
            .unwrap_or_default()
    }

    pub(super) fn nova_attachments(&mut self, server: &str) -> Result<FakeResponse, Rejection> {
        let s = self.server(server)?;
        let list: Vec<Value> = self
            .attached_to(&s)
            .iter()
            .map(|v| self.nova_attachment_json(server, v))
            .collect();
        Ok(FakeResponse::json(
            200,
            &json!({ "volumeAttachments": list }),
        ))
    }

    pub(super) fn nova_attach(&mut self, server: &str) -> Result<FakeResponse, Rejection> {
        let s = self.server(server)?;
        let body = self.body_of("volumeAttachment")?;
        let volume_id = opt_string(&body, "volumeId")?
            .ok_or_else(|| bad_request("Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property"))?;
        let v = self.volume(&volume_id)?;
        let taken: Vec<String> = self
            .attached_to(&s)
            .iter()
            .filter_map(|o| {
                self.st
                    .volumes
                    .get(o.id.as_str())
                    .and_then(|e| e.attached.get(server))
                    .map(|a| a.device.clone())
            })
            .collect();
        let device = match opt_string(&body, "device")? {
            Some(d) if !d.is_empty() => d,
            _ => (b'b'..=b'z')
                .map(|c| format!("/dev/vd{}", c as char))
                .find(|d| !taken.contains(d))
                .ok_or_else(|| {
                    error::fault(
                        403,
                        "Maximum number of volumes attached to the server reached.",
                    )
                })?,
        };
        if self.volume_status(&v) != "available" {
            return Err(bad_request(format!(
                "Invalid volume: volume {} status must be 'available'. Currently in '{}'",
                v.id,
                self.volume_status(&v)
            )));
        }
        self.attach(&v, server, &device, true)?;
        let v = self.volume(&volume_id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"volumeAttachment": self.nova_attachment_json(server, &v)}),
        ))
    }

    fn nova_attached(&self, server: &str, volume: &str) -> Result<Volume, Rejection> {
        let s = self.server(server)?;
        self.attached_to(&s)
            .into_iter()
            .find(|v| v.id.as_str() == volume)
            .ok_or_else(|| {
                Rejection::not_found(format!("Volume {volume} is not attached to {server}"))
            })
    }

    pub(super) fn nova_attachment(
        &mut self,
        server: &str,
        volume: &str,
    ) -> Result<FakeResponse, Rejection> {
        let v = self.nova_attached(server, volume)?;
        Ok(FakeResponse::json(
            200,
            &json!({"volumeAttachment": self.nova_attachment_json(server, &v)}),
        ))
    }

    pub(super) fn nova_detach(
        &mut self,
        server: &str,
        volume: &str,
    ) -> Result<FakeResponse, Rejection> {
        let v = self.nova_attached(server, volume)?;
        if v.state != VolumeState::InUse {
            return Err(error::fault(
                409,
                format!(
                    "Cannot 'detach_volume' instance {server} while its volume is in state {}",
                    self.volume_status(&v)
                ),
            ));
        }
        self.detach(&v)?;
        Ok(FakeResponse::empty(202))
    }

    // ----- the attachments API (3.27+) -----------------------------------------------------

    fn attachment(&self, id: &str) -> Result<AttachmentRec, Rejection> {
        self.st
            .attachments
            .get(id)
            .filter(|a| a.tenant == self.tenant)
            .cloned()
            .ok_or_else(|| {
                Rejection::not_found(format!("VolumeAttachment {id} could not be found."))
            })
    }

    fn attachment_json(&self, id: &str, a: &AttachmentRec, detail: bool) -> Value {
        let mut out = json!({
            "id": id,
            "status": a.status,
            "instance": a.instance,
            "volume_id": a.volume_id,
        });
        if detail {
            let connection = if a.connector.is_some() || a.status == "attached" {
                json!({"driver_volume_type": "iscsi", "attachment_id": id, "volume_id": a.volume_id,
                       "target_iqn": format!("iqn.2010-10.org.openstack:volume-{}", a.volume_id),
                       "target_portal": "127.0.0.1:3260", "target_lun": 0, "access_mode": a.mode})
            } else {
                json!({})
            };
            out["attached_at"] =
                Value::from(a.attached_at.map(super::views::iso).unwrap_or_default());
            out["detached_at"] = Value::from("");
            out["attach_mode"] = Value::from(a.mode.as_str());
            out["connection_info"] = connection;
        }
        out
    }

    pub(super) fn list_attachments(&mut self, detail: bool) -> Result<FakeResponse, Rejection> {
        self.need(27)?;
        let filters = self.filters()?;
        let mut kept: Vec<(String, AttachmentRec)> = self
            .st
            .attachments
            .iter()
            .filter(|(_, a)| a.tenant == self.tenant)
            .filter(|(_, a)| {
                filters.iter().all(|f| match f.key.as_str() {
                    "volume_id" => a.volume_id == f.want,
                    "instance_id" => a.instance.as_deref() == Some(f.want.as_str()),
                    "status" | "attach_status" => a.status == f.want,
                    _ => true,
                })
            })
            .map(|(id, a)| (id.clone(), a.clone()))
            .collect();
        kept.sort_by(|(ia, a), (ib, b)| a.attached_at.cmp(&b.attached_at).then(ia.cmp(ib)));
        let key = |(id, a): &(String, AttachmentRec), k: &str| -> Option<SortKey> {
            Some(match k {
                "created_at" => SortKey::time(a.attached_at),
                "id" => SortKey::Text(id.clone()),
                "volume_id" => SortKey::Text(a.volume_id.clone()),
                _ => return None,
            })
        };
        let link_path = if detail {
            "attachments/detail"
        } else {
            "attachments"
        };
        let body = self.page(
            Listing {
                collection: "attachments",
                link_path,
                kind: "VolumeAttachment",
                sort_keys: &["created_at", "id", "volume_id"],
            },
            kept,
            key,
            |(id, _)| id.as_str(),
            |ctx, (id, a)| ctx.attachment_json(id, a, detail),
        )?;
        Ok(FakeResponse::json(200, &body))
    }

    pub(super) fn show_attachment(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(27)?;
        let a = self.attachment(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"attachment": self.attachment_json(id, &a, true)}),
        ))
    }

    pub(super) fn create_attachment(&mut self) -> Result<FakeResponse, Rejection> {
        self.need(27)?;
        let body = self.body_of("attachment")?;
        only(
            &body,
            &["volume_uuid", "instance_uuid", "connector", "mode"],
        )?;
        let volume = opt_string(&body, "volume_uuid")?
            .ok_or_else(|| bad_request("'volume_uuid' is a required property"))?;
        let instance = opt_string(&body, "instance_uuid")?;
        let connector = match body.get("connector") {
            None | Some(Value::Null) => None,
            Some(c @ Value::Object(_)) => Some(c.clone()),
            Some(other) => {
                return Err(error::invalid_field(
                    "connector",
                    other,
                    "is not of type 'object', 'null'",
                ))
            }
        };
        let mode = match opt_string(&body, "mode")? {
            None => "rw".to_owned(),
            Some(m) if self.mv.at_least(54) && (m == "rw" || m == "ro") => m,
            Some(m) if self.mv.at_least(54) => {
                return Err(error::invalid_field(
                    "mode",
                    &Value::from(m),
                    "is not one of ['rw', 'ro']",
                ))
            }
            Some(_) => "rw".to_owned(),
        };
        let v = self.volume(&volume)?;
        if let Some(i) = &instance {
            self.server(i)?;
        }
        let status = self.volume_status(&v);
        if status != "available" {
            return Err(bad_request(format!(
                "Invalid volume: Volume {volume} status must be available or in-use or downloading to reserve, but the current status is {status}."
            )));
        }
        let id = match (&connector, &instance) {
            (Some(_), Some(i)) => {
                let id = self.attach(&v, i, "/dev/vdb", false)?;
                if let Some(a) = self.st.attachments.get_mut(&id) {
                    a.status = "attaching";
                    a.connector = connector.clone();
                    a.mode = mode;
                }
                id
            }
            (Some(_), None) => {
                return Err(bad_request(
                    "Invalid input received: this fake connects attachments to servers only: instance_uuid is required with a connector.",
                ))
            }
            (None, _) => {
                let id = self.st.mint(0x6174_7461);
                self.st.attachments.insert(
                    id.clone(),
                    AttachmentRec {
                        tenant: self.tenant.to_owned(),
                        volume_id: volume.clone(),
                        instance: instance.clone(),
                        status: "reserved",
                        mode,
                        connector: None,
                        attached_at: None,
                        nova: false,
                    },
                );
                self.extra_mut(&volume).status = Some("reserved".to_owned());
                id
            }
        };
        let a = self.attachment(&id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"attachment": self.attachment_json(&id, &a, true)}),
        ))
    }

    pub(super) fn update_attachment(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(27)?;
        let a = self.attachment(id)?;
        let body = self.body_of("attachment")?;
        let connector = match body.get("connector") {
            Some(c @ Value::Object(m)) if !m.is_empty() => c.clone(),
            _ => return Err(bad_request("'connector' is a required property")),
        };
        if a.status != "reserved" {
            return Err(error::fault(
                409,
                format!(
                    "Invalid attachment: attachment {id} is {}, not reserved.",
                    a.status
                ),
            ));
        }
        let instance = a.instance.clone().ok_or_else(|| {
            bad_request("Invalid input received: this fake connects attachments to servers only: the attachment has no instance.")
        })?;
        let v = self.volume(&a.volume_id)?;
        self.extra_mut(&a.volume_id).status = None;
        let made = self.attach(&v, &instance, "/dev/vdb", false)?;
        // The reservation becomes the attachment: one record, its id kept.
        if let Some(mut rec) = self.st.attachments.remove(&made) {
            rec.status = "attaching";
            rec.connector = Some(connector);
            rec.mode = a.mode.clone();
            self.st.attachments.insert(id.to_owned(), rec);
        }
        if let Some(info) = self
            .st
            .volumes
            .get_mut(&a.volume_id)
            .and_then(|e| e.attached.get_mut(&instance))
        {
            info.attachment_id = id.to_owned();
        }
        let a = self.attachment(id)?;
        Ok(FakeResponse::json(
            200,
            &json!({"attachment": self.attachment_json(id, &a, true)}),
        ))
    }

    pub(super) fn attachment_action(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(44)?;
        let a = self.attachment(id)?;
        let body = self.body()?;
        if !body.contains_key("os-complete") {
            let other = body.keys().next().cloned().unwrap_or_default();
            return Err(bad_request(format!("There is no such action: {other}")));
        }
        if a.status == "reserved" {
            return Err(bad_request(format!(
                "Invalid attachment: attachment {id} has no connection yet."
            )));
        }
        if let Some(rec) = self.st.attachments.get_mut(id) {
            rec.status = "attached";
        }
        Ok(FakeResponse::empty(204))
    }

    pub(super) fn delete_attachment(&mut self, id: &str) -> Result<FakeResponse, Rejection> {
        self.need(27)?;
        let a = self.attachment(id)?;
        if a.nova {
            return Err(error::fault(
                409,
                format!(
                    "ConflictNovaUsingAttachment: Detach volume from instance {} using the Compute API",
                    a.instance.clone().unwrap_or_default()
                ),
            ));
        }
        if a.status == "reserved" {
            self.st.attachments.remove(id);
            self.extra_mut(&a.volume_id).status = None;
        } else {
            let v = self.volume(&a.volume_id)?;
            if v.state == VolumeState::InUse {
                self.detach(&v)?;
            } else {
                return Err(error::fault(
                    409,
                    format!(
                        "Invalid volume: Volume {} is {}; it cannot be detached now.",
                        v.id,
                        self.volume_status(&v)
                    ),
                ));
            }
        }
        Ok(FakeResponse::json(200, &json!({"attachments": []})))
    }
}

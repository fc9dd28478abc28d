//! Method and path to a [`Route`]: Keystone below `/identity`, Cinder below
//! `/volume`, Nova below `/compute`.

use http::Method;

use super::super::{FakeRequest, Rejection};
use super::error;
use crate::engine::SimOp;

/// A Keystone request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeystoneRoute {
    /// `GET /identity/`: the versions.
    Versions,
    /// `GET /identity/v3`: the v3 version document.
    V3,
    /// `POST /identity/v3/auth/tokens`.
    IssueToken,
    /// `GET`, `HEAD`, `DELETE /identity/v3/auth/tokens`.
    Token,
    /// `GET /identity/v3/projects` (`?name=` filters).
    Projects,
    /// `GET /identity/v3/projects/{id}`.
    Project(String),
    /// A path Keystone does not serve here: its 404.
    NotFound,
    /// A method the path does not take: its 405.
    MethodNotAllowed,
}

/// A Cinder request below `/volume/v3[/{project_id}]`; ids are
/// percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is named after its endpoint
pub enum CinderApi {
    ListVolumes {
        detail: bool,
    },
    CreateVolume,
    VolumesSummary,
    ShowVolume(String),
    UpdateVolume(String),
    DeleteVolume(String),
    /// The volume, and the action the body names (for fault decisions).
    VolumeAction(String, Option<String>),
    VolumeMetadata(Method, String),
    VolumeMetadataKey(Method, String, String),
    ListSnapshots {
        detail: bool,
    },
    CreateSnapshot,
    ShowSnapshot(String),
    UpdateSnapshot(String),
    DeleteSnapshot(String),
    SnapshotAction(String),
    SnapshotMetadata(Method, String),
    SnapshotMetadataKey(Method, String, String),
    ListBackups {
        detail: bool,
    },
    CreateBackup,
    ShowBackup(String),
    UpdateBackup(String),
    DeleteBackup(String),
    RestoreBackup(String),
    BackupAction(String),
    ListAttachments {
        detail: bool,
    },
    CreateAttachment,
    ShowAttachment(String),
    UpdateAttachment(String),
    DeleteAttachment(String),
    AttachmentAction(String),
    ListTypes,
    ShowType(String),
    TypeExtraSpecs(String),
    TypeExtraSpec(String, String),
    ListQos,
    ShowQos(String),
    Limits,
    QuotaSet(String),
    QuotaDefaults(String),
    AvailabilityZones,
    ListMessages,
    ShowMessage(String),
    DeleteMessage(String),
}

/// A Nova request below `/compute/v2.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is named after its endpoint
pub enum NovaApi {
    ListServers { detail: bool },
    ShowServer(String),
    ListVolumeAttachments(String),
    AttachVolume(String),
    ShowVolumeAttachment(String, String),
    DetachVolume(String, String),
}

/// A request to the fake, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Keystone (answered without the pipeline's authentication).
    Keystone(KeystoneRoute),
    /// `GET /volume/` (`versioned: false`, 300) or `GET /volume/v3/` (200).
    VolumeVersions {
        /// Below `/v3`.
        versioned: bool,
    },
    /// `GET /compute/` or `GET /compute/v2.1`.
    ComputeVersions {
        /// Below `/v2.1`.
        versioned: bool,
    },
    /// A Cinder API call, with the microversion header as sent.
    Cinder {
        /// What is asked.
        api: CinderApi,
        /// The `OpenStack-API-Version` header, if any.
        header: Option<String>,
    },
    /// A Nova API call.
    Nova(NovaApi),
}

impl Route {
    /// The engine operation, for faults.
    pub(super) fn operation(&self) -> Option<SimOp> {
        use CinderApi as C;
        let api = match self {
            Self::Cinder { api, .. } => api,
            Self::Nova(NovaApi::AttachVolume(_)) => return Some(SimOp::AttachVolume),
            Self::Nova(NovaApi::DetachVolume(..)) => return Some(SimOp::DetachVolume),
            Self::Nova(_) => return Some(SimOp::ListInstances),
            _ => return None,
        };
        Some(match api {
            C::ListVolumes { .. } | C::VolumesSummary => SimOp::ListVolumes,
            C::CreateVolume => SimOp::CreateVolume,
            C::ShowVolume(_) | C::VolumeMetadata(Method::GET, _) => SimOp::GetVolume,
            C::UpdateVolume(_) | C::VolumeMetadata(..) | C::VolumeMetadataKey(..) => {
                SimOp::UpdateVolume
            }
            C::DeleteVolume(_) => SimOp::DeleteVolume,
            C::VolumeAction(_, action) => match action.as_deref() {
                Some("os-extend") => SimOp::ResizeVolume,
                Some("os-attach" | "os-reserve") => SimOp::AttachVolume,
                Some("os-detach" | "os-begin_detaching" | "os-force_detach") => SimOp::DetachVolume,
                Some("os-force_delete") => SimOp::DeleteVolume,
                _ => SimOp::UpdateVolume,
            },
            C::ListSnapshots { .. } => SimOp::ListSnapshots,
            C::CreateSnapshot => SimOp::CreateSnapshot,
            C::ShowSnapshot(_)
            | C::UpdateSnapshot(_)
            | C::SnapshotMetadata(..)
            | C::SnapshotMetadataKey(..) => SimOp::GetSnapshot,
            C::DeleteSnapshot(_) | C::SnapshotAction(_) => SimOp::DeleteSnapshot,
            C::ListBackups { .. } => SimOp::ListBackups,
            C::CreateBackup => SimOp::CreateBackup,
            C::ShowBackup(_) | C::UpdateBackup(_) => SimOp::GetBackup,
            C::DeleteBackup(_) | C::BackupAction(_) => SimOp::DeleteBackup,
            C::RestoreBackup(_) => SimOp::RestoreBackup,
            C::CreateAttachment | C::UpdateAttachment(_) | C::AttachmentAction(_) => {
                SimOp::AttachVolume
            }
            C::DeleteAttachment(_) => SimOp::DetachVolume,
            C::ListAttachments { .. } | C::ShowAttachment(_) => SimOp::GetVolume,
            _ => return None,
        })
    }
}

/// A path segment, percent-decoded (invalid UTF-8 replaced).
pub(super) fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `s` can be a project id in a Cinder path
/// (`CONF.project_id_regex`, `[0-9a-f\-]+`).
fn is_project_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

fn not_allowed() -> Rejection {
    error::fault(405, "The method is not allowed for the requested URL.")
}

/// Routes a request below one of the three prefixes.
pub(super) fn route(request: &FakeRequest, segs: &[&str]) -> Result<Route, Rejection> {
    let path = request.path.as_str();
    let m = &request.method;
    if path == "/identity" || path.starts_with("/identity/") {
        return Ok(Route::Keystone(keystone(m, segs)));
    }
    if path == "/compute" || path.starts_with("/compute/") {
        return match segs {
            [] if *m == Method::GET => Ok(Route::ComputeVersions { versioned: false }),
            ["v2.1"] if *m == Method::GET => Ok(Route::ComputeVersions { versioned: true }),
            ["v2.1", rest @ ..] if !rest.is_empty() => nova(m, rest).map(Route::Nova),
            [] | ["v2.1"] => Err(not_allowed()),
            _ => Err(error::resource_not_found()),
        };
    }
    match segs {
        [] if *m == Method::GET => Ok(Route::VolumeVersions { versioned: false }),
        ["v3"] if *m == Method::GET => Ok(Route::VolumeVersions { versioned: true }),
        [] | ["v3"] => Err(not_allowed()),
        ["v3", rest @ ..] => {
            // `/v3/{project_id}/...` or the project-less `/v3/...`; no
            // collection name is all hex, so the two cannot be confused.
            let rest = match rest {
                [p, more @ ..] if is_project_id(p) => more,
                _ => rest,
            };
            if rest.is_empty() && *m == Method::GET {
                return Ok(Route::VolumeVersions { versioned: true });
            }
            let api = match cinder(m, rest)? {
                CinderApi::VolumeAction(id, _) => {
                    CinderApi::VolumeAction(id, action_name(&request.body))
                }
                other => other,
            };
            Ok(Route::Cinder {
                api,
                header: request.header("openstack-api-version").map(str::to_owned),
            })
        }
        _ => Err(error::resource_not_found()),
    }
}

/// Keystone's routes; its refusals are routes too, so that they are
/// answered in Keystone's shape rather than Cinder's.
/// The action a `POST .../action` body names: its only key.
fn action_name(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(body).ok()? {
        serde_json::Value::Object(m) if m.len() == 1 => m.keys().next().cloned(),
        _ => None,
    }
}

fn keystone(m: &Method, segs: &[&str]) -> KeystoneRoute {
    let get = *m == Method::GET || *m == Method::HEAD;
    match segs {
        [] if get => KeystoneRoute::Versions,
        ["v3"] if get => KeystoneRoute::V3,
        ["v3", "auth", "tokens"] if *m == Method::POST => KeystoneRoute::IssueToken,
        ["v3", "auth", "tokens"] if get || *m == Method::DELETE => KeystoneRoute::Token,
        ["v3", "projects"] if get => KeystoneRoute::Projects,
        ["v3", "projects", id] if get => KeystoneRoute::Project(decode(id)),
        [] | ["v3"] | ["v3", "auth", "tokens"] | ["v3", "projects"] | ["v3", "projects", _] => {
            KeystoneRoute::MethodNotAllowed
        }
        _ => KeystoneRoute::NotFound,
    }
}

fn nova(m: &Method, segs: &[&str]) -> Result<NovaApi, Rejection> {
    let (get, post, delete) = (*m == Method::GET, *m == Method::POST, *m == Method::DELETE);
    match segs {
        ["servers"] if get => Ok(NovaApi::ListServers { detail: false }),
        ["servers", "detail"] if get => Ok(NovaApi::ListServers { detail: true }),
        ["servers", s] if get => Ok(NovaApi::ShowServer(decode(s))),
        ["servers", s, "os-volume_attachments"] if get => {
            Ok(NovaApi::ListVolumeAttachments(decode(s)))
        }
        ["servers", s, "os-volume_attachments"] if post => Ok(NovaApi::AttachVolume(decode(s))),
        ["servers", s, "os-volume_attachments", v] if get => {
            Ok(NovaApi::ShowVolumeAttachment(decode(s), decode(v)))
        }
        ["servers", s, "os-volume_attachments", v] if delete => {
            Ok(NovaApi::DetachVolume(decode(s), decode(v)))
        }
        ["servers"]
        | ["servers", _]
        | ["servers", _, "os-volume_attachments"]
        | ["servers", _, "os-volume_attachments", _] => Err(not_allowed()),
        _ => Err(error::resource_not_found()),
    }
}

fn cinder(m: &Method, segs: &[&str]) -> Result<CinderApi, Rejection> {
    use CinderApi as C;
    let (get, post, put, delete) = (
        *m == Method::GET,
        *m == Method::POST,
        *m == Method::PUT,
        *m == Method::DELETE,
    );
    let d = decode;
    let api = match segs {
        ["volumes"] if get => C::ListVolumes { detail: false },
        ["volumes"] if post => C::CreateVolume,
        ["volumes", "detail"] if get => C::ListVolumes { detail: true },
        ["volumes", "summary"] if get => C::VolumesSummary,
        ["volumes", v] if get => C::ShowVolume(d(v)),
        ["volumes", v] if put => C::UpdateVolume(d(v)),
        ["volumes", v] if delete => C::DeleteVolume(d(v)),
        ["volumes", v, "action"] if post => C::VolumeAction(d(v), None),
        ["volumes", v, "metadata"] if get || post || put => C::VolumeMetadata(m.clone(), d(v)),
        ["volumes", v, "metadata", k] if get || put || delete => {
            C::VolumeMetadataKey(m.clone(), d(v), d(k))
        }
        ["snapshots"] if get => C::ListSnapshots { detail: false },
        ["snapshots"] if post => C::CreateSnapshot,
        ["snapshots", "detail"] if get => C::ListSnapshots { detail: true },
        ["snapshots", s] if get => C::ShowSnapshot(d(s)),
        ["snapshots", s] if put => C::UpdateSnapshot(d(s)),
        ["snapshots", s] if delete => C::DeleteSnapshot(d(s)),
        ["snapshots", s, "action"] if post => C::SnapshotAction(d(s)),
        ["snapshots", s, "metadata"] if get || post || put => C::SnapshotMetadata(m.clone(), d(s)),
        ["snapshots", s, "metadata", k] if get || put || delete => {
            C::SnapshotMetadataKey(m.clone(), d(s), d(k))
        }
        ["backups"] if get => C::ListBackups { detail: false },
        ["backups"] if post => C::CreateBackup,
        ["backups", "detail"] if get => C::ListBackups { detail: true },
        ["backups", b] if get => C::ShowBackup(d(b)),
        ["backups", b] if put => C::UpdateBackup(d(b)),
        ["backups", b] if delete => C::DeleteBackup(d(b)),
        ["backups", b, "restore"] if post => C::RestoreBackup(d(b)),
        ["backups", b, "action"] if post => C::BackupAction(d(b)),
        ["attachments"] if get => C::ListAttachments { detail: false },
        ["attachments"] if post => C::CreateAttachment,
        ["attachments", "detail"] if get => C::ListAttachments { detail: true },
        ["attachments", a] if get => C::ShowAttachment(d(a)),
        ["attachments", a] if put => C::UpdateAttachment(d(a)),
        ["attachments", a] if delete => C::DeleteAttachment(d(a)),
        ["attachments", a, "action"] if post => C::AttachmentAction(d(a)),
        ["types"] if get => C::ListTypes,
        ["types", t] if get => C::ShowType(d(t)),
        ["types", t, "extra_specs"] if get => C::TypeExtraSpecs(d(t)),
        ["types", t, "extra_specs", k] if get => C::TypeExtraSpec(d(t), d(k)),
        ["qos-specs"] if get => C::ListQos,
        ["qos-specs", q] if get => C::ShowQos(d(q)),
        ["limits"] if get => C::Limits,
        ["os-quota-sets", p] if get => C::QuotaSet(d(p)),
        ["os-quota-sets", p, "defaults"] if get => C::QuotaDefaults(d(p)),
        ["os-availability-zone"] if get => C::AvailabilityZones,
        ["messages"] if get => C::ListMessages,
        ["messages", id] if get => C::ShowMessage(d(id)),
        ["messages", id] if delete => C::DeleteMessage(d(id)),
        ["volumes" | "snapshots" | "backups" | "attachments" | "types" | "qos-specs"
        | "messages"]
        | ["volumes" | "snapshots" | "backups" | "attachments" | "types" | "qos-specs"
        | "messages", _]
        | ["volumes" | "snapshots" | "backups" | "attachments", _, "action" | "metadata"]
        | ["volumes" | "snapshots", _, "metadata", _]
        | ["backups", _, "restore"]
        | ["types", _, "extra_specs"]
        | ["types", _, "extra_specs", _]
        | ["limits" | "os-availability-zone"]
        | ["os-quota-sets", _]
        | ["os-quota-sets", _, "defaults"] => return Err(not_allowed()),
        _ => return Err(error::resource_not_found()),
    };
    Ok(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(decode("a%20b"), "a b");
        assert_eq!(decode("%2"), "%2");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("abc%41"), "abcA");
    }

    #[test]
    fn project_segment_is_optional() {
        let r = |path: &str| {
            let req = FakeRequest::new(Method::GET, path);
            let segs = super::super::super::pipeline::path_segments(
                &["/identity", "/volume", "/compute"],
                path,
            )
            .unwrap_or_default();
            route(&req, &segs)
        };
        let with = r("/volume/v3/0123abcd/volumes/detail").unwrap();
        let without = r("/volume/v3/volumes/detail").unwrap();
        assert_eq!(with, without);
        assert!(matches!(
            r("/volume/v3/0123abcd"),
            Ok(Route::VolumeVersions { versioned: true })
        ));
        assert_eq!(r("/volume/v3/nope").unwrap_err().status, 404);
    }
}

//! Where a request goes and where its answer points: routing, the base URL
//! every link is built from (the request's own origin, version and scope),
//! resource and collection envelopes, dates with their `TS` twins, and the
//! headers every answer carries (`X-API-Schemas`, the Basic challenge).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Method};
use serde_json::{json, Map, Value};

use super::errors;
use super::DEFAULT_PROJECT_ID;
use crate::engine::SimOp;
use crate::fake::{FakeRequest, FakeResponse, Rejection};

/// The API version a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/v2-beta` (Rancher 1.2 to 1.6).
    V2Beta,
    /// `/v1` (Rancher up to 1.1, still served).
    V1,
}

impl Version {
    /// The path prefix (`/v2-beta`).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::V2Beta => "/v2-beta",
            Self::V1 => "/v1",
        }
    }
}

/// The resource types the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `volume`.
    Volume,
    /// `snapshot`.
    Snapshot,
    /// `backup`.
    Backup,
    /// `storageDriver`.
    StorageDriver,
    /// `host`.
    Host,
    /// `backupTarget`.
    BackupTarget,
}

impl Kind {
    pub(super) const ALL: [Self; 6] = [
        Self::Volume,
        Self::Snapshot,
        Self::Backup,
        Self::StorageDriver,
        Self::Host,
        Self::BackupTarget,
    ];

    /// The schema id (`storageDriver`).
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
            Self::Backup => "backup",
            Self::StorageDriver => "storageDriver",
            Self::Host => "host",
            Self::BackupTarget => "backupTarget",
        }
    }

    /// The collection's path segment, as Cattle's links spell it
    /// (`storagedrivers`).
    pub(super) fn plural(self) -> &'static str {
        match self {
            Self::Volume => "volumes",
            Self::Snapshot => "snapshots",
            Self::Backup => "backups",
            Self::StorageDriver => "storagedrivers",
            Self::Host => "hosts",
            Self::BackupTarget => "backuptargets",
        }
    }

    /// The kind a path segment names: the schema id or its plural, in any
    /// case (Cattle registers both, case-insensitively).
    fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| {
            segment.eq_ignore_ascii_case(k.type_name()) || segment.eq_ignore_ascii_case(k.plural())
        })
    }
}

/// Where a request's links point: its origin, its version and, when it was
/// project-scoped, the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// `http://host:port`: the address the request arrived at, never its `Host` header.
    pub origin: String,
    /// The version the request used.
    pub version: Version,
    /// `true` when the request came through `/projects/1a5`.
    pub scoped: bool,
}

impl Base {
    /// `http://host:port/v2-beta[/projects/1a5]`: what collection links
    /// start with.
    pub fn url(&self) -> String {
        let mut s = format!("{}{}", self.origin, self.version.prefix());
        if self.scoped {
            s.push_str("/projects/");
            s.push_str(DEFAULT_PROJECT_ID);
        }
        s
    }

    /// The collection of `kind`.
    pub fn collection(&self, kind: Kind) -> String {
        format!("{}/{}", self.url(), kind.plural())
    }

    /// Resource `id` of `kind` (ids are the fake's own, `1v3`: no escaping
    /// needed).
    pub fn resource(&self, kind: Kind, id: &str) -> String {
        format!("{}/{}/{id}", self.url(), kind.plural())
    }

    /// The schemas collection, as `X-API-Schemas` names it.
    pub fn schemas(&self) -> String {
        format!("{}/schemas", self.url())
    }

    /// The unscoped API root of this version.
    pub fn root(&self) -> String {
        format!("{}{}", self.origin, self.version.prefix())
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `GET /v2-beta`: the API root.
    Root,
    /// `GET /schemas`.
    Schemas,
    /// `GET /schemas/{id}`.
    Schema(String),
    /// `GET /projects`.
    Projects,
    /// `GET /projects/1a5` (bare: the project resource).
    Project,
    /// `GET` a collection.
    List(Kind),
    /// `POST` a collection.
    Create(Kind),
    /// `GET` a resource.
    Get(Kind, String),
    /// `PUT` a resource.
    Update(Kind, String),
    /// `DELETE` a resource.
    Delete(Kind, String),
    /// `POST {resource}?action={name}`.
    Action(Kind, String, String),
    /// `GET {resource}/{link}`: a resource's related collection
    /// (`volumes/1v3/snapshots`), of kind `.2`.
    Related(Kind, String, Kind),
    /// No such path, or a wrong method: refused once the request has
    /// authenticated (Cattle authenticates first, so without credentials
    /// even an unknown path is a 401).
    Refused(Rejection),
}

/// A request, routed: what it asks for, and where its answer's links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The request's base, for links.
    pub base: Base,
    /// What it asks for.
    pub target: Target,
    /// `X-API-No-Challenge: true` was sent: a 401 goes without
    /// `WWW-Authenticate`.
    pub no_challenge: bool,
}

impl Route {
    /// The refusal routing decided on, if any.
    #[cfg(test)]
    pub(super) fn refusal(&self) -> Option<&Rejection> {
        match &self.target {
            Target::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// The engine operation for fault decisions.
    pub(super) fn sim_op(&self) -> Option<SimOp> {
        Some(match &self.target {
            Target::List(Kind::Volume) => SimOp::ListVolumes,
            Target::List(Kind::Snapshot) => SimOp::ListSnapshots,
            Target::List(Kind::Backup) => SimOp::ListBackups,
            Target::List(Kind::Host) => SimOp::ListInstances,
            Target::Related(_, _, Kind::Snapshot) => SimOp::ListSnapshots,
            Target::Related(_, _, Kind::Backup) => SimOp::ListBackups,
            Target::Get(Kind::Volume, _) => SimOp::GetVolume,
            Target::Get(Kind::Snapshot, _) => SimOp::GetSnapshot,
            Target::Get(Kind::Backup, _) => SimOp::GetBackup,
            Target::Create(Kind::Volume) => SimOp::CreateVolume,
            Target::Update(Kind::Volume, _) => SimOp::UpdateVolume,
            Target::Delete(Kind::Volume, _) => SimOp::DeleteVolume,
            Target::Delete(Kind::Snapshot, _) => SimOp::DeleteSnapshot,
            Target::Delete(Kind::Backup, _) => SimOp::DeleteBackup,
            Target::Action(kind, _, action) => match (kind, action.as_str()) {
                (Kind::Volume, "snapshot") => SimOp::CreateSnapshot,
                (Kind::Volume, "remove" | "purge") => SimOp::DeleteVolume,
                (Kind::Volume, "restorefrombackup") => SimOp::RestoreBackup,
                (Kind::Volume, _) => SimOp::UpdateVolume,
                (Kind::Snapshot, "backup") => SimOp::CreateBackup,
                (Kind::Snapshot, _) => SimOp::DeleteSnapshot,
                (Kind::Backup, _) => SimOp::DeleteBackup,
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// The origin links are built from: the address the request arrived at
/// ([`FakeRequest::origin`]), never its `Host` header.
fn origin(request: &FakeRequest) -> String {
    request.origin()
}

/// Routes a request below `/v2-beta` or `/v1`. Never fails: a refusal is a
/// [`Target::Refused`], so that even it carries the base for the
/// `X-API-Schemas` header.
pub(super) fn route(request: &FakeRequest, segments: &[&str]) -> Route {
    let version = if request.path.starts_with("/v1") {
        Version::V1
    } else {
        Version::V2Beta
    };
    let no_challenge = request
        .header("x-api-no-challenge")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let mut base = Base {
        origin: origin(request),
        version,
        scoped: false,
    };
    let mut segs = segments;
    if let ["projects", project, rest @ ..] = segs {
        if *project != DEFAULT_PROJECT_ID {
            return Route {
                base,
                target: Target::Refused(errors::not_found()),
                no_challenge,
            };
        }
        // Everything below a project, the project itself included, is
        // scoped: its links and `X-API-Schemas` stay in the project.
        base.scoped = true;
        segs = rest;
    }
    let target = target(request, &base, segs);
    Route {
        base,
        target,
        no_challenge,
    }
}

fn target(request: &FakeRequest, base: &Base, segs: &[&str]) -> Target {
    let method = &request.method;
    let get = *method == Method::GET;
    let refuse = |r: Rejection| Target::Refused(r);
    let action = request
        .query_pairs()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.into_owned());
    match segs {
        [] if get && base.scoped => Target::Project,
        [] if get => Target::Root,
        [] => refuse(errors::method_not_allowed()),
        ["schemas"] if get => Target::Schemas,
        ["schemas", id] if get => Target::Schema(decode(id)),
        ["schemas"] | ["schemas", _] => refuse(errors::method_not_allowed()),
        ["projects"] if get && !base.scoped => Target::Projects,
        ["projects"] if !base.scoped => refuse(errors::method_not_allowed()),
        [kind] => match Kind::from_segment(kind) {
            None => refuse(errors::not_found()),
            Some(k) if get => Target::List(k),
            Some(Kind::Volume) if *method == Method::POST => Target::Create(Kind::Volume),
            Some(_) => refuse(errors::method_not_allowed()),
        },
        [kind, id] => match Kind::from_segment(kind) {
            None => refuse(errors::not_found()),
            Some(k) => {
                let id = decode(id);
                match (method.clone(), action) {
                    (Method::POST, Some(a)) => Target::Action(k, id, a),
                    (Method::GET, _) => Target::Get(k, id),
                    (Method::PUT, _) if k == Kind::Volume => Target::Update(k, id),
                    (Method::DELETE, _)
                        if matches!(k, Kind::Volume | Kind::Snapshot | Kind::Backup) =>
                    {
                        Target::Delete(k, id)
                    }
                    _ => refuse(errors::method_not_allowed()),
                }
            }
        },
        [kind, id, link] => match (Kind::from_segment(kind), Kind::from_segment(link)) {
            (Some(parent @ (Kind::Volume | Kind::Snapshot)), Some(child @ Kind::Backup))
            | (Some(parent @ Kind::Volume), Some(child @ Kind::Snapshot)) => {
                if get {
                    Target::Related(parent, decode(id), child)
                } else {
                    refuse(errors::method_not_allowed())
                }
            }
            _ => refuse(errors::not_found()),
        },
        _ => refuse(errors::not_found()),
    }
}

/// A path segment, percent-decoded (lossily: an id with bytes that are not
/// UTF-8 matches nothing anyway).
fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Headers every answer carries: `X-API-Schemas` (absolute, in the
/// request's scope), and on a 401 the Basic challenge unless the request
/// said `X-API-No-Challenge: true`.
pub(super) fn finish(mut response: FakeResponse, route: Option<&Route>) -> FakeResponse {
    let schemas = route.map_or_else(|| "/v2-beta/schemas".to_owned(), |r| r.base.schemas());
    response = response.header("x-api-schemas", schemas);
    if response.status == 401 && !route.is_some_and(|r| r.no_challenge) {
        response = response.with_headers([(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "Basic realm=\"Enter API access key and secret key as username and password\"",
            ),
        )]);
    }
    // Cattle's JSON writer names the charset.
    if response.status != 204 {
        response.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    response
}

// ----- dates --------------------------------------------------------------------

/// Cattle's date format: `yyyy-MM-dd'T'HH:mm:ss'Z'`, whole seconds, UTC.
pub(super) fn date(t: SystemTime) -> String {
    let whole = t
        .duration_since(UNIX_EPOCH)
        .map_or(Duration::ZERO, |d| Duration::from_secs(d.as_secs()));
    let s = volume_core::time::format_rfc3339(UNIX_EPOCH + whole);
    // format_rfc3339 may write fractions or an offset; Cattle never does.
    match s.find(['.', '+']) {
        Some(i) => format!("{}Z", &s[..i].trim_end_matches('Z')),
        None => s,
    }
}

/// Milliseconds since the epoch: a date's `TS` twin.
pub(super) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Sets `field` and its `fieldTS` twin (both `null` when `t` is `None`).
pub(super) fn put_date(m: &mut Map<String, Value>, field: &str, t: Option<SystemTime>) {
    match t {
        Some(t) => {
            m.insert(field.to_owned(), Value::from(date(t)));
            m.insert(format!("{field}TS"), Value::from(millis(t)));
        }
        None => {
            m.insert(field.to_owned(), Value::Null);
            m.insert(format!("{field}TS"), Value::Null);
        }
    }
}

// ----- envelopes ------------------------------------------------------------------

/// The envelope of resource `id` of `kind`: `id`, `type`, `baseType`,
/// `links` (`self` and `extra`), and `actions` built from `action_names`
/// as `<self>?action=<name>`.
pub(super) fn resource(
    base: &Base,
    kind: Kind,
    id: &str,
    extra_links: &[(&str, String)],
    action_names: &[&str],
) -> Map<String, Value> {
    let this = base.resource(kind, id);
    let mut links = Map::new();
    links.insert("self".into(), Value::from(this.clone()));
    for (name, url) in extra_links {
        links.insert((*name).to_owned(), Value::from(url.as_str()));
    }
    let actions: Map<String, Value> = action_names
        .iter()
        .map(|a| ((*a).to_owned(), Value::from(format!("{this}?action={a}"))))
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), Value::from(id));
    m.insert("type".into(), Value::from(kind.type_name()));
    m.insert("baseType".into(), Value::from(kind.type_name()));
    m.insert("links".into(), Value::Object(links));
    m.insert("actions".into(), Value::Object(actions));
    m
}

/// A collection envelope around `data`.
pub(super) fn collection(
    resource_type: &str,
    self_url: &str,
    create: Option<&str>,
    data: Vec<Value>,
    extra: Map<String, Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::from("collection"));
    m.insert("resourceType".into(), Value::from(resource_type));
    m.insert("links".into(), json!({ "self": self_url }));
    let create_types = match create {
        Some(url) => json!({ resource_type: url }),
        None => json!({}),
    };
    m.insert("createTypes".into(), create_types);
    m.insert("actions".into(), json!({}));
    m.insert("createDefaults".into(), json!({}));
    for (k, v) in extra {
        m.insert(k, v);
    }
    m.entry("pagination").or_insert(Value::Null);
    m.entry("sort").or_insert(Value::Null);
    m.entry("sortLinks").or_insert_with(|| json!({}));
    m.entry("filters").or_insert_with(|| json!({}));
    m.insert("data".into(), Value::Array(data));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(method: Method, path_and_query: &str) -> Route {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (path_and_query, None),
        };
        let mut r = FakeRequest::new(method, path);
        r.query = query;
        // The links follow the address the request arrived at, not `Host`.
        r.headers.insert("host", "evil.example:1".parse().unwrap());
        r.local_addr = Some("10.0.0.1:1".parse().unwrap());
        let segs = crate::fake::pipeline::path_segments(super::super::PATH_PREFIXES, path).unwrap();
        route(&r, &segs)
    }

    #[test]
    fn scopes_and_versions_route_alike() {
        let a = routed(Method::GET, "/v2-beta/projects/1a5/volumes/1v3");
        assert_eq!(a.target, Target::Get(Kind::Volume, "1v3".into()));
        assert!(a.base.scoped);
        assert_eq!(
            a.base.resource(Kind::Volume, "1v3"),
            "http://10.0.0.1:1/v2-beta/projects/1a5/volumes/1v3"
        );
        let b = routed(Method::GET, "/v1/volume/1v3");
        assert_eq!(b.target, Target::Get(Kind::Volume, "1v3".into()));
        assert_eq!(b.base.schemas(), "http://10.0.0.1:1/v1/schemas");
        let c = routed(Method::POST, "/v2-beta/volumes/1v3?action=snapshot");
        assert_eq!(
            c.target,
            Target::Action(Kind::Volume, "1v3".into(), "snapshot".into())
        );
        assert_eq!(
            routed(Method::GET, "/v2-beta/storageDrivers").target,
            Target::List(Kind::StorageDriver)
        );
        let p = routed(Method::GET, "/v2-beta/projects/1a5");
        assert_eq!(p.target, Target::Project);
        assert!(p.base.scoped);
        assert_eq!(
            routed(Method::GET, "/v2-beta/projects").target,
            Target::Projects
        );
        assert!(routed(Method::GET, "/v2-beta/projects/1a6/volumes")
            .refusal()
            .is_some());
        assert!(routed(Method::PATCH, "/v2-beta/volumes")
            .refusal()
            .is_some());
        assert!(routed(Method::GET, "/v2-beta/nothing").refusal().is_some());
    }

    #[test]
    fn dates_are_whole_seconds_in_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_485_900_605_250);
        assert_eq!(date(t), "2017-01-31T22:10:05Z");
        assert_eq!(millis(t), 1_485_900_605_250);
    }
}

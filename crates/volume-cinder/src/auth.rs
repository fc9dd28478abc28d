//! Keystone v3 authentication, and the endpoints that come with a token.
//!
//! `POST {auth_url}/auth/tokens` (password, application credential, or a
//! pre-issued token, project-scoped where a scope may be sent) answers `201`
//! with the token in `X-Subject-Token` and the service catalog in the body.
//! [`KeystoneSource`] is the core's [`TokenSource`]: each fetch logs in once
//! and hands back the token together with the block-storage endpoint picked
//! from the catalog ([`Token::with_endpoint`]), so the core's
//! [`RefreshingToken`] renews both together, shortly before the token expires
//! and once after a `401`, with one login shared by every request waiting
//! for it.
//!
//! Nova (attach and detach, listing servers) and the version document sit
//! at other URLs than Cinder's: [`ServiceAuth`] sends the same shared token
//! to them, with the endpoint its [`Target`] names.
//!
//! This is a scheme of its own (a login that yields both a credential and an
//! endpoint), which is why Cinder has an `auth.rs` where Linode has none.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::{json, Value};
use volume_core::http::{
    redact_url, AuthHeaders, AuthRequest, Authenticate, RefreshingToken, Request, Secret, Token,
    TokenSource, Transport, Url,
};
use volume_core::{Error, ResourceKind, Result};

use crate::wire::{CatalogEntry, KeystoneToken, TokenEnvelope};

/// A Keystone domain, by id or by name (`Default` is the usual one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// `{"id": ...}`, e.g. `default`.
    Id(String),
    /// `{"name": ...}`, e.g. `Default`.
    Name(String),
}

impl Domain {
    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({ "id": id }),
            Self::Name(name) => json!({ "name": name }),
        }
    }
}

/// A user or a project: by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Named {
    /// By id (unique across domains).
    Id(String),
    /// By name, within a domain.
    Name {
        /// The name.
        name: String,
        /// The domain it is in.
        domain: Domain,
    },
}

impl Named {
    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({ "id": id }),
            Self::Name { name, domain } => json!({ "name": name, "domain": domain.to_json() }),
        }
    }
}

/// How to log in to Keystone.
#[derive(Clone)]
pub(crate) enum Method {
    /// `password` with a project scope.
    Password {
        user: Named,
        password: Secret,
        project: Option<Named>,
    },
    /// `application_credential`: by id, or by name with its user; never scoped.
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<Named>,
        secret: Secret,
    },
    /// `token`: a pre-issued token exchanged for a scoped one with a catalog.
    Token {
        token: Secret,
        project: Option<Named>,
    },
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password { user, project, .. } => f
                .debug_struct("Password")
                .field("user", user)
                .field("password", &"******")
                .field("project", project)
                .finish(),
            Self::ApplicationCredential { id, name, user, .. } => f
                .debug_struct("ApplicationCredential")
                .field("id", id)
                .field("name", name)
                .field("user", user)
                .field("secret", &"******")
                .finish(),
            Self::Token { project, .. } => f
                .debug_struct("Token")
                .field("token", &"******")
                .field("project", project)
                .finish(),
        }
    }
}

impl Method {
    /// The `{"auth": ...}` body of `POST /v3/auth/tokens`. It holds the
    /// secret: it is built for each login and never kept or printed.
    pub(crate) fn body(&self) -> Value {
        let scope =
            |project: &Option<Named>| project.as_ref().map(|p| json!({ "project": p.to_json() }));
        let mut auth = match self {
            Self::Password {
                user,
                password,
                project,
            } => {
                let mut user = user.to_json();
                user["password"] = Value::String(password.expose().to_owned());
                let mut auth = json!({
                    "identity": { "methods": ["password"], "password": { "user": user } }
                });
                if let Some(scope) = scope(project) {
                    auth["scope"] = scope;
                }
                auth
            }
            Self::ApplicationCredential {
                id,
                name,
                user,
                secret,
            } => {
                let mut credential = json!({});
                if let Some(id) = id {
                    credential["id"] = json!(id);
                } else {
                    if let Some(name) = name {
                        credential["name"] = json!(name);
                    }
                    if let Some(user) = user {
                        credential["user"] = user.to_json();
                    }
                }
                credential["secret"] = json!(secret.expose());
                // No scope: Keystone refuses one with an application credential.
                json!({
                    "identity": {
                        "methods": ["application_credential"],
                        "application_credential": credential
                    }
                })
            }
            Self::Token { token, project } => {
                let mut auth = json!({
                    "identity": { "methods": ["token"], "token": { "id": token.expose() } }
                });
                if let Some(scope) = scope(project) {
                    auth["scope"] = scope;
                }
                auth
            }
        };
        if auth.get("scope").is_some_and(Value::is_null) {
            if let Some(map) = auth.as_object_mut() {
                map.remove("scope");
            }
        }
        json!({ "auth": auth })
    }
}

/// Which of a service's endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Interface {
    /// `public`, the default.
    #[default]
    Public,
    /// `internal`.
    Internal,
    /// `admin`.
    Admin,
}

impl Interface {
    /// Keystone's word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Admin => "admin",
        }
    }

    /// `public`/`publicURL`, `internal`/`internalURL`, `admin`/`adminURL`
    /// (the forms `OS_INTERFACE` takes), case-insensitively.
    pub fn parse(word: &str) -> Option<Self> {
        let word = word.trim().to_ascii_lowercase();
        match word.strip_suffix("url").unwrap_or(&word) {
            "public" => Some(Self::Public),
            "internal" => Some(Self::Internal),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Region and interface: which endpoint of the catalog to take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EndpointFilter {
    pub(crate) interface: Interface,
    pub(crate) region: Option<String>,
}

/// The catalog types of Cinder's API v3, in the order they are preferred
/// among endpoints equally good otherwise (the catalog order decides first).
const BLOCK_STORAGE_TYPES: &[&str] = &["block-storage", "volumev3", "block-store", "volume"];

/// The major version a path segment names (`v3`, `v2.1`), if it is one.
fn segment_version(segment: &str) -> Option<u32> {
    let digits = segment.strip_prefix('v')?;
    let major = digits.split('.').next()?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    major.parse().ok()
}

/// The first `vN` path segment of `url`: its major version.
fn major_version(url: &Url) -> Option<u32> {
    url.path_segments()?.find_map(segment_version)
}

fn endpoint_matches(endpoint: &crate::wire::CatalogEndpoint, filter: &EndpointFilter) -> bool {
    Interface::parse(&endpoint.interface) == Some(filter.interface)
        && filter.region.as_deref().is_none_or(|region| {
            endpoint.region.as_deref() == Some(region)
                || endpoint.region_id.as_deref() == Some(region)
        })
}

/// What the catalog offers, for an error that says why nothing matched.
fn describe(catalog: &[CatalogEntry]) -> String {
    let mut seen = Vec::new();
    for entry in catalog {
        for e in &entry.endpoints {
            seen.push(format!(
                "{} ({}, {})",
                entry.service_type,
                e.interface,
                e.region
                    .as_deref()
                    .or(e.region_id.as_deref())
                    .unwrap_or("no region")
            ));
        }
    }
    if seen.is_empty() {
        "an empty catalog".to_owned()
    } else {
        seen.join(", ")
    }
}

/// Cinder's v3 endpoint in `catalog`: the first entry of type
/// `block-storage`, `volumev3` or `block-store` (or `volume`, only when its
/// URL is a v3 one) with an endpoint of the interface and region asked for.
/// A URL with another major version (`/v2/...`) is skipped; one without a
/// version segment gets `/v3` appended.
pub(crate) fn volume_endpoint(catalog: &[CatalogEntry], filter: &EndpointFilter) -> Result<Url> {
    let mut candidates: Vec<(usize, usize, Url)> = Vec::new();
    for (position, entry) in catalog.iter().enumerate() {
        let Some(rank) = BLOCK_STORAGE_TYPES
            .iter()
            .position(|t| entry.service_type == *t)
        else {
            continue;
        };
        for endpoint in entry
            .endpoints
            .iter()
            .filter(|e| endpoint_matches(e, filter))
        {
            let Ok(mut url) = Url::parse(endpoint.url.trim()) else {
                continue;
            };
            match major_version(&url) {
                Some(3) => {}
                Some(_) => continue,
                None if entry.service_type == "volume" => continue,
                None => {
                    let path = format!("{}/v3", url.path().trim_end_matches('/'));
                    url.set_path(&path);
                }
            }
            candidates.push((position, rank, url));
        }
    }
    candidates.sort_by_key(|(position, rank, _)| (*position, *rank));
    candidates
        .into_iter()
        .next()
        .map(|(_, _, url)| url)
        .ok_or_else(|| {
            Error::invalid_input(
                "catalog",
                format!(
                    "no Cinder v3 endpoint (type block-storage, volumev3, or volume with a /v3 URL) \
                     with interface {}{}; the catalog has {}",
                    filter.interface.as_str(),
                    filter
                        .region
                        .as_deref()
                        .map(|r| format!(" in region {r}"))
                        .unwrap_or_default(),
                    describe(catalog)
                ),
            )
        })
}

/// Nova's endpoint in `catalog` (type `compute`), when it has one.
pub(crate) fn compute_endpoint(catalog: &[CatalogEntry], filter: &EndpointFilter) -> Option<Url> {
    catalog
        .iter()
        .filter(|e| e.service_type == "compute")
        .flat_map(|e| e.endpoints.iter())
        .filter(|e| endpoint_matches(e, filter))
        .find_map(|e| Url::parse(e.url.trim()).ok())
}

/// The versioned root of a Cinder endpoint, where the version document is:
/// `.../volume/v3/<project>` is `.../volume/v3`.
pub(crate) fn version_root(endpoint: &Url) -> Url {
    let mut url = endpoint.clone();
    let segments: Vec<String> = endpoint
        .path_segments()
        .map(|s| s.map(str::to_owned).collect())
        .unwrap_or_default();
    let cut = segments.iter().position(|s| segment_version(s).is_some());
    if let Some(at) = cut {
        url.set_path(&format!("/{}", segments[..=at].join("/")));
    }
    url.set_query(None);
    url
}

/// How long a token is valid from when it arrived: `expires_at - issued_at`
/// (the server's own clock on both sides), else `expires_at` against this
/// machine's clock.
fn lifetime(token: &KeystoneToken) -> Option<Duration> {
    let expires = volume_core::time::parse_rfc3339(token.expires_at.as_deref()?)?;
    match token
        .issued_at
        .as_deref()
        .and_then(volume_core::time::parse_rfc3339)
    {
        Some(issued) => expires.duration_since(issued).ok(),
        None => expires.duration_since(SystemTime::now()).ok(),
    }
}

/// What the last login said besides the token: the project, the endpoints.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    pub(crate) project_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) volume: Option<Url>,
    pub(crate) compute: Option<Url>,
}

/// The session shared between the token source and the client.
pub(crate) type SharedSession = Arc<Mutex<Session>>;

pub(crate) fn read_session(session: &SharedSession) -> Session {
    session
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Where a login goes, and what it is for.
pub(crate) enum Login {
    /// A Keystone login.
    Keystone {
        /// Keystone's v3 transport (no authenticator of its own).
        keystone: Transport,
        credential: Method,
        filter: EndpointFilter,
    },
    /// A token used as it is, at a given endpoint (no Keystone).
    Fixed { token: Secret },
}

/// The core [`TokenSource`] for Cinder: one login, the token and the
/// block-storage endpoint together.
pub(crate) struct KeystoneSource {
    pub(crate) login: Login,
    /// Replaces the catalog's block-storage endpoint.
    pub(crate) endpoint_override: Option<Url>,
    /// Replaces the catalog's compute endpoint.
    pub(crate) compute_override: Option<Url>,
    pub(crate) session: SharedSession,
}

impl fmt::Debug for KeystoneSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoneSource").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenSource for KeystoneSource {
    async fn fetch_token(&self) -> Result<Token> {
        match &self.login {
            Login::Fixed { token } => {
                let endpoint = self.endpoint_override.clone().ok_or_else(|| {
                    Error::invalid_input(
                        "endpoint",
                        "a token without an auth URL needs the block-storage endpoint",
                    )
                })?;
                let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
                session.volume = Some(endpoint.clone());
                session.compute.clone_from(&self.compute_override);
                Ok(Token::new(token.clone()).with_endpoint(endpoint))
            }
            Login::Keystone {
                keystone,
                credential,
                filter,
            } => {
                // A login changes nothing on the server: safe to send again
                // after a 5xx or a dropped connection.
                let request = Request::post(["auth", "tokens"])
                    .json(&credential.body())
                    .idempotent(true)
                    .about(ResourceKind::Other, "");
                let response = keystone.send(request).await?;
                let subject = response
                    .header("x-subject-token")
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| Error::Unauthenticated {
                        message: "Keystone answered without an X-Subject-Token header".to_owned(),
                        api: None,
                    })?
                    .to_owned();
                let body: TokenEnvelope = response.json()?;
                let token = body.token;
                let volume = match &self.endpoint_override {
                    Some(url) => url.clone(),
                    None => volume_endpoint(&token.catalog, filter)?,
                };
                let compute = self
                    .compute_override
                    .clone()
                    .or_else(|| compute_endpoint(&token.catalog, filter));
                tracing::debug!(endpoint = %redact_url(&volume), "logged in to Keystone");
                {
                    let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
                    *session = Session {
                        project_id: token.project.as_ref().and_then(|p| p.id.clone()),
                        user_id: token.user.as_ref().and_then(|u| u.id.clone()),
                        volume: Some(volume.clone()),
                        compute,
                    };
                }
                let issued = Token::new(subject).with_endpoint(volume);
                Ok(match lifetime(&token) {
                    Some(life) => issued.expires_in(life),
                    None => issued,
                })
            }
        }
    }
}

/// Where a [`ServiceAuth`] sends its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Nova's endpoint from the session.
    Compute,
    /// The versioned root of the token's block-storage endpoint.
    VersionRoot,
}

/// The shared Keystone token, sent to another service than Cinder's v3
/// endpoint (Nova, the version document).
pub(crate) struct ServiceAuth {
    pub(crate) token: Arc<RefreshingToken>,
    pub(crate) session: SharedSession,
    pub(crate) target: Target,
}

impl fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAuth")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticate for ServiceAuth {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        let shared = self.token.authenticate(request).await?;
        let endpoint = match self.target {
            Target::VersionRoot => shared
                .endpoint()
                .map(version_root)
                .ok_or(Error::Unsupported {
                    operation: "microversion discovery (the token came without an endpoint)",
                    provider: crate::error::PROVIDER,
                }),
            Target::Compute => read_session(&self.session)
                .compute
                .ok_or(Error::Unsupported {
                    operation: "Nova requests (the catalog has no compute endpoint; set one with \
                            CinderBuilder::with_compute_endpoint)",
                    provider: crate::error::PROVIDER,
                }),
        }?;
        let mut headers = AuthHeaders::new().with_generation(shared.generation());
        for (name, value) in shared.iter() {
            headers.push(name.clone(), value.clone());
        }
        Ok(headers.with_endpoint(endpoint))
    }

    async fn refresh(&self, rejected: &AuthHeaders) -> Result<bool> {
        self.token.refresh(rejected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::CatalogEndpoint;

    fn entry(kind: &str, urls: &[(&str, &str, &str)]) -> CatalogEntry {
        CatalogEntry {
            service_type: kind.to_owned(),
            endpoints: urls
                .iter()
                .map(|(interface, region, url)| CatalogEndpoint {
                    interface: (*interface).to_owned(),
                    region: Some((*region).to_owned()),
                    region_id: Some((*region).to_owned()),
                    url: (*url).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_catalog_is_searched_by_type_version_interface_and_region() {
        let catalog = vec![
            entry("volumev2", &[("public", "R1", "http://c:8776/v2/p")]),
            entry("volume", &[("public", "R1", "http://c:8776/v1/p")]),
            entry(
                "volumev3",
                &[
                    ("internal", "R1", "http://internal:8776/v3/p"),
                    ("public", "R2", "http://r2:8776/v3/p"),
                    ("public", "R1", "http://r1:8776/v3/p"),
                ],
            ),
            entry("compute", &[("public", "R1", "http://n:8774/v2.1")]),
        ];
        let mut filter = EndpointFilter::default();
        assert_eq!(
            volume_endpoint(&catalog, &filter).unwrap().as_str(),
            "http://r2:8776/v3/p"
        );
        filter.region = Some("R1".into());
        assert_eq!(
            volume_endpoint(&catalog, &filter).unwrap().as_str(),
            "http://r1:8776/v3/p"
        );
        filter.interface = Interface::Internal;
        assert_eq!(
            volume_endpoint(&catalog, &filter).unwrap().as_str(),
            "http://internal:8776/v3/p"
        );
        filter.interface = Interface::Admin;
        let e = volume_endpoint(&catalog, &filter).unwrap_err();
        assert!(e.to_string().contains("volumev3 (public, R1)"), "{e}");
        assert!(compute_endpoint(&catalog, &filter).is_none());
        filter.interface = Interface::Public;
        assert_eq!(
            compute_endpoint(&catalog, &filter).unwrap().as_str(),
            "http://n:8774/v2.1"
        );
        // `volume` counts only with a v3 URL; a versionless block-storage URL gets /v3.
        let catalog = vec![
            entry("volume", &[("public", "R1", "http://c:8776/")]),
            entry("volume", &[("public", "R1", "http://c:8776/v3/p")]),
        ];
        assert_eq!(
            volume_endpoint(&catalog, &EndpointFilter::default())
                .unwrap()
                .as_str(),
            "http://c:8776/v3/p"
        );
        let catalog = vec![entry(
            "block-storage",
            &[("publicURL", "R1", "http://c/volume")],
        )];
        assert_eq!(
            volume_endpoint(&catalog, &EndpointFilter::default())
                .unwrap()
                .as_str(),
            "http://c/volume/v3"
        );
    }

    #[test]
    fn version_roots() {
        for (endpoint, root) in [
            ("http://h:8776/v3/abc", "http://h:8776/v3"),
            ("http://h/volume/v3/abc/", "http://h/volume/v3"),
            ("http://h/volume/v3", "http://h/volume/v3"),
        ] {
            assert_eq!(version_root(&Url::parse(endpoint).unwrap()).as_str(), root);
        }
    }

    #[test]
    fn bodies_follow_keystone() {
        let body = Method::ApplicationCredential {
            id: Some("423f".into()),
            name: None,
            user: None,
            secret: Secret::new("rEaq"),
        }
        .body();
        assert_eq!(
            body,
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "423f", "secret": "rEaq"}}}})
        );
        let body = Method::Password {
            user: Named::Name {
                name: "admin".into(),
                domain: Domain::Name("Default".into()),
            },
            password: Secret::new("pw"),
            project: Some(Named::Id("p1".into())),
        }
        .body();
        assert_eq!(
            body,
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user":
                {"name": "admin", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"id": "p1"}}}})
        );
        let debug = format!(
            "{:?}",
            Method::Token {
                token: Secret::new("gAAAA-s3cret"),
                project: None
            }
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}

//! Keystone v3, as much as a Cinder client needs: version discovery,
//! tokens for the password, application-credential and token methods, the
//! catalog, validation and revocation (reference §1).
//!
//! Choices where the reference is silent:
//! - One domain (`default` / [`DEFAULT_DOMAIN`](super::DEFAULT_DOMAIN)),
//!   one project, the configured users (each `admin`, `member` and `reader`
//!   of the project) and application credentials (of the first user,
//!   unrestricted... reported as `restricted: true`, Keystone's default).
//! - User and project ids are derived from their names (32 hex digits), so
//!   they repeat from run to run; token ids are random.
//! - Tokens expire on the engine's clock. At most [`MAX_TOKENS`] live at
//!   once: issuing one more first forgets the expired ones, then the
//!   oldest.
//! - An unscoped token (password without `scope`) is issued without a
//!   catalog; Cinder and Nova answer it 403.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::super::{FakeRequest, FakeResponse};
use super::error::keystone_error;
use super::routes::KeystoneRoute;
use super::views::{iso_z, origin};
use super::{
    CinderConfig, CinderDialect, DEFAULT_APP_CREDENTIAL_ID, DEFAULT_APP_CREDENTIAL_NAME,
    DEFAULT_APP_CREDENTIAL_SECRET, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_REGION, DEFAULT_USER,
};

/// Keystone's path on the fake: the `auth_url`.
pub(super) const AUTH_PATH: &str = "/identity/v3";

/// The id of the one domain.
const DOMAIN_ID: &str = "default";

/// The most tokens kept at once.
pub(super) const MAX_TOKENS: usize = 10_000;

/// A stable 32-hex-digit id for `name` of `kind` (FNV-1a then mixed).
fn derived_id(kind: &str, name: &str) -> String {
    use crate::engine::made_up::mix;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0]).chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let hi = mix(h);
    format!("{hi:016x}{:016x}", mix(hi ^ h))
}

/// The project.
#[derive(Debug, Clone)]
pub(super) struct Project {
    pub(super) id: String,
    pub(super) name: String,
}

impl Project {
    /// The project called `name`, with its derived id.
    pub(super) fn named(name: &str) -> Self {
        Self {
            id: derived_id("project", name),
            name: name.to_owned(),
        }
    }
}

/// A user.
#[derive(Clone)]
struct User {
    id: String,
    name: String,
    password: String,
}

/// An application credential.
#[derive(Clone)]
struct AppCredential {
    id: String,
    name: String,
    secret: String,
    /// Index into `users`.
    user: usize,
}

/// Who may ask for tokens. No `Debug`: it holds passwords.
pub(super) struct Identity {
    pub(super) project: Project,
    users: Vec<User>,
    app_credentials: Vec<AppCredential>,
}

impl Identity {
    pub(super) fn new(config: &CinderConfig) -> Self {
        let mut users: Vec<User> = config
            .users
            .iter()
            .map(|(name, password)| User {
                id: derived_id("user", name),
                name: name.clone(),
                password: password.clone(),
            })
            .collect();
        if users.is_empty() {
            users.push(User {
                id: derived_id("user", DEFAULT_USER),
                name: DEFAULT_USER.to_owned(),
                password: DEFAULT_PASSWORD.to_owned(),
            });
        }
        let mut app_credentials: Vec<AppCredential> = config
            .app_credentials
            .iter()
            .enumerate()
            .map(|(n, (id, secret))| AppCredential {
                id: id.clone(),
                name: if n == 0 {
                    DEFAULT_APP_CREDENTIAL_NAME.to_owned()
                } else {
                    format!("{DEFAULT_APP_CREDENTIAL_NAME}-{n}")
                },
                secret: secret.clone(),
                user: 0,
            })
            .collect();
        if app_credentials.is_empty() {
            app_credentials.push(AppCredential {
                id: DEFAULT_APP_CREDENTIAL_ID.to_owned(),
                name: DEFAULT_APP_CREDENTIAL_NAME.to_owned(),
                secret: DEFAULT_APP_CREDENTIAL_SECRET.to_owned(),
                user: 0,
            });
        }
        Self {
            project: Project::named(&config.project),
            users,
            app_credentials,
        }
    }
}

/// One issued token.
#[derive(Debug, Clone)]
pub(super) struct TokenRec {
    pub(super) user_id: String,
    user_name: String,
    /// `None` for an unscoped token.
    pub(super) project: Option<Project>,
    methods: Vec<&'static str>,
    app_credential: Option<(String, String)>,
    issued: Duration,
    expires: Duration,
    audit_id: String,
}

/// The tokens issued and not yet forgotten.
pub(super) struct Tokens {
    lifetime: Duration,
    live: HashMap<String, TokenRec>,
    order: VecDeque<String>,
    rng: StdRng,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("live", &self.live.len())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(super) fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            live: HashMap::new(),
            order: VecDeque::new(),
            rng: StdRng::from_os_rng(),
        }
    }

    /// The token `id` if it is known and not expired at `now`.
    pub(super) fn valid(&self, id: &str, now: Duration) -> Option<TokenRec> {
        self.live.get(id).filter(|t| now < t.expires).cloned()
    }

    fn random_hex(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| format!("{:016x}", self.rng.random::<u64>()))
            .collect()
    }

    fn issue(&mut self, mut rec: TokenRec, now: Duration) -> String {
        // Tokens are queued in the order they were issued, all with one
        // lifetime, so the expired are found at the front. Revoked ones may
        // sit behind a token still held: once the queue is twice the bound,
        // they are swept out (at least half of it is dead, so O(1) a token
        // on average). A live token goes only when `MAX_TOKENS` others are
        // live, the oldest first.
        if self.order.len() >= 2 * MAX_TOKENS {
            let live = &self.live;
            self.order.retain(|id| live.contains_key(id));
        }
        while let Some(oldest) = self.order.front() {
            let gone = self.live.get(oldest).is_none_or(|t| now >= t.expires);
            if !gone && self.live.len() < MAX_TOKENS {
                break;
            }
            if let Some(oldest) = self.order.pop_front() {
                self.live.remove(&oldest);
            }
        }
        let id = format!("gAAAAA{}", self.random_hex(4));
        rec.issued = now;
        rec.expires = now.saturating_add(self.lifetime);
        rec.audit_id = self.random_hex(1);
        self.order.push_back(id.clone());
        self.live.insert(id.clone(), rec);
        id
    }

    fn revoke(&mut self, id: &str) -> bool {
        self.live.remove(id).is_some()
    }
}

/// Keystone's 401.
fn unauthorized(message: &str) -> FakeResponse {
    keystone_error(401, "Unauthorized", message)
        .header("www-authenticate", format!("Keystone uri=\"{AUTH_PATH}\""))
}

const NEEDS_AUTH: &str = "The request you have made requires authentication.";

fn bad_request(message: &str) -> FakeResponse {
    keystone_error(400, "Bad Request", message)
}

/// Keystone's version document for v3.
fn version(origin: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{origin}{AUTH_PATH}/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
    })
}

fn domain() -> Value {
    json!({"id": DOMAIN_ID, "name": DEFAULT_DOMAIN})
}

/// Whether `d` (`{"id"}` or `{"name"}`) names the one domain.
fn is_domain(d: Option<&Value>) -> bool {
    match d {
        Some(Value::Object(m)) => match (m.get("id"), m.get("name")) {
            (Some(Value::String(id)), _) => id == DOMAIN_ID,
            (None, Some(Value::String(name))) => name == DEFAULT_DOMAIN,
            _ => false,
        },
        _ => false,
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

impl CinderDialect {
    /// Answers a Keystone route (none needs the pipeline's authentication:
    /// Keystone checks its own tokens).
    pub(super) fn keystone(&self, route: &KeystoneRoute, req: &FakeRequest) -> FakeResponse {
        let origin = origin(req);
        match route {
            KeystoneRoute::Versions => {
                FakeResponse::json(300, &json!({"versions": {"values": [version(&origin)]}}))
            }
            KeystoneRoute::V3 => FakeResponse::json(200, &json!({"version": version(&origin)})),
            KeystoneRoute::IssueToken => self.issue_token(req, &origin),
            KeystoneRoute::Token => self.check_token(req, &origin),
            KeystoneRoute::Projects | KeystoneRoute::Project(_) => {
                self.projects(route, req, &origin)
            }
            KeystoneRoute::NotFound => {
                keystone_error(404, "Not Found", "The resource could not be found.")
            }
            KeystoneRoute::MethodNotAllowed => keystone_error(
                405,
                "Method Not Allowed",
                "The method is not allowed for the requested URL.",
            ),
        }
    }

    fn issue_token(&self, req: &FakeRequest, origin: &str) -> FakeResponse {
        let now = self.engine.now();
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
            return bad_request("Expecting to find auth in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
        };
        let Some(Value::Object(auth)) = body.get("auth") else {
            return bad_request("'auth' is a required property");
        };
        let Some(Value::Object(identity)) = auth.get("identity") else {
            return bad_request("'identity' is a required property");
        };
        let methods: Vec<&str> = match identity.get("methods") {
            Some(Value::Array(a)) if !a.is_empty() => a.iter().filter_map(Value::as_str).collect(),
            _ => return bad_request("'methods' is a required property"),
        };
        let scope = auth.get("scope").filter(|s| !s.is_null());
        let rec = if methods.contains(&"application_credential") {
            if scope.is_some() {
                return unauthorized("Application credentials cannot request a scope.");
            }
            match self.by_app_credential(identity.get("application_credential")) {
                Ok(rec) => rec,
                Err(r) => return *r,
            }
        } else if methods.contains(&"password") {
            let user = match self.by_password(identity.get("password")) {
                Ok(u) => u,
                Err(r) => return *r,
            };
            let project = match scope {
                None => None,
                Some(s) => match self.scoped_project(s) {
                    Ok(p) => Some(p),
                    Err(r) => return *r,
                },
            };
            TokenRec {
                user_id: user.id.clone(),
                user_name: user.name.clone(),
                project,
                methods: vec!["password"],
                app_credential: None,
                issued: now,
                expires: now,
                audit_id: String::new(),
            }
        } else if methods.contains(&"token") {
            let id = identity
                .get("token")
                .and_then(Value::as_object)
                .and_then(|t| str_of(t, "id"));
            let Some(old) = id.and_then(|id| self.tokens().valid(id, now)) else {
                return unauthorized(NEEDS_AUTH);
            };
            let project = match scope {
                None => old.project.clone(),
                Some(s) => match self.scoped_project(s) {
                    Ok(p) => Some(p),
                    Err(r) => return *r,
                },
            };
            TokenRec {
                project,
                methods: vec!["token"],
                ..old
            }
        } else {
            return unauthorized(NEEDS_AUTH);
        };
        let id = self.tokens().issue(rec.clone(), now);
        let Some(rec) = self.tokens().valid(&id, now) else {
            return unauthorized(NEEDS_AUTH);
        };
        let catalog = !req.query_pairs().any(|(k, _)| k == "nocatalog");
        FakeResponse::json(201, &self.token_json(&rec, origin, catalog))
            .header("x-subject-token", id)
    }

    fn by_password(&self, password: Option<&Value>) -> Result<&User, Box<FakeResponse>> {
        let user = password
            .and_then(Value::as_object)
            .and_then(|p| p.get("user"))
            .and_then(Value::as_object)
            .ok_or_else(|| Box::new(bad_request("'user' is a required property")))?;
        let secret = str_of(user, "password").ok_or_else(|| Box::new(unauthorized(NEEDS_AUTH)))?;
        let found = match (str_of(user, "id"), str_of(user, "name")) {
            (Some(id), _) => self.identity.users.iter().find(|u| u.id == id),
            (None, Some(name)) if is_domain(user.get("domain")) => {
                self.identity.users.iter().find(|u| u.name == name)
            }
            _ => None,
        };
        match found {
            Some(u)
                if super::super::dialect::constant_eq(u.password.as_bytes(), secret.as_bytes()) =>
            {
                Ok(u)
            }
            _ => Err(Box::new(unauthorized(NEEDS_AUTH))),
        }
    }

    fn by_app_credential(&self, cred: Option<&Value>) -> Result<TokenRec, Box<FakeResponse>> {
        let cred = cred.and_then(Value::as_object).ok_or_else(|| {
            Box::new(bad_request(
                "'application_credential' is a required property",
            ))
        })?;
        let secret = str_of(cred, "secret").ok_or_else(|| Box::new(unauthorized(NEEDS_AUTH)))?;
        let found = match (str_of(cred, "id"), str_of(cred, "name")) {
            (Some(id), _) => self.identity.app_credentials.iter().find(|a| a.id == id),
            (None, Some(name)) => {
                let user = cred.get("user").and_then(Value::as_object);
                let owner = user.and_then(|u| match (str_of(u, "id"), str_of(u, "name")) {
                    (Some(id), _) => self.identity.users.iter().position(|x| x.id == id),
                    (None, Some(n)) if is_domain(u.get("domain")) => {
                        self.identity.users.iter().position(|x| x.name == n)
                    }
                    _ => None,
                });
                owner.and_then(|o| {
                    self.identity
                        .app_credentials
                        .iter()
                        .find(|a| a.name == name && a.user == o)
                })
            }
            _ => None,
        };
        let Some(a) = found
            .filter(|a| super::super::dialect::constant_eq(a.secret.as_bytes(), secret.as_bytes()))
        else {
            return Err(Box::new(unauthorized(NEEDS_AUTH)));
        };
        let user = self
            .identity
            .users
            .get(a.user)
            .ok_or_else(|| Box::new(unauthorized(NEEDS_AUTH)))?;
        Ok(TokenRec {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            project: Some(self.identity.project.clone()),
            methods: vec!["application_credential"],
            app_credential: Some((a.id.clone(), a.name.clone())),
            issued: Duration::ZERO,
            expires: Duration::ZERO,
            audit_id: String::new(),
        })
    }

    fn scoped_project(&self, scope: &Value) -> Result<Project, Box<FakeResponse>> {
        let p = scope
            .get("project")
            .and_then(Value::as_object)
            .ok_or_else(|| Box::new(unauthorized(NEEDS_AUTH)))?;
        let project = &self.identity.project;
        let ok = match (str_of(p, "id"), str_of(p, "name")) {
            (Some(id), _) => id == project.id,
            (None, Some(name)) => name == project.name && is_domain(p.get("domain")),
            _ => false,
        };
        if ok {
            Ok(project.clone())
        } else {
            Err(Box::new(unauthorized(NEEDS_AUTH)))
        }
    }

    /// `GET`/`HEAD`/`DELETE /v3/auth/tokens`: needs a valid `X-Auth-Token`;
    /// acts on `X-Subject-Token`.
    fn check_token(&self, req: &FakeRequest, origin: &str) -> FakeResponse {
        let now = self.engine.now();
        let caller = req
            .header("x-auth-token")
            .and_then(|t| self.tokens().valid(t, now));
        if caller.is_none() {
            return unauthorized(NEEDS_AUTH);
        }
        let Some(subject_id) = req.header("x-subject-token") else {
            return keystone_error(404, "Not Found", "Failed to validate token");
        };
        if req.method == Method::DELETE {
            return if self.tokens().revoke(subject_id) {
                FakeResponse::empty(204)
            } else {
                keystone_error(404, "Not Found", "Failed to validate token")
            };
        }
        let Some(subject) = self.tokens().valid(subject_id, now) else {
            return keystone_error(404, "Not Found", "Failed to validate token");
        };
        let catalog = !req.query_pairs().any(|(k, _)| k == "nocatalog");
        let response = if req.method == Method::HEAD {
            FakeResponse::empty(200)
        } else {
            FakeResponse::json(200, &self.token_json(&subject, origin, catalog))
        };
        response.header("x-subject-token", subject_id)
    }

    /// `GET /v3/projects[?name=]` and `GET /v3/projects/{id}`: the one
    /// project, to a valid token.
    fn projects(&self, route: &KeystoneRoute, req: &FakeRequest, origin: &str) -> FakeResponse {
        let now = self.engine.now();
        if req
            .header("x-auth-token")
            .and_then(|t| self.tokens().valid(t, now))
            .is_none()
        {
            return unauthorized(NEEDS_AUTH);
        }
        let p = &self.identity.project;
        let project = json!({
            "id": p.id, "name": p.name, "domain_id": DOMAIN_ID, "description": "",
            "enabled": true, "is_domain": false, "parent_id": DOMAIN_ID, "tags": [],
            "links": {"self": format!("{origin}{AUTH_PATH}/projects/{}", p.id)},
        });
        match route {
            KeystoneRoute::Project(id) if *id == p.id => {
                FakeResponse::json(200, &json!({ "project": project }))
            }
            KeystoneRoute::Project(id) => {
                keystone_error(404, "Not Found", &format!("Could not find project: {id}."))
            }
            _ => {
                let name = req
                    .query_pairs()
                    .find(|(k, _)| k == "name")
                    .map(|(_, v)| v.into_owned());
                let list = if name.is_none_or(|n| n == p.name) {
                    vec![project]
                } else {
                    Vec::new()
                };
                FakeResponse::json(
                    200,
                    &json!({"projects": list, "links": {"self": format!("{origin}{AUTH_PATH}/projects"), "previous": null, "next": null}}),
                )
            }
        }
    }

    fn token_json(&self, t: &TokenRec, origin: &str, with_catalog: bool) -> Value {
        let (issued, expires) = self
            .engine
            .with(|c| (c.system_time(t.issued), c.system_time(t.expires)));
        let mut token = json!({
            "methods": t.methods,
            "user": {"domain": domain(), "id": t.user_id, "name": t.user_name, "password_expires_at": null},
            "audit_ids": [t.audit_id],
            "issued_at": iso_z(issued),
            "expires_at": iso_z(expires),
        });
        if let Some(p) = &t.project {
            token["project"] = json!({"domain": domain(), "id": p.id, "name": p.name});
            token["is_domain"] = Value::Bool(false);
            token["roles"] = json!([
                {"id": derived_id("role", "admin"), "name": "admin"},
                {"id": derived_id("role", "member"), "name": "member"},
                {"id": derived_id("role", "reader"), "name": "reader"},
            ]);
            if with_catalog {
                token["catalog"] = catalog(origin, &p.id);
            }
        }
        if let Some((id, name)) = &t.app_credential {
            token["application_credential"] = json!({"id": id, "name": name, "restricted": true});
        }
        json!({ "token": token })
    }
}

/// The catalog: identity, Cinder (as `volumev3` and `block-storage`) and
/// Nova, each with public, internal and admin endpoints on this server.
fn catalog(origin: &str, project_id: &str) -> Value {
    let service = |kind: &str, name: &str, url: String| {
        let endpoints: Vec<Value> = ["public", "internal", "admin"]
            .iter()
            .map(|interface| {
                json!({
                    "id": derived_id("endpoint", &format!("{kind}/{interface}")),
                    "interface": interface,
                    "region": DEFAULT_REGION,
                    "region_id": DEFAULT_REGION,
                    "url": url,
                })
            })
            .collect();
        json!({"endpoints": endpoints, "id": derived_id("service", kind), "type": kind, "name": name})
    };
    json!([
        service("identity", "keystone", format!("{origin}{AUTH_PATH}")),
        service(
            "volumev3",
            "cinderv3",
            format!("{origin}/volume/v3/{project_id}")
        ),
        service(
            "block-storage",
            "cinder",
            format!("{origin}/volume/v3/{project_id}")
        ),
        service("compute", "nova", format!("{origin}/compute/v2.1")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_hex_and_stable() {
        let a = derived_id("project", "demo");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, derived_id("project", "demo"));
        assert_ne!(a, derived_id("user", "demo"));
    }

    fn rec() -> TokenRec {
        TokenRec {
            user_id: "u".into(),
            user_name: "u".into(),
            project: None,
            methods: vec!["password"],
            app_credential: None,
            issued: Duration::ZERO,
            expires: Duration::ZERO,
            audit_id: String::new(),
        }
    }

    /// Issuing and revoking forever keeps the book bounded, a token still
    /// held survives it, and the newest token stays valid.
    #[test]
    fn revoked_and_expired_tokens_are_forgotten() {
        let mut tokens = Tokens::new(Duration::from_secs(3600));
        let now = Duration::from_secs(1);
        let held = tokens.issue(rec(), now);
        for _ in 0..3 * MAX_TOKENS {
            let id = tokens.issue(rec(), now);
            assert!(tokens.revoke(&id));
        }
        assert!(
            tokens.order.len() <= 2 * MAX_TOKENS,
            "{}",
            tokens.order.len()
        );
        assert!(tokens.valid(&held, now).is_some(), "one live token is kept");
        assert!(tokens.revoke(&held));
        let kept: Vec<String> = (0..MAX_TOKENS + 5)
            .map(|_| tokens.issue(rec(), now))
            .collect();
        assert!(tokens.order.len() <= 2 * MAX_TOKENS && tokens.live.len() <= MAX_TOKENS);
        assert!(tokens.valid(kept.last().unwrap(), now).is_some());
        assert!(
            tokens.valid(&kept[0], now).is_none(),
            "the oldest made room"
        );
        // Past their lifetime they go at the next issue.
        let later = now + Duration::from_secs(3600);
        tokens.issue(rec(), later);
        assert_eq!(tokens.live.len(), 1);
    }
}

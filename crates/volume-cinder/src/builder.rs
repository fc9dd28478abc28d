//! [`CinderBuilder`]: the Keystone credentials, the endpoint choice and the
//! shared [`ClientOptions`], and `build()` making a [`Cinder`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use volume_core::http::{
    redact_url, ClientOptions, Env, HeaderName, HttpClient, RefreshingToken, Secret, Transport, Url,
};
use volume_core::{Error, Result};

use crate::auth::{
    Domain, EndpointFilter, Interface, KeystoneSource, Login, Method, Named, ServiceAuth, Session,
    Target,
};
use crate::client::Client;
use crate::clouds::{self, CloudSettings};
use crate::error::{map_error, PROVIDER};
use crate::{Cinder, Microversion};

/// The domain users and projects named without one are looked up in
/// (`Default`, by id `default`, as devstack and most clouds have it).
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// How long before a token expires it is renewed.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Configures a [`Cinder`] client.
///
/// Give an auth URL (Keystone v3) and one way to log in: a password
/// ([`with_password`](Self::with_password) with a user and a project), an
/// application credential
/// ([`with_application_credential`](Self::with_application_credential)), or
/// a pre-issued token ([`with_token`](Self::with_token)). Or read all of it
/// the way the OpenStack tools do, from `OS_*` variables
/// ([`from_env`](Self::from_env)) or from `clouds.yaml`
/// ([`from_cloud`](Self::from_cloud)).
///
/// ```
/// use volume_cinder::{CinderBuilder, Domain, Interface};
///
/// let cinder = CinderBuilder::new()
///     .with_auth_url("https://keystone.example.com/v3")
///     .with_username("demo", Domain::Name("Default".into()))
///     .with_password("s3cret-pw")
///     .with_project_name("demo", Domain::Name("Default".into()))
///     .with_region("RegionOne")
///     .with_interface(Interface::Public)
///     .build()?;
/// // Neither the builder nor the client ever prints a secret.
/// assert!(!format!("{cinder:?}").contains("s3cret"));
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct CinderBuilder {
    auth_url: Option<String>,
    user: Option<Named>,
    password: Option<Secret>,
    project: Option<Named>,
    app_credential_id: Option<String>,
    app_credential_name: Option<String>,
    app_credential_secret: Option<Secret>,
    token: Option<Secret>,
    interface: Interface,
    region: Option<String>,
    endpoint: Option<String>,
    compute_endpoint: Option<String>,
    cacert: Option<String>,
    microversion: Option<Microversion>,
    /// A configuration error found by `from_env`/`from_cloud`, told by `build`.
    deferred: Option<String>,
    options: ClientOptions,
}

impl fmt::Debug for CinderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |secret: &Option<Secret>| secret.as_ref().map(|_| "******");
        let url = |raw: &Option<String>| {
            raw.as_deref().map(|r| {
                Url::parse(r).map_or_else(|_| "<not a URL>".to_owned(), |u| redact_url(&u))
            })
        };
        f.debug_struct("CinderBuilder")
            .field("auth_url", &url(&self.auth_url))
            .field("user", &self.user)
            .field("password", &shown(&self.password))
            .field("project", &self.project)
            .field("application_credential_id", &self.app_credential_id)
            .field("application_credential_name", &self.app_credential_name)
            .field(
                "application_credential_secret",
                &shown(&self.app_credential_secret),
            )
            .field("token", &shown(&self.token))
            .field("interface", &self.interface)
            .field("region", &self.region)
            .field("endpoint", &url(&self.endpoint))
            .field("compute_endpoint", &url(&self.compute_endpoint))
            .field("microversion", &self.microversion)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A user or project named by id or by name (with its domain).
fn named(id: Option<String>, name: Option<String>, domain: Option<Domain>) -> Option<Named> {
    match (id, name) {
        (Some(id), _) => Some(Named::Id(id)),
        (None, Some(name)) => Some(Named::Name {
            name,
            domain: domain.unwrap_or_else(|| Domain::Id(DEFAULT_DOMAIN_ID.to_owned())),
        }),
        (None, None) => None,
    }
}

fn domain(id: Option<String>, name: Option<String>) -> Option<Domain> {
    id.map(Domain::Id).or_else(|| name.map(Domain::Name))
}

impl CinderBuilder {
    /// An empty builder: public interface, any region, the newest
    /// microversion both sides know, the default [`ClientOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    volume_core::client_options_setters!(options);

    /// A builder configured from the environment as the OpenStack tools read
    /// it. With `OS_CLOUD` set (and no `OS_AUTH_URL`), the cloud of that
    /// name from `clouds.yaml` ([`from_cloud`](Self::from_cloud)); otherwise
    /// `OS_AUTH_URL`, `OS_USERNAME`/`OS_USER_ID`, `OS_PASSWORD`,
    /// `OS_PROJECT_NAME`/`OS_PROJECT_ID` (or `OS_TENANT_*`),
    /// `OS_USER_DOMAIN_NAME`/`_ID`, `OS_PROJECT_DOMAIN_NAME`/`_ID`
    /// (`OS_DOMAIN_*` for both), `OS_APPLICATION_CREDENTIAL_ID`/`_NAME`/`_SECRET`,
    /// `OS_TOKEN`, `OS_REGION_NAME`, `OS_INTERFACE`, `OS_CACERT`, and
    /// `OS_VOLUME_API_VERSION` when it names a microversion (`3.42`).
    /// Problems are reported by [`build`](Self::build).
    pub fn from_env() -> Self {
        Self::from_env_in(&Env::process())
    }

    /// [`from_env`](Self::from_env) with the variables of `env`.
    pub fn from_env_in(env: &Env) -> Self {
        if env.string(&["OS_AUTH_URL"]).is_none() {
            if let Some(cloud) = env.string(&["OS_CLOUD"]) {
                return Self::from_cloud_in(&cloud, env);
            }
        }
        let s = |name: &str| env.string(&[name]);
        let settings = CloudSettings {
            auth_url: s("OS_AUTH_URL"),
            username: s("OS_USERNAME"),
            user_id: s("OS_USER_ID"),
            password: env.secret(&["OS_PASSWORD"]).map(|p| p.expose().to_owned()),
            project_name: env.string(&["OS_PROJECT_NAME", "OS_TENANT_NAME"]),
            project_id: env.string(&["OS_PROJECT_ID", "OS_TENANT_ID"]),
            user_domain_name: s("OS_USER_DOMAIN_NAME"),
            user_domain_id: s("OS_USER_DOMAIN_ID"),
            project_domain_name: s("OS_PROJECT_DOMAIN_NAME"),
            project_domain_id: s("OS_PROJECT_DOMAIN_ID"),
            domain_name: s("OS_DOMAIN_NAME"),
            domain_id: s("OS_DOMAIN_ID"),
            application_credential_id: s("OS_APPLICATION_CREDENTIAL_ID"),
            application_credential_name: s("OS_APPLICATION_CREDENTIAL_NAME"),
            application_credential_secret: env
                .secret(&["OS_APPLICATION_CREDENTIAL_SECRET"])
                .map(|p| p.expose().to_owned()),
            token: env.secret(&["OS_TOKEN"]).map(|p| p.expose().to_owned()),
            region_name: s("OS_REGION_NAME"),
            interface: s("OS_INTERFACE").or_else(|| s("OS_ENDPOINT_TYPE")),
            cacert: s("OS_CACERT"),
            endpoint_override: None,
        };
        let mut builder = Self::from_settings(settings);
        if let Some(version) = s("OS_VOLUME_API_VERSION").filter(|v| v.contains('.')) {
            match version.parse() {
                Ok(v) => builder.microversion = Some(v),
                Err(e) => builder.deferred = Some(format!("OS_VOLUME_API_VERSION: {e}")),
            }
        }
        builder
    }

    /// A builder configured from cloud `name` of `clouds.yaml`, read from
    /// the standard places (the current directory, `~/.config/openstack`,
    /// `/etc/openstack`, or `OS_CLIENT_CONFIG_FILE`) with `secure.yaml`
    /// merged over it. Problems (no file, no such cloud, bad YAML) are
    /// reported by [`build`](Self::build).
    pub fn from_cloud(name: &str) -> Self {
        Self::from_cloud_in(name, &Env::process())
    }

    /// [`from_cloud`](Self::from_cloud), finding the files with `env`
    /// (`HOME`, `XDG_CONFIG_HOME`, `OS_CLIENT_CONFIG_FILE`, `OS_CLIENT_SECURE_FILE`).
    pub fn from_cloud_in(name: &str, env: &Env) -> Self {
        match clouds::load(name, env) {
            Ok(settings) => Self::from_settings(settings),
            Err(e) => Self {
                deferred: Some(e.to_string()),
                ..Self::default()
            },
        }
    }

    fn from_settings(s: CloudSettings) -> Self {
        let shared = domain(s.domain_id.clone(), s.domain_name.clone());
        let user_domain = domain(s.user_domain_id, s.user_domain_name).or_else(|| shared.clone());
        let project_domain = domain(s.project_domain_id, s.project_domain_name).or(shared);
        let mut builder = Self {
            auth_url: s.auth_url,
            user: named(s.user_id, s.username, user_domain),
            password: s.password.map(Secret::new),
            project: named(s.project_id, s.project_name, project_domain),
            app_credential_id: s.application_credential_id,
            app_credential_name: s.application_credential_name,
            app_credential_secret: s.application_credential_secret.map(Secret::new),
            token: s.token.map(Secret::new),
            region: s.region_name,
            endpoint: s.endpoint_override,
            cacert: s.cacert,
            ..Self::default()
        };
        if let Some(word) = s.interface {
            match Interface::parse(&word) {
                Some(interface) => builder.interface = interface,
                None => {
                    builder.deferred = Some(format!(
                        "interface {word:?} is not public, internal or admin"
                    ));
                }
            }
        }
        builder
    }

    /// Keystone's URL, e.g. `https://keystone.example.com/v3` or
    /// `http://127.0.0.1/identity` (`/v3` is appended when the URL does not
    /// end with it).
    pub fn with_auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// The user, by name within `domain`.
    pub fn with_username(mut self, name: impl Into<String>, domain: Domain) -> Self {
        self.user = Some(Named::Name {
            name: name.into(),
            domain,
        });
        self
    }

    /// The user, by id.
    pub fn with_user_id(mut self, id: impl Into<String>) -> Self {
        self.user = Some(Named::Id(id.into()));
        self
    }

    /// The user's password: log in with the `password` method.
    pub fn with_password(mut self, password: impl Into<Secret>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The project to scope the token to, by name within `domain`.
    pub fn with_project_name(mut self, name: impl Into<String>, domain: Domain) -> Self {
        self.project = Some(Named::Name {
            name: name.into(),
            domain,
        });
        self
    }

    /// The project to scope the token to, by id.
    pub fn with_project_id(mut self, id: impl Into<String>) -> Self {
        self.project = Some(Named::Id(id.into()));
        self
    }

    /// Log in with an application credential, by id. No scope is sent: the
    /// token is scoped to the credential's project.
    pub fn with_application_credential(
        mut self,
        id: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        self.app_credential_id = Some(id.into());
        self.app_credential_secret = Some(secret.into());
        self
    }

    /// Log in with an application credential, by name; its user must be
    /// given too ([`with_username`](Self::with_username) or
    /// [`with_user_id`](Self::with_user_id)).
    pub fn with_application_credential_name(
        mut self,
        name: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        self.app_credential_name = Some(name.into());
        self.app_credential_secret = Some(secret.into());
        self
    }

    /// A pre-issued token. With an auth URL it is exchanged for a token
    /// scoped to the project given (Keystone's `token` method, which brings
    /// the catalog); without one it is sent as it is, to the endpoint given
    /// with [`with_endpoint`](Self::with_endpoint).
    pub fn with_token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Which catalog interface to use (public by default).
    pub fn with_interface(mut self, interface: Interface) -> Self {
        self.interface = interface;
        self
    }

    /// Which region's endpoints to use (any, the first in the catalog, by
    /// default).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Cinder's v3 endpoint, instead of the catalog's
    /// (`https://cinder.example.com/v3/<project>`, a local fake).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Nova's endpoint (for attach and detach), instead of the catalog's.
    pub fn with_compute_endpoint(mut self, url: impl Into<String>) -> Self {
        self.compute_endpoint = Some(url.into());
        self
    }

    /// A PEM file of CA certificates to trust besides the system's (`OS_CACERT`).
    pub fn with_cacert(mut self, path: impl Into<String>) -> Self {
        self.cacert = Some(path.into());
        self
    }

    /// Speak `version` instead of negotiating (no version document is
    /// fetched). A version the server does not offer is answered 406, which
    /// is [`Error::InvalidInput`] on `microversion`.
    pub fn with_microversion(mut self, version: Microversion) -> Self {
        self.microversion = Some(version);
        self
    }

    fn url(field: &str, raw: &str) -> Result<Url> {
        Url::parse(raw.trim())
            .map_err(|e| Error::invalid_input(field, format!("is not a URL ({e})")))
    }

    fn credential(&self) -> Result<Option<Method>> {
        if let Some(secret) = self.app_credential_secret.clone() {
            if self.app_credential_id.is_none()
                && (self.app_credential_name.is_none() || self.user.is_none())
            {
                return Err(Error::invalid_input(
                    "application_credential",
                    "an application credential needs its id, or its name and its user",
                ));
            }
            return Ok(Some(Method::ApplicationCredential {
                id: self.app_credential_id.clone(),
                name: self.app_credential_name.clone(),
                user: self.user.clone(),
                secret,
            }));
        }
        if let Some(password) = self.password.clone() {
            let user = self.user.clone().ok_or_else(|| {
                Error::invalid_input(
                    "username",
                    "a password needs a user (OS_USERNAME or OS_USER_ID)",
                )
            })?;
            return Ok(Some(Method::Password {
                user,
                password,
                project: self.project.clone(),
            }));
        }
        if let Some(token) = self.token.clone() {
            return Ok(Some(Method::Token {
                token,
                project: self.project.clone(),
            }));
        }
        Ok(None)
    }

    fn http_client(&self) -> Result<HttpClient> {
        if let Some(client) = self.options.http_client() {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if self.options.is_paused_clock() {
            builder = builder.pool_idle_timeout(None);
        }
        if let Some(path) = &self.cacert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::invalid_input("cacert", format!("cannot read {path}: {e}")))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::invalid_input("cacert", format!("{path} is not PEM certificates: {e}"))
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder.build().map_err(|e| Error::Transport {
            message: format!("could not make the HTTP client: {e}"),
            outcome_unknown: false,
            timed_out: false,
            source: Some(Box::new(e)),
        })
    }

    /// Checks the configuration and makes the client. Nothing is sent: the
    /// first call logs in and negotiates the microversion
    /// ([`Cinder::connect`] does both at once).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no way to log in is given (or one is
    /// incomplete), a URL is not one, `OS_CACERT` cannot be read, or a
    /// configuration read by `from_env`/`from_cloud` was unusable.
    pub fn build(self) -> Result<Cinder> {
        if let Some(problem) = &self.deferred {
            return Err(Error::invalid_input("configuration", problem.clone()));
        }
        let http = self.http_client()?;
        let endpoint = self
            .endpoint
            .as_deref()
            .map(|raw| Self::url("endpoint", raw))
            .transpose()?;
        let compute = self
            .compute_endpoint
            .as_deref()
            .map(|raw| Self::url("compute_endpoint", raw))
            .transpose()?;
        let credential = self.credential()?;
        let session = Arc::new(Mutex::new(Session::default()));
        let transport = |base: Url| {
            Transport::builder(PROVIDER, base)
                .client_options(&self.options)
                .client(http.clone())
                .error_mapper(map_error)
        };
        let (login, placeholder) = match (&self.auth_url, credential) {
            (Some(raw), Some(credential)) => {
                let mut auth_url = Self::url("auth_url", raw)?;
                if !auth_url.path().trim_end_matches('/').ends_with("/v3") {
                    let path = format!("{}/v3", auth_url.path().trim_end_matches('/'));
                    auth_url.set_path(&path);
                }
                let keystone = transport(auth_url.clone()).build()?;
                (
                    Login::Keystone {
                        keystone,
                        credential,
                        filter: EndpointFilter {
                            interface: self.interface,
                            region: self.region.clone(),
                        },
                    },
                    auth_url,
                )
            }
            (None, Some(Method::Token { token, .. })) => {
                let Some(endpoint) = endpoint.clone() else {
                    return Err(Error::invalid_input(
                        "auth_url",
                        "a token without an auth URL needs the Cinder endpoint (with_endpoint)",
                    ));
                };
                (Login::Fixed { token }, endpoint)
            }
            (None, Some(_)) => {
                return Err(Error::invalid_input(
                    "auth_url",
                    "no Keystone URL: set OS_AUTH_URL or call with_auth_url",
                ))
            }
            (_, None) => {
                return Err(Error::invalid_input(
                    "credentials",
                    "no way to log in: give a password (OS_PASSWORD), an application \
                     credential (OS_APPLICATION_CREDENTIAL_ID/_SECRET) or a token (OS_TOKEN)",
                ))
            }
        };
        let source = KeystoneSource {
            login,
            endpoint_override: endpoint,
            compute_override: compute,
            session: Arc::clone(&session),
        };
        let token = Arc::new(
            RefreshingToken::new(source)
                .in_header(HeaderName::from_static("x-auth-token"))
                .with_refresh_margin(REFRESH_MARGIN),
        );
        let service = |target| ServiceAuth {
            token: Arc::clone(&token),
            session: Arc::clone(&session),
            target,
        };
        let client = Client {
            cinder: transport(placeholder.clone())
                .auth(Arc::clone(&token))
                .build()?,
            nova: transport(placeholder.clone())
                .auth(service(Target::Compute))
                .build()?,
            versions: transport(placeholder)
                .auth(service(Target::VersionRoot))
                .build()?,
            token: Arc::clone(&token),
            session,
            pinned: self.microversion,
            negotiated: Arc::new(OnceCell::new()),
        };
        Ok(Cinder::from_client(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn from_env_reads_the_openstack_variables() {
        let b = CinderBuilder::from_env_in(&env(&[
            ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
            ("OS_USERNAME", "demo"),
            ("OS_PASSWORD", "pa55-s3cret"),
            ("OS_PROJECT_NAME", "demo"),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_ID", "default"),
            ("OS_REGION_NAME", "RegionOne"),
            ("OS_INTERFACE", "internalURL"),
            ("OS_VOLUME_API_VERSION", "3.42"),
        ]));
        let debug = format!("{b:?}");
        assert!(!debug.contains("pa55"), "{debug}");
        assert_eq!(b.interface, Interface::Internal);
        assert_eq!(b.region.as_deref(), Some("RegionOne"));
        assert_eq!(b.microversion, Some(Microversion::new(3, 42)));
        assert_eq!(
            b.user,
            Some(Named::Name {
                name: "demo".into(),
                domain: Domain::Name("Default".into())
            })
        );
        assert_eq!(
            b.project,
            Some(Named::Name {
                name: "demo".into(),
                domain: Domain::Id("default".into())
            })
        );
        let cinder = b.build().unwrap();
        assert!(!format!("{cinder:?}").contains("pa55"));

        let b = CinderBuilder::from_env_in(&env(&[
            ("OS_AUTH_URL", "http://127.0.0.1:5000"),
            ("OS_APPLICATION_CREDENTIAL_ID", "423f"),
            ("OS_APPLICATION_CREDENTIAL_SECRET", "app-s3cret"),
        ]));
        assert!(!format!("{b:?}").contains("app-s3cret"));
        assert!(matches!(
            b.credential().unwrap(),
            Some(Method::ApplicationCredential { .. })
        ));
        assert!(b.build().is_ok());
    }

    #[test]
    fn build_says_what_is_missing() {
        let e = CinderBuilder::new().build().unwrap_err();
        assert!(e.to_string().contains("no way to log in"), "{e}");
        let e = CinderBuilder::new()
            .with_password("pw")
            .with_auth_url("http://k/v3")
            .build()
            .unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "username"));
        let e = CinderBuilder::new()
            .with_user_id("u")
            .with_password("pw")
            .build()
            .unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "auth_url"));
        let e = CinderBuilder::new()
            .with_application_credential_name("monitoring", "s")
            .with_auth_url("http://k/v3")
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "application_credential")
        );
        let e = CinderBuilder::new().with_token("t").build().unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "auth_url"));
        assert!(CinderBuilder::new()
            .with_token("t")
            .with_endpoint("http://c:8776/v3/p")
            .build()
            .is_ok());
        let e = CinderBuilder::from_env_in(&env(&[("OS_INTERFACE", "sideways")]))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("sideways"), "{e}");
        let e = CinderBuilder::from_env_in(&env(&[
            ("OS_CLOUD", "nowhere"),
            ("HOME", "/nonexistent-home"),
        ]))
        .build()
        .unwrap_err();
        assert!(e.to_string().contains("nowhere"), "{e}");
    }
}

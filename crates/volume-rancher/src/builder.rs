//! [`RancherBuilder`]: configures and makes a [`Rancher`] client.

use std::fmt;

use base64::Engine as _;
use volume_core::http::{redact_url, ClientOptions, Env, HeaderAuth, Secret, Transport, Url};
use volume_core::{Error, Result};

use crate::client::Client;
use crate::error::{map_error, PROVIDER};
use crate::Rancher;

/// The environment variables [`RancherBuilder::from_env`] reads the API URL
/// from, in order (the cattle CLI's, then rancher-compose's).
pub const URL_ENV: [&str; 2] = ["CATTLE_URL", "RANCHER_URL"];
/// The environment variables the access key is read from, in order.
pub const ACCESS_KEY_ENV: [&str; 2] = ["CATTLE_ACCESS_KEY", "RANCHER_ACCESS_KEY"];
/// The environment variables the secret key is read from, in order.
pub const SECRET_KEY_ENV: [&str; 2] = ["CATTLE_SECRET_KEY", "RANCHER_SECRET_KEY"];

/// The version of Cattle's API a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `/v2-beta`, Rancher 1.2 to 1.6 (the default).
    #[default]
    V2Beta,
    /// `/v1`, Rancher up to 1.1 (still served by later ones): volumes take
    /// only `name`, `driver` (required), `driverOpts` and `description`.
    V1,
}

impl ApiVersion {
    /// The path segment: `v2-beta` or `v1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2Beta => "v2-beta",
            Self::V1 => "v1",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "v2-beta" => Some(Self::V2Beta),
            "v1" => Some(Self::V1),
            _ => None,
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API URL says: the server root (with any proxy prefix), and the
/// version and project when its path names them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiUrl {
    root: Url,
    version: Option<ApiVersion>,
    project: Option<String>,
}

/// Reads `http://host:8080`, `http://host:8080/v2-beta`,
/// `http://host:8080/v1/schemas` or `http://host:8080/v2-beta/projects/1a5`.
fn parse_api_url(raw: &str) -> Result<ApiUrl> {
    let bad = |why: &str| Error::invalid_input("url", why.to_owned());
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must have no query or fragment"));
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let at = segments
        .iter()
        .position(|s| ApiVersion::from_segment(s).is_some());
    let (prefix, version, rest) = match at {
        Some(i) => (
            &segments[..i],
            ApiVersion::from_segment(&segments[i]),
            &segments[i + 1..],
        ),
        None => (&segments[..], None, &[][..]),
    };
    let project = match rest {
        [] => None,
        [s] if s == "schemas" => None,
        [p, id] if p == "projects" && !id.is_empty() => Some(id.clone()),
        [p, id, s] if p == "projects" && s == "schemas" => Some(id.clone()),
        _ => {
            return Err(bad(
                "names something other than the API root or a project (expected \
                 http://host:8080[/v2-beta[/projects/<id>]])",
            ))
        }
    };
    let mut path = String::new();
    for s in prefix {
        path.push('/');
        path.push_str(s);
    }
    url.set_path(&path);
    Ok(ApiUrl {
        root: url,
        version,
        project,
    })
}

/// Configures a [`Rancher`] client.
///
/// The URL is the server (`http://rancher:8080`), or its API root with a
/// version (`http://rancher:8080/v1`) and a project
/// (`http://rancher:8080/v2-beta/projects/1a5`), as `CATTLE_URL` and
/// `RANCHER_URL` are written. With an account API key, say which project
/// (environment) the volumes are in; an environment API key is scoped to its
/// environment already, and then no project is needed.
///
/// ```
/// use volume_rancher::{ApiVersion, RancherBuilder};
///
/// let rancher = RancherBuilder::new()
///     .with_url("http://rancher.internal:8080")
///     .with_access_key("8B5D6F4A2C1E3B7D9A0F")
///     .with_secret_key("zJXJ7dJ1cGF5b2FkIHNlY3JldCBrZXkgdmFsdWU")
///     .with_project("1a5")
///     .build()?;
/// assert_eq!(rancher.base_url().as_str(), "http://rancher.internal:8080/v2-beta/projects/1a5");
/// assert_eq!(rancher.api_version(), ApiVersion::V2Beta);
/// // Neither the builder nor the client ever prints the secret key.
/// assert!(!format!("{rancher:?}").contains("zJXJ7"));
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RancherBuilder {
    url: Option<String>,
    access_key: Option<String>,
    secret_key: Option<Secret>,
    project: Option<String>,
    version: Option<ApiVersion>,
    driver: Option<String>,
    options: ClientOptions,
}

impl fmt::Debug for RancherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_deref().map(|raw| {
            Url::parse(raw.trim()).map_or_else(|_| "<not a URL>".to_owned(), |u| redact_url(&u))
        });
        f.debug_struct("RancherBuilder")
            .field("url", &url)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("project", &self.project)
            .field("version", &self.version)
            .field("driver", &self.driver)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for RancherBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RancherBuilder {
    /// A builder with nothing set: API `v2-beta`, no project, volumes made
    /// with the `local` driver, the default [`ClientOptions`].
    pub fn new() -> Self {
        Self {
            url: None,
            access_key: None,
            secret_key: None,
            project: None,
            version: None,
            driver: None,
            options: ClientOptions::new(),
        }
    }

    volume_core::client_options_setters!(options);

    /// A builder configured from the environment, as the cattle CLI and
    /// rancher-compose read it: the URL from `CATTLE_URL` (or
    /// `RANCHER_URL`), the keys from `CATTLE_ACCESS_KEY` and
    /// `CATTLE_SECRET_KEY` (or `RANCHER_ACCESS_KEY` and
    /// `RANCHER_SECRET_KEY`). The project, when the key is an account key,
    /// is the one the URL names (`.../v2-beta/projects/1a5`) or
    /// [`with_project`](Self::with_project). Unset variables leave the
    /// defaults; [`build`](Self::build) then says what is missing.
    pub fn from_env() -> Self {
        Self::from_env_in(&Env::process())
    }

    /// [`from_env`](Self::from_env) with the variables of `env`.
    pub fn from_env_in(env: &Env) -> Self {
        let mut builder = Self::new();
        builder.url = env.string(&URL_ENV);
        builder.access_key = env.string(&ACCESS_KEY_ENV);
        builder.secret_key = env.secret(&SECRET_KEY_ENV);
        builder
    }

    /// The server or API URL (see the type's docs).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The API key's access key (its `publicValue`), the Basic user name.
    pub fn with_access_key(mut self, access_key: impl Into<String>) -> Self {
        self.access_key = Some(access_key.into());
        self
    }

    /// The API key's secret key (its `secretValue`), the Basic password.
    /// Held as a [`Secret`]: it is never printed.
    pub fn with_secret_key(mut self, secret_key: impl Into<Secret>) -> Self {
        self.secret_key = Some(secret_key.into());
        self
    }

    /// The project (environment) whose volumes to manage, e.g. `1a5`:
    /// requests go to `/v2-beta/projects/1a5/...`. Not needed with an
    /// environment API key.
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The API version, [`ApiVersion::V2Beta`] by default (or the one the
    /// URL names).
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// The storage driver of the volumes `create_volume` makes without a
    /// `volume_type` (`local` by default). Its capabilities decide what
    /// [`capabilities()`](volume_core::BlockStorage::capabilities) reports
    /// once [`Rancher::read_driver`] has read them (as
    /// [`connect`](Self::connect) does).
    pub fn with_driver(mut self, driver: impl Into<String>) -> Self {
        self.driver = Some(driver.into());
        self
    }

    /// Checks the configuration and makes the client, without a request.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the URL or a key is missing or empty,
    /// the URL is not an http(s) URL of a Cattle API root or project, its
    /// version or project disagrees with the one set, or the user-agent
    /// suffix is not a valid header value.
    pub fn build(self) -> Result<Rancher> {
        let raw = self
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input(
                    "url",
                    "no Rancher URL: set CATTLE_URL (or RANCHER_URL) or call with_url",
                )
            })?;
        let access_key = self
            .access_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input(
                    "access_key",
                    "no access key: set CATTLE_ACCESS_KEY (or RANCHER_ACCESS_KEY) or call with_access_key",
                )
            })?;
        if access_key.contains(':') {
            return Err(Error::invalid_input(
                "access_key",
                "cannot hold ':' (it is the user name of HTTP Basic)",
            ));
        }
        let secret_key = match &self.secret_key {
            Some(s) if !s.expose().trim().is_empty() => s,
            _ => {
                return Err(Error::invalid_input(
                    "secret_key",
                    "no secret key: set CATTLE_SECRET_KEY (or RANCHER_SECRET_KEY) or call with_secret_key",
                ))
            }
        };
        let api = parse_api_url(raw)?;
        let version = match (api.version, self.version) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid_input(
                    "api_version",
                    format!("the URL names {a} but {b} was asked for"),
                ))
            }
            (a, b) => b.or(a).unwrap_or_default(),
        };
        let project = match (api.project, self.project) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid_input(
                    "project",
                    format!("the URL names project {a:?} but {b:?} was asked for"),
                ))
            }
            (a, b) => b.or(a).filter(|p| !p.is_empty()),
        };
        let mut base = api.root.clone();
        {
            let mut segments = base
                .path_segments_mut()
                .map_err(|()| Error::invalid_input("url", "cannot be a base URL"))?;
            segments.pop_if_empty().push(version.as_str());
            if let Some(project) = &project {
                segments.push("projects").push(project);
            }
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{access_key}:{}", secret_key.expose()));
        let auth = HeaderAuth::new("Authorization", Secret::new(format!("Basic {basic}")))?;
        let transport = Transport::builder(PROVIDER, base)
            .client_options(&self.options)
            .auth(auth)
            .error_mapper(map_error)
            .build()?;
        Ok(Rancher::from_parts(
            Client::new(transport),
            version,
            project,
            self.driver.unwrap_or_else(|| "local".to_owned()),
        ))
    }

    /// [`build`](Self::build), then [`Rancher::read_driver`]: the client
    /// knows what its default driver's volumes can do (snapshots, sizes)
    /// before it is used.
    ///
    /// # Errors
    /// As `build`; as `read_driver` (the driver does not exist, the
    /// credentials are refused, the server cannot be reached).
    pub async fn connect(self) -> Result<Rancher> {
        let rancher = self.build()?;
        rancher.read_driver().await?;
        Ok(rancher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> ApiUrl {
        parse_api_url(raw).unwrap()
    }

    #[test]
    fn api_urls_are_read() {
        let a = ok("http://h:8080");
        assert_eq!(
            (a.root.as_str(), a.version, a.project),
            ("http://h:8080/", None, None)
        );
        let a = ok("http://h:8080/v1/schemas");
        assert_eq!(a.version, Some(ApiVersion::V1));
        let a = ok("https://proxy/rancher/v2-beta/projects/1a5/");
        assert_eq!(a.root.as_str(), "https://proxy/rancher");
        assert_eq!(a.version, Some(ApiVersion::V2Beta));
        assert_eq!(a.project.as_deref(), Some("1a5"));
        for bad in [
            "ftp://h/v1",
            "http://h:8080/v2-beta/volumes",
            "http://h/v1?x=1",
            "nope",
        ] {
            let e = parse_api_url(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { field, .. } if field == "url"),
                "{bad}: {e:?}"
            );
        }
    }

    fn builder() -> RancherBuilder {
        RancherBuilder::new()
            .with_url("http://h:8080")
            .with_access_key("ak")
            .with_secret_key("s3cret-key")
    }

    #[test]
    fn build_makes_the_base_url_and_checks() {
        let r = builder().build().unwrap();
        assert_eq!(r.base_url().as_str(), "http://h:8080/v2-beta");
        let r = builder()
            .with_api_version(ApiVersion::V1)
            .with_project("1a5")
            .build()
            .unwrap();
        assert_eq!(r.base_url().as_str(), "http://h:8080/v1/projects/1a5");
        assert_eq!(r.project(), Some("1a5"));
        let e = builder()
            .with_url("http://h:8080/v1")
            .with_api_version(ApiVersion::V2Beta)
            .build()
            .unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "api_version"));
        let e = builder()
            .with_url("http://h:8080/v2-beta/projects/1a5")
            .with_project("1a7")
            .build()
            .unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "project"));
        for (b, field) in [
            (RancherBuilder::new(), "url"),
            (builder().with_access_key(" "), "access_key"),
            (builder().with_access_key("a:b"), "access_key"),
            (builder().with_secret_key(""), "secret_key"),
        ] {
            let e = b.build().unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { field: f, .. } if f == field),
                "{e:?}"
            );
        }
    }

    #[test]
    fn from_env_reads_cattle_then_rancher_variables() {
        let env = Env::from_pairs([
            ("RANCHER_URL", "http://r:8080/v2-beta/projects/1a5"),
            ("CATTLE_ACCESS_KEY", "cattle-ak"),
            ("RANCHER_ACCESS_KEY", "rancher-ak"),
            ("RANCHER_SECRET_KEY", "s3cret-env"),
        ]);
        let b = RancherBuilder::from_env_in(&env);
        let shown = format!("{b:?}");
        assert!(
            shown.contains("cattle-ak") && !shown.contains("s3cret"),
            "{shown}"
        );
        let r = b.build().unwrap();
        assert_eq!(r.base_url().as_str(), "http://r:8080/v2-beta/projects/1a5");
        assert!(!format!("{r:?} {r}").contains("s3cret"));
        let env = Env::from_pairs([("CATTLE_URL", "http://c:8080/v1")]);
        let e = RancherBuilder::from_env_in(&env).build().unwrap_err();
        assert!(e.to_string().contains("CATTLE_ACCESS_KEY"), "{e}");
    }
}

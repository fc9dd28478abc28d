//! [`LinodeBuilder`]: configures and makes a [`Linode`] client.

use std::fmt;

use volume_core::http::{redact_url, BearerToken, ClientOptions, Env, Secret, Transport, Url};
use volume_core::{Error, Result};

use crate::client::Client;
use crate::error::{map_error, PROVIDER};
use crate::Linode;

/// The API root clients talk to unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.linode.com/v4";

/// The environment variable [`LinodeBuilder::from_env`] reads the token from.
pub const TOKEN_ENV: &str = "LINODE_TOKEN";

/// The environment variable [`LinodeBuilder::from_env`] reads the API root
/// from, when it is set (a local fake, or `.../v4beta`).
pub const API_URL_ENV: &str = "LINODE_API_URL";

/// Configures a [`Linode`] client.
///
/// ```
/// use std::time::Duration;
/// use volume_core::http::RetryConfig;
/// use volume_linode::LinodeBuilder;
///
/// let linode = LinodeBuilder::new()
///     .with_token("03d084436a6c91fbafd5c4b20c82e5056a2e9ce1635920c30dc8d81dc7a6665c")
///     .with_timeout(Duration::from_secs(30))
///     .with_retry(RetryConfig::default().with_max_retries(5))
///     .with_user_agent_suffix("my-tool/1.0")
///     .build()?;
/// assert_eq!(linode.to_string(), "Linode(api.linode.com)");
/// // Neither the builder nor the client ever prints the token.
/// assert!(!format!("{linode:?}").contains("03d0844"));
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct LinodeBuilder {
    token: Option<Secret>,
    base_url: Option<String>,
    options: ClientOptions,
}

impl fmt::Debug for LinodeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base_url = match &self.base_url {
            Some(raw) => {
                Url::parse(raw).map_or_else(|_| "<not a URL>".to_owned(), |u| redact_url(&u))
            }
            None => DEFAULT_BASE_URL.to_owned(),
        };
        f.debug_struct("LinodeBuilder")
            .field("token", &self.token)
            .field("base_url", &base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for LinodeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LinodeBuilder {
    /// A builder with no token, [`DEFAULT_BASE_URL`] and the default
    /// [`ClientOptions`] (60 s per attempt, the default retries).
    pub fn new() -> Self {
        Self {
            token: None,
            base_url: None,
            options: ClientOptions::new(),
        }
    }

    volume_core::client_options_setters!(options);

    /// A builder configured from the environment: the token from
    /// `LINODE_TOKEN` and, when set, the API root from `LINODE_API_URL`.
    /// Unset variables leave the defaults; [`build`](Self::build) then says
    /// what is missing.
    pub fn from_env() -> Self {
        Self::from_env_in(&Env::process())
    }

    /// [`from_env`](Self::from_env) with the variables of `env`.
    pub fn from_env_in(env: &Env) -> Self {
        let mut builder = Self::new();
        builder.token = env.secret(&[TOKEN_ENV]);
        builder.base_url = env.string(&[API_URL_ENV]);
        builder
    }

    /// The API token (a personal access token or an OAuth access token),
    /// sent as `Authorization: Bearer <token>`. Held as a [`Secret`]: it is
    /// never printed.
    pub fn with_token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The API root, [`DEFAULT_BASE_URL`] by default:
    /// `https://api.linode.com/v4beta` for beta features, or a local fake.
    /// Checked by [`build`](Self::build).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Checks the configuration and makes the client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when there is no token (or an empty one, as
    /// from an empty `LINODE_TOKEN`), the token cannot be sent in a header,
    /// the base URL is not an http(s) URL without credentials, query or
    /// fragment, or the user-agent suffix is not a valid header value.
    pub fn build(self) -> Result<Linode> {
        let token = match self.token {
            Some(token) if !token.expose().trim().is_empty() => token,
            _ => {
                return Err(Error::invalid_input(
                    "token",
                    format!("no Linode API token: set {TOKEN_ENV} or call with_token"),
                ))
            }
        };
        let raw = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = Url::parse(raw.trim())
            .map_err(|e| Error::invalid_input("base_url", format!("is not a URL ({e})")))?;
        let transport = Transport::builder(PROVIDER, base_url)
            .client_options(&self.options)
            .auth(BearerToken::new(token)?)
            .error_mapper(map_error)
            .build()?;
        Ok(Linode::from_client(Client::new(transport)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_checks_what_it_is_given() {
        let e = LinodeBuilder::new().build().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "token"),
            "{e:?}"
        );
        let e = LinodeBuilder::new().with_token(" ").build().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "token"),
            "{e:?}"
        );
        let e = LinodeBuilder::new().with_token("t\n").build().unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        for bad in [
            "not a url",
            "ftp://h/v4",
            "https://u:p@h/v4",
            "https://h/v4?x=1",
        ] {
            let e = LinodeBuilder::new()
                .with_token("t")
                .with_base_url(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { field, .. } if field == "base_url"),
                "{bad}: {e:?}"
            );
            assert!(!e.to_string().contains(":p@"), "{e}");
        }
        let e = LinodeBuilder::new()
            .with_token("t")
            .with_user_agent_suffix("a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    }

    #[test]
    fn from_env_reads_the_token_and_the_api_url() {
        fn env(token: Option<&'static str>, url: Option<&'static str>) -> Env {
            Env::from_fn(move |name| match name {
                TOKEN_ENV => token.map(Into::into),
                API_URL_ENV => url.map(Into::into),
                _ => None,
            })
        }
        let l = LinodeBuilder::from_env_in(&env(
            Some("s3cret-token"),
            Some("http://127.0.0.1:9/v4beta"),
        ))
        .build()
        .unwrap();
        assert_eq!(l.base_url().as_str(), "http://127.0.0.1:9/v4beta");
        assert!(!format!("{l:?}").contains("s3cret"));
        let l = LinodeBuilder::from_env_in(&env(Some("t"), None))
            .build()
            .unwrap();
        assert_eq!(l.base_url().as_str(), DEFAULT_BASE_URL);
        let b = LinodeBuilder::from_env_in(&env(Some("s3cret-token"), None));
        assert!(format!("{b:?}").contains("******") && !format!("{b:?}").contains("s3cret"));
        let e = LinodeBuilder::from_env_in(&env(None, None))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("LINODE_TOKEN"), "{e}");
        let e = LinodeBuilder::from_env_in(&env(Some(""), None))
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "token"),
            "{e:?}"
        );
    }

    #[test]
    fn display_names_the_host() {
        let l = LinodeBuilder::new().with_token("t").build().unwrap();
        assert_eq!(l.to_string(), "Linode(api.linode.com)");
        let l = LinodeBuilder::new()
            .with_token("t")
            .with_base_url("http://127.0.0.1:8080/v4")
            .build()
            .unwrap();
        assert_eq!(l.to_string(), "Linode(127.0.0.1:8080)");
    }

    #[test]
    fn the_http_settings_are_one_client_options() {
        use std::time::Duration;
        use volume_core::http::{ClientOptions, HttpClient, RetryConfig};

        let b = LinodeBuilder::new()
            .with_token("t")
            .with_client_options(ClientOptions::new().with_user_agent_suffix("tool/1"))
            .for_paused_clock()
            .with_timeout(Duration::from_secs(5))
            .with_retry(RetryConfig::none());
        let options = b.client_options();
        assert_eq!(options.timeout(), Some(Duration::from_secs(5)));
        assert_eq!(options.user_agent_suffix(), Some("tool/1"));
        assert_eq!(options.retry().max_retries, 0);
        assert!(options.is_paused_clock());
        assert!(b.with_http_client(HttpClient::new()).build().is_ok());
    }
}

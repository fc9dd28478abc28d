//! [`LunaNodeBuilder`]: configures and makes a [`LunaNode`] client.

use std::fmt;
use std::sync::Arc;

use volume_core::http::{redact_url, ClientOptions, Env, Secret, Transport, Url};
use volume_core::{Error, RegionId, Result};

use crate::auth::{Clock, LunaNodeSigner};
use crate::client::Client;
use crate::error::{classify, map_error, PROVIDER};
use crate::lunanode::Polling;
use crate::rules::DEFAULT_REGION;
use crate::LunaNode;

/// LunaNode's API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://dynamic.lunanode.com/api/";

/// The variables [`LunaNodeBuilder::from_env`] reads the API id from, first
/// found wins (LunaNode's own tools use the first).
pub const API_ID_ENV: [&str; 2] = ["LNDYNAMIC_API_ID", "LUNANODE_API_ID"];

/// The variables the API key is read from, first found wins.
pub const API_KEY_ENV: [&str; 2] = ["LNDYNAMIC_API_KEY", "LUNANODE_API_KEY"];

/// The variable the default region is read from.
pub const REGION_ENV: &str = "LUNANODE_REGION";

/// The length of an API id, as LunaNode's clients check it.
pub const API_ID_LEN: usize = 16;

/// The length of an API key, as LunaNode's clients check it.
pub const API_KEY_LEN: usize = 128;

/// Configures a [`LunaNode`] client: the API id and key, the default
/// region, the endpoint, and the shared [`ClientOptions`].
///
/// ```
/// use volume_lunanode::LunaNodeBuilder;
///
/// let client = LunaNodeBuilder::new()
///     .with_api_id("0123456789abcdef")
///     .with_api_key("k".repeat(128))
///     .with_region("montreal")
///     .build()
///     .unwrap();
/// assert_eq!(client.to_string(), "LunaNode(dynamic.lunanode.com)");
/// assert_eq!(client.region().as_str(), "montreal");
/// ```
#[derive(Clone)]
#[must_use]
pub struct LunaNodeBuilder {
    api_id: Option<String>,
    api_key: Option<Secret>,
    region: Option<String>,
    endpoint: Option<String>,
    options: ClientOptions,
    polling: Polling,
    clock: Clock,
}

impl fmt::Debug for LunaNodeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = self.endpoint.as_ref().map(|raw| {
            Url::parse(raw).map_or_else(|_| "<not a URL>".to_owned(), |u| redact_url(&u))
        });
        f.debug_struct("LunaNodeBuilder")
            .field("api_id", &self.api_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "******"))
            .field("region", &self.region)
            .field("endpoint", &endpoint)
            .field("options", &self.options)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl Default for LunaNodeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LunaNodeBuilder {
    /// A builder with no credentials, region `toronto` and LunaNode's
    /// endpoint.
    pub fn new() -> Self {
        Self {
            api_id: None,
            api_key: None,
            region: None,
            endpoint: None,
            options: ClientOptions::new(),
            polling: Polling::default(),
            clock: Clock::System,
        }
    }

    volume_core::client_options_setters!(options);

    /// A builder from the process environment: [`API_ID_ENV`],
    /// [`API_KEY_ENV`] and [`REGION_ENV`].
    pub fn from_env() -> Self {
        Self::from_env_in(&Env::process())
    }

    /// [`from_env`](Self::from_env) reading `env` (tests).
    pub fn from_env_in(env: &Env) -> Self {
        let mut builder = Self::new();
        builder.api_id = env.string(&API_ID_ENV);
        builder.api_key = env.secret(&API_KEY_ENV);
        builder.region = env.string(&[REGION_ENV]);
        builder
    }

    /// The API id (16 characters).
    pub fn with_api_id(mut self, id: impl Into<String>) -> Self {
        self.api_id = Some(id.into());
        self
    }

    /// The API key (128 characters).
    pub fn with_api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The region volumes are created in when a request names none
    /// (default `toronto`, as LunaNode's).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Another endpoint than [`DEFAULT_ENDPOINT`] (volume-sim's fake, for
    /// one): the URL the actions' `{category}/{action}/` are appended to.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// How the client polls a volume that must settle before an operation
    /// goes on (a create with `attach_to`).
    pub fn with_polling(mut self, polling: Polling) -> Self {
        self.polling = polling;
        self
    }

    /// Signs with this Unix second as the clock (tests; the nonce counter
    /// still never repeats a nonce).
    pub fn with_fixed_time(mut self, unix_seconds: u64) -> Self {
        self.clock = Clock::Fixed(unix_seconds);
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a missing API id or key, one of the
    /// wrong length (as LunaNode's own clients check), a region that is
    /// not a region name, or an endpoint that is not a base URL.
    pub fn build(self) -> Result<LunaNode> {
        let api_id = self.api_id.map(|s| s.trim().to_owned()).unwrap_or_default();
        if api_id.is_empty() {
            return Err(Error::invalid_input(
                "api_id",
                format!(
                    "no LunaNode API id: set {} or call with_api_id",
                    API_ID_ENV[0]
                ),
            ));
        }
        if api_id.chars().count() != API_ID_LEN || !api_id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "api_id",
                format!("must be {API_ID_LEN} visible ASCII characters, as LunaNode's are"),
            ));
        }
        let api_key = match self.api_key {
            Some(k) if !k.is_empty() => k,
            _ => {
                return Err(Error::invalid_input(
                    "api_key",
                    format!(
                        "no LunaNode API key: set {} or call with_api_key",
                        API_KEY_ENV[0]
                    ),
                ))
            }
        };
        let key = api_key.expose();
        if key.chars().count() != API_KEY_LEN || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "api_key",
                format!("must be {API_KEY_LEN} visible ASCII characters, as LunaNode's are"),
            ));
        }
        let region = self.region.as_deref().unwrap_or(DEFAULT_REGION).trim();
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return Err(Error::invalid_input(
                "region",
                format!("{region:?} is not a LunaNode region name (such as toronto)"),
            ));
        }
        let raw = self.endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let endpoint = Url::parse(raw.trim())
            .map_err(|e| Error::invalid_input("endpoint", format!("is not a URL ({e})")))?;
        let signer = LunaNodeSigner {
            api_id,
            api_key,
            clock: self.clock,
            nonces: Arc::default(),
        };
        let transport = Transport::builder(PROVIDER, endpoint)
            .client_options(&self.options)
            .auth(signer)
            .error_mapper(map_error)
            .response_classifier(classify)
            .build()?;
        Ok(LunaNode::from_parts(
            Client::new(transport),
            RegionId::new(region)?,
            self.polling,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef";

    fn key() -> String {
        "k".repeat(128)
    }

    fn ok() -> LunaNodeBuilder {
        LunaNodeBuilder::new().with_api_id(ID).with_api_key(key())
    }

    #[test]
    fn build_checks_lengths_like_the_official_clients() {
        let field = |b: LunaNodeBuilder| match b.build() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(LunaNodeBuilder::new()), "api_id");
        assert_eq!(field(LunaNodeBuilder::new().with_api_id(ID)), "api_key");
        assert_eq!(field(ok().with_api_id("short")), "api_id");
        assert_eq!(field(ok().with_api_key("k".repeat(127))), "api_key");
        assert_eq!(field(ok().with_api_key("k".repeat(129))), "api_key");
        assert_eq!(field(ok().with_region("Toronto 2")), "region");
        assert_eq!(field(ok().with_endpoint("not a url")), "endpoint");
        ok().build().unwrap();
    }

    #[test]
    fn from_env_reads_either_name() {
        let env = |pairs: Vec<(&'static str, String)>| {
            Env::from_fn(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone().into())
            })
        };
        let a = LunaNodeBuilder::from_env_in(&env(vec![
            ("LNDYNAMIC_API_ID", ID.to_owned()),
            ("LNDYNAMIC_API_KEY", key()),
        ]))
        .build()
        .unwrap();
        assert_eq!(a.region().as_str(), "toronto");
        let b = LunaNodeBuilder::from_env_in(&env(vec![
            ("LUNANODE_API_ID", ID.to_owned()),
            ("LUNANODE_API_KEY", key()),
            ("LUNANODE_REGION", "roubaix".to_owned()),
        ]))
        .build()
        .unwrap();
        assert_eq!(b.region().as_str(), "roubaix");
    }

    #[test]
    fn debug_shows_no_key() {
        let b = ok();
        assert!(!format!("{b:?}").contains(&key()));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains(&key()));
    }
}

//! [`ExoscaleBuilder`]: configures and makes an [`Exoscale`] client.

use std::fmt;
use std::time::{Duration, SystemTime};

use volume_core::http::{redact_url, ClientOptions, Env, Secret, Transport, Url};
use volume_core::{Error, RegionId, Result};

use crate::client::Client;
use crate::error::{map_error, PROVIDER};
use crate::sign::{Clock, Exo2, DEFAULT_SIGNATURE_VALIDITY};
use crate::{Exoscale, OperationPolling};

/// The zone clients work in unless told otherwise.
pub const DEFAULT_ZONE: &str = "ch-gva-2";

/// The environment variable [`ExoscaleBuilder::from_env`] reads the API key
/// from.
pub const API_KEY_ENV: &str = "EXOSCALE_API_KEY";

/// The environment variable [`ExoscaleBuilder::from_env`] reads the API
/// secret from.
pub const API_SECRET_ENV: &str = "EXOSCALE_API_SECRET";

/// The environment variable [`ExoscaleBuilder::from_env`] reads the zone
/// from.
pub const ZONE_ENV: &str = "EXOSCALE_ZONE";

/// A zone's API endpoint: `https://api-<zone>.exoscale.com/v2`.
///
/// ```
/// assert_eq!(volume_exoscale::endpoint_of("de-fra-1"), "https://api-de-fra-1.exoscale.com/v2");
/// ```
pub fn endpoint_of(zone: &str) -> String {
    format!("https://api-{zone}.exoscale.com/v2")
}

/// Configures an [`Exoscale`] client.
///
/// ```
/// use std::time::Duration;
/// use volume_core::http::RetryConfig;
/// use volume_exoscale::{ExoscaleBuilder, OperationPolling};
///
/// let exo = ExoscaleBuilder::new()
///     .with_api_key("EXOxxxxxxxxxxxxxxxxxxxxxxxx")
///     .with_api_secret("s3cr3t-s3cr3t")
///     .with_zone("de-fra-1")
///     .with_timeout(Duration::from_secs(30))
///     .with_retry(RetryConfig::default().with_max_retries(5))
///     .with_operation_polling(OperationPolling::default().with_max_wait(Duration::from_secs(300)))
///     .with_user_agent_suffix("my-tool/1.0")
///     .build()?;
/// assert_eq!(exo.to_string(), "Exoscale(de-fra-1)");
/// assert_eq!(exo.endpoint().as_str(), "https://api-de-fra-1.exoscale.com/v2");
/// // Neither the builder nor the client ever prints the secret.
/// assert!(!format!("{exo:?}").contains("s3cr3t"));
/// # Ok::<(), volume_core::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ExoscaleBuilder {
    api_key: Option<String>,
    api_secret: Option<Secret>,
    zone: Option<String>,
    endpoint: Option<String>,
    options: ClientOptions,
    validity: Duration,
    clock: Clock,
    polling: OperationPolling,
}

impl fmt::Debug for ExoscaleBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = self.endpoint.as_ref().map(|raw| {
            Url::parse(raw).map_or_else(|_| "<not a URL>".to_owned(), |u| redact_url(&u))
        });
        f.debug_struct("ExoscaleBuilder")
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
            .field("zone", &self.zone)
            .field("endpoint", &endpoint)
            .field("options", &self.options)
            .field("signature_validity", &self.validity)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl Default for ExoscaleBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ExoscaleBuilder {
    /// A builder with no credentials, zone [`DEFAULT_ZONE`], the default
    /// [`ClientOptions`] (60 s per attempt, the default retries), signatures
    /// valid for 10 minutes and [`OperationPolling::default`].
    pub fn new() -> Self {
        Self {
            api_key: None,
            api_secret: None,
            zone: None,
            endpoint: None,
            options: ClientOptions::new(),
            validity: DEFAULT_SIGNATURE_VALIDITY,
            clock: Clock::system(),
            polling: OperationPolling::default(),
        }
    }

    volume_core::client_options_setters!(options);

    /// A builder configured from the environment: `EXOSCALE_API_KEY`,
    /// `EXOSCALE_API_SECRET` and, when set, `EXOSCALE_ZONE`. Unset variables
    /// leave the defaults; [`build`](Self::build) then says what is missing.
    pub fn from_env() -> Self {
        Self::from_env_in(&Env::process())
    }

    /// [`from_env`](Self::from_env) with the variables of `env`.
    pub fn from_env_in(env: &Env) -> Self {
        let mut builder = Self::new();
        builder.api_key = env.string(&[API_KEY_ENV]);
        builder.api_secret = env.secret(&[API_SECRET_ENV]);
        builder.zone = env.string(&[ZONE_ENV]);
        builder
    }

    /// The API key (`EXO...`), sent as the signature's `credential`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API secret, which keys the signatures. Held as a [`Secret`]: it
    /// is never printed, and never sent.
    pub fn with_api_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// The zone, [`DEFAULT_ZONE`] by default. The endpoint is
    /// `https://api-<zone>.exoscale.com/v2` unless
    /// [`with_endpoint`](Self::with_endpoint) says otherwise; volumes,
    /// snapshots and instances carry the zone as their region.
    pub fn with_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }

    /// The API endpoint (with its `/v2`), instead of the zone's: a local
    /// fake, or a proxy. The zone ([`with_zone`](Self::with_zone)) still
    /// names the region. Checked by [`build`](Self::build).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// How long each signature is valid (its `expires` is now plus this):
    /// 10 minutes by default, as Exoscale's own clients sign. Each attempt
    /// of a request is signed afresh.
    pub fn with_signature_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// The clock signatures are dated by (the system's by default).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Dates every signature by `at`, so that signatures can be pinned in
    /// tests: [`with_clock`](Self::with_clock) with [`Clock::fixed`].
    pub fn with_fixed_time(self, at: SystemTime) -> Self {
        self.with_clock(Clock::fixed(at))
    }

    /// How operations are waited for ([`OperationPolling::default`], the
    /// cadence of Exoscale's own clients, by default).
    pub fn with_operation_polling(mut self, polling: OperationPolling) -> Self {
        self.polling = polling;
        self
    }

    /// Checks the configuration and makes the client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the API key or secret is missing or
    /// empty (as from an empty environment variable), the key cannot be sent
    /// in a header, the zone is not a valid zone name, the endpoint is not an
    /// http(s) URL without credentials, query or fragment, or the user-agent
    /// suffix is not a valid header value.
    pub fn build(self) -> Result<Exoscale> {
        let key = match self.api_key {
            Some(key) if !key.trim().is_empty() => key.trim().to_owned(),
            _ => {
                return Err(Error::invalid_input(
                    "api_key",
                    format!("no Exoscale API key: set {API_KEY_ENV} or call with_api_key"),
                ))
            }
        };
        if key.chars().any(|c| c.is_control() || c == ',' || c == ' ') {
            return Err(Error::invalid_input(
                "api_key",
                "cannot be sent in the signature (it holds a control character, a space or a comma)",
            ));
        }
        let secret = match self.api_secret {
            Some(secret) if !secret.is_empty() => secret,
            _ => {
                return Err(Error::invalid_input(
                    "api_secret",
                    format!("no Exoscale API secret: set {API_SECRET_ENV} or call with_api_secret"),
                ))
            }
        };
        let zone = self.zone.as_deref().unwrap_or(DEFAULT_ZONE).trim();
        if zone.is_empty()
            || !zone
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid_input(
                "zone",
                format!("{zone:?} is not an Exoscale zone name (such as ch-gva-2)"),
            ));
        }
        let raw = self.endpoint.unwrap_or_else(|| endpoint_of(zone));
        let endpoint = Url::parse(raw.trim())
            .map_err(|e| Error::invalid_input("endpoint", format!("is not a URL ({e})")))?;
        let signer = Exo2 {
            key,
            secret,
            validity: self.validity,
            clock: self.clock,
        }
        .into_signer();
        let transport = Transport::builder(PROVIDER, endpoint)
            .client_options(&self.options)
            .auth(signer)
            .error_mapper(map_error)
            .build()?;
        let client = Client::new(transport);
        Ok(Exoscale::from_parts(
            client,
            RegionId::new(zone)?,
            self.polling,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> ExoscaleBuilder {
        ExoscaleBuilder::new()
            .with_api_key("EXOkey")
            .with_api_secret("s3cr3t")
    }

    #[test]
    fn build_checks_what_it_is_given() {
        let field = |b: ExoscaleBuilder| match b.build() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ExoscaleBuilder::new()), "api_key");
        assert_eq!(
            field(ExoscaleBuilder::new().with_api_key("k")),
            "api_secret"
        );
        assert_eq!(field(ok().with_api_key("a,b")), "api_key");
        assert_eq!(field(ok().with_api_secret("")), "api_secret");
        assert_eq!(field(ok().with_zone("CH GVA")), "zone");
        for bad in [
            "not a url",
            "ftp://h/v2",
            "https://u:p@h/v2",
            "https://h/v2?x=1",
        ] {
            let e = ok().with_endpoint(bad).build().unwrap_err();
            assert!(matches!(e, Error::InvalidInput { .. }), "{bad}: {e:?}");
            assert!(!e.to_string().contains(":p@"), "{e}");
        }
        assert!(matches!(
            ok().with_user_agent_suffix("a\nb").build(),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn from_env_reads_key_secret_and_zone() {
        fn env(
            key: Option<&'static str>,
            secret: Option<&'static str>,
            zone: Option<&'static str>,
        ) -> Env {
            Env::from_fn(move |name| match name {
                API_KEY_ENV => key.map(Into::into),
                API_SECRET_ENV => secret.map(Into::into),
                ZONE_ENV => zone.map(Into::into),
                _ => None,
            })
        }
        let e =
            ExoscaleBuilder::from_env_in(&env(Some("EXOk"), Some("s3cr3t-val"), Some("at-vie-1")))
                .build()
                .unwrap();
        assert_eq!(e.zone().as_str(), "at-vie-1");
        assert_eq!(
            e.endpoint().as_str(),
            "https://api-at-vie-1.exoscale.com/v2"
        );
        assert!(!format!("{e:?}").contains("s3cr3t"));
        let e = ExoscaleBuilder::from_env_in(&env(Some("EXOk"), Some("s"), None))
            .build()
            .unwrap();
        assert_eq!(e.zone().as_str(), DEFAULT_ZONE);
        let b = ExoscaleBuilder::from_env_in(&env(Some("EXOk"), Some("s3cr3t-val"), None));
        let shown = format!("{b:?}");
        assert!(
            shown.contains("******") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        let e = ExoscaleBuilder::from_env_in(&env(None, None, None))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains(API_KEY_ENV), "{e}");
        let e = ExoscaleBuilder::from_env_in(&env(Some("k"), None, None))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains(API_SECRET_ENV), "{e}");
    }

    #[test]
    fn an_endpoint_keeps_the_zone() {
        let e = ok()
            .with_zone("de-muc-1")
            .with_endpoint("http://127.0.0.1:8080/v2")
            .build()
            .unwrap();
        assert_eq!(e.zone().as_str(), "de-muc-1");
        assert_eq!(e.endpoint().as_str(), "http://127.0.0.1:8080/v2");
        assert_eq!(e.to_string(), "Exoscale(de-muc-1)");
    }
}

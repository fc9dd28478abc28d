//! The toolkit for provider authors: everything a provider crate needs to
//! talk HTTP, written once.
//!
//! Like OpenDAL's `raw` module, this is for developers of new providers, not
//! for users of the clients. Every provider gets the same URL encoding (an
//! id is always exactly one path segment), the same retry rules (never
//! blindly repeat a create), the same redaction of credentials, and the
//! same mapping of answers to [`Error`](crate::Error). A provider describes
//! a [`Request`], sends it through its one [`Transport`], and supplies only
//! what is its own.
//!
//! # What a provider crate writes
//!
//! | file | what it holds |
//! | --- | --- |
//! | `wire.rs` | serde types of the provider's JSON, crate-private |
//! | `convert.rs` | wire types to and from volume-core's model |
//! | `error.rs` | `PROVIDER`, one `map_error(&ErrorContext) -> Error` for non-2xx answers, and a classifier where the API answers errors with 2xx |
//! | `client.rs` | one `async fn` per endpoint: a [`Request`] through the [`Transport`] |
//! | `rules.rs` | the provider's documented limits, checked before sending |
//! | `<provider>.rs` | the public client type and the operations only it has |
//! | `storage.rs` | a thin `impl BlockStorage` over the client type |
//! | `builder.rs` | credentials plus one [`ClientOptions`] (setters from [`client_options_setters!`](crate::client_options_setters)), and `build()` making the [`Transport`] |
//! | `auth.rs` | only for a scheme none of [`auth`]'s types covers: an [`Authenticate`] impl |
//!
//! # Which hook serves which protocol need
//!
//! | need | hook |
//! | --- | --- |
//! | an id in the path | [`Request::new`] and friends: each segment encoded on its own, `.`/`..` refused |
//! | `…/{id}:attach` (Exoscale) | [`Request::action_suffix`]: sent literally, charset checked |
//! | a `next` or action link from an answer (Cinder `volumes_links`, Rancher `pagination.next`) | [`Request::link`] / [`Request::follow`]: refused unless on the endpoint's scheme, host and port |
//! | paging by token | [`paginate`] |
//! | paging by link or marker | [`paginate_links`] |
//! | bearer token (Linode, Rancher) | [`BearerToken`] |
//! | one secret header | [`HeaderAuth`] |
//! | a signature over method, path, query and body (Exoscale) | [`Signer`] |
//! | a signature inside the body with a fresh nonce per attempt (LunaNode) | an [`Authenticate`] returning [`AuthHeaders::with_body`] |
//! | a token that expires, renewed on 401 (Keystone) | [`RefreshingToken`] over a [`TokenSource`] |
//! | an endpoint that comes with the token (Keystone's catalog gives Cinder's URL) | [`Token::with_endpoint`] (or [`AuthHeaders::with_endpoint`]): each attempt is built on it |
//! | a public endpoint on a signed API (Exoscale `GET /zone`) | [`Request::without_auth`] |
//! | error bodies | [`TransportBuilder::error_mapper`] |
//! | errors answered with 200 (LunaNode `{"success":"no"}`) | [`TransportBuilder::response_classifier`]: the error then goes through [`retry_delay`] like any other |
//! | time-out, retries, backoff, user agent, test clock, caller's HTTP client | [`ClientOptions`], applied by [`TransportBuilder::client_options`] |
//!
//! # Modules
//!
//! - [`transport`]: [`Transport`] and its builder, error mapping and classifying.
//! - [`request`]: [`Request`] (what to send) and [`Response`] (what came back).
//! - [`auth`]: the [`Authenticate`] hook and the bearer, header, signing and
//!   refreshing-token authenticators.
//! - [`options`]: [`ClientOptions`], held once by every builder.
//! - [`retry`]: [`RetryConfig`] and [`retry_delay`], the retry decision.
//! - [`backoff`]: jittered exponential backoff (also used by waiters).
//! - [`secret`]: [`Secret`], a credential that prints `******`.
//! - [`pagination`]: a page fetcher turned into a lazy `Stream`.
//!
//! # Example: a provider in miniature
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use serde::Deserialize;
//! use volume_core::http::{
//!     paginate_links, ClientOptions, ErrorContext, HeaderAuth, Request, Secret, Transport, Url,
//! };
//! use volume_core::{Error, ResourceKind, Result};
//!
//! // error.rs
//! const PROVIDER: &str = "acme";
//! fn map_error(ctx: &ErrorContext<'_>) -> Error {
//!     #[derive(Deserialize)]
//!     struct Body { message: String }
//!     match serde_json::from_slice::<Body>(ctx.body) {
//!         Ok(body) => Error::from_status(ctx.api_error(body.message), ctx.kind, ctx.id, ctx.retry_after),
//!         Err(_) => ctx.default_error(),
//!     }
//! }
//! // Only for an API that answers some errors with 200.
//! fn classify(ctx: &ErrorContext<'_>) -> Option<Error> {
//!     let body: serde_json::Value = serde_json::from_slice(ctx.body).ok()?;
//!     (body["success"] == "no").then(|| Error::invalid_input("request", body["error"].to_string()))
//! }
//!
//! // wire.rs
//! #[derive(Deserialize)]
//! struct VolumePage { volumes: Vec<serde_json::Value>, next: Option<String> }
//!
//! // builder.rs
//! /// Configures an [`Acme`] client.
//! #[derive(Debug, Default)]
//! pub struct AcmeBuilder {
//!     token: Option<Secret>,
//!     options: ClientOptions,
//! }
//!
//! impl AcmeBuilder {
//!     volume_core::client_options_setters!(options);
//!
//!     /// The API token.
//!     pub fn with_token(mut self, token: impl Into<Secret>) -> Self {
//!         self.token = Some(token.into());
//!         self
//!     }
//!
//!     /// Makes the client.
//!     pub fn build(self) -> Result<Acme> {
//!         let token = self.token.ok_or_else(|| Error::invalid_input("token", "missing"))?;
//!         let transport = Transport::builder(PROVIDER, Url::parse("https://api.acme.test/v1").unwrap())
//!             .client_options(&self.options)
//!             .auth(HeaderAuth::new("X-Auth-Token", token)?)
//!             .error_mapper(map_error)
//!             .response_classifier(classify)
//!             .build()?;
//!         Ok(Acme { transport })
//!     }
//! }
//!
//! // client.rs and acme.rs
//! /// The client.
//! #[derive(Debug, Clone)]
//! pub struct Acme { transport: Transport }
//!
//! impl Acme {
//!     async fn attach(&self, id: &str) -> Result<()> {
//!         self.transport
//!             .send(Request::put(["volumes", id]).action_suffix(":attach").about(ResourceKind::Volume, id))
//!             .await?;
//!         Ok(())
//!     }
//!
//!     async fn all_volumes(&self) -> Result<Vec<serde_json::Value>> {
//!         let transport = self.transport.clone();
//!         paginate_links(move |next: Option<String>| {
//!             let transport = transport.clone();
//!             async move {
//!                 let request = match next {
//!                     None => Request::get(["volumes"]),
//!                     Some(link) => Request::follow(link),
//!                 };
//!                 let page: VolumePage = transport.send_json(request).await?;
//!                 Ok((page.volumes, page.next))
//!             }
//!         })
//!         .try_collect()
//!         .await
//!     }
//! }
//!
//! # async fn demo() -> Result<()> {
//! let acme = AcmeBuilder::default()
//!     .with_token("t0ken")
//!     .with_timeout(std::time::Duration::from_secs(30))
//!     .build()?;
//! acme.attach("vol-1").await?;
//! let _ = acme.all_volumes().await?;
//! # Ok(()) }
//! ```

mod answer;
pub mod auth;
pub mod backoff;
pub mod env;
pub mod options;
pub mod pagination;
mod path;
pub mod request;
pub mod retry;
pub mod secret;
pub mod transport;

pub use answer::DEFAULT_MAX_RESPONSE_BYTES;
pub use auth::{
    AuthHeaders, AuthRequest, Authenticate, BearerToken, HeaderAuth, RefreshingToken, Signer,
    Token, TokenSource,
};
pub use backoff::{Backoff, BackoffConfig};
pub use env::Env;
pub use options::ClientOptions;
pub use pagination::{paginate, paginate_links};
pub use path::redact_url;
pub use request::{Request, Response};
pub use retry::{is_idempotent, parse_retry_after, retry_delay, RetryConfig};
pub use secret::Secret;
pub use transport::{
    default_error_mapper, ErrorContext, ErrorMapper, ResponseClassifier, Transport,
    TransportBuilder, DEFAULT_TIMEOUT, REQUEST_ID_HEADERS, USER_AGENT_PREFIX,
};

// The HTTP types in this API, so provider crates need no direct dependency.
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Client as HttpClient;
pub use reqwest::{Method, StatusCode};
pub use url::Url;

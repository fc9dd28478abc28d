//! The builder of the Cinder client (template: nothing here yet).
//!
//! `CinderBuilder`: the Keystone credentials (kept as `Secret`s, with a
//! hand-written `Debug` that prints none of them), the region and interface
//! that pick the endpoint from the catalog, an optional endpoint override, and
//! the shared `ClientOptions` (timeout, retry, backoff, user agent, paused
//! clock, a caller's reqwest client). `from_env()` reads `OS_AUTH_URL`,
//! `OS_USERNAME`, `OS_PASSWORD`, `OS_PROJECT_NAME` and the domain variables (or
//! an application credential), as the OpenStack tools read them; `build()`
//! checks them and makes a `Cinder`.
//!
//! Nothing is written here yet: a template must not pretend to work.

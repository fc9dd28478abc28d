//! The builder of the Rancher client (template: nothing here yet).
//!
//! `RancherBuilder`: the API access key and secret key (kept as `Secret`s and
//! sent as HTTP Basic, a header the shared transport's header authenticator
//! handles, so there is no `auth.rs`; `Debug` is written by hand and prints
//! neither), the Rancher URL and project, and the shared `ClientOptions`
//! (timeout, retry, backoff, user agent, paused clock, a caller's reqwest
//! client). `from_env()` reads `RANCHER_URL`, `RANCHER_ACCESS_KEY`,
//! `RANCHER_SECRET_KEY` (and the project id, when the key is an account key),
//! as rancher-compose reads them; `build()` checks them and makes a `Rancher`.
//!
//! Nothing is written here yet: a template must not pretend to work.

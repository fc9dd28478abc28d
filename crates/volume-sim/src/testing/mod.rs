//! Test support for provider crates: what every provider's wire and
//! conformance tests need, written once (feature `testing`).
//!
//! - [`WireRules`] and [`Pinned`]: the pinned-request recorder. A provider's
//!   `tests/wire.rs` says once what every request of its client carries (the
//!   shared transport's `Accept` and `User-Agent`, its authorization), then
//!   pins each request exactly: method, path, query, headers, body. A pinned
//!   request is a wiremock matcher; [`Pinned::mismatches`] says why a
//!   recorded request is not it.
//! - [`catch_all`] and [`strict_server`]: one wiremock fallback that fails
//!   the test, naming the request, when anything no pinned mock expects
//!   arrives (octocrab's `tests/mock_error.rs`).
//! - [`samples`]: the provider's real request and response samples in
//!   `shared/api/<provider>/`, with one rule when the folder is missing
//!   (see [`samples`]).
//! - [`faulted_creates`]: creates with idempotency keys through faults that
//!   hide their outcome, counting duplicates and orphans.
//! - [`Served`]: a conformance factory's backend that owns its fake server,
//!   so `volume_core::conformance_tests!` runs against a client of a fake
//!   without leaking anything.
//! - [`chaos`]: the chaos matrix, every `BlockStorage` operation under every
//!   kind of fault, judged against the engine and a fault-free listing,
//!   seeded and replayable cell by cell.
//!
//! Enable it in a provider crate's `[dev-dependencies]`:
//!
//! ```toml
//! volume-sim = { workspace = true, features = ["testing"] }
//! ```
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use volume_sim::testing::{expect, strict_server, WireRules};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let rules = WireRules::new().with_bearer("t0ken");
//! let server = strict_server().await;
//! expect(&server, rules.pin("GET", "/v4/volumes/1"), 200, json!({"id": 1}), 1).await;
//!
//! // The client under test (here a hand-made request) must send exactly that;
//! // anything else is answered 418 and fails the test when `server` drops.
//! let answer = reqwest::Client::new()
//!     .get(format!("{}/v4/volumes/1", server.uri()))
//!     .header("accept", "application/json")
//!     .header("user-agent", "volume-rs/0.1.0")
//!     .bearer_auth("t0ken")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(answer.status(), 200);
//! # });
//! ```

mod catch_all;
pub mod chaos;
mod faulted;
mod pinned;
mod samples;
mod served;

pub use catch_all::{catch_all, strict_server, AnyRequest};
pub use faulted::{
    faulted_backup_creates, faulted_creates, faulted_snapshot_creates, FaultedCreates,
    HIDING_FAULTS,
};
pub use pinned::{expect, header, json_response, received, Pinned, WireRules};
pub use samples::{samples, Samples, SKIP_SAMPLES_ENV};
pub use served::Served;

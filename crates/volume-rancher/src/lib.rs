//! Rancher 1.x (Cattle) volumes for volume-rs.
//!
//! **Status: template, not yet a client.** This crate has the layout every
//! provider crate of volume-rs follows, with a module per part and a doc comment
//! in each saying what goes there, but no code: there is no `Rancher` client yet, and
//! nothing here talks to Rancher. Until the client exists the crate only
//! re-exports [`volume_core`], so that dependants can name it.
//!
//! The wire reference is `rancher.md` in the shared provider references, and
//! the samples are in its `rancher/` folder. How to write the client, the fake
//! and the tests is in `docs/adding-a-provider.md` at the root of the repository.
//!
//! # Layout
//!
//! - `builder.rs`: `RancherBuilder`, credentials and `ClientOptions`;
//! - `rancher.rs`: the `Rancher` client type and its own operations;
//! - `client.rs`: one `async fn` per endpoint;
//! - `wire.rs`: the provider's JSON as serde types;
//! - `convert.rs`: wire types to volume-core's model;
//! - `error.rs`: `map_error`;
//! - `rules.rs`: what the provider refuses, checked before sending;
//! - `storage.rs`: `impl BlockStorage`, thin, and `CAPABILITIES`;
//! - `tests/conformance.rs`: the battery, wired for when `Rancher` exists.
//!
//! # Feature flags
//!
//! None yet.

mod builder;
mod client;
mod convert;
mod error;
mod rancher;
mod rules;
mod storage;
mod wire;

pub use volume_core;

//! Each provider's wire protocol, served from the [`engine`](crate::engine):
//! the provider kit's fake side.
//!
//! A fake answers a provider's documented endpoints the way the provider
//! does: its status codes, its error bodies, its pagination and its
//! authentication, with the provider's [`Policy`](crate::engine::Policy)
//! enforced by the engine underneath. Provider clients are tested end to end
//! against a fake (a stateful server, not a list of canned answers), and
//! people can point their own tools, official SDKs and CLIs included, at one
//! (see the `volume-sim` binary and [`serve`](crate::serve)).
//!
//! Each fake builds its JSON from the provider's documentation and real
//! recordings on its own, never from a client crate's wire types, so a wrong
//! field name cannot agree on both sides unnoticed.
//!
//! # The kit
//!
//! A provider writes a [`Dialect`]: its routes, its authentication check,
//! its JSON, how it renders a [`Rejection`], and its operations on the
//! engine. [`Fake`] runs every dialect through one pipeline (route,
//! authenticate, rate limit, fault before, engine operation, fault after,
//! finish; logging, panic containment, dropped connections), and
//! [`FakeBuilder`] gives every fake the same settings. A fake is a plain
//! handler, [`FakeRequest`] in and [`FakeResponse`] out: tests mount it on a
//! wiremock server ([`Fake::mount`], [`Fake::start`]); the `volume-sim`
//! binary serves every dialect of the [`registry`] with hyper.
//!
//! | provider | module | path prefix |
//! |---|---|---|
//! | Linode API v4 | [`linode`] | `/v4`, `/v4beta` |
//! | Exoscale API v2 | [`exoscale`] | `/v2` |
//! | LunaNode Dynamic API (volumes) | [`lunanode`] | `/api` |
//! | Rancher 1.x (Cattle) API v2-beta and v1 | [`rancher`] | `/v2-beta`, `/v1` |
//! | OpenStack Keystone v3, Cinder v3, Nova volume attachments | [`cinder`] | `/identity`, `/volume`, `/compute` |
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use volume_sim::fake::{linode::LinodeFake, FakeRequest};
//!
//! let fake = LinodeFake::builder().token("secret", "alice").build();
//! // Request in, response out: no server needed.
//! let mut request = FakeRequest::new(http::Method::GET, "/v4/volumes");
//! request.headers.insert("authorization", "Bearer secret".parse().unwrap());
//! let response = fake.handle(&request);
//! assert_eq!(response.status, 200);
//! # });
//! ```

pub mod cinder;
mod dialect;
pub mod exoscale;
pub mod linode;
pub mod lunanode;
mod message;
mod mock;
mod pipeline;
pub mod rancher;
pub mod registry;
mod reject;

pub use dialect::{Answer, Dialect, Operation, Principal, RateStatus};
pub use message::{Deferred, FakeRequest, FakeResponse};
pub use pipeline::{strip_prefix, Fake, FakeBuilder, FakeOptions, Handler, RateLimit};
pub use reject::{retry_after_secs, RejectKind, Rejection};

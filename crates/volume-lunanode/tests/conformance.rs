//! volume-core's conformance battery against `LunaNode` talking to volume-sim's
//! LunaNode fake on loopback, once both exist.
//!
//! There is no client yet, so there is no test here yet: a battery run against
//! nothing would pass without checking anything. What this file checks today, at
//! compile time, is that the battery is wired into this crate's
//! dev-dependencies.
//!
//! When `LunaNode` and the fake's LunaNode dialect exist, un-comment the factory
//! and the macro line below (adjusting the names to theirs): each case of the
//! battery then runs as a test of its own, against a fresh fake whose server
//! lives exactly as long as the client (`Served`).

// use volume_core::http::RetryConfig;
// use volume_sim::fake::lunanode::LunaNodeFake; // the fake's LunaNode dialect
// use volume_sim::testing::Served;
// use volume_lunanode::{LunaNode, LunaNodeBuilder};
//
// /// A client of a fresh fake, served by a server that lives as long as
// /// the client.
// async fn lunanode() -> Served<LunaNode, LunaNodeFake> {
//     let fake = LunaNodeFake::builder().build();
//     let server = fake.start().await;
//     let client = LunaNodeBuilder::new()
//         // the fake's default credentials, and its base URL on `server`
//         .with_retry(RetryConfig::default())
//         .build()
//         .expect("a client of the fake");
//     Served::new(client, server).with_fake(fake)
// }
//
// volume_core::conformance_tests!(lunanode);

/// The battery this file is to run: naming it here makes the file fail to
/// compile if the battery, or the dev-dependency feature that enables it,
/// goes away before the client arrives.
const _: () = assert!(!volume_core::conformance::CASES.is_empty());

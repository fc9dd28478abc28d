//! volume-core's conformance battery against [`LunaNode`] talking to
//! volume-sim's LunaNode fake on loopback: one test per case, each with a
//! fresh fake (its own engine, seeded VMs, regions and credentials), plus
//! the LunaNode-only cases.
//!
//! The fake's transitions take one simulated second on a clock running 200
//! times faster than the wall clock, so volumes are `creating`, `attaching`
//! ... for a few milliseconds and the battery's waiters see them. The fake
//! runs with the strict nonce rule (any reuse of a nonce is refused), which
//! this client must pass, with a day of allowed skew (see `lunanode()`).

use std::time::Duration;

use volume_core::http::{BackoffConfig, RetryConfig};
use volume_core::wait::{Until, WaitConfig};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateSnapshot, CreateVolume, Error, ResourceKind, Size,
    VolumeState,
};
use volume_lunanode::{LunaNode, LunaNodeBuilder, Polling};
use volume_sim::engine::ClockMode;
use volume_sim::fake::lunanode::{LunaNodeFake, NonceRule, DEFAULT_API_ID, DEFAULT_API_KEY};
use volume_sim::testing::Served;

fn client_of(server: &wiremock::MockServer) -> LunaNode {
    LunaNodeBuilder::new()
        .with_api_id(DEFAULT_API_ID)
        .with_api_key(DEFAULT_API_KEY)
        .with_endpoint(LunaNodeFake::base_url(server))
        .with_retry(RetryConfig::default())
        .with_polling(Polling {
            interval: Duration::from_millis(5),
            max_wait: Duration::from_secs(60),
        })
        .build()
        .expect("a client of the fake")
}

/// A client of a fresh fake, served by a server that lives as long as the
/// client.
async fn lunanode() -> Served<LunaNode, LunaNodeFake> {
    let fake = LunaNodeFake::builder()
        .clock(ClockMode::Wall { speed: 200.0 })
        .nonce_rule(NonceRule::Unique)
        // The battery sends hundreds of requests a second; nonces unique
        // per request then run ahead of the clock by that many seconds.
        .nonce_skew(Duration::from_secs(86_400))
        .build();
    let server = fake.start().await;
    let client = client_of(&server);
    Served::new(client, server).with_fake(fake)
}

volume_core::conformance_tests!(lunanode);

// ----- LunaNode-only cases -------------------------------------------------------

fn wait() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(5), Duration::from_millis(20)),
        Duration::from_secs(30),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicate_to_another_region_and_create_from_the_image() {
    let ln = lunanode().await;
    let v = ln
        .create_volume_and_wait(&CreateVolume::new("source", Size::gib(3)), &wait())
        .await
        .unwrap();
    ln.fake()
        .engine()
        .write_at("default", &v.id, 4096, b"lunanode bytes")
        .unwrap();
    let s = ln
        .create_snapshot(&CreateSnapshot::new(v.id.clone(), "snap"))
        .await
        .unwrap();
    ln.wait_for_snapshot(
        &s.id,
        Until::State(volume_core::SnapshotState::Available),
        &wait(),
    )
    .await
    .unwrap();
    let montreal = volume_core::RegionId::new("montreal").unwrap();
    let image = ln
        .replicate_snapshot(&s.id, "img", &montreal)
        .await
        .unwrap();
    let images = ln.images(Some(&montreal)).await.unwrap();
    assert!(images.iter().any(|i| i.id == image && i.name == "img"));
    assert!(ln
        .images(Some(&"roubaix".parse().unwrap()))
        .await
        .unwrap()
        .is_empty());
    let copy = ln
        .create_volume_from_image("copy", Size::gib(5), &image, Some(&montreal))
        .await
        .unwrap();
    assert_eq!(copy.region, montreal);
    assert_eq!(copy.size, Size::gib(5));
    let mut buf = [0u8; 14];
    ln.fake()
        .engine()
        .read_at("default", &copy.id, 4096, &mut buf)
        .unwrap();
    assert_eq!(&buf, b"lunanode bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_in_200s_map_to_core_errors() {
    let ln = lunanode().await;
    let missing = "999999".parse().unwrap();
    match ln.get_volume(&missing).await.unwrap_err() {
        Error::NotFound { kind, id, api } => {
            assert_eq!((kind, id.as_str()), (ResourceKind::Volume, "999999"));
            assert_eq!(api.unwrap().message, "volume not found");
        }
        other => panic!("{other:?}"),
    }
    let v = ln
        .create_volume_and_wait(&CreateVolume::new("e", Size::gib(1)), &wait())
        .await
        .unwrap();
    match ln.detach_volume(&v.id).await.unwrap_err() {
        Error::InvalidState {
            operation, state, ..
        } => {
            assert_eq!((operation, state.as_str()), ("detach_volume", "available"));
        }
        other => panic!("{other:?}"),
    }
    // A wrong key is refused by the server, in a 200.
    let server = ln.server();
    let wrong = LunaNodeBuilder::new()
        .with_api_id(DEFAULT_API_ID)
        .with_api_key("x".repeat(128))
        .with_endpoint(LunaNodeFake::base_url(server))
        .build()
        .unwrap();
    assert!(matches!(
        wrong.get_volume(&v.id).await.unwrap_err(),
        Error::Unauthenticated { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_words_merge_and_are_kept() {
    // A clock that moves only when told, so each state can be looked at.
    let fake = LunaNodeFake::builder().build();
    let server = fake.start().await;
    let ln = client_of(&server);
    let v = ln
        .create_volume(&CreateVolume::new("s", Size::gib(1)))
        .await
        .unwrap();
    let d = ln.volume_details(&v.id).await.unwrap();
    assert_eq!(d.volume.state, VolumeState::Creating);
    assert_eq!(d.list_status.as_deref(), Some("pending"));
    assert_eq!(d.info_status, "creating");
    assert_eq!(d.volume.raw_state, "creating");
    fake.engine().run_until_quiet();
    let vm = ln
        .vms()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.region == v.region)
        .unwrap();
    let attaching = ln.attach_volume(&v.id, &vm.id).await.unwrap();
    assert_eq!(attaching.state, VolumeState::Attaching);
    fake.engine().run_until_quiet();
    let d = ln.volume_details(&v.id).await.unwrap();
    assert_eq!(d.volume.state, VolumeState::InUse);
    assert_eq!(d.list_status.as_deref(), Some("active"));
    assert_eq!(d.info_status, "in-use");
    assert_eq!(d.volume.attached_to(), Some(&vm.id));
    // Listing alone shows the list's word; list_volumes the merged state.
    let listed = ln.listed_volumes(None).await.unwrap();
    assert_eq!(
        (listed[0].state.clone(), listed[0].raw_state.as_str()),
        (VolumeState::Available, "active")
    );
    let page = ln
        .list_volumes(&volume_core::ListVolumes::new(), None)
        .await
        .unwrap();
    assert_eq!(page.items[0].state, VolumeState::InUse);
    // Extend while attached is refused before anything is sent.
    assert!(matches!(
        ln.resize_volume(&v.id, Size::gib(2)).await.unwrap_err(),
        Error::InvalidState {
            operation: "resize_volume",
            ..
        }
    ));
}

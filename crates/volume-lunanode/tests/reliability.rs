//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key
//! (kept at the end of the label, `<name> vrs-idem=<key>`), 1,000 faulted
//! volume creates make no duplicate and leave no orphan, and neither do
//! faulted snapshot creates.

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::http::RetryConfig;
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateSnapshot, CreateVolume, Error, ListVolumes, Size,
    UpdateVolume, WaitConfig,
};
use volume_lunanode::{LunaNode, LunaNodeBuilder, Polling};
use volume_sim::engine::Delays;
use volume_sim::fake::lunanode::{LunaNodeFake, NonceRule, DEFAULT_API_ID, DEFAULT_API_KEY};
use volume_sim::testing::{faulted_creates, faulted_snapshot_creates};

/// A fake whose transitions are instant (each round deletes what it made)
/// and a client of it.
async fn served() -> (LunaNodeFake, wiremock::MockServer, LunaNode) {
    let fake = LunaNodeFake::builder()
        .delays(Delays::default())
        .nonce_rule(NonceRule::Unique)
        // Thousands of requests in seconds: nonces unique per request run
        // ahead of the clock by that many seconds.
        .nonce_skew(Duration::from_secs(86_400))
        .build();
    let server = fake.start().await;
    let client = LunaNodeBuilder::new()
        .with_api_id(DEFAULT_API_ID)
        .with_api_key(DEFAULT_API_KEY)
        .with_endpoint(LunaNodeFake::base_url(&server))
        .with_retry(RetryConfig::default())
        .with_polling(Polling {
            interval: Duration::from_millis(5),
            max_wait: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    (fake, server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let (fake, _server, client) = served().await;
    let template = CreateVolume::new("idem", Size::gib(1));
    let report = faulted_creates(&client, fake.engine(), &template, 1_000).await;
    println!("{report:?}");
    report.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_rides_in_the_label_and_survives_a_rename() {
    let (_fake, _server, client) = served().await;
    let key = IdempotencyKey::new("name-key").unwrap();
    let created = client
        .create_volume(&CreateVolume::new("data", Size::gib(1)).with_idempotency_key(&key))
        .await
        .unwrap();
    assert_eq!(created.name, "data");
    assert_eq!(created.labels[IDEMPOTENCY_LABEL], "name-key");
    // Every view of it shows the name without the key (the raw label,
    // suffix included, is pinned by tests/wire.rs).
    let listed = client.listed_volumes(None).await.unwrap();
    let details = client.volume_details(&created.id).await.unwrap();
    assert_eq!(details.volume.name, "data");
    assert!(listed
        .iter()
        .any(|v| v.id == created.id && v.name == "data"));
    let found: Vec<_> = client
        .list_all_volumes(ListVolumes::new().with_label(IDEMPOTENCY_LABEL, "name-key"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    // A rename keeps the key.
    let renamed = client
        .update_volume(&created.id, &UpdateVolume::new().with_name("data2"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "data2");
    assert_eq!(renamed.labels[IDEMPOTENCY_LABEL], "name-key");
    // Other labels are still refused; a name with no room for the key too.
    let e = client
        .create_volume(
            &CreateVolume::new("x", Size::gib(1))
                .with_idempotency_key(&key)
                .with_label("team", "a"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "labels"),
        "{e:?}"
    );
    // With the longest key (32), ` vrs-idem=<key>` takes 42 of the 255.
    let long_key = IdempotencyKey::new("k".repeat(32)).unwrap();
    let e = client
        .create_volume(
            &CreateVolume::new("n".repeat(214), Size::gib(1)).with_idempotency_key(&long_key),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "name"),
        "{e:?}"
    );
    let longest = CreateVolume::new("n".repeat(213), Size::gib(1)).with_idempotency_key(&long_key);
    let made = client.create_volume(&longest).await.unwrap();
    assert_eq!(made.name.len(), 213);
    assert_eq!(made.labels[IDEMPOTENCY_LABEL], long_key.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_snapshot_creates_make_no_duplicates_and_no_orphans() {
    const ROUNDS: usize = 100;
    let (fake, _server, client) = served().await;
    let volume = client
        .create_volume_and_wait(
            &CreateVolume::new("snapped", Size::gib(1)),
            &WaitConfig::default(),
        )
        .await
        .unwrap();
    let template = CreateSnapshot::new(volume.id.clone(), "s");
    let report = faulted_snapshot_creates(&client, fake.engine(), &template, ROUNDS).await;
    println!("{report:?}");
    report.assert_clean();
}

//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key
//! (a volume's description `vrs-idem=<key>`, a snapshot's name suffix
//! ` vrs-idem=<key>`), faulted creates make no duplicate and leave no
//! orphan: 1,000 volume creates, and snapshot creates too.

use futures::TryStreamExt;
use volume_core::http::RetryConfig;
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateSnapshot, CreateVolume, Error, ListSnapshots, ListVolumes,
    Size, WaitConfig,
};
use volume_rancher::{ListQuery, Rancher, RancherBuilder, StorageDriver};
use volume_sim::engine::Delays;
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};
use volume_sim::testing::{faulted_creates, faulted_snapshot_creates};

fn builder(url: &str) -> RancherBuilder {
    RancherBuilder::new()
        .with_url(url)
        .with_access_key(DEFAULT_ACCESS_KEY)
        .with_secret_key(DEFAULT_SECRET_KEY)
        .with_project(DEFAULT_PROJECT_ID)
        .with_retry(RetryConfig::default())
}

/// A fake whose transitions are instant (each round deletes what it made),
/// and a client whose default driver takes sizes and has snapshots (read
/// through the API: the client never assumes the fake's names).
async fn served() -> (RancherFake, wiremock::MockServer, Rancher) {
    let fake = RancherFake::builder().delays(Delays::default()).build();
    let server = fake.start().await;
    let url = RancherFake::base_url(&server);
    let probe = builder(&url).build().unwrap();
    let drivers: Vec<StorageDriver> = probe
        .storage_drivers(&ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    let driver = drivers
        .iter()
        .find(|d| {
            d.has_capability(StorageDriver::SNAPSHOT)
                && d.has_capability(StorageDriver::SCHEDULE_SIZE)
        })
        .expect("the fake has a driver with sizes and snapshots")
        .name
        .clone();
    let client = builder(&url).with_driver(driver).connect().await.unwrap();
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
async fn the_key_is_the_description_and_only_that_label_is_kept() {
    let (_fake, _server, client) = served().await;
    let key = IdempotencyKey::new("desc-key").unwrap();
    let request = CreateVolume::new("keyed", Size::gib(1)).with_idempotency_key(&key);
    let created = client.create_volume(&request).await.unwrap();
    assert_eq!(created.labels[IDEMPOTENCY_LABEL], "desc-key");
    assert_eq!(created.labels.len(), 1);
    let raw = client.volume(&created.id).await.unwrap();
    assert_eq!(raw.description.as_deref(), Some("vrs-idem=desc-key"));
    // Found by the server-side filter, and not under another key.
    let found: Vec<_> = client
        .list_all_volumes(ListVolumes::new().with_label(IDEMPOTENCY_LABEL, "desc-key"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    let none: Vec<_> = client
        .list_all_volumes(ListVolumes::new().with_label(IDEMPOTENCY_LABEL, "other"))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // Any other label is still refused, key or not.
    let other = request.clone().with_label("team", "a");
    let e = client.create_volume(&other).await.unwrap_err();
    assert!(matches!(&e, Error::InvalidInput { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_snapshot_creates_make_no_duplicates_and_no_orphans() {
    const ROUNDS: usize = 200;
    let (fake, _server, client) = served().await;
    let wait = WaitConfig::default();
    let volume = client
        .create_volume_and_wait(&CreateVolume::new("snapped", Size::gib(1)), &wait)
        .await
        .unwrap();
    // A returned name other than the one asked for (the key showing
    // through) counts as wrong.
    let template = CreateSnapshot::new(volume.id.clone(), "s");
    let report = faulted_snapshot_creates(&client, fake.engine(), &template, ROUNDS).await;
    println!("{report:?}");
    report.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_name_too_long_for_its_key_is_refused_before_sending() {
    let (_fake, _server, client) = served().await;
    let volume = client
        .create_volume_and_wait(
            &CreateVolume::new("long", Size::gib(1)),
            &WaitConfig::default(),
        )
        .await
        .unwrap();
    let key = IdempotencyKey::random();
    let long = CreateSnapshot::new(volume.id.clone(), "n".repeat(250)).with_idempotency_key(&key);
    let e = client.create_snapshot(&long).await.unwrap_err();
    // The client's own refusal, not the fake's 422 for a long name.
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "name")
            && e.to_string()
                .contains("too long to carry an idempotency key"),
        "{e:?}"
    );
    let snapshots: Vec<_> = client
        .list_all_snapshots(ListSnapshots::new().with_volume(volume.id.clone()))
        .try_collect()
        .await
        .unwrap();
    assert!(snapshots.is_empty(), "{snapshots:?}");
}

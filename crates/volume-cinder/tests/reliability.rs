//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key
//! (kept as the metadata entry `vrs-idem`), 1,000 faulted volume creates
//! make no duplicate and leave no orphan, and neither do faulted snapshot
//! and backup creates.

use futures::TryStreamExt;
use volume_cinder::{Cinder, CinderBuilder, Domain};
use volume_core::http::RetryConfig;
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume, Error, ListBackups,
    Size, WaitConfig,
};
use volume_sim::engine::Delays;
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use volume_sim::testing::{faulted_backup_creates, faulted_creates, faulted_snapshot_creates};

/// A fake whose transitions are instant (each round deletes what it made)
/// serving `max` as its newest microversion, and a client logged in to it.
async fn served(max: &str) -> (CinderFake, wiremock::MockServer, Cinder) {
    let fake = CinderFake::builder()
        .delays(Delays::default())
        .max_microversion(max)
        .build();
    let server = fake.start().await;
    let client = CinderBuilder::new()
        .with_auth_url(CinderFake::auth_url(&server))
        .with_username(DEFAULT_USER, Domain::Name(DEFAULT_DOMAIN.into()))
        .with_password(DEFAULT_PASSWORD)
        .with_project_name(DEFAULT_PROJECT, Domain::Name(DEFAULT_DOMAIN.into()))
        .with_retry(RetryConfig::default())
        .build()
        .unwrap();
    client.connect().await.unwrap();
    (fake, server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let (fake, _server, client) = served("3.71").await;
    let template = CreateVolume::new("idem", Size::gib(1));
    let report = faulted_creates(&client, fake.engine(), &template, 1_000).await;
    println!("{report:?}");
    report.assert_clean();
}

const ROUNDS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_snapshot_and_backup_creates_make_each_once() {
    let (fake, _server, client) = served("3.71").await;
    let volume = client
        .create_volume_and_wait(
            &CreateVolume::new("source", Size::gib(1)),
            &WaitConfig::default(),
        )
        .await
        .unwrap();
    let template = CreateSnapshot::new(volume.id.clone(), "s");
    let report = faulted_snapshot_creates(&client, fake.engine(), &template, ROUNDS).await;
    println!("{report:?}");
    report.assert_clean();
    let template = CreateBackup::new(volume.id.clone(), "b");
    let report = faulted_backup_creates(&client, fake.engine(), &template, ROUNDS).await;
    println!("{report:?}");
    report.assert_clean();
}

/// Backup metadata, where the key is kept, needs microversion 3.43: below
/// it a keyed backup is refused before sending, and nothing is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_backup_below_3_43_is_unsupported() {
    let (_fake, _server, client) = served("3.42").await;
    let volume = client
        .create_volume_and_wait(
            &CreateVolume::new("old", Size::gib(1)),
            &WaitConfig::default(),
        )
        .await
        .unwrap();
    let key = IdempotencyKey::random();
    let e = client
        .create_backup(&CreateBackup::new(volume.id.clone(), "b").with_idempotency_key(&key))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { operation, .. }
            if operation.contains("idempotency key") && operation.contains("3.43")),
        "{e:?}"
    );
    let backups: Vec<_> = client
        .list_all_backups(ListBackups::new())
        .try_collect()
        .await
        .unwrap();
    assert!(backups.is_empty(), "{backups:?}");
    // A keyed snapshot needs no more than 3.0: metadata is there.
    let made = client
        .create_snapshot(&CreateSnapshot::new(volume.id.clone(), "s").with_idempotency_key(&key))
        .await
        .unwrap();
    assert_eq!(
        made.labels.get(IDEMPOTENCY_LABEL),
        Some(&key.as_str().to_owned())
    );
}

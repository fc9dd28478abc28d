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
    BlockStorage, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume, Error, Labels,
    ListBackups, Size, WaitConfig,
};
use volume_sim::engine::{Delays, FaultRule, SimOp};
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use volume_sim::testing::{faulted_creates, faulted_snapshot_creates, HIDING_FAULTS};

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

fn carries(labels: &Labels, key: &IdempotencyKey) -> bool {
    labels.get(IDEMPOTENCY_LABEL).map(String::as_str) == Some(key.as_str())
}

/// The fault of round `i`, on `op`, once.
fn fault(i: usize, op: SimOp) -> FaultRule {
    FaultRule::new(HIDING_FAULTS[i % HIDING_FAULTS.len()]())
        .on(op)
        .times(1)
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
    for i in 0..ROUNDS {
        let key = IdempotencyKey::new(format!("backup-{i}")).unwrap();
        fake.engine().inject(fault(i, SimOp::CreateBackup));
        let request =
            CreateBackup::new(volume.id.clone(), format!("b-{i}")).with_idempotency_key(&key);
        let made = client
            .create_backup(&request)
            .await
            .unwrap_or_else(|e| panic!("backup round {i}: {e}"));
        let all: Vec<_> = client
            .list_all_backups(ListBackups::new().with_volume(volume.id.clone()))
            .try_collect()
            .await
            .unwrap();
        let ids: Vec<_> = all
            .iter()
            .filter(|b| carries(&b.labels, &key))
            .map(|b| &b.id)
            .collect();
        assert_eq!(ids, [&made.id], "backup round {i}: {all:?}");
        client.delete_backup(&made.id).await.unwrap();
    }
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
    assert!(carries(&made.labels, &key));
}

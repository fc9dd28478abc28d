//! The chaos matrix (see `volume_sim::testing::chaos`) against
//! `Rancher` talking to volume-sim's Rancher fake on loopback: every
//! operation under every kind of fault, each cell on a fake of its own
//! with instant transitions, seeded from the cell's seed. The client's
//! default driver is the fake's one with snapshots, so the snapshot
//! operations are in the matrix; Rancher has no backups, attach, update
//! or resize in the core API, and those cells must answer `Unsupported`.

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::http::{BackoffConfig, RetryConfig};
use volume_rancher::{ListQuery, RancherBuilder, StorageDriver};
use volume_sim::engine::Delays;
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};
use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
use volume_sim::testing::Served;

fn builder(url: &str) -> RancherBuilder {
    RancherBuilder::new()
        .with_url(url)
        .with_access_key(DEFAULT_ACCESS_KEY)
        .with_secret_key(DEFAULT_SECRET_KEY)
        .with_project(DEFAULT_PROJECT_ID)
        .with_retry(RetryConfig::default().with_backoff(BackoffConfig::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
        )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-rancher", |seed| async move {
        let fake = RancherFake::builder()
            .delays(Delays::default())
            .seed(seed)
            .build();
        let server = fake.start().await;
        let url = RancherFake::base_url(&server);
        let probe = builder(&url).build().expect("a client of the fake");
        let drivers: Vec<StorageDriver> = probe
            .storage_drivers(&ListQuery::new())
            .try_collect()
            .await
            .expect("the fake lists its storage drivers");
        let driver = drivers
            .iter()
            .find(|d| d.has_capability(StorageDriver::SNAPSHOT))
            .expect("a driver with snapshots")
            .name
            .clone();
        let client = builder(&url)
            .with_driver(driver)
            .connect()
            .await
            .expect("a client of the fake");
        let engine = fake.engine().clone();
        ChaosBackend::new(Served::new(client, server), engine, DEFAULT_PROJECT_ID)
    })
    .await;
    println!("{report}");
    report.assert_clean();
}

//! The chaos matrix (see `volume_sim::testing::chaos`) against `Cinder`
//! talking to volume-sim's Cinder fake (Keystone, Cinder, Nova) on
//! loopback: every operation under every kind of fault, each cell on a
//! fake of its own with instant transitions, seeded from the cell's seed.

use std::time::Duration;

use volume_cinder::{CinderBuilder, Domain};
use volume_core::http::{BackoffConfig, RetryConfig};
use volume_sim::engine::{Delays, SimOp};
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use volume_sim::testing::chaos::{run_matrix, ChaosBackend};
use volume_sim::testing::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_under_every_fault() {
    let report = run_matrix("volume-cinder", |seed| async move {
        let fake = CinderFake::builder()
            .delays(Delays::default())
            .seed(seed)
            .build();
        let server = fake.start().await;
        let client = CinderBuilder::new()
            .with_auth_url(CinderFake::auth_url(&server))
            .with_username(DEFAULT_USER, Domain::Name(DEFAULT_DOMAIN.into()))
            .with_password(DEFAULT_PASSWORD)
            .with_project_name(DEFAULT_PROJECT, Domain::Name(DEFAULT_DOMAIN.into()))
            .with_retry(RetryConfig::default().with_backoff(BackoffConfig::new(
                Duration::from_millis(5),
                Duration::from_millis(50),
            )))
            .build()
            .expect("a client of the fake");
        // Logged in and negotiated, so the capabilities are the fake's.
        client.connect().await.expect("logged in to the fake");
        let engine = fake.engine().clone();
        let tenant = fake.project_id().to_owned();
        // A clone is `POST /volumes` with `source_volid`: the fake counts a create.
        ChaosBackend::new(Served::new(client, server), engine, tenant)
            .with_route(SimOp::CloneVolume, SimOp::CreateVolume)
    })
    .await;
    println!("{report}");
    report.assert_clean();
}

//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key
//! (kept as the volume metadata entry `vrs-idem`), 1,000 faulted creates
//! make no duplicate and leave no orphan.

use volume_cinder::{CinderBuilder, Domain};
use volume_core::http::RetryConfig;
use volume_core::{CreateVolume, Size};
use volume_sim::engine::Delays;
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};
use volume_sim::testing::faulted_creates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let fake = CinderFake::builder()
        // Transitions at once: each round deletes what it made.
        .delays(Delays::default())
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
    let template = CreateVolume::new("idem", Size::gib(1));
    let report = faulted_creates(&client, fake.engine(), &template, 1_000).await;
    println!("{report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.orphans, 0, "{report:?}");
    assert_eq!(report.wrong, 0, "{report:?}");
    assert_eq!(report.succeeded, 1_000, "{report:?}");
}

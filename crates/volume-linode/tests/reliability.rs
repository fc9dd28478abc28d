//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key,
//! 1,000 faulted creates make no duplicate and leave no orphan.

use volume_core::http::RetryConfig;
use volume_core::{BlockStorage, CreateVolume, Size};
use volume_linode::LinodeBuilder;
use volume_sim::engine::Delays;
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TOKEN};
use volume_sim::testing::faulted_creates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let fake = LinodeFake::builder()
        // Transitions at once: each round deletes what it made.
        .delays(Delays::default())
        .build();
    let server = fake.start().await;
    let client = LinodeBuilder::new()
        .with_token(DEFAULT_TOKEN)
        .with_base_url(LinodeFake::base_url(&server))
        .with_retry(RetryConfig::default())
        .build()
        .unwrap();
    let region = client.list_instances(None).await.unwrap().items[0]
        .region
        .clone();
    let template = CreateVolume::new("idem", Size::gib(10)).with_region(region);
    let report = faulted_creates(&client, fake.engine(), &template, 1_000).await;
    println!("{report:?}");
    report.assert_clean();
}

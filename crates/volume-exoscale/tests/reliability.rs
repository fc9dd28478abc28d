//! The client against its fake under faults that hide a create's outcome
//! (a 5xx after the change, a dropped connection): with an idempotency key,
//! 1,000 faulted creates make no duplicate and leave no orphan.

use std::time::Duration;

use volume_core::http::RetryConfig;
use volume_core::{CreateVolume, Size};
use volume_exoscale::{ExoscaleBuilder, OperationPolling};
use volume_sim::engine::Delays;
use volume_sim::fake::exoscale::{ExoscaleFake, DEFAULT_KEY, DEFAULT_SECRET};
use volume_sim::testing::faulted_creates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_creates_make_no_duplicates_and_no_orphans() {
    let fake = ExoscaleFake::builder()
        // Transitions at once: each round deletes what it made.
        .delays(Delays::default())
        .build();
    let server = fake.start().await;
    let client = ExoscaleBuilder::new()
        .with_api_key(DEFAULT_KEY)
        .with_api_secret(DEFAULT_SECRET)
        .with_zone(fake.zone().as_str())
        .with_endpoint(ExoscaleFake::base_url(&server))
        .with_retry(RetryConfig::default())
        .with_operation_polling(OperationPolling::fixed(
            Duration::from_millis(1),
            Duration::from_secs(60),
        ))
        .build()
        .unwrap();
    let template = CreateVolume::new("idem", Size::gib(1));
    let report = faulted_creates(&client, fake.engine(), &template, 1_000).await;
    println!("{report:?}");
    report.assert_clean();
}

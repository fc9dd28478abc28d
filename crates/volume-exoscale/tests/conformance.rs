//! volume-core's conformance battery against [`Exoscale`] talking to
//! volume-sim's Exoscale fake on loopback: one test per case, each with a
//! fresh fake (its own engine, seeded instances, zones and key).
//!
//! The fake's transitions take one or two simulated seconds on a clock
//! running 200 times faster than the wall clock, so operations are pending
//! for a while and the client polls them (every 5 ms here, instead of
//! Exoscale's 3 s).

use std::time::Duration;

use volume_core::http::RetryConfig;
use volume_core::{BlockStorage, CreateSnapshot, CreateVolume, Size};
use volume_exoscale::{Exoscale, ExoscaleBuilder, OperationPolling};
use volume_sim::engine::ClockMode;
use volume_sim::fake::exoscale::{ExoscaleFake, DEFAULT_KEY, DEFAULT_SECRET};
use volume_sim::testing::Served;

/// A client of a fresh fake, served by a server that lives as long as the
/// client.
async fn exoscale() -> Served<Exoscale, ExoscaleFake> {
    let fake = ExoscaleFake::builder()
        .clock(ClockMode::Wall { speed: 200.0 })
        .build();
    let server = fake.start().await;
    let client = ExoscaleBuilder::new()
        .with_api_key(DEFAULT_KEY)
        .with_api_secret(DEFAULT_SECRET)
        .with_zone(fake.zone().as_str())
        .with_endpoint(ExoscaleFake::base_url(&server))
        .with_retry(RetryConfig::default())
        .with_operation_polling(OperationPolling::fixed(
            Duration::from_millis(5),
            Duration::from_secs(60),
        ))
        .build()
        .expect("a client of the fake");
    Served::new(client, server).with_fake(fake)
}

volume_core::conformance_tests!(exoscale);

// ----- Exoscale-only operations against the fake ------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_operations_against_the_fake() {
    let exo = exoscale().await;
    let zones = exo.zones().await.unwrap();
    assert!(zones.iter().any(|z| z.name == exo.zone().as_str()));
    // The served zone's endpoint is the fake itself.
    let same = exo.for_zone(exo.zone().as_str()).await.unwrap();
    assert_eq!(same.endpoint(), exo.endpoint());

    let v = exo
        .create_volume(&CreateVolume::new("data", Size::gib(3)).with_label("team", "a"))
        .await
        .unwrap();
    let details = exo.volume_details(&v.id).await.unwrap();
    assert_eq!(details.size_gib(), Some(3));
    assert_eq!(details.labels["team"], "a");
    let s = exo
        .create_snapshot(&CreateSnapshot::new(v.id.clone(), "snap"))
        .await
        .unwrap();
    let renamed = exo
        .update_snapshot(&s.id, Some("renamed"), None)
        .await
        .unwrap();
    assert_eq!(renamed.name, "renamed");
    assert_eq!(exo.snapshot_details(&s.id).await.unwrap().name, "renamed");
    let instance = exo.list_instances(None).await.unwrap().items[0].clone();
    assert_eq!(exo.instance(&instance.id).await.unwrap().id, instance.id);
    exo.delete_snapshot(&s.id).await.unwrap();
    exo.delete_volume(&v.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_by_the_fake() {
    let fake = ExoscaleFake::builder().build();
    let server = fake.start().await;
    let exo = ExoscaleBuilder::new()
        .with_api_key(DEFAULT_KEY)
        .with_api_secret("not-the-secret")
        .with_endpoint(ExoscaleFake::base_url(&server))
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = exo.list_instances(None).await.unwrap_err();
    assert!(
        matches!(e, volume_core::Error::PermissionDenied { .. }),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains("not-the-secret"));
    // The zone list is public: it works all the same.
    assert!(!exo.zones().await.unwrap().is_empty());
}

//! volume-core's conformance battery against [`Linode`] talking to
//! volume-sim's Linode fake on loopback: one test per case, each with a
//! fresh fake (its own engine, seeded instances, regions and token).
//!
//! The fake's transitions (`creating -> active`, `resizing -> active`) take
//! two simulated seconds on a clock running 200 times faster than the wall
//! clock, so the battery's waiters see Linode's transient states.

use futures::TryStreamExt;
use volume_core::http::RetryConfig;
use volume_core::{
    BlockStorage, BlockStorageExt, CreateVolume, Error, InstanceId, ResourceKind, Size, WaitConfig,
};
use volume_linode::{Linode, LinodeBuilder};
use volume_sim::engine::ClockMode;
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TOKEN};
use volume_sim::testing::Served;

/// A client of a fresh fake, served by a server that lives as long as the
/// client.
async fn linode() -> Served<Linode, LinodeFake> {
    let fake = LinodeFake::builder()
        .clock(ClockMode::Wall { speed: 200.0 })
        .build();
    let server = fake.start().await;
    let client = LinodeBuilder::new()
        .with_token(DEFAULT_TOKEN)
        .with_base_url(LinodeFake::base_url(&server))
        .with_retry(RetryConfig::default())
        .build()
        .expect("a client of the fake");
    Served::new(client, server).with_fake(fake)
}

volume_core::conformance_tests!(linode);

// ----- Linode-only operations against the fake -----------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_operations_against_the_fake() {
    let linode = linode().await;
    let wait = WaitConfig::default();
    let instance = linode.list_instances(None).await.unwrap().items[0].clone();
    let v = linode
        .create_volume_and_wait(
            &CreateVolume::new("data", Size::gib(10))
                .with_region(instance.region.clone())
                .with_label("team", "a"),
            &wait,
        )
        .await
        .unwrap();
    linode.attach_volume(&v.id, &instance.id).await.unwrap();
    let on: Vec<_> = linode
        .volumes_of_instance(&instance.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(on.iter().map(|v| &v.id).collect::<Vec<_>>(), [&v.id]);
    let details = linode.volume_details(&v.id).await.unwrap();
    assert_eq!(
        details.linode_id.map(|l| l.to_string()),
        Some(instance.id.to_string())
    );
    assert_eq!(details.tags, ["team=a"]);
    let filtered: Vec<_> = linode
        .list_volumes_filtered(r#"{"+or": [{"label": "data"}, {"label": "other"}]}"#)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let e = linode
        .list_volumes_filtered(r#"{"hardware_type": "nvme"}"#)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "X-Filter"),
        "{e:?}"
    );
    let e = linode
        .volumes_of_instance(&InstanceId::new("2000000001").unwrap())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                kind: ResourceKind::Instance,
                ..
            }
        ),
        "{e:?}"
    );
    let regions = linode.regions().await.unwrap();
    assert!(regions
        .iter()
        .any(|r| r.id == instance.region.as_str() && r.has_block_storage()));
    assert!(!linode.volume_types().await.unwrap().is_empty());
    linode.detach_volume(&v.id).await.unwrap();
    linode.delete_volume_and_wait(&v.id, &wait).await.unwrap();
}

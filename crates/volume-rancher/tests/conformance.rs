//! volume-core's conformance battery against [`Rancher`] talking to
//! volume-sim's Rancher fake on loopback: one test per case, each with a
//! fresh fake. Then the Rancher-only cases: the `actions` map gates what is
//! sent, links to another origin are never followed, revert and restore,
//! pagination through `pagination.next`, filters with modifiers, removed
//! volumes readable by id, Cattle's errors.
//!
//! The fake's transitions take a second or two of simulated time on a
//! clock running 200 times faster than the wall clock, so resources are
//! `transitioning` for a while and the client waits for them.

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::http::{BackoffConfig, RetryConfig};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateVolume, Error, ListVolumes, Size, SnapshotId, VolumeState,
    WaitConfig,
};
use volume_rancher::{
    ListQuery, Modifier, NewVolume, Order, Rancher, RancherBuilder, RancherVolume, Resource,
    StorageDriver, VolumeChanges,
};
use volume_sim::engine::ClockMode;
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};
use volume_sim::testing::Served;

fn builder(url: &str) -> RancherBuilder {
    RancherBuilder::new()
        .with_url(url)
        .with_access_key(DEFAULT_ACCESS_KEY)
        .with_secret_key(DEFAULT_SECRET_KEY)
        .with_retry(RetryConfig::default())
}

/// The name of a storage driver of the fake that has `capability`, read
/// through the API (the client never assumes the fake's names).
async fn driver_with(url: &str, capability: &str, has: bool) -> String {
    let probe = builder(url)
        .with_project(DEFAULT_PROJECT_ID)
        .build()
        .unwrap();
    let drivers: Vec<StorageDriver> = probe
        .storage_drivers(&ListQuery::new())
        .try_collect()
        .await
        .expect("the fake lists its storage drivers");
    drivers
        .iter()
        .find(|d| d.has_capability(capability) == has)
        .unwrap_or_else(|| panic!("the fake has no driver with {capability}: {has} in {drivers:?}"))
        .name
        .clone()
}

/// A client of a fresh fake whose default driver takes sizes and has
/// snapshots, served by a server that lives as long as the client.
async fn rancher() -> Served<Rancher, RancherFake> {
    let fake = RancherFake::builder()
        .clock(ClockMode::Wall { speed: 200.0 })
        .build();
    let server = fake.start().await;
    let url = RancherFake::base_url(&server);
    let driver = driver_with(&url, StorageDriver::SNAPSHOT, true).await;
    let client = builder(&url)
        .with_project(DEFAULT_PROJECT_ID)
        .with_driver(driver)
        .connect()
        .await
        .expect("a client of the fake");
    Served::new(client, server).with_fake(fake)
}

volume_core::conformance_tests!(rancher);

// ----- Rancher-only cases against the fake ------------------------------------

fn wait() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(5), Duration::from_millis(50)),
        Duration::from_secs(60),
    )
}

async fn settled_volume(r: &Rancher, new: &NewVolume) -> RancherVolume {
    let created = r.create(new).await.expect("create");
    assert_eq!(created.name, new.name);
    r.wait_settled(&created, &wait()).await.expect("settled")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_follow_the_default_driver() {
    let r = rancher().await;
    let caps = r.capabilities();
    assert!(caps.snapshots && !caps.backups && !caps.attach && !caps.update);
    assert_eq!(caps.resize, volume_core::ResizeMode::Unsupported);

    let url = RancherFake::base_url(r.server());
    let plain = driver_with(&url, StorageDriver::SNAPSHOT, false).await;
    let local = builder(&url)
        .with_project(DEFAULT_PROJECT_ID)
        .with_driver(&plain)
        .connect()
        .await
        .unwrap();
    assert!(!local.capabilities().snapshots);
    // Before the driver is read, nothing is promised.
    let unread = builder(&url).with_driver(&plain).build().unwrap();
    assert!(!unread.capabilities().snapshots);

    // A volume of a driver without snapshots: no snapshot action, and the
    // core operation says Unsupported instead of sending.
    let v = settled_volume(&local, &NewVolume::new("plain").with_driver(&plain)).await;
    assert!(v.action("snapshot").is_none(), "{:?}", v.actions);
    let e = local
        .create_snapshot(&volume_core::CreateSnapshot::new(
            volume_core::VolumeId::new(v.id.clone()).unwrap(),
            "s",
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_absent_from_the_map_are_refused_before_sending() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    let v = r
        .create(&NewVolume::new("gated").with_driver(&driver))
        .await
        .unwrap();
    let v = r.wait_settled(&v, &wait()).await.unwrap();
    assert_eq!(v.state, "inactive");
    assert!(v.action("purge").is_none());
    // (That nothing is sent is pinned in tests/wire.rs, on a strict server.)
    let e = r.purge(&v).await.unwrap_err();
    match &e {
        Error::InvalidState { state, id, .. } => {
            assert_eq!(state, "inactive");
            assert_eq!(id, &v.id);
        }
        other => panic!("{other:?}"),
    }

    // A stale copy that still offers an action is sent, and Cattle refuses it.
    let removed = r.remove(&v).await.unwrap();
    let removed = r.wait_settled(&removed, &wait()).await.unwrap();
    assert_eq!(removed.state, "removed");
    let e = r.remove(&v).await.unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    let purging = r.purge(&removed).await.unwrap();
    let purged = r.wait_settled(&purging, &wait()).await.unwrap();
    assert_eq!(purged.state, "purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_another_origin_are_not_followed() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    let mut v = settled_volume(&r, &NewVolume::new("links").with_driver(&driver)).await;
    let self_link = v.links["self"].clone();
    let elsewhere = self_link.replace("127.0.0.1", "localhost");
    assert_ne!(elsewhere, self_link);
    v.links.insert("self".into(), elsewhere.clone());
    for (name, url) in v.actions.iter_mut() {
        *url = format!("http://example.invalid:9/x?action={name}");
    }
    let e = r.refresh(&v).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = r.remove(&v).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = r
        .update(&v, &VolumeChanges::new().with_description("x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert!(!e.to_string().contains(DEFAULT_SECRET_KEY));
    // The same volume through its real links is fine.
    let fresh = r
        .refresh(
            &r.volume(&volume_core::VolumeId::new(v.id.clone()).unwrap())
                .await
                .unwrap(),
        )
        .await;
    assert!(fresh.is_ok(), "{fresh:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_backup_revert_and_restore() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    let v = settled_volume(
        &r,
        &NewVolume::new("revert")
            .with_driver(&driver)
            .with_size_mb(1024),
    )
    .await;
    assert_eq!(v.size_mb, Some(1024));
    let snap = r.snapshot(&v, Some("snap-1")).await.unwrap();
    assert_eq!(snap.volume_id.as_deref(), Some(v.id.as_str()));
    assert_eq!(snap.name, "snap-1");
    let snap = r.wait_settled(&snap, &wait()).await.unwrap();
    assert_eq!(snap.state, "created");
    let snaps: Vec<_> = r
        .snapshots(&ListQuery::new().with_eq("volumeId", &v.id))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(snaps.len(), 1);

    let v = r.refresh(&v).await.unwrap();
    let snap_id = SnapshotId::new(snap.id.clone()).unwrap();
    let reverting = r.revert_to_snapshot(&v, &snap_id).await.unwrap();
    assert!(
        reverting.state.starts_with("reverting") || reverting.state == "inactive",
        "{}",
        reverting.state
    );
    let v = r.wait_settled(&reverting, &wait()).await.unwrap();
    assert_eq!(v.state, "inactive");

    // Back the snapshot up, restore the volume from it, remove the backup.
    let backup = r.backup(&snap, "1bt1", Some("bak-1")).await.unwrap();
    assert_eq!(backup.snapshot_id.as_deref(), Some(snap.id.as_str()));
    assert_eq!(backup.name, "bak-1");
    let backup = r.wait_settled(&backup, &wait()).await.unwrap();
    assert_eq!(backup.state, "created");
    let listed: Vec<_> = r
        .backups(&ListQuery::new().with_eq("volumeId", &v.id))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let backup_id = volume_core::BackupId::new(backup.id.clone()).unwrap();
    assert_eq!(r.backup_by_id(&backup_id).await.unwrap().id, backup.id);
    let v = r.refresh(&v).await.unwrap();
    let restoring = r.restore_from_backup(&v, &backup_id).await.unwrap();
    let v = r.wait_settled(&restoring, &wait()).await.unwrap();
    assert_eq!(v.state, "inactive");
    let removed = r.remove_backup(&backup).await.unwrap();
    let removed = r.wait_settled(&removed, &wait()).await.unwrap();
    assert_eq!(removed.state, "removed");

    let removed = r.remove_snapshot(&snap).await.unwrap();
    let removed = r.wait_settled(&removed, &wait()).await.unwrap();
    assert_eq!(removed.state, "removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_pagination_next_and_filters() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    for i in 0..5 {
        r.create(&NewVolume::new(format!("page-{i}")).with_driver(&driver))
            .await
            .unwrap();
    }
    r.create(&NewVolume::new("other").with_driver(&driver))
        .await
        .unwrap();
    let paged: Vec<RancherVolume> = r
        .volumes(
            &ListQuery::new()
                .with_filter("name", Modifier::Prefix, "page-")
                .sorted_by("name", Order::Desc)
                .with_limit(2),
        )
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = paged.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["page-4", "page-3", "page-2", "page-1", "page-0"]);
    // Five volumes in pages of two: three pages, reached through
    // `pagination.next` (the strict wire test pins the requests).
    let ne: Vec<RancherVolume> = r
        .volumes(&ListQuery::new().with_filter("name", Modifier::Ne, "other"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ne.len(), 5);

    // Through the trait: pages of one.
    let all: Vec<volume_core::Volume> = r
        .list_all_volumes(ListVolumes::new().with_page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_volumes_are_readable_by_id_only() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    let v = settled_volume(&r, &NewVolume::new("gone").with_driver(&driver)).await;
    let removing = r.remove(&v).await.unwrap();
    r.wait_settled(&removing, &wait()).await.unwrap();
    let id = volume_core::VolumeId::new(v.id.clone()).unwrap();
    let raw = r.volume(&id).await.unwrap();
    assert!(raw.is_removed(), "{raw:?}");
    let e = r.get_volume(&id).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let listed: Vec<RancherVolume> = r.volumes(&ListQuery::new()).try_collect().await.unwrap();
    assert!(listed.iter().all(|x| x.id != v.id));
    let with_removed: Vec<RancherVolume> = r
        .volumes(&ListQuery::new().including_removed())
        .try_collect()
        .await
        .unwrap();
    assert!(with_removed.iter().any(|x| x.id == v.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cattle_errors_map_to_the_core() {
    let r = rancher().await;
    let driver = r.default_driver().to_owned();
    let v = r
        .create(&NewVolume::new("dup").with_driver(&driver))
        .await
        .unwrap();
    let e = r
        .create(&NewVolume::new("dup").with_driver(&driver))
        .await
        .unwrap_err();
    match &e {
        Error::AlreadyExists { api, .. } => {
            assert_eq!(api.as_deref().unwrap().code.as_deref(), Some("NotUnique"));
        }
        other => panic!("{other:?}"),
    }
    // A size on a driver without `schedule.size`: Cattle's 422 InvalidOption.
    let url = RancherFake::base_url(r.server());
    let plain = driver_with(&url, StorageDriver::SCHEDULE_SIZE, false).await;
    let e = r
        .create(
            &NewVolume::new("sized")
                .with_driver(&plain)
                .with_size_mb(1024),
        )
        .await
        .unwrap_err();
    match &e {
        Error::InvalidInput { api, .. } => {
            assert_eq!(
                api.as_deref().unwrap().code.as_deref(),
                Some("InvalidOption")
            );
        }
        other => panic!("{other:?}"),
    }
    let id = volume_core::VolumeId::new("1v999999").unwrap();
    let e = r.volume(&id).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(e.api().unwrap().code.as_deref(), Some("Not Found"));
    let wrong = builder(&url)
        .with_secret_key("not-the-secret")
        .with_retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = wrong.volume(&id).await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("not-the-secret"));
    assert_eq!(v.name, "dup");

    // Through the trait: created, then available once `inactive`.
    let created = r
        .create_volume(&CreateVolume::new("state", Size::gib(1)))
        .await
        .unwrap();
    assert_eq!(created.state, VolumeState::Creating);
    let ready = r
        .wait_for_volume(
            &created.id,
            volume_core::Until::State(VolumeState::Available),
            &wait(),
        )
        .await
        .unwrap();
    assert_eq!(ready.resource.unwrap().raw_state, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_v1_and_an_environment_scoped_url() {
    let r = rancher().await;
    let origin = r.server().uri();
    let v1 = builder(&format!("{origin}/v1/projects/{DEFAULT_PROJECT_ID}"))
        .build()
        .unwrap();
    assert_eq!(v1.api_version(), volume_rancher::ApiVersion::V1);
    let e = v1.create(&NewVolume::new("v1").with_size_mb(1024)).await;
    assert!(
        matches!(&e, Err(Error::InvalidInput { field, .. }) if field == "sizeMb"),
        "{e:?}"
    );
    let driver = r.default_driver().to_owned();
    let made = v1
        .create(&NewVolume::new("v1").with_driver(&driver))
        .await
        .unwrap();
    let made = v1.wait_settled(&made, &wait()).await.unwrap();
    assert!(made.links["self"].contains("/v1/"), "{:?}", made.links);
    let bare = builder(&format!("{origin}/v2-beta")).build().unwrap();
    let seen: Vec<RancherVolume> = bare.volumes(&ListQuery::new()).try_collect().await.unwrap();
    assert!(seen.iter().any(|x| x.id == made.id));
}

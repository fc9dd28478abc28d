//! Snapshots, and volumes made from them.

use std::collections::BTreeSet;

use super::cx::{
    assert_no_duplicates, expect_invalid_input, expect_not_found, Cx, Must, ANY_OPERATION,
};
use crate::error::{Error, ResourceKind};
use crate::model::{
    CreateSnapshot, CreateVolume, ListSnapshots, ListVolumes, SnapshotId, VolumeSource,
};
use crate::state::VolumeState;
use crate::storage::BlockStorage;

/// When the backend has no snapshots: checks that creating and listing
/// them is `Unsupported` and returns `false`.
async fn snapshots_or_unsupported(cx: &Cx<'_>, volume: &crate::model::Volume) -> bool {
    if cx.caps.snapshots {
        return true;
    }
    cx.expect_unsupported(
        cx.storage
            .create_snapshot(&CreateSnapshot::new(volume.id.clone(), cx.name("snap")))
            .await,
        "create_snapshot",
        "create_snapshot",
    );
    cx.expect_unsupported(
        cx.storage.list_snapshots(&ListSnapshots::new(), None).await,
        "list_snapshots",
        "list_snapshots",
    );
    cx.skip("no snapshots capability");
    false
}

/// A snapshot is created (name, volume, size and region of its volume),
/// becomes available, is found by `get_snapshot` and listed (also by
/// volume); its volume is untouched; once deleted it is not found and not
/// listed, and deleting it again is not found.
pub async fn snapshot_lifecycle(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "snapshot_lifecycle");
    cx.guard(snapshot_lifecycle_in(&cx)).await;
}

async fn snapshot_lifecycle_in(cx: &Cx<'_>) {
    let v = cx.volume("snapped", 1).await;
    if !snapshots_or_unsupported(cx, &v).await {
        return;
    }
    let snap = cx.snapshot(&v, "snap").await;
    let got = cx
        .storage
        .get_snapshot(&snap.id)
        .await
        .must(format_args!("get_snapshot {}", snap.id));
    assert_eq!(got.id, snap.id, "get_snapshot answered another snapshot");
    assert_eq!(got.name, snap.name, "get_snapshot: name");
    assert_eq!(got.size, v.size, "get_snapshot: size");

    let of_volume = cx
        .snapshots(&ListSnapshots::new().with_volume(v.id.clone()))
        .await;
    let ids: Vec<&SnapshotId> = of_volume.iter().map(|s| &s.id).collect();
    assert_eq!(ids, [&snap.id], "snapshots listed for volume {}", v.id);
    let all = cx.snapshots(&ListSnapshots::new()).await;
    assert_eq!(
        all.iter().filter(|s| s.id == snap.id).count(),
        1,
        "list_snapshots lists snapshot {} once",
        snap.id
    );

    let after = cx.get(&v.id).await;
    assert_eq!(
        after.state,
        VolumeState::Available,
        "the volume after its snapshot"
    );
    assert_eq!(after.size, v.size, "the volume after its snapshot");

    cx.delete_snapshot(&snap.id).await;
    let all = cx.snapshots(&ListSnapshots::new()).await;
    assert!(
        !all.iter().any(|s| s.id == snap.id),
        "deleted snapshot {} still listed",
        snap.id
    );
    assert!(
        cx.snapshots(&ListSnapshots::new().with_volume(v.id.clone()))
            .await
            .is_empty(),
        "deleted snapshot still listed for its volume"
    );
    let err = cx
        .storage
        .delete_snapshot(&snap.id)
        .await
        .must_err("deleting a deleted snapshot");
    expect_not_found(
        &err,
        ResourceKind::Snapshot,
        snap.id.as_str(),
        "deleting a deleted snapshot",
    );
    cx.get(&v.id).await;
}

/// Snapshots listed by volume with `page_size(2)`: every snapshot of that
/// volume exactly once, none of another volume's.
pub async fn snapshot_listing_pages(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "snapshot_listing_pages");
    cx.guard(snapshot_listing_pages_in(&cx)).await;
}

async fn snapshot_listing_pages_in(cx: &Cx<'_>) {
    let a = cx.volume("snap-pages-a", 0).await;
    if !snapshots_or_unsupported(cx, &a).await {
        return;
    }
    let b = cx.volume("snap-pages-b", 0).await;
    let mut ours = BTreeSet::new();
    for i in 0..3 {
        ours.insert(cx.snapshot(&a, &format!("snap-page-{i}")).await.id);
    }
    let other = cx.snapshot(&b, "snap-page-other").await;

    let query = ListSnapshots::new()
        .with_volume(a.id.clone())
        .with_page_size(2);
    let mut token = None;
    let mut by_hand = Vec::new();
    for pages in 1.. {
        assert!(
            pages <= 1000,
            "list_snapshots: more than 1000 pages for 3 snapshots"
        );
        let page = cx
            .storage
            .list_snapshots(&query, token.as_ref())
            .await
            .must(format_args!("list_snapshots {query:?} page {pages}"));
        by_hand.extend(page.items.into_iter().map(|s| s.id));
        match page.next {
            Some(next) if Some(&next) == token.as_ref() => {
                panic!("list_snapshots returned token {next:?} twice")
            }
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_no_duplicates(by_hand.iter(), "list_snapshots page by page");
    let by_hand: BTreeSet<SnapshotId> = by_hand.into_iter().collect();
    assert_eq!(
        by_hand, ours,
        "list_snapshots page by page for volume {}",
        a.id
    );
    assert!(!by_hand.contains(&other.id));

    let streamed: BTreeSet<SnapshotId> = cx
        .snapshots(&query)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(streamed, ours, "list_all_snapshots for volume {}", a.id);
}

/// Volumes from a snapshot: of the snapshot's size by default; larger when
/// `volume_from_snapshot_larger` (refused otherwise); smaller refused with
/// `InvalidInput` on `size`; without `volume_from_snapshot`, `Unsupported`.
/// The new volume is independent of the snapshot.
pub async fn volume_from_snapshot(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "volume_from_snapshot");
    cx.guard(volume_from_snapshot_in(&cx)).await;
}

async fn volume_from_snapshot_in(cx: &Cx<'_>) {
    let v = cx.volume("snap-origin", 1).await;
    if !snapshots_or_unsupported(cx, &v).await {
        return;
    }
    let snap = cx.snapshot(&v, "origin-snap").await;
    let request = |what: &str| {
        CreateVolume::from_snapshot(cx.name(what), snap.id.clone())
            .with_labels(cx.own_labels())
            .with_region(v.region.clone())
    };
    let track = |answer: &crate::Result<crate::model::Volume>| {
        if let Ok(v) = answer {
            cx.track_volume(&v.id);
        }
    };

    if !cx.caps.volume_from_snapshot {
        let answer = cx.storage.create_volume(&request("from-snap")).await;
        track(&answer);
        cx.expect_unsupported(answer, ANY_OPERATION, "create_volume from a snapshot");
        cx.skip("no volume_from_snapshot capability");
        return;
    }

    let same = cx.create(&request("from-snap")).await;
    assert_eq!(
        same.size, snap.size,
        "a volume from a snapshot has its size"
    );
    assert_ne!(same.id, v.id);
    assert!(
        matches!(&same.source, VolumeSource::Empty)
            || same.source == VolumeSource::Snapshot(snap.id.clone()),
        "the new volume's source is {:?}",
        same.source
    );

    let larger = request("from-snap-larger").with_size(cx.size(2));
    if cx.caps.volume_from_snapshot_larger {
        let big = cx.create(&larger).await;
        assert_eq!(big.size, cx.size(2), "a larger volume from a snapshot");
    } else {
        let answer = cx.storage.create_volume(&larger).await;
        track(&answer);
        let err = answer.must_err("a larger volume from a snapshot (capability off)");
        assert!(
            matches!(err, Error::Unsupported { .. } | Error::InvalidInput { .. }),
            "a larger volume from a snapshot (capability off): expected Unsupported or \
             InvalidInput; got {err}"
        );
    }

    let smaller = request("from-snap-smaller").with_size(cx.size(0));
    let answer = cx.storage.create_volume(&smaller).await;
    track(&answer);
    let err = answer.must_err(format_args!(
        "a volume of {} from a snapshot of {}",
        cx.size(0),
        snap.size
    ));
    expect_invalid_input(&err, "size", "a volume smaller than its snapshot");
    let listed = cx.list(&ListVolumes::new().with_name(&smaller.name)).await;
    assert!(listed.is_empty(), "a refused create left {listed:?}");

    // The new volume does not depend on the snapshot.
    cx.delete_snapshot(&snap.id).await;
    let after = cx.get(&same.id).await;
    assert_eq!(
        after.state,
        VolumeState::Available,
        "the volume after deleting its snapshot"
    );

    // A deleted snapshot makes no volume.
    let answer = cx
        .storage
        .create_volume(&request("from-deleted-snap"))
        .await;
    track(&answer);
    let err = answer.must_err("create_volume from a deleted snapshot");
    expect_not_found(
        &err,
        ResourceKind::Snapshot,
        snap.id.as_str(),
        "create_volume from a deleted snapshot",
    );
}

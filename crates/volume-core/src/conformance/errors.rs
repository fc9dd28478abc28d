//! Not-found for every kind of id, ids that need escaping, useful error
//! values, and `Unsupported` for everything the capabilities exclude.

use super::cx::{expect_not_found, Cx, Must, ANY_OPERATION};
use crate::capability::ResizeMode;
use crate::error::{Error, ResourceKind};
use crate::model::{
    BackupId, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, InstanceId, ListBackups,
    ListSnapshots, RestoreBackup, SnapshotId, UpdateVolume, Volume, VolumeId, VolumeSource,
};
use crate::state::VolumeState;
use crate::storage::BlockStorage;

/// Ids that must be sent as one escaped path segment.
const ODD_IDS: &[&str] = &[
    "../x?y#z",
    "..",
    ".",
    "a b",
    " leading-space",
    "x/y",
    "%2e%2e",
    "%2F",
    "?",
    "#",
    "a?b=c&d=e",
    "semi;colon",
    "back\\slash",
    "plus+sign",
    "ünïcødé",
    "卷-1",
    "😀",
];

/// Ids made from a real id that a careless client could send to it (or to
/// its parent collection).
fn near_ids(real: &str) -> Vec<String> {
    vec![
        format!("{real}/"),
        format!("{real}?"),
        format!("{real}#"),
        format!("{real}?x=1"),
        format!("{real}/.."),
        format!("./{real}"),
        format!("../{real}"),
        format!("{real} "),
        format!("{real}%20"),
        format!("{real}/attach"),
    ]
}

/// The resize the not-found checks ask for.
fn resize_supported(cx: &Cx<'_>) -> bool {
    cx.caps.resize != ResizeMode::Unsupported
}

/// Every volume operation on `id` (which names nothing) is not-found for
/// the volume, or `Unsupported` where the capabilities exclude it.
async fn volume_ops_not_found(cx: &Cx<'_>, id: &VolumeId, instance: &InstanceId) {
    let s = cx.storage;
    let name = id.as_str();
    let kind = ResourceKind::Volume;
    let what = |op: &str| format!("{op} of volume {name:?}");
    let err = s.get_volume(id).await.must_err(what("get_volume"));
    expect_not_found(&err, kind, name, what("get_volume"));
    let err = s.delete_volume(id).await.must_err(what("delete_volume"));
    expect_not_found(&err, kind, name, what("delete_volume"));
    let update = UpdateVolume::new().with_name(cx.name("renamed"));
    cx.expect_missing(
        cx.caps.update,
        "update_volume",
        s.update_volume(id, &update).await,
        kind,
        name,
        what("update_volume"),
    );
    cx.expect_missing(
        cx.caps.attach,
        "attach_volume",
        s.attach_volume(id, instance).await,
        kind,
        name,
        what("attach_volume"),
    );
    cx.expect_missing(
        cx.caps.attach,
        "detach_volume",
        s.detach_volume(id).await,
        kind,
        name,
        what("detach_volume"),
    );
    cx.expect_missing(
        resize_supported(cx),
        "resize_volume",
        s.resize_volume(id, cx.size(1)).await,
        kind,
        name,
        what("resize_volume"),
    );
    let clone = CloneVolume::new(cx.name("clone-of-nothing"));
    let answer = s.clone_volume(id, &clone).await;
    if let Ok(v) = &answer {
        cx.track_volume(&v.id);
    }
    cx.expect_missing(
        cx.caps.clone,
        "clone_volume",
        answer,
        kind,
        name,
        what("clone_volume"),
    );
    let answer = s
        .create_snapshot(&CreateSnapshot::new(id.clone(), cx.name("snap-of-nothing")))
        .await;
    if let Ok(x) = &answer {
        cx.track_snapshot(&x.id);
    }
    cx.expect_missing(
        cx.caps.snapshots,
        "create_snapshot",
        answer,
        kind,
        name,
        what("create_snapshot"),
    );
    let answer = s
        .create_backup(&CreateBackup::new(id.clone(), cx.name("backup-of-nothing")))
        .await;
    if let Ok(x) = &answer {
        cx.track_backup(&x.id);
    }
    cx.expect_missing(
        cx.caps.backups,
        "create_backup",
        answer,
        kind,
        name,
        what("create_backup"),
    );
}

/// Every snapshot operation on `id` is not-found for the snapshot (or
/// `Unsupported`).
async fn snapshot_ops_not_found(cx: &Cx<'_>, id: &SnapshotId) {
    let s = cx.storage;
    let name = id.as_str();
    let kind = ResourceKind::Snapshot;
    let what = |op: &str| format!("{op} of snapshot {name:?}");
    cx.expect_missing(
        cx.caps.snapshots,
        "get_snapshot",
        s.get_snapshot(id).await,
        kind,
        name,
        what("get_snapshot"),
    );
    cx.expect_missing(
        cx.caps.snapshots,
        "delete_snapshot",
        s.delete_snapshot(id).await,
        kind,
        name,
        what("delete_snapshot"),
    );
    let req = CreateVolume::from_snapshot(cx.name("from-no-snapshot"), id.clone());
    let answer = s.create_volume(&req).await;
    if let Ok(v) = &answer {
        cx.track_volume(&v.id);
    }
    if cx.caps.volume_from_snapshot {
        let err = answer.must_err(what("create_volume from"));
        expect_not_found(&err, kind, name, what("create_volume from"));
    } else {
        cx.expect_unsupported(answer, ANY_OPERATION, what("create_volume from"));
    }
}

/// Every backup operation on `id` is not-found for the backup (or
/// `Unsupported`).
async fn backup_ops_not_found(cx: &Cx<'_>, id: &BackupId, volume: Option<&Volume>) {
    let s = cx.storage;
    let name = id.as_str();
    let kind = ResourceKind::Backup;
    let what = |op: &str| format!("{op} of backup {name:?}");
    let on = cx.caps.backups;
    cx.expect_missing(
        on,
        "get_backup",
        s.get_backup(id).await,
        kind,
        name,
        what("get_backup"),
    );
    cx.expect_missing(
        on,
        "delete_backup",
        s.delete_backup(id).await,
        kind,
        name,
        what("delete_backup"),
    );
    let answer = s
        .restore_backup(id, &RestoreBackup::to_new_volume(cx.name("from-no-backup")))
        .await;
    if let Ok(v) = &answer {
        cx.track_volume(&v.id);
    }
    cx.expect_missing(
        on,
        "restore_backup",
        answer,
        kind,
        name,
        what("restore_backup to a new volume"),
    );
    if let Some(volume) = volume {
        let answer = s
            .restore_backup(id, &RestoreBackup::over_volume(volume.id.clone()))
            .await;
        match answer {
            Err(Error::Unsupported { .. }) if on => {}
            answer => cx.expect_missing(
                on,
                "restore_backup",
                answer,
                kind,
                name,
                what("restore_backup over a volume"),
            ),
        }
        cx.assert_unchanged(volume, &what("restore_backup over a volume"))
            .await;
    }
    let req = CreateVolume::from_backup(cx.name("from-no-backup"), id.clone());
    let answer = s.create_volume(&req).await;
    if let Ok(v) = &answer {
        cx.track_volume(&v.id);
    }
    match answer {
        Err(Error::Unsupported { .. }) => {}
        answer => {
            let err = answer.must_err(what("create_volume from"));
            expect_not_found(&err, kind, name, what("create_volume from"));
        }
    }
}

/// Every volume operation (get, update, delete, attach, detach, resize,
/// clone, snapshot, backup) on an unknown volume id of the backend's own
/// shape is not-found for the volume, and so is cloning through
/// `create_volume`.
pub async fn volume_ids_not_found(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "volume_ids_not_found");
    cx.guard(volume_ids_not_found_in(&cx)).await;
}

async fn volume_ids_not_found_in(cx: &Cx<'_>) {
    let real = cx.volume("nf-ref", 0).await;
    let id: VolumeId = cx
        .unknown_id(Some(real.id.as_str()))
        .parse()
        .expect("valid id");
    let instance = some_instance(cx).await;
    volume_ops_not_found(cx, &id, &instance).await;
    cx.assert_unchanged(&real, "operations on an unknown volume")
        .await;
}

/// An instance to pass to attach: a real one when there is one.
async fn some_instance(cx: &Cx<'_>) -> InstanceId {
    let home = cx.home().await;
    home.instances.first().map_or_else(
        || InstanceId::new(cx.unknown_id(None)).expect("valid id"),
        |i| i.id.clone(),
    )
}

/// Snapshot operations (get, delete, create a volume from it) on an unknown
/// snapshot id are not-found for the snapshot.
pub async fn snapshot_ids_not_found(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "snapshot_ids_not_found");
    cx.guard(snapshot_ids_not_found_in(&cx)).await;
}

async fn snapshot_ids_not_found_in(cx: &Cx<'_>) {
    let like = if cx.caps.snapshots {
        let v = cx.volume("nf-snap-ref", 0).await;
        Some(cx.snapshot(&v, "reference").await.id.into_string())
    } else {
        None
    };
    let id: SnapshotId = cx.unknown_id(like.as_deref()).parse().expect("valid id");
    snapshot_ops_not_found(cx, &id).await;
}

/// Backup operations (get, delete, restore to a new volume and over one,
/// create a volume from it) on an unknown backup id are not-found for the
/// backup, and change nothing.
pub async fn backup_ids_not_found(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "backup_ids_not_found");
    cx.guard(backup_ids_not_found_in(&cx)).await;
}

async fn backup_ids_not_found_in(cx: &Cx<'_>) {
    let v = cx.volume("nf-backup-ref", 1).await;
    let like = if cx.caps.backups {
        Some(cx.backup(&v, "reference", false).await.id.into_string())
    } else {
        None
    };
    let id: BackupId = cx.unknown_id(like.as_deref()).parse().expect("valid id");
    backup_ops_not_found(cx, &id, Some(&v)).await;
}

/// Ids that need percent-encoding (`../x?y#z`, `..`, spaces, slashes,
/// unicode, ...) and ids made from a real id (`<id>/`, `<id>?x=1`,
/// `../<id>`, ...) are not-found for every operation on volumes, snapshots
/// and backups, never another resource; and the real resources are left
/// as they were (a delete sent to the wrong path would remove them).
/// Against a correct client every one of these requests names nothing.
pub async fn odd_ids_are_not_found(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "odd_ids_are_not_found");
    cx.guard(odd_ids_are_not_found_in(&cx)).await;
}

async fn odd_ids_are_not_found_in(cx: &Cx<'_>) {
    let real = cx.volume("odd-ids-reference", 1).await;
    let snap = if cx.caps.snapshots {
        Some(cx.snapshot(&real, "odd-ids-snap").await)
    } else {
        None
    };
    let backup = if cx.caps.backups {
        Some(cx.backup(&real, "odd-ids-backup", false).await)
    } else {
        None
    };
    let instance = some_instance(cx).await;
    let mut ids: Vec<String> = ODD_IDS.iter().map(|s| (*s).to_owned()).collect();
    ids.extend(near_ids(real.id.as_str()));
    if let Some(s) = &snap {
        ids.extend(near_ids(s.id.as_str()));
    }
    if let Some(b) = &backup {
        ids.extend(near_ids(b.id.as_str()));
    }
    for raw in &ids {
        let Ok(vid) = VolumeId::new(raw.as_str()) else {
            panic!("{raw:?} is a valid id");
        };
        volume_ops_not_found(cx, &vid, &instance).await;
        snapshot_ops_not_found(cx, &raw.parse().expect("valid id")).await;
        backup_ops_not_found(cx, &raw.parse().expect("valid id"), None).await;
    }
    cx.assert_unchanged(&real, "operations on odd ids").await;
    if let Some(s) = &snap {
        let got = cx
            .storage
            .get_snapshot(&s.id)
            .await
            .must("get_snapshot after operations on odd ids");
        assert_eq!(
            got.state, s.state,
            "the snapshot after operations on odd ids"
        );
    }
    if let Some(b) = &backup {
        let got = cx
            .storage
            .get_backup(&b.id)
            .await
            .must("get_backup after operations on odd ids");
        assert_eq!(got.state, b.state, "the backup after operations on odd ids");
    }
}

/// Error values say what happened: not-found names the kind and the id it
/// was asked for; `InvalidState` names the resource, its state (the
/// neutral or the provider's word) and the refused operation; `InvalidInput`
/// names the field and a reason; `Unsupported` names the operation and the
/// provider of `capabilities()`; none of them is retryable, and their
/// messages name the id.
pub async fn errors_are_useful(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "errors_are_useful");
    cx.guard(errors_are_useful_in(&cx)).await;
}

async fn errors_are_useful_in(cx: &Cx<'_>) {
    let home = cx.home().await;
    let v = cx.volume_in("useful-errors", 0, home.region.as_ref()).await;

    // Not found.
    let missing: VolumeId = cx
        .unknown_id(Some(v.id.as_str()))
        .parse()
        .expect("valid id");
    let err = cx
        .storage
        .get_volume(&missing)
        .await
        .must_err("get_volume of an unknown id");
    match &err {
        Error::NotFound { kind, id, .. } => {
            assert_eq!(*kind, ResourceKind::Volume, "not-found kind");
            assert_eq!(id, missing.as_str(), "not-found names the id asked for");
        }
        other => panic!("get_volume of an unknown id: expected NotFound; got {other}"),
    }
    assert!(!err.is_retryable(), "not-found is retryable");
    assert!(
        err.to_string().contains(missing.as_str()),
        "the not-found message does not name the id: {err}"
    );

    // Invalid input.
    let req = cx.volume_request(
        "useful-errors-size",
        crate::model::Size::gib(0),
        home.region.as_ref(),
    );
    let answer = cx.storage.create_volume(&req).await;
    if let Ok(x) = &answer {
        cx.track_volume(&x.id);
    }
    let err = answer.must_err("create_volume of 0 GiB");
    match &err {
        Error::InvalidInput { field, reason, .. } => {
            assert_eq!(field, "size", "InvalidInput names the field");
            assert!(!reason.trim().is_empty(), "InvalidInput gives no reason");
        }
        other => panic!("create_volume of 0 GiB: expected InvalidInput; got {other}"),
    }
    assert!(!err.is_retryable(), "invalid input is retryable");
    assert!(
        err.to_string().contains("size"),
        "the message does not name the field: {err}"
    );

    // Invalid state.
    if cx.caps.attach {
        let err = cx
            .storage
            .detach_volume(&v.id)
            .await
            .must_err("detaching a detached volume");
        match &err {
            Error::InvalidState {
                kind,
                id,
                state,
                operation,
                ..
            } => {
                assert_eq!(*kind, ResourceKind::Volume, "InvalidState kind");
                assert_eq!(id, v.id.as_str(), "InvalidState names the volume");
                assert!(
                    state == VolumeState::Available.as_str() || *state == v.raw_state,
                    "InvalidState names state {state:?}; the volume is {:?} ({:?})",
                    v.state.as_str(),
                    v.raw_state
                );
                assert_eq!(
                    *operation, "detach_volume",
                    "InvalidState names the operation"
                );
            }
            other => panic!("detaching a detached volume: expected InvalidState; got {other}"),
        }
        assert!(!err.is_retryable(), "invalid state is retryable");
        let text = err.to_string();
        assert!(
            text.contains(v.id.as_str()) && text.contains("detach"),
            "the InvalidState message names neither the volume nor the operation: {text}"
        );
    } else {
        cx.skip("no attach capability: InvalidState is not checked");
    }

    // Unsupported: the first excluded operation there is.
    if let Some((operation, err)) = first_unsupported(cx, &v).await {
        match &err {
            Error::Unsupported {
                operation: op,
                provider,
            } => {
                assert_eq!(*op, operation, "Unsupported names the operation");
                assert_eq!(
                    *provider, cx.caps.provider,
                    "Unsupported names the provider"
                );
            }
            other => panic!("{operation}: expected Unsupported; got {other}"),
        }
        assert!(!err.is_retryable(), "unsupported is retryable");
        assert!(
            err.to_string().contains(operation),
            "the Unsupported message does not name the operation: {err}"
        );
    }
}

/// The error of the first operation the capabilities exclude, if any.
async fn first_unsupported(cx: &Cx<'_>, v: &Volume) -> Option<(&'static str, Error)> {
    let s = cx.storage;
    let c = &cx.caps;
    let err = if !c.update {
        (
            "update_volume",
            s.update_volume(&v.id, &UpdateVolume::new().with_name(cx.name("x")))
                .await
                .err(),
        )
    } else if c.resize == ResizeMode::Unsupported {
        (
            "resize_volume",
            s.resize_volume(&v.id, cx.size(1)).await.err(),
        )
    } else if !c.clone {
        let answer = s.clone_volume(&v.id, &CloneVolume::new(cx.name("x"))).await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        ("clone_volume", answer.err())
    } else if !c.snapshots {
        (
            "list_snapshots",
            s.list_snapshots(&ListSnapshots::new(), None).await.err(),
        )
    } else if !c.backups {
        (
            "list_backups",
            s.list_backups(&ListBackups::new(), None).await.err(),
        )
    } else {
        return None;
    };
    Some((
        err.0,
        err.1
            .unwrap_or_else(|| panic!("{} is excluded but succeeded", err.0)),
    ))
}

/// Every operation `capabilities()` excludes returns `Unsupported` (naming
/// the operation and the provider), and changes nothing: `update`,
/// `attach` (attach, detach), `resize`, `clone` (`clone_volume` and
/// `VolumeSource::Volume`), `snapshots` (create, get, list, delete),
/// `volume_from_snapshot`, `backups` (create, get, list, delete, restore),
/// `incremental_backups`. Without `labels`, labels are ignored or refused
/// (`InvalidInput` or `Unsupported`), never an error of another kind.
pub async fn unsupported_operations_say_so(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "unsupported_operations_say_so");
    cx.guard(unsupported_operations_say_so_in(&cx)).await;
}

async fn unsupported_operations_say_so_in(cx: &Cx<'_>) {
    let s = cx.storage;
    let c = cx.caps;
    let home = cx.home().await;
    let v = cx.volume_in("unsupported", 0, home.region.as_ref()).await;
    let instance = some_instance(cx).await;
    let mut excluded = Vec::new();

    if !c.update {
        excluded.push("update");
        let update = UpdateVolume::new().with_name(cx.name("renamed"));
        cx.expect_unsupported(
            s.update_volume(&v.id, &update).await,
            "update_volume",
            "update_volume",
        );
    }
    if !c.labels {
        excluded.push("labels");
        let req = cx
            .volume_request("unlabelled", cx.size(0), home.region.as_ref())
            .with_label("ignored", "yes");
        match s.create_volume(&req).await {
            Ok(x) => {
                cx.track_volume(&x.id);
            }
            Err(Error::InvalidInput { .. } | Error::Unsupported { .. }) => {}
            Err(e) => panic!("create_volume with labels (capability off): {e} ({e:?})"),
        }
    }
    if !c.attach {
        excluded.push("attach");
        cx.expect_unsupported(
            s.attach_volume(&v.id, &instance).await,
            "attach_volume",
            "attach_volume",
        );
        cx.expect_unsupported(
            s.detach_volume(&v.id).await,
            "detach_volume",
            "detach_volume",
        );
    }
    if c.resize == ResizeMode::Unsupported {
        excluded.push("resize");
        cx.expect_unsupported(
            s.resize_volume(&v.id, cx.size(1)).await,
            "resize_volume",
            "resize_volume",
        );
    }
    if !c.clone {
        excluded.push("clone");
        let answer = s
            .clone_volume(&v.id, &CloneVolume::new(cx.name("clone")))
            .await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        cx.expect_unsupported(answer, "clone_volume", "clone_volume");
        let req = cx
            .volume_request("clone-by-create", v.size, Some(&v.region))
            .with_source(VolumeSource::Volume(v.id.clone()));
        let answer = s.create_volume(&req).await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        cx.expect_unsupported(answer, ANY_OPERATION, "create_volume from a volume");
    }
    let some_snapshot: SnapshotId = cx.unknown_id(None).parse().expect("valid id");
    if !c.snapshots {
        excluded.push("snapshots");
        let answer = s
            .create_snapshot(&CreateSnapshot::new(v.id.clone(), cx.name("snap")))
            .await;
        if let Ok(x) = &answer {
            cx.track_snapshot(&x.id);
        }
        cx.expect_unsupported(answer, "create_snapshot", "create_snapshot");
        cx.expect_unsupported(
            s.get_snapshot(&some_snapshot).await,
            "get_snapshot",
            "get_snapshot",
        );
        cx.expect_unsupported(
            s.list_snapshots(&ListSnapshots::new(), None).await,
            "list_snapshots",
            "list_snapshots",
        );
        cx.expect_unsupported(
            s.delete_snapshot(&some_snapshot).await,
            "delete_snapshot",
            "delete_snapshot",
        );
    }
    if !c.volume_from_snapshot {
        excluded.push("volume_from_snapshot");
        let from = if c.snapshots {
            cx.snapshot(&v, "snap-for-nothing").await.id
        } else {
            some_snapshot.clone()
        };
        let answer = s
            .create_volume(&CreateVolume::from_snapshot(cx.name("from-snap"), from))
            .await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        cx.expect_unsupported(answer, ANY_OPERATION, "create_volume from a snapshot");
    }
    let some_backup: BackupId = cx.unknown_id(None).parse().expect("valid id");
    if !c.backups {
        excluded.push("backups");
        let answer = s
            .create_backup(&CreateBackup::new(v.id.clone(), cx.name("backup")))
            .await;
        if let Ok(x) = &answer {
            cx.track_backup(&x.id);
        }
        cx.expect_unsupported(answer, "create_backup", "create_backup");
        cx.expect_unsupported(s.get_backup(&some_backup).await, "get_backup", "get_backup");
        cx.expect_unsupported(
            s.list_backups(&ListBackups::new(), None).await,
            "list_backups",
            "list_backups",
        );
        cx.expect_unsupported(
            s.delete_backup(&some_backup).await,
            "delete_backup",
            "delete_backup",
        );
        let answer = s
            .restore_backup(
                &some_backup,
                &RestoreBackup::to_new_volume(cx.name("restored")),
            )
            .await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        cx.expect_unsupported(answer, "restore_backup", "restore_backup");
        let answer = s
            .create_volume(&CreateVolume::from_backup(
                cx.name("from-backup"),
                some_backup.clone(),
            ))
            .await;
        if let Ok(x) = &answer {
            cx.track_volume(&x.id);
        }
        cx.expect_unsupported(answer, ANY_OPERATION, "create_volume from a backup");
    }
    if c.backups && !c.incremental_backups {
        excluded.push("incremental_backups");
        cx.backup(&v, "full", false).await;
        let answer = s
            .create_backup(&CreateBackup::new(v.id.clone(), cx.name("incr")).incremental(true))
            .await;
        if let Ok(x) = &answer {
            cx.track_backup(&x.id);
        }
        cx.expect_unsupported(answer, "create_backup", "an incremental backup");
    }

    cx.assert_unchanged(&v, "operations the capabilities exclude")
        .await;
    if excluded.is_empty() {
        cx.skip("the capabilities exclude nothing");
    }
}

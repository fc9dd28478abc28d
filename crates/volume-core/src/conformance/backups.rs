//! Backups: create, get, list, restore, delete; incremental backups; a
//! backup outlives its volume.

use super::cx::{expect_invalid_state, expect_not_found, expect_refused, Cx, Must};
use crate::error::{Error, ResourceKind};
use crate::model::{
    Backup, BackupId, CreateBackup, CreateVolume, ListBackups, ListVolumes, RestoreBackup, Volume,
};
use crate::state::VolumeState;
use crate::storage::BlockStorage;

/// When the backend has no backups: checks that creating and listing them is
/// `Unsupported` and returns `false`.
async fn backups_or_unsupported(cx: &Cx<'_>, volume: &Volume) -> bool {
    if cx.caps.backups {
        return true;
    }
    cx.expect_unsupported(
        cx.storage
            .create_backup(&CreateBackup::new(volume.id.clone(), cx.name("backup")))
            .await,
        "create_backup",
        "create_backup",
    );
    cx.expect_unsupported(
        cx.storage.list_backups(&ListBackups::new(), None).await,
        "list_backups",
        "list_backups",
    );
    cx.skip("no backups capability");
    false
}

/// Restores `backup` into a new volume named after `what`, waits until it is
/// available and checks it.
async fn restore_new(cx: &Cx<'_>, backup: &Backup, what: &str) -> Volume {
    let name = cx.name(what);
    let answer = cx
        .storage
        .restore_backup(&backup.id, &RestoreBackup::to_new_volume(&name))
        .await
        .must(format_args!("restore_backup {} to a new volume", backup.id));
    cx.track_volume(&answer.id);
    if let Some(source) = &backup.volume_id {
        assert_ne!(
            &answer.id, source,
            "restoring to a new volume answered the source"
        );
    }
    let v = cx
        .wait_volume(&answer.id, VolumeState::Available, "the restored volume")
        .await;
    assert_eq!(v.name, name, "the restored volume's name");
    assert_eq!(v.size, backup.size, "the restored volume's size");
    assert_eq!(v.region, backup.region, "the restored volume's region");
    v
}

/// A full backup is created (not incremental; volume, size, region of its
/// volume), becomes available, is found and listed (also by volume), can be
/// restored into a new volume (through `restore_backup`, and through
/// `create_volume` with `VolumeSource::Backup` unless that is
/// `Unsupported`); once deleted it is not found and not listed, and the
/// restored volume stays.
pub async fn backup_lifecycle(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "backup_lifecycle");
    cx.guard(backup_lifecycle_in(&cx)).await;
}

async fn backup_lifecycle_in(cx: &Cx<'_>) {
    let v = cx.volume("backed-up", 1).await;
    if !backups_or_unsupported(cx, &v).await {
        return;
    }
    let b = cx.backup(&v, "backup", false).await;
    let got = cx
        .storage
        .get_backup(&b.id)
        .await
        .must(format_args!("get_backup {}", b.id));
    assert_eq!(got.id, b.id, "get_backup answered another backup");
    assert_eq!(got.name, b.name, "get_backup: name");
    assert_eq!(got.size, v.size, "get_backup: size");
    assert!(!got.incremental, "get_backup: a full backup is incremental");

    let of_volume = cx
        .backups(&ListBackups::new().with_volume(v.id.clone()))
        .await;
    let ids: Vec<&BackupId> = of_volume.iter().map(|b| &b.id).collect();
    assert_eq!(ids, [&b.id], "backups listed for volume {}", v.id);
    let paged = cx
        .backups(
            &ListBackups::new()
                .with_volume(v.id.clone())
                .with_page_size(1),
        )
        .await;
    assert_eq!(paged.len(), 1, "backups listed with page_size(1)");
    let all = cx.backups(&ListBackups::new()).await;
    assert_eq!(
        all.iter().filter(|x| x.id == b.id).count(),
        1,
        "list_backups lists backup {} once",
        b.id
    );

    let restored = restore_new(cx, &b, "restored").await;
    assert_ne!(restored.id, v.id);

    let req = CreateVolume::from_backup(cx.name("from-backup"), b.id.clone())
        .with_labels(cx.own_labels())
        .with_region(v.region.clone());
    match cx.storage.create_volume(&req).await {
        Ok(answer) => {
            cx.track_volume(&answer.id);
            let nv = cx
                .wait_volume(
                    &answer.id,
                    VolumeState::Available,
                    "the volume from a backup",
                )
                .await;
            assert_eq!(nv.size, b.size, "a volume from a backup has its size");
        }
        Err(Error::Unsupported { .. }) => {
            cx.skip("create_volume from a backup is Unsupported (restore_backup is the way)");
        }
        Err(e) => panic!("create_volume from a backup failed: {e} ({e:?})"),
    }

    cx.delete_backup(&b.id).await;
    let all = cx.backups(&ListBackups::new()).await;
    assert!(
        !all.iter().any(|x| x.id == b.id),
        "deleted backup {} still listed",
        b.id
    );
    let err = cx
        .storage
        .delete_backup(&b.id)
        .await
        .must_err("deleting a deleted backup");
    expect_not_found(
        &err,
        ResourceKind::Backup,
        b.id.as_str(),
        "deleting a deleted backup",
    );
    let after = cx.get(&restored.id).await;
    assert_eq!(
        after.state,
        VolumeState::Available,
        "the restored volume after deleting the backup"
    );
    let source = cx.get(&v.id).await;
    assert_eq!(
        source.state,
        VolumeState::Available,
        "the source volume after its backup"
    );
}

/// Incremental backups, when `incremental_backups`: refused without a prior
/// backup of the volume (`InvalidState` or `InvalidInput`, nothing created);
/// after a full one, an incremental one is marked incremental, listed, and
/// restores. Without the capability, an incremental backup is
/// `Unsupported` while a full one works.
pub async fn incremental_backups(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "incremental_backups");
    cx.guard(incremental_backups_in(&cx)).await;
}

async fn incremental_backups_in(cx: &Cx<'_>) {
    let v = cx.volume("incremental", 0).await;
    if !backups_or_unsupported(cx, &v).await {
        return;
    }
    let incremental = CreateBackup::new(v.id.clone(), cx.name("incr")).incremental(true);
    if !cx.caps.incremental_backups {
        cx.backup(&v, "full", false).await;
        let answer = cx.storage.create_backup(&incremental).await;
        if let Ok(b) = &answer {
            cx.track_backup(&b.id);
        }
        cx.expect_unsupported(answer, "create_backup", "an incremental backup");
        cx.skip("no incremental_backups capability");
        return;
    }

    let answer = cx.storage.create_backup(&incremental).await;
    if let Ok(b) = &answer {
        cx.track_backup(&b.id);
    }
    let err = answer.must_err("an incremental backup of a volume without any backup");
    expect_refused(&err, "an incremental backup of a volume without any backup");
    let listed = cx
        .backups(&ListBackups::new().with_volume(v.id.clone()))
        .await;
    assert!(
        listed.is_empty(),
        "a refused incremental backup left {listed:?}"
    );
    cx.assert_unchanged(&v, "an incremental backup without a full one")
        .await;

    let full = cx.backup(&v, "full", false).await;
    let incr = cx.backup(&v, "incr", true).await;
    assert!(incr.incremental, "an incremental backup is not marked so");
    let mut listed: Vec<BackupId> = cx
        .backups(&ListBackups::new().with_volume(v.id.clone()))
        .await
        .into_iter()
        .map(|b| b.id)
        .collect();
    listed.sort();
    let mut expected = vec![full.id.clone(), incr.id.clone()];
    expected.sort();
    assert_eq!(listed, expected, "backups of volume {}", v.id);

    restore_new(cx, &incr, "restored-incr").await;
    cx.delete_backup(&incr.id).await;
    cx.delete_backup(&full.id).await;
}

/// A backup outlives its volume: after the volume is deleted the backup is
/// still found, available and listed, and restores into a new volume.
pub async fn backup_outlives_volume(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "backup_outlives_volume");
    cx.guard(backup_outlives_volume_in(&cx)).await;
}

async fn backup_outlives_volume_in(cx: &Cx<'_>) {
    let v = cx.volume("short-lived", 1).await;
    if !backups_or_unsupported(cx, &v).await {
        return;
    }
    let b = cx.backup(&v, "survivor", false).await;
    cx.delete_volume(&v.id).await;
    let got = cx
        .storage
        .get_backup(&b.id)
        .await
        .must("get_backup after deleting its volume");
    assert_eq!(
        got.state,
        crate::state::BackupState::Available,
        "the backup after deleting its volume"
    );
    assert_eq!(got.size, b.size, "the backup after deleting its volume");
    let all = cx.backups(&ListBackups::new()).await;
    assert!(
        all.iter().any(|x| x.id == b.id),
        "backup {} is not listed after deleting its volume",
        b.id
    );
    let restored = restore_new(cx, &b, "resurrected").await;
    assert_ne!(
        restored.id, v.id,
        "the restored volume has the deleted volume's id"
    );
}

/// Restoring over an existing volume, where the backend can (a backend that
/// cannot answers `Unsupported`; there is no capability flag for it): the
/// answer is that volume, available after waiting, nothing new is created;
/// over a volume smaller than the backup it is refused with `InvalidInput`,
/// over an attached volume with `InvalidState`, and nothing changes.
pub async fn restore_over_volume(storage: &dyn BlockStorage) {
    let cx = Cx::new(storage, "restore_over_volume");
    cx.guard(restore_over_volume_in(&cx)).await;
}

async fn restore_over_volume_in(cx: &Cx<'_>) {
    let v = cx.volume("restore-source", 1).await;
    if !backups_or_unsupported(cx, &v).await {
        return;
    }
    let b = cx.backup(&v, "restorable", false).await;
    let target = cx.volume_in("restore-target", 2, Some(&v.region)).await;
    let answer = cx
        .storage
        .restore_backup(&b.id, &RestoreBackup::over_volume(target.id.clone()))
        .await;
    match answer {
        Err(Error::Unsupported {
            operation,
            provider,
        }) => {
            assert_eq!(provider, cx.caps.provider, "Unsupported names the provider");
            assert!(!operation.is_empty(), "Unsupported names no operation");
            cx.skip("restoring over an existing volume is Unsupported");
            return;
        }
        Err(e) => panic!(
            "restore_backup over volume {} failed: {e} ({e:?})",
            target.id
        ),
        Ok(restored) => {
            assert_eq!(
                restored.id, target.id,
                "restoring over a volume answered another one"
            );
        }
    }
    let after = cx
        .wait_volume(
            &target.id,
            VolumeState::Available,
            "the restored-over volume",
        )
        .await;
    assert!(
        after.size >= b.size,
        "the restored-over volume shrank below the backup"
    );
    assert_eq!(
        after.name, target.name,
        "restoring over a volume renamed it"
    );
    let ours = cx.list(&ListVolumes::new().with_name(&target.name)).await;
    assert_eq!(
        ours.len(),
        1,
        "restoring over a volume created another: {ours:?}"
    );

    // Over a smaller volume.
    let small = cx.volume_in("restore-small", 0, Some(&v.region)).await;
    let err = cx
        .storage
        .restore_backup(&b.id, &RestoreBackup::over_volume(small.id.clone()))
        .await
        .must_err(format_args!(
            "restoring a backup of {} over a volume of {}",
            b.size, small.size
        ));
    // The request has no size: the field is the volume's (or its size).
    match &err {
        Error::InvalidInput { field, .. } if field == "volume_id" || field == "size" => {}
        other => panic!(
            "restoring over a smaller volume: expected InvalidInput on \"volume_id\" or \
             \"size\"; got {other} ({other:?})"
        ),
    }
    cx.assert_unchanged(&small, "restoring over a smaller volume")
        .await;

    // Over an attached volume.
    if cx.caps.attach {
        let (region, instances) = cx.attach_home().await;
        let busy = cx.volume_in("restore-busy", 2, Some(&region)).await;
        let busy = cx.attach(&busy.id, &instances[0].id).await;
        let err = cx
            .storage
            .restore_backup(&b.id, &RestoreBackup::over_volume(busy.id.clone()))
            .await
            .must_err("restoring over an attached volume");
        expect_invalid_state(&err, "restoring over an attached volume");
        cx.assert_unchanged(&busy, "restoring over an attached volume")
            .await;
        cx.detach(&busy.id).await;
    }
}

//! The two engine operations the Rancher fake added: reverting a volume to
//! one of its snapshots, and backing up a snapshot (rather than its
//! volume's current bytes). Both keep the engine's rules: lifecycle table,
//! ownership, quota, faults.

use std::time::Duration;

use volume_core::{CreateSnapshot, CreateVolume, Error, Size, SnapshotState, VolumeState};
use volume_sim::engine::{Delays, Engine, EngineConfig, Fault, Policy, Quota};

const T: &str = "tenant";
const TICK: Duration = Duration::from_secs(5);

fn engine(delays: Delays) -> Engine {
    {
        let mut config = EngineConfig::default();
        config.policy = Policy::default().with_delays(delays);
        Engine::new(config)
    }
}

fn read(e: &Engine, v: &volume_core::VolumeId) -> Vec<u8> {
    let mut buf = vec![0; 5];
    e.read_at(T, v, 8192, &mut buf).unwrap();
    buf
}

#[test]
fn revert_gives_the_volume_its_snapshot_bytes() {
    let e = engine(Delays::uniform(TICK));
    let v = e
        .with(|c| c.create_volume(T, &CreateVolume::new("v", Size::gib(1)), None))
        .unwrap();
    let other = e
        .with(|c| c.create_volume(T, &CreateVolume::new("w", Size::gib(1)), None))
        .unwrap();
    e.advance(TICK);
    e.write_at(T, &v.id, 8192, b"first").unwrap();
    let s = e
        .with(|c| c.create_snapshot(T, &CreateSnapshot::new(v.id.clone(), "s"), None))
        .unwrap();
    // Not yet available: refused, nothing changed.
    let early = e.with(|c| c.revert_to_snapshot(T, &v.id, &s.id, None));
    assert!(
        matches!(early, Err(Error::InvalidState { .. })),
        "{early:?}"
    );
    e.advance(TICK);
    assert_eq!(
        e.with(|c| c.get_snapshot(T, &s.id)).unwrap().state,
        SnapshotState::Available
    );
    e.write_at(T, &v.id, 8192, b"later").unwrap();
    // Another volume's snapshot, another tenant: refused.
    let wrong = e.with(|c| c.revert_to_snapshot(T, &other.id, &s.id, None));
    assert!(
        matches!(wrong, Err(Error::InvalidInput { .. })),
        "{wrong:?}"
    );
    let stranger = e.with(|c| c.revert_to_snapshot("someone-else", &v.id, &s.id, None));
    assert!(
        matches!(stranger, Err(Error::NotFound { .. })),
        "{stranger:?}"
    );
    assert_eq!(read(&e, &v.id), b"later");

    let reverting = e
        .with(|c| c.revert_to_snapshot(T, &v.id, &s.id, None))
        .unwrap();
    assert_eq!(reverting.state, VolumeState::Restoring);
    assert_eq!(read(&e, &v.id), b"first");
    // A second revert while restoring is refused by the lifecycle table.
    assert!(e
        .with(|c| c.revert_to_snapshot(T, &v.id, &s.id, None))
        .is_err());
    e.advance(TICK);
    assert_eq!(
        e.with(|c| c.get_volume(T, &v.id)).unwrap().state,
        VolumeState::Available
    );
    // The snapshot is untouched by writes after the revert (copy-on-write).
    e.write_at(T, &v.id, 8192, b"again").unwrap();
    let mut snap = vec![0; 5];
    e.read_snapshot_at(T, &s.id, 8192, &mut snap).unwrap();
    assert_eq!(snap, b"first");
}

#[test]
fn a_backup_of_a_snapshot_holds_the_snapshots_bytes() {
    let e = engine(Delays::default());
    let v = e
        .with(|c| c.create_volume(T, &CreateVolume::new("v", Size::gib(1)), None))
        .unwrap();
    e.write_at(T, &v.id, 8192, b"taken").unwrap();
    let s = e
        .with(|c| c.create_snapshot(T, &CreateSnapshot::new(v.id.clone(), "s"), None))
        .unwrap();
    e.write_at(T, &v.id, 8192, b"after").unwrap();
    let b = e.with(|c| c.backup_snapshot(T, &s.id, "b", None)).unwrap();
    assert_eq!(b.volume_id.as_ref(), Some(&v.id));
    let mut buf = vec![0; 5];
    e.read_backup_at(T, &b.id, 8192, &mut buf).unwrap();
    assert_eq!(buf, b"taken");
    // Restored over the volume: the snapshot's bytes come back.
    e.with(|c| {
        c.restore_backup(
            T,
            &b.id,
            &volume_core::RestoreBackup::over_volume(v.id.clone()),
            None,
        )
    })
    .unwrap();
    assert_eq!(read(&e, &v.id), b"taken");
    // Unknown snapshots, empty names, faults and quota are the engine's.
    let missing = volume_core::SnapshotId::new("snap-999").unwrap();
    assert!(matches!(
        e.with(|c| c.backup_snapshot(T, &missing, "b", None)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        e.with(|c| c.backup_snapshot(T, &s.id, "", None)),
        Err(Error::InvalidInput { .. })
    ));
    let failed = e
        .with(|c| c.backup_snapshot(T, &s.id, "f", Some(&Fault::LandInError)))
        .unwrap();
    assert_eq!(
        e.with(|c| c.get_backup(T, &failed.id)).unwrap().state,
        volume_core::BackupState::Error
    );
    e.with(|c| {
        let mut quota = Quota::unlimited();
        quota.backups = Some(2);
        c.set_quota(T, quota)
    });
    let over = e.with(|c| c.backup_snapshot(T, &s.id, "over", None));
    assert!(matches!(over, Err(Error::QuotaExceeded { .. })), "{over:?}");
}

#[test]
fn both_are_unsupported_where_the_policy_says_so() {
    let mut policy = Policy::default();
    policy.backups = false;
    let mut config = EngineConfig::default();
    config.policy = policy;
    let e = Engine::new(config);
    let v = e
        .with(|c| c.create_volume(T, &CreateVolume::new("v", Size::gib(1)), None))
        .unwrap();
    let s = e
        .with(|c| c.create_snapshot(T, &CreateSnapshot::new(v.id.clone(), "s"), None))
        .unwrap();
    assert!(matches!(
        e.with(|c| c.backup_snapshot(T, &s.id, "b", None)),
        Err(Error::Unsupported { .. })
    ));
    assert!(e
        .with(|c| c.revert_to_snapshot(T, &v.id, &s.id, None))
        .is_ok());
}

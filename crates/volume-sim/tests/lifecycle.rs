//! Lifecycle refusals: each illegal operation in each state gives the right
//! error and changes nothing (state, data, accounting, quota usage); and the
//! transitions that take time show their states on the virtual clock.

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::state::{volume_transition, VolumeOp};
use volume_core::{
    BlockStorage, BlockStorageExt, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, Error,
    InstanceId, InstanceState, ListBackups, ListSnapshots, ListVolumes, ResourceKind,
    RestoreBackup, Size, Until, UpdateVolume, VolumeId, VolumeState, WaitConfig,
};
use volume_sim::engine::{Delays, Fault, FaultRule, Policy, SimOp};
use volume_sim::Sim;

/// Everything a caller can observe, to compare before and after a refusal.
async fn world(sim: &Sim, probe: &VolumeId) -> String {
    let volumes: Vec<_> = sim
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await
        .unwrap();
    let snapshots: Vec<_> = sim
        .list_all_snapshots(ListSnapshots::new())
        .try_collect()
        .await
        .unwrap();
    let backups: Vec<_> = sim
        .list_all_backups(ListBackups::new())
        .try_collect()
        .await
        .unwrap();
    let mut data = vec![0u8; 64];
    sim.read_at(probe, 0, &mut data).await.unwrap();
    format!(
        "{volumes:?}\n{snapshots:?}\n{backups:?}\n{data:?}\n{:?}\n{:?}",
        sim.usage(),
        sim.quota_usage()
    )
}

fn slow() -> Policy {
    Policy::default().with_delays(Delays::uniform(Duration::from_secs(10)))
}

async fn instance(sim: &Sim) -> InstanceId {
    sim.list_instances(None).await.unwrap().items[0].id.clone()
}

/// Brings a fresh volume into `state` on a simulator whose transitions take
/// 10 s, so transient states can be held still.
async fn volume_in(sim: &Sim, state: &VolumeState) -> VolumeId {
    let inst = instance(sim).await;
    let v = sim
        .create_volume(
            &CreateVolume::new(format!("v-{state}"), Size::gib(2)).with_region(
                sim.list_instances(None).await.unwrap().items[0]
                    .region
                    .clone(),
            ),
        )
        .await
        .unwrap();
    sim.write_at(&v.id, 0, b"precious").await.unwrap();
    let id = v.id;
    match state {
        VolumeState::Creating => {}
        VolumeState::Available => {
            sim.run_until_quiet();
        }
        VolumeState::Attaching => {
            sim.run_until_quiet();
            sim.attach_volume(&id, &inst).await.unwrap();
        }
        VolumeState::InUse => {
            sim.run_until_quiet();
            sim.attach_volume(&id, &inst).await.unwrap();
            sim.run_until_quiet();
        }
        VolumeState::Detaching => {
            sim.run_until_quiet();
            sim.attach_volume(&id, &inst).await.unwrap();
            sim.run_until_quiet();
            sim.detach_volume(&id).await.unwrap();
        }
        VolumeState::Resizing => {
            sim.run_until_quiet();
            sim.resize_volume(&id, Size::gib(3)).await.unwrap();
        }
        VolumeState::BackingUp => {
            sim.run_until_quiet();
            sim.create_backup(&CreateBackup::new(id.clone(), "b"))
                .await
                .unwrap();
        }
        VolumeState::Restoring => {
            sim.run_until_quiet();
            let b = sim
                .create_backup(&CreateBackup::new(id.clone(), "b"))
                .await
                .unwrap();
            sim.run_until_quiet();
            sim.restore_backup(&b.id, &RestoreBackup::over_volume(id.clone()))
                .await
                .unwrap();
        }
        VolumeState::Deleting => {
            sim.run_until_quiet();
            sim.delete_volume(&id).await.unwrap();
        }
        VolumeState::Error | VolumeState::ErrorResizing => {
            sim.run_until_quiet();
            sim.inject(FaultRule::new(Fault::LandInError).on(SimOp::ResizeVolume));
            sim.resize_volume(&id, Size::gib(3)).await.unwrap();
            sim.run_until_quiet();
        }
        other => panic!("no recipe for {other}"),
    }
    let got = sim.get_volume(&id).await.unwrap().state;
    let want = if *state == VolumeState::Error {
        VolumeState::ErrorResizing
    } else {
        state.clone()
    };
    assert_eq!(got, want, "recipe for {state}");
    id
}

/// An available backup (of a volume made for it), the first one of the sim.
async fn ready_backup(sim: &Sim) -> volume_core::BackupId {
    if let Some(b) = sim
        .list_backups(&ListBackups::new(), None)
        .await
        .unwrap()
        .items
        .first()
    {
        return b.id.clone();
    }
    let region = sim.list_instances(None).await.unwrap().items[0]
        .region
        .clone();
    let src = sim
        .create_volume(&CreateVolume::new("src", Size::gib(1)).with_region(region))
        .await
        .unwrap();
    sim.run_until_quiet();
    let b = sim
        .create_backup(&CreateBackup::new(src.id, "src-b"))
        .await
        .unwrap();
    sim.run_until_quiet();
    b.id
}

/// Tries `op` on the volume; returns the error, or `None` if it was allowed.
async fn attempt(sim: &Sim, id: &VolumeId, op: VolumeOp) -> Option<Error> {
    let inst = instance(sim).await;
    let r = match op {
        VolumeOp::Update => sim
            .update_volume(id, &UpdateVolume::new().with_name("renamed"))
            .await
            .map(drop),
        VolumeOp::Attach => sim.attach_volume(id, &inst).await.map(drop),
        VolumeOp::Detach => sim.detach_volume(id).await.map(drop),
        VolumeOp::Resize => sim.resize_volume(id, Size::gib(50)).await.map(drop),
        VolumeOp::Snapshot => sim
            .create_snapshot(&CreateSnapshot::new(id.clone(), "s"))
            .await
            .map(drop),
        VolumeOp::Clone => sim.clone_volume(id, &CloneVolume::new("c")).await.map(drop),
        VolumeOp::Backup => sim
            .create_backup(&CreateBackup::new(id.clone(), "b2"))
            .await
            .map(drop),
        VolumeOp::RestoreInto => {
            let backup = ready_backup(sim).await;
            sim.restore_backup(&backup, &RestoreBackup::over_volume(id.clone()))
                .await
                .map(drop)
        }
        VolumeOp::Delete => sim.delete_volume(id).await,
        _ => unreachable!(),
    };
    r.err()
}

#[tokio::test]
async fn every_refused_operation_in_every_state_changes_nothing() {
    let states = [
        VolumeState::Creating,
        VolumeState::Available,
        VolumeState::Attaching,
        VolumeState::InUse,
        VolumeState::Detaching,
        VolumeState::Resizing,
        VolumeState::BackingUp,
        VolumeState::Restoring,
        VolumeState::Deleting,
        VolumeState::ErrorResizing,
    ];
    let mut refusals = 0;
    for state in &states {
        for op in VolumeOp::ALL {
            if volume_transition(state, *op).is_some() {
                continue;
            }
            let sim = Sim::builder().policy(slow()).build();
            // Made first, so that bringing the volume into its state last
            // leaves it there.
            let _ = ready_backup(&sim).await;
            let id = volume_in(&sim, state).await;
            let before = world(&sim, &id).await;
            let err = attempt(&sim, &id, *op).await;
            let after = world(&sim, &id).await;
            match &err {
                Some(Error::InvalidState {
                    kind: ResourceKind::Volume,
                    state: seen,
                    operation,
                    ..
                }) => {
                    assert_eq!(seen, state.as_str(), "{op:?} in {state}");
                    assert_eq!(*operation, op.name());
                }
                other => panic!("{op:?} in {state}: expected InvalidState, got {other:?}"),
            }
            assert_eq!(before, after, "{op:?} in {state} changed something");
            refusals += 1;
        }
    }
    assert!(refusals > 50, "only {refusals} refusals exercised");
}

#[tokio::test]
async fn restore_over_a_volume_that_is_not_available_is_refused() {
    for state in [
        VolumeState::InUse,
        VolumeState::Creating,
        VolumeState::Resizing,
    ] {
        let sim = Sim::builder().policy(slow()).build();
        let _ = ready_backup(&sim).await;
        let id = volume_in(&sim, &state).await;
        match attempt(&sim, &id, VolumeOp::RestoreInto).await {
            Some(Error::InvalidState { state: s, .. }) => assert_eq!(s, state.as_str()),
            other => panic!("{state}: {other:?}"),
        }
        let mut data = [0u8; 8];
        sim.read_at(&id, 0, &mut data).await.unwrap();
        assert_eq!(&data, b"precious", "{state}: data changed");
    }
}

#[tokio::test]
async fn policy_refusals_change_nothing() {
    // Shrink, same size, too big, bad name, unknown instance, wrong region,
    // delete with snapshots, quota: each refused and nothing changed.
    let sim = Sim::builder()
        .policy(Policy::default())
        .quota(volume_sim::engine::Quota::unlimited().with_gigabytes(100))
        .build();
    let inst = sim.list_instances(None).await.unwrap().items;
    let v = sim
        .create_volume(
            &CreateVolume::new("keep", Size::gib(10)).with_region(inst[0].region.clone()),
        )
        .await
        .unwrap();
    sim.write_at(&v.id, 0, b"precious").await.unwrap();
    sim.create_snapshot(&CreateSnapshot::new(v.id.clone(), "s"))
        .await
        .unwrap();
    let other_region = inst.iter().find(|i| i.region != inst[0].region).unwrap();
    let before = world(&sim, &v.id).await;

    let cases: Vec<(&str, Error)> = vec![
        (
            "shrink",
            sim.resize_volume(&v.id, Size::gib(5)).await.unwrap_err(),
        ),
        (
            "same size",
            sim.resize_volume(&v.id, Size::gib(10)).await.unwrap_err(),
        ),
        (
            "over the quota",
            sim.resize_volume(&v.id, Size::gib(200)).await.unwrap_err(),
        ),
        (
            "too big",
            sim.resize_volume(&v.id, Size::gib(1 << 40))
                .await
                .unwrap_err(),
        ),
        (
            "bad name",
            sim.update_volume(&v.id, &UpdateVolume::new().with_name(""))
                .await
                .unwrap_err(),
        ),
        (
            "unknown instance",
            sim.attach_volume(&v.id, &InstanceId::new("nope").unwrap())
                .await
                .unwrap_err(),
        ),
        (
            "other region",
            sim.attach_volume(&v.id, &other_region.id)
                .await
                .unwrap_err(),
        ),
        ("has snapshots", sim.delete_volume(&v.id).await.unwrap_err()),
        (
            "quota",
            sim.create_volume(&CreateVolume::new("big", Size::gib(95)))
                .await
                .unwrap_err(),
        ),
        (
            "incremental without a full backup",
            sim.create_backup(&CreateBackup::new(v.id.clone(), "i").incremental(true))
                .await
                .unwrap_err(),
        ),
    ];
    for (what, err) in &cases {
        let ok = match *what {
            "shrink" | "same size" | "too big" => {
                matches!(err, Error::InvalidInput { field, .. } if field == "size")
            }
            "bad name" => matches!(err, Error::InvalidInput { field, .. } if field == "name"),
            "unknown instance" => {
                matches!(
                    err,
                    Error::NotFound {
                        kind: ResourceKind::Instance,
                        ..
                    }
                )
            }
            "other region" => matches!(err, Error::InvalidInput { .. }),
            "has snapshots" => matches!(err, Error::InvalidState { .. }),
            "quota" | "over the quota" => matches!(err, Error::QuotaExceeded { .. }),
            _ => matches!(err, Error::InvalidInput { .. }),
        };
        assert!(ok, "{what}: {err:?}");
    }
    assert_eq!(before, world(&sim, &v.id).await);
}

#[tokio::test]
async fn transitions_take_simulated_time_and_waiters_see_them() {
    let sim = Sim::builder().policy(slow()).build();
    let v = sim
        .create_volume(&CreateVolume::new("slow", Size::gib(1)))
        .await
        .unwrap();
    assert_eq!(v.state, VolumeState::Creating);
    sim.advance(Duration::from_secs(9));
    assert_eq!(
        sim.get_volume(&v.id).await.unwrap().state,
        VolumeState::Creating
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(
        sim.get_volume(&v.id).await.unwrap().state,
        VolumeState::Available
    );

    // A waiter in a task, the clock moved by the test.
    let r = sim.resize_volume(&v.id, Size::gib(2)).await.unwrap();
    assert_eq!(r.state, VolumeState::Resizing);
    let waiter = {
        let sim = sim.clone();
        let id = v.id.clone();
        tokio::spawn(async move {
            let cfg = WaitConfig::new(
                volume_core::http::BackoffConfig::new(
                    Duration::from_millis(1),
                    Duration::from_millis(5),
                ),
                Duration::from_secs(30),
            );
            sim.wait_for_volume(&id, Until::State(VolumeState::Available), &cfg)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(sim.step());
    let waited = waiter.await.unwrap().unwrap();
    assert_eq!(waited.observed, ["resizing", "available"]);
    assert_eq!(waited.resource.unwrap().size, Size::gib(2));
    assert!(!sim.step(), "nothing should be in flight");
}

#[tokio::test(start_paused = true)]
async fn faults_are_injected_as_scripted() {
    let sim = Sim::new();
    let v = sim
        .create_volume(&CreateVolume::new("f", Size::gib(1)))
        .await
        .unwrap();

    // Error before: nothing changes.
    sim.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 500,
            message: "boom".into(),
        })
        .on(SimOp::ResizeVolume),
    );
    let e = sim.resize_volume(&v.id, Size::gib(2)).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(!e.outcome_unknown());
    assert_eq!(sim.get_volume(&v.id).await.unwrap().size, Size::gib(1));

    // Error after: the change happened, the caller is told the outcome is unknown.
    sim.inject(
        FaultRule::new(Fault::ErrorAfter {
            status: 503,
            message: "late".into(),
        })
        .on(SimOp::ResizeVolume),
    );
    let e = sim.resize_volume(&v.id, Size::gib(2)).await.unwrap_err();
    assert!(e.outcome_unknown(), "{e}");
    assert_eq!(sim.get_volume(&v.id).await.unwrap().size, Size::gib(2));

    // Rate limited, with retry-after.
    sim.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Duration::from_secs(3),
        })
        .on(SimOp::GetVolume),
    );
    let e = sim.get_volume(&v.id).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

    // Latency, on the runtime's (paused) clock.
    sim.inject(FaultRule::new(Fault::Latency(Duration::from_secs(5))).on(SimOp::GetVolume));
    let t = tokio::time::Instant::now();
    sim.get_volume(&v.id).await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(5));

    // Landing in an error state: a waiter stops at once and names it.
    sim.inject(FaultRule::new(Fault::LandInError).on(SimOp::ResizeVolume));
    sim.resize_volume(&v.id, Size::gib(3)).await.unwrap();
    let e = sim
        .wait_for_volume(
            &v.id,
            Until::State(VolumeState::Available),
            &WaitConfig::default(),
        )
        .await
        .unwrap_err();
    match e {
        Error::Failed { state, .. } => assert_eq!(state, "error-resizing"),
        other => panic!("{other:?}"),
    }

    let ops: Vec<SimOp> = sim.injected().iter().map(|i| i.op).collect();
    assert_eq!(
        ops,
        [
            SimOp::ResizeVolume,
            SimOp::ResizeVolume,
            SimOp::GetVolume,
            SimOp::GetVolume,
            SimOp::ResizeVolume
        ]
    );
}

#[tokio::test]
async fn stuck_transitions_never_end_and_waiters_time_out_with_the_last_state() {
    let sim = Sim::builder().policy(slow()).build();
    let v = sim
        .create_volume(&CreateVolume::new("s", Size::gib(1)))
        .await
        .unwrap();
    sim.run_until_quiet();
    sim.inject(FaultRule::new(Fault::Stuck).on(SimOp::ResizeVolume));
    sim.resize_volume(&v.id, Size::gib(2)).await.unwrap();
    assert!(!sim.step(), "a stuck transition is not in flight");
    sim.advance(Duration::from_secs(3600));
    assert_eq!(
        sim.get_volume(&v.id).await.unwrap().state,
        VolumeState::Resizing
    );
    let cfg = WaitConfig::new(
        volume_core::http::BackoffConfig::new(Duration::from_millis(1), Duration::from_millis(2)),
        Duration::from_millis(20),
    );
    match sim
        .wait_for_volume(&v.id, Until::State(VolumeState::Available), &cfg)
        .await
        .unwrap_err()
    {
        Error::Timeout { last_seen, .. } => assert_eq!(last_seen.as_deref(), Some("resizing")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fork_gives_an_independent_copy() {
    let sim = Sim::new();
    let v = sim
        .create_volume(&CreateVolume::new("a", Size::gib(1)))
        .await
        .unwrap();
    sim.write_at(&v.id, 0, b"one").await.unwrap();
    let fork = sim.fork();
    fork.write_at(&v.id, 0, b"two").await.unwrap();
    fork.delete_volume(&v.id).await.unwrap();
    let mut buf = [0u8; 3];
    sim.read_at(&v.id, 0, &mut buf).await.unwrap();
    assert_eq!(&buf, b"one");
    assert!(fork.get_volume(&v.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn detach_and_attached_resize_follow_the_policy() {
    let mut policy = Policy::default();
    policy.detach_needs_stopped = true;
    policy.attached_resize = volume_sim::engine::AttachedResize::StoppedInstanceOnly;
    let sim = Sim::builder().policy(policy).build();
    let inst = sim.list_instances(None).await.unwrap().items[0].clone();
    assert_eq!(inst.state, InstanceState::Running);
    let v = sim
        .create_volume(&CreateVolume::new("p", Size::gib(1)).with_region(inst.region.clone()))
        .await
        .unwrap();
    sim.attach_volume(&v.id, &inst.id).await.unwrap();
    for err in [
        sim.detach_volume(&v.id).await.unwrap_err(),
        sim.resize_volume(&v.id, Size::gib(2)).await.unwrap_err(),
    ] {
        match err {
            Error::InvalidState {
                kind: ResourceKind::Instance,
                state,
                ..
            } => assert_eq!(state, "running"),
            other => panic!("{other:?}"),
        }
    }
    sim.set_instance_state(&inst.id, InstanceState::Stopped)
        .unwrap();
    assert_eq!(
        sim.resize_volume(&v.id, Size::gib(2)).await.unwrap().size,
        Size::gib(2)
    );
    assert_eq!(
        sim.detach_volume(&v.id).await.unwrap().state,
        VolumeState::Available
    );
}

#[tokio::test]
async fn a_volume_left_attached_by_a_failed_detach_cannot_be_deleted() {
    let sim = Sim::new();
    let inst = sim.list_instances(None).await.unwrap().items[0].clone();
    let v = sim
        .create_volume(&CreateVolume::new("d", Size::gib(1)).with_region(inst.region.clone()))
        .await
        .unwrap();
    sim.attach_volume(&v.id, &inst.id).await.unwrap();
    sim.inject(FaultRule::new(Fault::LandInError).on(SimOp::DetachVolume));
    sim.detach_volume(&v.id).await.unwrap();
    let failed = sim.get_volume(&v.id).await.unwrap();
    assert_eq!(failed.state, VolumeState::Error);
    assert!(!failed.attachments.is_empty());
    assert!(matches!(
        sim.delete_volume(&v.id).await.unwrap_err(),
        Error::InvalidState { .. }
    ));
    assert!(sim.get_volume(&v.id).await.is_ok());
}

#[tokio::test]
async fn restore_over_a_volume_in_another_region_is_refused() {
    let sim = Sim::new();
    let a = sim
        .create_volume(&CreateVolume::new("a", Size::gib(1)).with_region("sim-1".parse().unwrap()))
        .await
        .unwrap();
    let b = sim
        .create_volume(&CreateVolume::new("b", Size::gib(1)).with_region("sim-2".parse().unwrap()))
        .await
        .unwrap();
    sim.write_at(&b.id, 0, b"keep").await.unwrap();
    let backup = sim
        .create_backup(&CreateBackup::new(a.id, "x"))
        .await
        .unwrap();
    let err = sim
        .restore_backup(&backup.id, &RestoreBackup::over_volume(b.id.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let mut buf = [0u8; 4];
    sim.read_at(&b.id, 0, &mut buf).await.unwrap();
    assert_eq!(&buf, b"keep");
}

#[tokio::test]
async fn odd_fault_settings_do_not_panic() {
    let sim = Sim::builder()
        .clock(volume_sim::engine::ClockMode::Wall {
            speed: f64::INFINITY,
        })
        .build();
    sim.advance(Duration::from_secs(1));
    sim.inject(FaultRule::new(Fault::Stuck).at_rate(f64::NAN));
    let v = sim
        .create_volume(&CreateVolume::new("n", Size::gib(1)))
        .await
        .unwrap();
    assert!(sim.injected().is_empty());
    // A huge retry-after does not overflow a waiter: it times out.
    sim.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Duration::MAX,
        })
        .on(SimOp::GetVolume),
    );
    let cfg = WaitConfig::default().with_max_wait(Duration::from_millis(10));
    let err = sim
        .wait_for_volume(&v.id, Until::State(VolumeState::InUse), &cfg)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { .. } | Error::Failed { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn data_plane_faults_act_after_the_write() {
    let sim = Sim::new();
    let v = sim
        .create_volume(&CreateVolume::new("w", Size::gib(1)))
        .await
        .unwrap();
    sim.inject(FaultRule::new(Fault::DropConnection).on(SimOp::Write));
    let err = sim.write_at(&v.id, 0, b"landed").await.unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    let mut buf = [0u8; 6];
    sim.read_at(&v.id, 0, &mut buf).await.unwrap();
    assert_eq!(&buf, b"landed", "the write took effect before the drop");
}

/// The name index: with unique names, a name is taken from create until the
/// volume is gone (a slow delete holds it meanwhile), a rename moves it, a
/// volume may keep its own name, and another tenant's names do not count.
/// The quota counters agree with a recount at every step.
#[tokio::test]
async fn unique_names_are_held_from_create_until_gone() {
    let mut policy = slow();
    policy.unique_names = true;
    let sim = Sim::builder().policy(policy).build();
    let recount = |sim: &Sim| {
        let counted = sim
            .engine()
            .with(|c| c.recount_quota_usage(sim.tenant_name()));
        assert_eq!(sim.quota_usage(), counted);
    };
    let taken = |r: Result<_, Error>| matches!(r, Err(Error::AlreadyExists { .. }));
    let a = sim
        .create_volume(&CreateVolume::new("a", Size::gib(1)))
        .await
        .unwrap();
    let b = sim
        .create_volume(&CreateVolume::new("b", Size::gib(2)))
        .await
        .unwrap();
    sim.run_until_quiet();
    recount(&sim);
    assert!(taken(
        sim.create_volume(&CreateVolume::new("a", Size::gib(1)))
            .await
    ));
    assert!(taken(
        sim.update_volume(&b.id, &UpdateVolume::new().with_name("a"))
            .await
    ));
    sim.update_volume(&a.id, &UpdateVolume::new().with_name("a"))
        .await
        .unwrap();
    sim.update_volume(&a.id, &UpdateVolume::new().with_name("c"))
        .await
        .unwrap();
    // "a" is free now, "c" is not.
    sim.update_volume(&b.id, &UpdateVolume::new().with_name("a"))
        .await
        .unwrap();
    assert!(taken(
        sim.create_volume(&CreateVolume::new("c", Size::gib(1)))
            .await
    ));
    let other = sim.tenant("other");
    other
        .create_volume(&CreateVolume::new("c", Size::gib(1)))
        .await
        .unwrap();
    sim.resize_volume(&a.id, Size::gib(3)).await.unwrap();
    sim.run_until_quiet();
    recount(&sim);
    recount(&other);
    sim.delete_volume(&a.id).await.unwrap();
    assert!(
        taken(
            sim.create_volume(&CreateVolume::new("c", Size::gib(1)))
                .await
        ),
        "a volume being deleted keeps its name"
    );
    recount(&sim);
    sim.run_until_quiet();
    recount(&sim);
    sim.create_volume(&CreateVolume::new("c", Size::gib(1)))
        .await
        .unwrap();
    assert_eq!(sim.quota_usage().volumes, 2);
    assert_eq!(sim.quota_usage().gigabytes, 3);
    recount(&sim);
}

/// The data plane takes no control-plane lock, but still applies a
/// transition that fell due on a wall clock before it acts: a volume whose
/// delete has ended is gone for reads and writes too.
#[tokio::test]
async fn the_data_plane_sees_transitions_due_on_a_wall_clock() {
    // 10 simulated seconds pass in 10 real nanoseconds.
    let sim = Sim::builder()
        .policy(slow())
        .clock(volume_sim::engine::ClockMode::Wall { speed: 1e9 })
        .build();
    let v = sim
        .create_volume(&CreateVolume::new("w", Size::gib(1)))
        .await
        .unwrap();
    sim.write_at(&v.id, 0, b"x").await.unwrap();
    sim.delete_volume(&v.id).await.unwrap();
    let err = sim.write_at(&v.id, 0, b"y").await.unwrap_err();
    assert!(is_not_found_volume(&err), "{err:?}");
    let err = sim.read_at(&v.id, 0, &mut [0u8; 1]).await.unwrap_err();
    assert!(is_not_found_volume(&err), "{err:?}");
}

fn is_not_found_volume(e: &Error) -> bool {
    matches!(
        e,
        Error::NotFound {
            kind: ResourceKind::Volume,
            ..
        }
    )
}

/// Calls made while no fault is armed (which take no lock) still count:
/// an injected fault reports the number of its call among all calls.
#[tokio::test]
async fn calls_count_while_no_fault_is_armed() {
    let sim = Sim::new();
    let v = sim
        .create_volume(&CreateVolume::new("n", Size::gib(1)))
        .await
        .unwrap();
    for _ in 0..3 {
        sim.write_at(&v.id, 0, b"n").await.unwrap();
    }
    // create, three writes, the read.
    assert_eq!(number_of_a_faulted_read(&sim, &v.id).await, 5);
    // Spent: the next read is not faulted, and takes no lock again.
    sim.read_at(&v.id, 0, &mut [0u8; 1]).await.unwrap();
    assert_eq!(sim.injected().len(), 1);
}

/// Data calls on a volume still count once it is deleted, and a data call
/// on a volume that does not exist counts too.
#[tokio::test]
async fn calls_on_deleted_and_missing_volumes_still_count() {
    let sim = Sim::new();
    let v = sim
        .create_volume(&CreateVolume::new("gone", Size::gib(1)))
        .await
        .unwrap();
    sim.write_at(&v.id, 0, b"ab").await.unwrap();
    sim.discard(&v.id, 0, 1).await.unwrap();
    sim.read_at(&v.id, 0, &mut [0u8; 2]).await.unwrap();
    sim.delete_volume(&v.id).await.unwrap();
    let err = sim.write_at(&v.id, 0, b"x").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // create, write, discard, read, delete, the refused write, the read.
    assert_eq!(number_of_a_faulted_read(&sim, &v.id).await, 7);
}

/// Arms an error on the next read, makes a read of `id` that gets it, and
/// returns the number the injection gave that call.
async fn number_of_a_faulted_read(sim: &Sim, id: &VolumeId) -> u64 {
    sim.inject(
        FaultRule::new(Fault::ErrorBefore {
            status: 500,
            message: "boom".into(),
        })
        .on(SimOp::Read),
    );
    assert!(sim.read_at(id, 0, &mut [0u8; 1]).await.is_err());
    let injected = sim.injected();
    assert_eq!(injected.len(), 1);
    injected[0].call
}

/// The per-instance attachment counts and per-volume snapshot counts that
/// replace scans: the attach limit frees a place on detach, on delete and
/// when a volume created attached goes, and a volume with snapshots can be
/// deleted (under a policy that refuses it) once the last one is gone.
#[tokio::test]
async fn attach_limits_and_snapshot_counts_follow_every_change() {
    let mut policy = Policy::default();
    policy.max_attachments_per_instance = 2;
    policy.delete_with_snapshots = false;
    let sim = Sim::builder().policy(policy).build();
    let inst = instance(&sim).await;
    let region = sim.list_instances(None).await.unwrap().items[0]
        .region
        .clone();
    let new = |name: &str| CreateVolume::new(name, Size::gib(1)).with_region(region.clone());
    let full = |r: Result<volume_core::Volume, Error>| matches!(r, Err(Error::InvalidInput { ref field, .. }) if field == "instance_id");
    let a = sim
        .create_volume(&new("a").with_attach_to(inst.clone()))
        .await
        .unwrap();
    let b = sim.create_volume(&new("b")).await.unwrap();
    let c = sim.create_volume(&new("c")).await.unwrap();
    sim.attach_volume(&b.id, &inst).await.unwrap();
    assert!(full(sim.attach_volume(&c.id, &inst).await));
    assert!(full(
        sim.create_volume(&new("d").with_attach_to(inst.clone()))
            .await
    ));
    sim.detach_volume(&b.id).await.unwrap();
    sim.attach_volume(&c.id, &inst).await.unwrap();
    assert!(full(sim.attach_volume(&b.id, &inst).await));
    sim.detach_volume(&a.id).await.unwrap();
    sim.delete_volume(&a.id).await.unwrap();
    sim.attach_volume(&b.id, &inst).await.unwrap();
    assert!(full(
        sim.create_volume(&new("e").with_attach_to(inst.clone()))
            .await
    ));

    let s1 = sim
        .create_snapshot(&CreateSnapshot::new(c.id.clone(), "s1"))
        .await
        .unwrap();
    let s2 = sim
        .create_snapshot(&CreateSnapshot::new(c.id.clone(), "s2"))
        .await
        .unwrap();
    sim.detach_volume(&c.id).await.unwrap();
    let refused = |r: Result<(), Error>| matches!(r, Err(Error::InvalidState { .. }));
    assert!(refused(sim.delete_volume(&c.id).await));
    sim.delete_snapshot(&s1.id).await.unwrap();
    assert!(refused(sim.delete_volume(&c.id).await));
    sim.delete_snapshot(&s2.id).await.unwrap();
    sim.delete_volume(&c.id).await.unwrap();
}

//! volume-core's workflows against the simulator, with a fault injected at
//! every step: each either reaches its goal or leaves the cloud as it
//! found it, and says so ([`Error::Incomplete`]) when it cannot.

use volume_core::workflow::{copy_volume, delete_volume_with_snapshots, grow_volume};
use volume_core::{
    BlockStorage, CreateSnapshot, CreateVolume, Error, InstanceId, ListSnapshots, ListVolumes,
    Size, VolumeId, VolumeState, WaitConfig,
};
use volume_sim::engine::{AttachedResize, Fault, FaultRule, Policy, SimOp};
use volume_sim::Sim;

/// A provider that resizes only detached volumes, has no clones and
/// refuses to delete a volume with snapshots.
fn offline_sim() -> Sim {
    let mut policy = Policy::default();
    policy.attached_resize = AttachedResize::Refused;
    policy.clone = false;
    policy.delete_with_snapshots = false;
    Sim::builder().policy(policy).build()
}

fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        (
            "error before",
            Fault::ErrorBefore {
                status: 500,
                message: "injected".into(),
            },
        ),
        (
            "error after",
            Fault::ErrorAfter {
                status: 500,
                message: "injected".into(),
            },
        ),
        ("dropped connection", Fault::DropConnection),
        ("lands in error", Fault::LandInError),
    ]
}

async fn attached(sim: &Sim) -> (VolumeId, InstanceId) {
    let instance = sim.list_instances(None).await.unwrap().items[0].clone();
    let v = sim
        .create_volume(
            &CreateVolume::new("data", Size::gib(10)).with_region(instance.region.clone()),
        )
        .await
        .unwrap();
    sim.attach_volume(&v.id, &instance.id).await.unwrap();
    (v.id, instance.id)
}

fn wait() -> WaitConfig {
    WaitConfig::default()
}

#[tokio::test]
async fn grow_detaches_resizes_and_reattaches_where_resize_is_offline() {
    let sim = offline_sim();
    let (id, instance) = attached(&sim).await;
    let grown = grow_volume(&sim, &id, Size::gib(20), &wait())
        .await
        .unwrap();
    assert_eq!(grown.size, Size::gib(20));
    assert_eq!(grown.state, VolumeState::InUse);
    assert_eq!(grown.attached_to(), Some(&instance));
}

#[tokio::test]
async fn a_fault_at_any_step_of_grow_leaves_the_volume_attached() {
    let ops = [
        SimOp::GetVolume,
        SimOp::DetachVolume,
        SimOp::ResizeVolume,
        SimOp::AttachVolume,
    ];
    let (mut runs, mut reached, mut undone, mut incomplete) = (0, 0, 0, 0);
    for op in ops {
        for (what, fault) in faults() {
            for nth in 1..=2 {
                let sim = offline_sim();
                let (id, instance) = attached(&sim).await;
                sim.inject(FaultRule::new(fault.clone()).on(op).nth(nth));
                let outcome = grow_volume(&sim, &id, Size::gib(20), &wait()).await;
                let now = sim.get_volume(&id).await.unwrap();
                let case = format!("{what} on {op:?} #{nth}: {outcome:?} -> {now:?}");
                runs += 1;
                match outcome {
                    Ok(v) => {
                        reached += 1;
                        assert_eq!(v.size, Size::gib(20), "{case}");
                        assert_eq!(now.attached_to(), Some(&instance), "{case}");
                    }
                    Err(Error::Incomplete { .. }) => {
                        // Only a volume that landed in an error state
                        // cannot be put back.
                        incomplete += 1;
                        assert!(matches!(fault, Fault::LandInError), "{case}");
                    }
                    Err(_) => {
                        undone += 1;
                        if !matches!(fault, Fault::LandInError) {
                            assert_eq!(now.attached_to(), Some(&instance), "{case}");
                            assert_eq!(now.state, VolumeState::InUse, "{case}");
                        }
                    }
                }
            }
        }
    }
    println!("grow: {runs} runs, {reached} reached, {undone} undone, {incomplete} incomplete");
    assert_eq!(runs, reached + undone + incomplete);
    assert!(undone > 0 && reached > 0, "the faults were felt");
}

#[tokio::test]
async fn a_fault_at_any_step_of_copy_leaves_nothing_behind() {
    let ops = [
        SimOp::GetVolume,
        SimOp::CreateSnapshot,
        SimOp::GetSnapshot,
        SimOp::CreateVolume,
        SimOp::DeleteSnapshot,
    ];
    let (mut runs, mut reached, mut undone, mut incomplete) = (0, 0, 0, 0);
    for op in ops {
        for (what, fault) in faults() {
            let sim = offline_sim();
            let source = sim
                .create_volume(&CreateVolume::new("src", Size::gib(1)))
                .await
                .unwrap();
            sim.write_at(&source.id, 4096, b"copied bytes")
                .await
                .unwrap();
            sim.inject(FaultRule::new(fault.clone()).on(op).nth(1));
            let outcome = copy_volume(&sim, &source.id, "copy", &wait()).await;
            let volumes = sim
                .list_volumes(&ListVolumes::new(), None)
                .await
                .unwrap()
                .items;
            let snapshots = sim
                .list_snapshots(&ListSnapshots::new(), None)
                .await
                .unwrap()
                .items;
            let case = format!(
                "{what} on {op:?}: {outcome:?}; {} volumes, {} snapshots",
                volumes.len(),
                snapshots.len()
            );
            runs += 1;
            match outcome {
                Ok(copy) => {
                    reached += 1;
                    let mut buf = [0u8; 12];
                    sim.read_at(&copy.id, 4096, &mut buf).await.unwrap();
                    assert_eq!(&buf, b"copied bytes", "{case}");
                    assert_eq!((volumes.len(), snapshots.len()), (2, 0), "{case}");
                }
                Err(Error::Incomplete { .. }) => {
                    incomplete += 1;
                    assert!(matches!(fault, Fault::LandInError), "{case}");
                }
                Err(_) => {
                    undone += 1;
                    if !matches!(fault, Fault::LandInError) {
                        assert_eq!((volumes.len(), snapshots.len()), (1, 0), "{case}");
                    }
                }
            }
        }
    }
    println!("copy: {runs} runs, {reached} reached, {undone} undone, {incomplete} incomplete");
    assert!(undone > 0 && reached > 0, "the faults were felt");
}

#[tokio::test]
async fn delete_with_snapshots_deletes_them_first_or_says_what_is_left() {
    let sim = offline_sim();
    let v = sim
        .create_volume(&CreateVolume::new("v", Size::gib(1)))
        .await
        .unwrap();
    for n in 0..2 {
        sim.create_snapshot(&CreateSnapshot::new(v.id.clone(), format!("s{n}")))
            .await
            .unwrap();
    }
    // The provider refuses the plain delete.
    assert!(sim.delete_volume(&v.id).await.is_err());
    assert_eq!(
        delete_volume_with_snapshots(&sim, &v.id, &wait())
            .await
            .unwrap(),
        2
    );
    assert!(sim.get_volume(&v.id).await.unwrap_err().is_not_found());

    // A fault on the second snapshot's delete: one is gone, and the error
    // says so. (A fresh simulator: faults count calls from its start.)
    let sim = offline_sim();
    let v = sim
        .create_volume(&CreateVolume::new("w", Size::gib(1)))
        .await
        .unwrap();
    for n in 0..2 {
        sim.create_snapshot(&CreateSnapshot::new(v.id.clone(), format!("t{n}")))
            .await
            .unwrap();
    }
    // The second delete fails, and so do the workflow's two retries of it
    // (a rule counts only the calls no earlier rule took: three rules for
    // the second call fire on calls 2, 3 and 4).
    for _ in 0..3 {
        sim.inject(
            FaultRule::new(Fault::ErrorBefore {
                status: 500,
                message: "injected".into(),
            })
            .on(SimOp::DeleteSnapshot)
            .nth(2),
        );
    }
    let err = delete_volume_with_snapshots(&sim, &v.id, &wait())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Incomplete { left, .. } if left.contains("1 of 2")),
        "{err:?}"
    );
    assert!(sim.get_volume(&v.id).await.is_ok(), "the volume is left");

    // An attached volume: refused before anything is deleted.
    let (id, _) = attached(&sim).await;
    sim.create_snapshot(&CreateSnapshot::new(id.clone(), "kept"))
        .await
        .unwrap();
    let err = delete_volume_with_snapshots(&sim, &id, &wait())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err:?}");
    let kept = sim
        .list_snapshots(&ListSnapshots::new().with_volume(id.clone()), None)
        .await
        .unwrap();
    assert_eq!(kept.items.len(), 1);
}

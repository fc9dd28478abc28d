//! A provider's lifecycle rules (`Policy::lifecycle`): consulted before the
//! core table, they relax it (Linode deletes a volume that is still
//! `creating`) or tighten it (a rule that refuses resize while in use), and
//! everything they do not name is the core table's.
//!
//! Transitions take 10 s on the manual clock, so transient states hold still.

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::state::{volume_transition, VolumeOp};
use volume_core::{
    BlockStorage, BlockStorageExt, CreateVolume, Error, InstanceId, ListVolumes, ResourceKind,
    Size, VolumeId, VolumeState,
};
use volume_sim::engine::{
    Delays, Fault, FaultRule, LifecycleRule, LifecycleVerdict, Policy, QuotaUsage, SimOp,
    LINODE_LIFECYCLE,
};
use volume_sim::Sim;

const TICK: Duration = Duration::from_secs(10);

fn sim(rules: &'static [LifecycleRule]) -> Sim {
    Sim::builder()
        .policy(
            Policy::default()
                .with_delays(Delays::uniform(TICK))
                .with_lifecycle(rules),
        )
        .build()
}

async fn instance(sim: &Sim) -> InstanceId {
    sim.list_instances(None).await.unwrap().items[0].id.clone()
}

async fn creating(sim: &Sim, attach: bool) -> VolumeId {
    let inst = sim.list_instances(None).await.unwrap().items[0].clone();
    let mut req = CreateVolume::new("fresh", Size::gib(3)).with_region(inst.region);
    if attach {
        req = req.with_attach_to(inst.id);
    }
    let v = sim.create_volume(&req).await.unwrap();
    assert_eq!(v.state, VolumeState::Creating);
    sim.write_at(&v.id, 0, b"not yet").await.unwrap();
    v.id
}

fn attached_to(sim: &Sim, inst: &InstanceId) -> usize {
    let tenant = sim.tenant_name();
    sim.engine()
        .with(|c| c.volumes_of_instance(tenant, inst))
        .unwrap()
        .len()
}

async fn state(sim: &Sim, id: &VolumeId) -> VolumeState {
    sim.get_volume(id).await.unwrap().state
}

/// Nothing of the volume is left: not listed, not found, not counted, no
/// bytes held, and no transition in flight.
async fn no_trace(sim: &Sim, id: &VolumeId) {
    assert!(matches!(
        sim.get_volume(id).await,
        Err(Error::NotFound {
            kind: ResourceKind::Volume,
            ..
        })
    ));
    let all: Vec<_> = sim
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
    assert_eq!(sim.quota_usage(), QuotaUsage::default());
    let usage = sim.usage();
    assert_eq!(usage.logical_bytes, 0);
    assert_eq!(usage.allocated_bytes, 0);
    assert!(usage.volumes.is_empty());
    assert!(!sim.step(), "a transition is still in flight");
}

#[tokio::test]
async fn with_the_linode_rule_a_creating_volume_is_deleted_and_leaves_no_trace() {
    let sim = sim(LINODE_LIFECYCLE);
    let id = creating(&sim, false).await;
    // Halfway through the creation: it ends at 10 s, the delete at 15 s.
    sim.advance(TICK / 2);
    assert_eq!(state(&sim, &id).await, VolumeState::Creating);
    assert_eq!(sim.quota_usage().volumes, 1);

    sim.delete_volume(&id).await.unwrap();
    assert_eq!(state(&sim, &id).await, VolumeState::Deleting);
    // When the creation would have ended, the volume stays deleting: the
    // creation was cancelled, not left to land on it.
    sim.advance(TICK / 2);
    assert_eq!(state(&sim, &id).await, VolumeState::Deleting);

    // Only the delete was left in flight, due 10 s after it began.
    assert_eq!(sim.run_until_quiet(), TICK / 2);
    no_trace(&sim, &id).await;
}

#[tokio::test]
async fn with_the_linode_rule_a_volume_created_attached_goes_with_its_attachment() {
    let sim = sim(LINODE_LIFECYCLE);
    let inst = instance(&sim).await;
    let id = creating(&sim, true).await;
    assert_eq!(attached_to(&sim, &inst), 1);

    sim.delete_volume(&id).await.unwrap();
    sim.run_until_quiet();
    no_trace(&sim, &id).await;
    assert_eq!(attached_to(&sim, &inst), 0);
}

#[tokio::test]
async fn with_the_linode_rule_a_failed_delete_of_a_creating_volume_is_not_resurrected() {
    let sim = sim(LINODE_LIFECYCLE);
    let id = creating(&sim, false).await;
    sim.inject(FaultRule::new(Fault::LandInError).on(SimOp::DeleteVolume));
    sim.delete_volume(&id).await.unwrap();
    sim.run_until_quiet();
    // The failed delete is where it ends: the cancelled creation does not
    // make it available again.
    assert_eq!(state(&sim, &id).await, VolumeState::ErrorDeleting);
    assert_eq!(sim.quota_usage().volumes, 1);
    // From an error state the core table deletes it as usual.
    sim.delete_volume(&id).await.unwrap();
    sim.run_until_quiet();
    no_trace(&sim, &id).await;
}

#[tokio::test]
async fn without_the_rule_a_creating_volume_is_refused_as_before() {
    let sim = sim(&[]);
    let id = creating(&sim, false).await;
    let before = (sim.usage(), sim.quota_usage());
    match sim.delete_volume(&id).await {
        Err(Error::InvalidState {
            kind: ResourceKind::Volume,
            state,
            operation,
            ..
        }) => {
            assert_eq!(state, "creating");
            assert_eq!(operation, "delete_volume");
        }
        other => panic!("expected InvalidState, got {other:?}"),
    }
    assert_eq!(state(&sim, &id).await, VolumeState::Creating);
    assert_eq!((sim.usage(), sim.quota_usage()), before);
    // The creation carries on as if nothing had been asked.
    assert_eq!(sim.run_until_quiet(), TICK);
    assert_eq!(state(&sim, &id).await, VolumeState::Available);
}

const NO_RESIZE_IN_USE: &[LifecycleRule] =
    &[LifecycleRule::deny(VolumeState::InUse, VolumeOp::Resize)];

async fn attached(sim: &Sim) -> VolumeId {
    let inst = instance(sim).await;
    let id = creating(sim, false).await;
    sim.run_until_quiet();
    sim.attach_volume(&id, &inst).await.unwrap();
    sim.run_until_quiet();
    assert_eq!(state(sim, &id).await, VolumeState::InUse);
    id
}

#[tokio::test]
async fn a_deny_rule_tightens_the_table() {
    // The default policy resizes attached volumes online...
    let open = sim(&[]);
    let id = attached(&open).await;
    open.resize_volume(&id, Size::gib(4)).await.unwrap();

    // ...a rule refuses it, and changes nothing.
    let strict = sim(NO_RESIZE_IN_USE);
    let id = attached(&strict).await;
    let err = strict.resize_volume(&id, Size::gib(4)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidState {
                kind: ResourceKind::Volume,
                operation: "resize_volume",
                ..
            }
        ),
        "{err:?}"
    );
    let v = strict.get_volume(&id).await.unwrap();
    assert_eq!((v.state, v.size), (VolumeState::InUse, Size::gib(3)));
    assert_eq!(strict.quota_usage().gigabytes, 3);
    // What the rule does not name is untouched: detached, it resizes.
    strict.detach_volume(&id).await.unwrap();
    strict.run_until_quiet();
    strict.resize_volume(&id, Size::gib(4)).await.unwrap();
}

#[test]
fn rules_win_over_the_table_and_only_where_they_say() {
    const RULES: &[LifecycleRule] = &[
        LifecycleRule::deny(VolumeState::InUse, VolumeOp::Resize),
        LifecycleRule::allow(
            VolumeState::Creating,
            VolumeOp::Delete,
            VolumeState::Deleting,
            VolumeState::Deleted,
        ),
    ];
    let rules = RULES;
    let policy = Policy::default().with_lifecycle(rules);
    for state in VolumeState::KNOWN {
        for op in VolumeOp::ALL {
            let got = policy.volume_transition(state, *op);
            match rules.iter().find(|r| r.state == *state && r.op == *op) {
                Some(rule) => match &rule.verdict {
                    LifecycleVerdict::Allow(t) => assert_eq!(got.as_ref(), Some(t)),
                    LifecycleVerdict::Deny => assert_eq!(got, None, "{state} x {op:?}"),
                    other => panic!("unexpected verdict {other:?}"),
                },
                None => assert_eq!(got, volume_transition(state, *op), "{state} x {op:?}"),
            }
        }
    }
    // The default policy has no rules: it is the core table.
    assert!(Policy::default().lifecycle.is_empty());
}

#[test]
fn the_linode_fake_uses_the_linode_rules() {
    assert_eq!(
        volume_sim::fake::linode::policy().lifecycle,
        LINODE_LIFECYCLE
    );
    assert!(volume_sim::fake::exoscale::policy().lifecycle.is_empty());
}

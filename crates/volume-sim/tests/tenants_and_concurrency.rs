//! Tenant isolation, and many tasks at once.

use std::collections::HashMap;

use futures::TryStreamExt;
use volume_core::{
    BlockStorage, BlockStorageExt, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, Error,
    ListVolumes, ResourceKind, RestoreBackup, Size, UpdateVolume, VolumeId, VolumeSource,
};
use volume_sim::Sim;

fn is_not_found(e: &Error, kind: ResourceKind) -> bool {
    matches!(e, Error::NotFound { kind: k, .. } if *k == kind)
}

#[tokio::test]
async fn a_tenant_cannot_see_or_touch_another_tenants_resources() {
    let alice = Sim::new();
    let bob = alice.tenant("bob");
    let a_inst = alice.list_instances(None).await.unwrap().items[0].clone();
    let b_inst = bob.list_instances(None).await.unwrap().items[0].clone();
    assert_ne!(
        a_inst.id, b_inst.id,
        "each tenant gets instances of its own"
    );

    let v = alice
        .create_volume(
            &CreateVolume::new("secret", Size::gib(1)).with_region(a_inst.region.clone()),
        )
        .await
        .unwrap();
    alice.write_at(&v.id, 0, b"alice's").await.unwrap();
    let s = alice
        .create_snapshot(&CreateSnapshot::new(v.id.clone(), "s"))
        .await
        .unwrap();
    let b = alice
        .create_backup(&CreateBackup::new(v.id.clone(), "b"))
        .await
        .unwrap();

    // Bob lists nothing of Alice's.
    let listed: Vec<_> = bob
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert!(bob
        .list_snapshots(&Default::default(), None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(bob
        .list_backups(&Default::default(), None)
        .await
        .unwrap()
        .items
        .is_empty());

    // Every id of Alice's is not-found for Bob (not forbidden: ids do not leak).
    let vol = ResourceKind::Volume;
    assert!(is_not_found(&bob.get_volume(&v.id).await.unwrap_err(), vol));
    assert!(is_not_found(
        &bob.update_volume(&v.id, &UpdateVolume::new().with_name("x"))
            .await
            .unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.delete_volume(&v.id).await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.attach_volume(&v.id, &b_inst.id).await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.detach_volume(&v.id).await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.resize_volume(&v.id, Size::gib(9)).await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.clone_volume(&v.id, &CloneVolume::new("c"))
            .await
            .unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.create_snapshot(&CreateSnapshot::new(v.id.clone(), "s"))
            .await
            .unwrap_err(),
        vol
    ));
    let mut buf = [0u8; 7];
    assert!(is_not_found(
        &bob.read_at(&v.id, 0, &mut buf).await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.write_at(&v.id, 0, b"bob's!!").await.unwrap_err(),
        vol
    ));
    assert!(is_not_found(
        &bob.get_snapshot(&s.id).await.unwrap_err(),
        ResourceKind::Snapshot
    ));
    assert!(is_not_found(
        &bob.delete_snapshot(&s.id).await.unwrap_err(),
        ResourceKind::Snapshot
    ));
    assert!(is_not_found(
        &bob.create_volume(&CreateVolume::from_snapshot("steal", s.id.clone()))
            .await
            .unwrap_err(),
        ResourceKind::Snapshot
    ));
    assert!(is_not_found(
        &bob.get_backup(&b.id).await.unwrap_err(),
        ResourceKind::Backup
    ));
    assert!(is_not_found(
        &bob.restore_backup(&b.id, &RestoreBackup::to_new_volume("steal"))
            .await
            .unwrap_err(),
        ResourceKind::Backup
    ));
    assert!(is_not_found(
        &bob.create_volume(
            &CreateVolume::new("c", Size::gib(1)).with_source(VolumeSource::Volume(v.id.clone()))
        )
        .await
        .unwrap_err(),
        vol
    ));

    // Alice cannot attach to Bob's instance either.
    assert!(is_not_found(
        &alice.attach_volume(&v.id, &b_inst.id).await.unwrap_err(),
        ResourceKind::Instance
    ));

    // And Alice's data is untouched.
    alice.read_at(&v.id, 0, &mut buf).await.unwrap();
    assert_eq!(&buf, b"alice's");
}

/// Eight tasks, each with volumes of its own, doing thousands of operations
/// at once; afterwards every volume holds exactly what its writer wrote, and
/// the accounting adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_at_once_keep_every_byte() {
    const TASKS: u64 = 8;
    const ROUNDS: u64 = 60;
    let sim = Sim::new();
    let region = sim.list_instances(None).await.unwrap().items[0]
        .region
        .clone();
    let instances: Vec<_> = sim
        .list_all_instances()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.region == region)
        .collect();

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let sim = sim.clone();
        let region = region.clone();
        let instance = instances[(t as usize) % instances.len()].id.clone();
        handles.push(tokio::spawn(async move {
            let mut ops = 0u64;
            // What this task believes each of its surviving volumes holds.
            let mut kept: HashMap<VolumeId, Vec<u8>> = HashMap::new();
            for r in 0..ROUNDS {
                let v = sim
                    .create_volume(
                        &CreateVolume::new(format!("t{t}-r{r}"), Size::gib(1))
                            .with_region(region.clone()),
                    )
                    .await
                    .unwrap();
                let mut model = vec![0u8; 256 * 1024];
                for w in 0..8u64 {
                    let off = ((t * 7919 + r * 104_729 + w * 65_537) % (model.len() as u64 - 4096))
                        as usize;
                    let byte = (t * 31 + r * 7 + w) as u8 | 1;
                    let data = vec![byte; 1000 + (w as usize * 300)];
                    sim.write_at(&v.id, off as u64, &data).await.unwrap();
                    model[off..off + data.len()].copy_from_slice(&data);
                    ops += 1;
                }
                sim.attach_volume(&v.id, &instance).await.unwrap();
                let snap = sim
                    .create_snapshot(&CreateSnapshot::new(v.id.clone(), format!("t{t}-r{r}-s")))
                    .await
                    .unwrap();
                // Writes after the snapshot must not reach it.
                sim.write_at(&v.id, 0, &[0xEE; 512]).await.unwrap();
                let mut snap_head = [0u8; 512];
                sim.read_snapshot_at(&snap.id, 0, &mut snap_head)
                    .await
                    .unwrap();
                assert_eq!(
                    &snap_head[..],
                    &model[..512],
                    "snapshot changed under t{t} r{r}"
                );
                model[..512].fill(0xEE);
                sim.detach_volume(&v.id).await.unwrap();
                sim.delete_snapshot(&snap.id).await.unwrap();
                ops += 6;
                if r % 3 == 0 {
                    sim.delete_volume(&v.id).await.unwrap();
                    ops += 1;
                } else {
                    kept.insert(v.id, model);
                }
            }
            (kept, ops)
        }));
    }
    let mut total_ops = 0;
    let mut all = HashMap::new();
    for h in handles {
        let (kept, ops) = h.await.unwrap();
        total_ops += ops;
        all.extend(kept);
    }
    assert!(total_ops >= 4000, "only {total_ops} operations");

    let listed: Vec<_> = sim
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), all.len());
    for (id, model) in &all {
        let mut got = vec![0u8; model.len()];
        sim.read_at(id, 0, &mut got).await.unwrap();
        assert!(
            got == *model,
            "volume {id} does not hold what its writer wrote"
        );
    }
    let usage = sim.usage();
    assert!(usage.snapshots.is_empty());
    assert_eq!(usage.volumes.len(), all.len());
    for (_, u) in &usage.volumes {
        assert_eq!(u.shared, 0, "nothing is shared once the snapshots are gone");
        assert_eq!(u.unique, u.referenced);
    }
    let referenced: u64 = usage.volumes.iter().map(|(_, u)| u.referenced).sum();
    assert_eq!(usage.allocated_bytes, referenced);
    assert_eq!(sim.quota_usage().volumes, all.len() as u64);
}

/// Bytes of one stripe of the shared volume in
/// [`tasks_on_their_own_volumes_and_on_one_shared_volume_keep_every_byte`]:
/// not a divisor of the chunk size, so stripes straddle chunk boundaries.
const STRIPE: u64 = 5000;

/// Stripe `i`'s bytes at version `v`: every byte says which stripe and
/// which version, so a torn or misplaced write shows.
fn stripe_bytes(i: u64, v: u64) -> Vec<u8> {
    let b = (i * 7 + v * 13) as u8 | 1;
    (0..STRIPE).map(|k| b ^ (k as u8 & 0x80)).collect()
}

/// Two tasks each hammer a volume of their own while two more write
/// interleaved stripes of one shared volume and a fifth takes snapshots of
/// it and reads it, all at once, on several threads (the data plane takes
/// no global lock, so they really overlap). Every write is whole in every
/// read and snapshot, and at the end every volume holds byte for byte what
/// its writers wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_on_their_own_volumes_and_on_one_shared_volume_keep_every_byte() {
    const OWN_WRITES: u64 = 3000;
    const STRIPES: u64 = 64; // per writer of the shared volume
    const ROUNDS: u64 = 40; // versions of each stripe
    let sim = Sim::new();
    let create = |name: &str| CreateVolume::new(name, Size::gib(1));
    let shared = sim.create_volume(&create("shared")).await.unwrap().id;

    let mut own = Vec::new();
    for t in 0..2u64 {
        let sim = sim.clone();
        let id = sim
            .create_volume(&create(&format!("own{t}")))
            .await
            .unwrap()
            .id;
        own.push(tokio::spawn(async move {
            let mut model = vec![0u8; 1 << 20];
            let mut x = t + 1;
            for w in 0..OWN_WRITES {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let len = 1 + (x >> 40) as usize % 9000;
                let off = (x >> 20) as usize % (model.len() - len);
                let data = vec![(w as u8).wrapping_mul(3) | 1; len];
                sim.write_at(&id, off as u64, &data).await.unwrap();
                model[off..off + len].copy_from_slice(&data);
                if w % 100 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (id, model)
        }));
    }

    // Writer `w` owns stripes w, w + 2, w + 4, ...; version v of a stripe
    // is written in round v.
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let sim = sim.clone();
        let id = shared.clone();
        writers.push(tokio::spawn(async move {
            for v in 1..=ROUNDS {
                for s in 0..STRIPES {
                    let i = 2 * s + w;
                    sim.write_at(&id, i * STRIPE, &stripe_bytes(i, v))
                        .await
                        .unwrap();
                }
                tokio::task::yield_now().await;
            }
        }));
    }

    // Every read and snapshot sees each stripe whole, at some version.
    let version_of = |i: u64, got: &[u8]| -> Option<u64> {
        if got.iter().all(|&b| b == 0) {
            return Some(0);
        }
        (1..=ROUNDS).find(|&v| got == stripe_bytes(i, v).as_slice())
    };
    let checker = {
        let sim = sim.clone();
        let id = shared.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; (2 * STRIPES * STRIPE) as usize];
            for n in 0..30 {
                let snap = sim
                    .create_snapshot(&CreateSnapshot::new(id.clone(), format!("s{n}")))
                    .await
                    .unwrap();
                sim.read_at(&id, 0, &mut buf).await.unwrap();
                for (i, got) in buf.chunks(STRIPE as usize).enumerate() {
                    assert!(version_of(i as u64, got).is_some(), "torn stripe {i}");
                }
                sim.read_snapshot_at(&snap.id, 0, &mut buf).await.unwrap();
                for (i, got) in buf.chunks(STRIPE as usize).enumerate() {
                    assert!(
                        version_of(i as u64, got).is_some(),
                        "torn stripe {i} in a snapshot"
                    );
                }
                tokio::task::yield_now().await;
            }
        })
    };

    for h in writers {
        h.await.unwrap();
    }
    checker.await.unwrap();
    for h in own {
        let (id, model) = h.await.unwrap();
        let mut got = vec![0u8; model.len()];
        sim.read_at(&id, 0, &mut got).await.unwrap();
        assert!(
            got == model,
            "volume {id} does not hold what its writer wrote"
        );
    }
    let mut got = vec![0u8; (2 * STRIPES * STRIPE) as usize];
    sim.read_at(&shared, 0, &mut got).await.unwrap();
    for (i, stripe) in got.chunks(STRIPE as usize).enumerate() {
        assert_eq!(
            stripe,
            stripe_bytes(i as u64, ROUNDS).as_slice(),
            "stripe {i} of the shared volume"
        );
    }
    let mut after = [0u8; 4096];
    sim.read_at(&shared, 2 * STRIPES * STRIPE, &mut after)
        .await
        .unwrap();
    assert!(
        after.iter().all(|&b| b == 0),
        "nothing written past the stripes"
    );
}

/// While a fault is armed, calls made at the same time on several threads
/// still get distinct call numbers (rules such as `nth` depend on them).
#[test]
fn armed_faults_number_concurrent_calls_distinctly() {
    use std::time::Duration;
    use volume_sim::engine::{Fault, FaultRule, SimOp};

    let sim = Sim::new();
    let engine = sim.engine().clone();
    engine.inject(
        FaultRule::new(Fault::Latency(Duration::ZERO))
            .on(SimOp::ListVolumes)
            .always(),
    );
    let start = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (engine, start) = (engine.clone(), std::sync::Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..2500 {
                    assert!(engine.decide_fault(SimOp::ListVolumes).is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut calls: Vec<u64> = engine.injected().iter().map(|i| i.call).collect();
    assert_eq!(calls.len(), 10_000);
    calls.sort_unstable();
    calls.dedup();
    assert_eq!(calls.len(), 10_000, "two calls got the same number");
}

/// Sizes add up exactly: a tenant cannot hold more bytes than a `u64`
/// counts (16 EiB), whatever its quota and policy, so `usage()` sums
/// without overflow right up to that ceiling.
#[tokio::test]
async fn a_tenant_holds_at_most_16_eib_and_usage_adds_up_to_it() {
    let mut policy = volume_sim::engine::Policy::default();
    policy.max_size = Size::gib(u64::MAX >> 30);
    let sim = Sim::builder().policy(policy).build();
    let half = 1u64 << 33; // GiB: 8 EiB
    let a = sim
        .create_volume(&CreateVolume::new("a", Size::gib(half)))
        .await
        .unwrap();
    let err = sim
        .create_volume(&CreateVolume::new("b", Size::gib(half)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err:?}");
    // Up to the ceiling exactly is fine, and accounted exactly.
    let b = sim
        .create_volume(&CreateVolume::new("b", Size::gib(half - 1)))
        .await
        .unwrap();
    sim.write_at(&b.id, 4096, b"x").await.unwrap();
    let usage = sim.usage();
    assert_eq!(usage.logical_bytes, ((half << 1) - 1) << 30);
    assert_eq!(usage.volumes.len(), 2);
    let err = sim
        .resize_volume(&a.id, Size::gib(half + 1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err:?}");
}

/// Labels are bounded: at most 64, keys and values of at most 255
/// characters, no control or bidirectional-override characters; a refused
/// create or update changes nothing.
#[tokio::test]
async fn labels_are_bounded_in_count_length_and_characters() {
    use volume_sim::engine::{MAX_LABELS, MAX_LABEL_CHARS};
    let sim = Sim::new();
    let many = |n: usize| {
        (0..n).fold(CreateVolume::new("v", Size::gib(10)), |c, i| {
            c.with_label(format!("k{i}"), "v")
        })
    };
    let bad: Vec<(&str, CreateVolume)> = vec![
        ("65 labels", many(MAX_LABELS + 1)),
        (
            "a long value",
            CreateVolume::new("v", Size::gib(10)).with_label("k", "x".repeat(MAX_LABEL_CHARS + 1)),
        ),
        (
            "a long key",
            CreateVolume::new("v", Size::gib(10)).with_label("k".repeat(MAX_LABEL_CHARS + 1), "v"),
        ),
        (
            "NUL",
            CreateVolume::new("v", Size::gib(10)).with_label("k", "a\0b"),
        ),
        (
            "U+202E",
            CreateVolume::new("v", Size::gib(10)).with_label("k\u{202E}", "v"),
        ),
    ];
    for (what, req) in bad {
        let err = sim.create_volume(&req).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "labels"),
            "{what}: {err:?}"
        );
    }
    assert_eq!(sim.usage().volumes.len(), 0, "nothing was created");
    let v = sim.create_volume(&many(MAX_LABELS)).await.unwrap();
    let edge = CreateVolume::new("w", Size::gib(10))
        .with_label("k".repeat(MAX_LABEL_CHARS), "é".repeat(MAX_LABEL_CHARS));
    sim.create_volume(&edge).await.unwrap();
    let err = sim
        .update_volume(
            &v.id,
            &UpdateVolume::new().with_labels(many(MAX_LABELS + 1).labels),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        sim.get_volume(&v.id).await.unwrap().labels.len(),
        MAX_LABELS
    );
}

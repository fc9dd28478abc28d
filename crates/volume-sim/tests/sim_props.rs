//! Property test of the whole simulator: random sequences of write, discard,
//! snapshot, clone, volume-from-snapshot, resize, backup, restore and delete
//! across several volumes, checked after every step against a plain model.
//!
//! The model keeps, per volume, snapshot and backup, its length and a map of
//! written chunks (bytes plus a "version token"). Every read must return the
//! model's bytes; the accounting must equal what the tokens say: a chunk is
//! shared when two images hold the same token, and allocated memory is the
//! number of distinct tokens times the chunk size.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use proptest::sample::Index;
use volume_core::{
    BlockStorage, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume, RestoreBackup, Size, GIB,
};
use volume_sim::engine::store::CHUNK_SIZE;
use volume_sim::engine::Policy;
use volume_sim::Sim;

const CHUNK: u64 = CHUNK_SIZE as u64;
/// Writes land in the first few chunks or the last ones, where edges are.
const HEAD: u64 = 6 * CHUNK;

#[derive(Debug, Clone)]
enum Op {
    Write {
        vol: Index,
        at_end: bool,
        off: u64,
        len: u64,
        byte: u8,
    },
    Discard {
        vol: Index,
        off: u64,
        len: u64,
    },
    Snapshot {
        vol: Index,
    },
    Clone {
        vol: Index,
    },
    FromSnapshot {
        snap: Index,
        grow: bool,
    },
    Resize {
        vol: Index,
    },
    Backup {
        vol: Index,
    },
    Restore {
        backup: Index,
    },
    RestoreOver {
        backup: Index,
        vol: Index,
    },
    DeleteVolume {
        vol: Index,
    },
    DeleteSnapshot {
        snap: Index,
    },
    DeleteBackup {
        backup: Index,
    },
    OutOfRange {
        vol: Index,
        past: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<Index>(), any::<bool>(), 0..HEAD, 1..2 * CHUNK, any::<u8>())
            .prop_map(|(vol, at_end, off, len, byte)| Op::Write { vol, at_end, off, len, byte }),
        2 => (any::<Index>(), 0..HEAD, 1..3 * CHUNK).prop_map(|(vol, off, len)| Op::Discard { vol, off, len }),
        2 => any::<Index>().prop_map(|vol| Op::Snapshot { vol }),
        2 => any::<Index>().prop_map(|vol| Op::Clone { vol }),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(snap, grow)| Op::FromSnapshot { snap, grow }),
        1 => any::<Index>().prop_map(|vol| Op::Resize { vol }),
        1 => any::<Index>().prop_map(|vol| Op::Backup { vol }),
        1 => any::<Index>().prop_map(|backup| Op::Restore { backup }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(backup, vol)| Op::RestoreOver { backup, vol }),
        1 => any::<Index>().prop_map(|vol| Op::DeleteVolume { vol }),
        1 => any::<Index>().prop_map(|snap| Op::DeleteSnapshot { snap }),
        1 => any::<Index>().prop_map(|backup| Op::DeleteBackup { backup }),
        1 => (any::<Index>(), 1..CHUNK).prop_map(|(vol, past)| Op::OutOfRange { vol, past }),
    ]
}

/// One image in the model: its length and its written chunks.
#[derive(Debug, Clone, Default)]
struct Img {
    len: u64,
    chunks: BTreeMap<u64, (u64, Vec<u8>)>,
}

struct Model {
    next_token: u64,
    volumes: Vec<(volume_core::VolumeId, Img)>,
    snapshots: Vec<(volume_core::SnapshotId, Img)>,
    backups: Vec<(volume_core::BackupId, Img)>,
}

impl Model {
    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Writes `data` at `off`; every chunk touched gets a fresh token.
    fn write(&mut self, vol: usize, off: u64, data: &[u8]) {
        let mut pos = 0usize;
        while pos < data.len() {
            let abs = off + pos as u64;
            let (idx, within) = (abs / CHUNK, (abs % CHUNK) as usize);
            let n = (CHUNK_SIZE - within).min(data.len() - pos);
            let token = self.token();
            let img = &mut self.volumes[vol].1;
            let entry = img
                .chunks
                .entry(idx)
                .or_insert_with(|| (0, vec![0; CHUNK_SIZE]));
            entry.0 = token;
            entry.1[within..within + n].copy_from_slice(&data[pos..pos + n]);
            pos += n;
        }
    }

    /// Discards: whole chunks vanish, partly covered ones that exist are
    /// zeroed in that part (and get a fresh token).
    fn discard(&mut self, vol: usize, off: u64, len: u64) {
        let end = off + len;
        let mut idx = off / CHUNK;
        while idx * CHUNK < end {
            let (cs, ce) = (idx * CHUNK, idx * CHUNK + CHUNK);
            let token = self.token();
            let img = &mut self.volumes[vol].1;
            if off <= cs && end >= ce {
                img.chunks.remove(&idx);
            } else if let Some(entry) = img.chunks.get_mut(&idx) {
                let (a, b) = (off.max(cs) - cs, end.min(ce) - cs);
                entry.1[a as usize..b as usize].fill(0);
                entry.0 = token;
            }
            idx += 1;
        }
    }

    fn read(img: &Img, off: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let mut pos = 0usize;
        while pos < len {
            let abs = off + pos as u64;
            let (idx, within) = (abs / CHUNK, (abs % CHUNK) as usize);
            let n = (CHUNK_SIZE - within).min(len - pos);
            if let Some((_, data)) = img.chunks.get(&idx) {
                out[pos..pos + n].copy_from_slice(&data[within..within + n]);
            }
            pos += n;
        }
        out
    }

    fn images(&self) -> Vec<&Img> {
        self.volumes
            .iter()
            .map(|(_, i)| i)
            .chain(self.snapshots.iter().map(|(_, i)| i))
            .chain(self.backups.iter().map(|(_, i)| i))
            .collect()
    }
}

fn pick<T>(items: &[T], i: &Index) -> Option<usize> {
    (!items.is_empty()).then(|| i.index(items.len()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

async fn check(sim: &Sim, model: &Model) -> Result<(), TestCaseError> {
    // Every read returns the model's bytes: the head, and the tail up to the end.
    let mut buf = vec![0u8; (HEAD + CHUNK) as usize];
    for (id, img) in &model.volumes {
        sim.read_at(id, 0, &mut buf).await.unwrap();
        prop_assert!(
            buf == Model::read(img, 0, buf.len()),
            "volume {} head differs",
            id
        );
        let tail = img.len - 2 * CHUNK;
        let mut t = vec![0u8; 2 * CHUNK as usize];
        sim.read_at(id, tail, &mut t).await.unwrap();
        prop_assert!(
            t == Model::read(img, tail, t.len()),
            "volume {} tail differs",
            id
        );
        prop_assert_eq!(
            sim.get_volume(id).await.unwrap().size.bytes(),
            Some(img.len)
        );
    }
    for (id, img) in &model.snapshots {
        sim.read_snapshot_at(id, 0, &mut buf).await.unwrap();
        prop_assert!(
            buf == Model::read(img, 0, buf.len()),
            "snapshot {} differs",
            id
        );
    }
    for (id, img) in &model.backups {
        sim.read_backup_at(id, 0, &mut buf).await.unwrap();
        prop_assert!(
            buf == Model::read(img, 0, buf.len()),
            "backup {} differs",
            id
        );
    }

    // Accounting equals the tokens' story.
    let images = model.images();
    let mut holders: HashMap<u64, HashSet<usize>> = HashMap::new();
    for (n, img) in images.iter().enumerate() {
        for (token, _) in img.chunks.values() {
            holders.entry(*token).or_default().insert(n);
        }
    }
    let usage = sim.usage();
    prop_assert_eq!(usage.allocated_bytes, holders.len() as u64 * CHUNK);
    // The accounting lists volumes, snapshots and backups in creation order,
    // as the model does.
    let got: Vec<_> = usage
        .volumes
        .iter()
        .map(|(_, u)| *u)
        .chain(usage.snapshots.iter().map(|(_, u)| *u))
        .chain(usage.backups.iter().map(|(_, u)| *u))
        .collect();
    prop_assert_eq!(got.len(), images.len());
    for (n, (img, u)) in images.iter().zip(&got).enumerate() {
        let referenced = img.chunks.len() as u64 * CHUNK;
        let unique = img
            .chunks
            .values()
            .filter(|(t, _)| holders[t].len() == 1)
            .count() as u64
            * CHUNK;
        prop_assert_eq!(u.logical, img.len, "image {} logical", n);
        prop_assert_eq!(u.referenced, referenced, "image {} referenced", n);
        prop_assert_eq!(u.unique, unique, "image {} unique", n);
        prop_assert_eq!(u.shared, referenced - unique, "image {} shared", n);
    }
    let q = sim.quota_usage();
    // The running counters agree with a count of the records.
    let recount = sim
        .engine()
        .with(|c| c.recount_quota_usage(sim.tenant_name()));
    prop_assert_eq!(q, recount);
    let gib: u64 = model.volumes.iter().map(|(_, v)| v.len / GIB).sum();
    prop_assert_eq!(q.gigabytes, gib);
    prop_assert_eq!(q.volumes, model.volumes.len() as u64);
    prop_assert_eq!(q.snapshots, model.snapshots.len() as u64);
    prop_assert_eq!(q.backups, model.backups.len() as u64);
    Ok(())
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut policy = Policy::default();
    policy.delete_with_snapshots = true;
    let sim = Sim::builder().policy(policy).build();
    let mut model = Model {
        next_token: 0,
        volumes: Vec::new(),
        snapshots: Vec::new(),
        backups: Vec::new(),
    };
    for n in 0..2 {
        let v = sim
            .create_volume(&CreateVolume::new(format!("v{n}"), Size::gib(1)))
            .await
            .unwrap();
        model.volumes.push((
            v.id,
            Img {
                len: GIB,
                ..Img::default()
            },
        ));
    }
    for op in ops {
        match &op {
            Op::Write {
                vol,
                at_end,
                off,
                len,
                byte,
            } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let size = model.volumes[v].1.len;
                    let off = if *at_end { size - HEAD + off } else { *off };
                    let len = (*len).min(size - off);
                    let data = vec![*byte; len as usize];
                    sim.write_at(&model.volumes[v].0, off, &data).await.unwrap();
                    model.write(v, off, &data);
                }
            }
            Op::Discard { vol, off, len } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    sim.discard(&model.volumes[v].0, *off, *len).await.unwrap();
                    model.discard(v, *off, *len);
                }
            }
            Op::OutOfRange { vol, past } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let size = model.volumes[v].1.len;
                    let err = sim
                        .write_at(
                            &model.volumes[v].0,
                            size - 1,
                            &vec![1u8; *past as usize + 1],
                        )
                        .await;
                    prop_assert!(err.is_err(), "a write past the end was accepted");
                    let mut b = vec![0u8; 2];
                    prop_assert!(sim
                        .read_at(&model.volumes[v].0, size - 1, &mut b)
                        .await
                        .is_err());
                    prop_assert!(sim.discard(&model.volumes[v].0, size, 1).await.is_err());
                }
            }
            Op::Snapshot { vol } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let s = sim
                        .create_snapshot(&CreateSnapshot::new(model.volumes[v].0.clone(), "s"))
                        .await
                        .unwrap();
                    model.snapshots.push((s.id, model.volumes[v].1.clone()));
                }
            }
            Op::Clone { vol } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let c = sim
                        .clone_volume(&model.volumes[v].0, &CloneVolume::new("c"))
                        .await
                        .unwrap();
                    model.volumes.push((c.id, model.volumes[v].1.clone()));
                }
            }
            Op::FromSnapshot { snap, grow } => {
                if let Some(s) = pick(&model.snapshots, snap) {
                    let mut img = model.snapshots[s].1.clone();
                    let mut req = CreateVolume::from_snapshot("fs", model.snapshots[s].0.clone());
                    if *grow {
                        img.len += GIB;
                        req = req.with_size(Size::from_bytes_ceil(img.len));
                    }
                    let v = sim.create_volume(&req).await.unwrap();
                    model.volumes.push((v.id, img));
                }
            }
            Op::Resize { vol } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let img = &mut model.volumes[v].1;
                    img.len += GIB;
                    sim.resize_volume(
                        &model.volumes[v].0,
                        Size::from_bytes_ceil(model.volumes[v].1.len),
                    )
                    .await
                    .unwrap();
                }
            }
            Op::Backup { vol } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    let b = sim
                        .create_backup(&CreateBackup::new(model.volumes[v].0.clone(), "b"))
                        .await
                        .unwrap();
                    model.backups.push((b.id, model.volumes[v].1.clone()));
                }
            }
            Op::Restore { backup } => {
                if let Some(b) = pick(&model.backups, backup) {
                    let v = sim
                        .restore_backup(&model.backups[b].0, &RestoreBackup::to_new_volume("r"))
                        .await
                        .unwrap();
                    model.volumes.push((v.id, model.backups[b].1.clone()));
                }
            }
            Op::RestoreOver { backup, vol } => {
                if let (Some(b), Some(v)) =
                    (pick(&model.backups, backup), pick(&model.volumes, vol))
                {
                    let r = sim
                        .restore_backup(
                            &model.backups[b].0,
                            &RestoreBackup::over_volume(model.volumes[v].0.clone()),
                        )
                        .await;
                    let (blen, vlen) = (model.backups[b].1.len, model.volumes[v].1.len);
                    if blen <= vlen {
                        r.unwrap();
                        let mut img = model.backups[b].1.clone();
                        img.len = vlen;
                        model.volumes[v].1 = img;
                    } else {
                        prop_assert!(r.is_err(), "a restore over a smaller volume was accepted");
                    }
                }
            }
            Op::DeleteVolume { vol } => {
                if let Some(v) = pick(&model.volumes, vol) {
                    sim.delete_volume(&model.volumes[v].0).await.unwrap();
                    model.volumes.remove(v);
                }
            }
            Op::DeleteSnapshot { snap } => {
                if let Some(s) = pick(&model.snapshots, snap) {
                    sim.delete_snapshot(&model.snapshots[s].0).await.unwrap();
                    model.snapshots.remove(s);
                }
            }
            Op::DeleteBackup { backup } => {
                if let Some(b) = pick(&model.backups, backup) {
                    sim.delete_backup(&model.backups[b].0).await.unwrap();
                    model.backups.remove(b);
                }
            }
        }
        check(&sim, &model)
            .await
            .map_err(|e| TestCaseError::fail(format!("after {op:?}: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_simulator_matches_a_plain_model(ops in prop::collection::vec(op(), 1..60)) {
        runtime().block_on(run(ops))?;
    }
}

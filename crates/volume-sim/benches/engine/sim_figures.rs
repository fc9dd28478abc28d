//! Figures of the whole engine through [`Sim`]: small I/O against plain
//! memory, two tasks against one, control-plane operations late against
//! early, copy-up in a snapshot chain, and memory handed back after deletes.
//!
//! `Sim`'s data calls are `async` but never wait unless a latency fault is
//! armed, so each side runs its loop inside one `block_on`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use futures::executor::block_on;
use volume_core::{BlockStorage, CreateSnapshot, CreateVolume, Size, SnapshotId, VolumeId};
use volume_sim::engine::store::{Image, CHUNK_SIZE};
use volume_sim::engine::{Policy, Quota};
use volume_sim::Sim;

use super::offsets::offsets;
use super::{
    batch, fmt_time, median, pattern, release_free_memory, scaling, scaling_row, speed_row, Row,
    GIB, KIB, MIB,
};

/// Size of one small I/O.
const SMALL: usize = 4 * KIB;
/// Random offsets per measured loop of the random-I/O figures: 256 MiB
/// worth, far more than the caches hold, so every access goes to memory on
/// both sides.
const OFFSETS: usize = 65_536;
/// Small writes per task per round of the two-task figure.
const TASK_WRITES: usize = 100_000;
/// Bytes each task cycles over in the two-task figure (stays in cache).
const TASK_SPAN: u64 = MIB as u64;
/// Volumes created in the create_volume figure, and the batch compared.
const VOLUMES: usize = 10_000;
const VOLUME_BATCH: usize = 1_000;
/// Snapshots of one volume in the create_snapshot figure, and the batch.
const SNAPSHOTS: usize = 1_000;
const SNAPSHOT_BATCH: usize = 100;
/// Chunks copied up per round of the copy-up figure.
const CHAIN_CHUNKS: usize = 256;
/// Volumes written and deleted in the memory figure (1 GiB each).
const MEMORY_GIB: u64 = 10;

/// A sim and one volume of `gib` GiB on it, fully written (1 MiB writes)
/// when `fill`.
fn sim_volume(gib: u64, fill: bool) -> (Sim, VolumeId) {
    let sim = Sim::new();
    let vol = block_on(sim.create_volume(&CreateVolume::new("bench", Size::gib(gib)))).unwrap();
    if fill {
        let src = pattern(MIB, 5);
        block_on(async {
            for off in (0..gib * GIB).step_by(MIB) {
                sim.write_at(&vol.id, off, &src).await.unwrap();
            }
        });
    }
    (sim, vol.id)
}

/// Two volumes of one sim (one cloud, one control plane), each handle a
/// clone of the same `Sim`, written once over the span the tasks use.
fn two_volumes() -> [(Sim, VolumeId); 2] {
    let sim = Sim::new();
    let src = pattern(TASK_SPAN as usize, 1);
    let one = || {
        let vol = block_on(sim.create_volume(&CreateVolume::new("t", Size::gib(1)))).unwrap();
        block_on(sim.write_at(&vol.id, 0, &src)).unwrap();
        (sim.clone(), vol.id)
    };
    [one(), one()]
}

fn memcpy_writes(dst: &mut [u8], offs: &[u64], src: &[u8]) {
    for &o in offs {
        let o = o as usize;
        black_box(&mut dst[o..o + src.len()]).copy_from_slice(black_box(src));
    }
}

fn memcpy_reads(from: &[u8], offs: &[u64], buf: &mut [u8]) {
    for &o in offs {
        let o = o as usize;
        let n = buf.len();
        black_box(&mut *buf).copy_from_slice(black_box(&from[o..o + n]));
    }
}

fn store_writes(image: &mut Image, offs: &[u64], src: &[u8]) {
    for &o in offs {
        image.write_at(o, black_box(src)).unwrap();
    }
}

fn sim_writes(sim: &Sim, id: &VolumeId, offs: &[u64], src: &[u8]) {
    block_on(async {
        for &o in offs {
            sim.write_at(id, o, black_box(src)).await.unwrap();
        }
    });
}

fn sim_reads(sim: &Sim, id: &VolumeId, offs: &[u64], buf: &mut [u8]) {
    block_on(async {
        for &o in offs {
            sim.read_at(id, o, black_box(&mut *buf)).await.unwrap();
        }
    });
}

/// Creates `n` volumes named `{prefix}{i}` and returns the time each batch of
/// `per` took.
fn create_volumes(sim: &Sim, n: usize, per: usize, prefix: &str) -> Vec<Duration> {
    let mut times = Vec::new();
    block_on(async {
        for b in 0..n / per {
            let start = Instant::now();
            for i in 0..per {
                let req = CreateVolume::new(format!("{prefix}{}", b * per + i), Size::gib(1));
                black_box(sim.create_volume(&req).await.unwrap());
            }
            times.push(start.elapsed());
        }
    });
    times
}

/// A sim whose policy wants unique names and whose quota is finite, so the
/// create path does all of its checks.
fn checked_sim() -> Sim {
    let mut policy = Policy::default();
    policy.unique_names = true;
    Sim::builder()
        .policy(policy)
        .quota(
            Quota::unlimited()
                .with_volumes(1 << 40)
                .with_gigabytes(1 << 50)
                .with_snapshots(1 << 40),
        )
        .build()
}

/// Takes `n` snapshots of `id` and returns the time each batch of `per` took.
fn snapshots(sim: &Sim, id: &VolumeId, n: usize, per: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    block_on(async {
        for b in 0..n / per {
            let start = Instant::now();
            for i in 0..per {
                let req = CreateSnapshot::new(id.clone(), format!("s{}", b * per + i));
                black_box(sim.create_snapshot(&req).await.unwrap());
            }
            times.push(start.elapsed());
        }
    });
    times
}

/// One 4 KiB write into each of the first `CHAIN_CHUNKS` chunks of `id`,
/// each a copy-up of a chunk shared with the newest snapshot.
fn chain_copy_ups(sim: &Sim, id: &VolumeId, src: &[u8]) {
    block_on(async {
        for c in 0..CHAIN_CHUNKS {
            let off = (c * CHUNK_SIZE + 512) as u64;
            sim.write_at(id, off, &src[..SMALL]).await.unwrap();
        }
    });
}

/// Longest snapshot chain kept by the copy-up figure: each link holds the
/// 16 MiB its successor copied up, so criterion's hundreds of iterations
/// would otherwise pile up gigabytes.
const CHAIN: usize = 32;

/// Takes the next snapshot of `id`'s chain (untimed), dropping the oldest
/// once the chain is [`CHAIN`] long.
fn next_in_chain(sim: &Sim, id: &VolumeId, chain: &mut std::collections::VecDeque<SnapshotId>) {
    let n = chain.back().map_or(0, |_| chain.len());
    let req = CreateSnapshot::new(id.clone(), format!("c{n}-{}", chain.len()));
    chain.push_back(block_on(sim.create_snapshot(&req)).unwrap().id);
    if chain.len() > CHAIN {
        let oldest = chain.pop_front().unwrap();
        block_on(sim.delete_snapshot(&oldest)).unwrap();
    }
}

/// Baseline of the copy-up: allocate and copy `CHAIN_CHUNKS` chunks, each
/// from a chunk of its own in `src` (as many distinct bytes as the copy-ups
/// read from the snapshot's chunks, so both sides find their source in the
/// caches, or not, alike).
fn chain_baseline(src: &[u8]) -> Vec<Box<[u8]>> {
    (0..CHAIN_CHUNKS)
        .map(|i| Box::<[u8]>::from(&src[i * CHUNK_SIZE..][..CHUNK_SIZE]))
        .collect()
}

/// Resident set size of this process, in bytes (Linux only).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split(' ').nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn fmt_mib(b: Option<u64>) -> String {
    b.map_or("?".to_string(), |b| {
        format!("{:.0} MiB", b as f64 / MIB as f64)
    })
}

pub(crate) fn criterion_benches(c: &mut Criterion, bench_mode: bool) {
    // A small span in test mode: the smoke run only checks that it works.
    let len = if bench_mode { GIB } else { 16 * MIB as u64 };
    let src = pattern(SMALL, 9);
    let offs = offsets(OFFSETS, len, 42);

    let mut g = c.benchmark_group("random_4KiB_write_1GiB");
    g.throughput(Throughput::Elements(OFFSETS as u64));
    let mut plain = vec![1u8; len as usize];
    g.bench_function("memcpy", |b| {
        b.iter(|| memcpy_writes(&mut plain, &offs, &src))
    });
    let (sim, id) = sim_volume(1, bench_mode);
    g.bench_function("sim", |b| b.iter(|| sim_writes(&sim, &id, &offs, &src)));
    g.finish();

    let mut g = c.benchmark_group("random_4KiB_read_1GiB");
    g.throughput(Throughput::Elements(OFFSETS as u64));
    let mut buf = vec![0u8; SMALL];
    g.bench_function("memcpy", |b| {
        b.iter(|| memcpy_reads(&plain, &offs, &mut buf))
    });
    g.bench_function("sim", |b| b.iter(|| sim_reads(&sim, &id, &offs, &mut buf)));
    g.finish();
    drop((plain, sim));

    let mut g = c.benchmark_group("two_volumes_4KiB_overwrites");
    let sims = two_volumes();
    let tight = offsets(TASK_WRITES, TASK_SPAN, 7);
    for tasks in [1, 2] {
        g.throughput(Throughput::Elements((tasks * TASK_WRITES) as u64));
        g.bench_function(BenchmarkId::from_parameter(tasks), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for (sim, id) in &sims[..tasks] {
                        let (tight, src) = (&tight, &src);
                        s.spawn(move || sim_writes(sim, id, tight, src));
                    }
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("control_plane");
    g.sample_size(10);
    g.bench_function("create_volume/first_1000", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| create_volumes(&checked_sim(), VOLUME_BATCH, VOLUME_BATCH, "v")[0])
                .sum()
        })
    });
    g.bench_function("create_volume/last_1000_of_10000", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let sim = checked_sim();
                    create_volumes(&sim, VOLUMES - VOLUME_BATCH, VOLUMES - VOLUME_BATCH, "a");
                    create_volumes(&sim, VOLUME_BATCH, VOLUME_BATCH, "b")[0]
                })
                .sum()
        })
    });
    g.bench_function("create_snapshot/1_to_100", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let sim = checked_sim();
                    let id = block_on(sim.create_volume(&CreateVolume::new("v", Size::gib(1))))
                        .unwrap()
                        .id;
                    snapshots(&sim, &id, SNAPSHOT_BATCH, SNAPSHOT_BATCH)[0]
                })
                .sum()
        })
    });
    g.bench_function("create_snapshot/901_to_1000", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let sim = checked_sim();
                    let id = block_on(sim.create_volume(&CreateVolume::new("v", Size::gib(1))))
                        .unwrap()
                        .id;
                    *snapshots(&sim, &id, SNAPSHOTS, SNAPSHOT_BATCH)
                        .last()
                        .unwrap()
                })
                .sum()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("copy_up_in_snapshot_chain");
    g.throughput(Throughput::Elements(CHAIN_CHUNKS as u64));
    let big = pattern(CHAIN_CHUNKS * CHUNK_SIZE, 3);
    g.bench_function("alloc_and_copy_chunk", |b| {
        b.iter_batched(
            release_free_memory,
            |()| chain_baseline(&big),
            criterion::BatchSize::PerIteration,
        )
    });
    let (sim, id) = sim_volume(1, false);
    chain_copy_ups(&sim, &id, &big);
    let mut chain = std::collections::VecDeque::new();
    g.bench_function("sim_4KiB_write", |b| {
        b.iter_batched(
            || {
                next_in_chain(&sim, &id, &mut chain);
                release_free_memory();
            },
            |()| chain_copy_ups(&sim, &id, &big),
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

pub(crate) fn targets() -> Vec<Row> {
    const ROUNDS: usize = 31;
    let mut rows = Vec::new();
    let src = pattern(SMALL, 9);
    let offs = offsets(OFFSETS, GIB, 42);

    // Random 4 KiB I/O over a written 1 GiB volume.
    let mut plain = vec![1u8; GIB as usize];
    let (sim, id) = sim_volume(1, true);
    let mut image = Image::new(GIB);
    let fill = pattern(MIB, 5);
    for off in (0..GIB).step_by(MIB) {
        image.write_at(off, &fill).unwrap();
    }
    let per = |d: Duration| d / OFFSETS as u32;
    // Heap allocations per call on the data path (the counting allocator).
    let allocs = |f: &mut dyn FnMut()| {
        f();
        let before = super::allocations();
        f();
        (super::allocations() - before) as f64 / OFFSETS as f64
    };
    let write_allocs = allocs(&mut || sim_writes(&sim, &id, &offs, &src));
    let mut scratch = vec![0u8; SMALL];
    let read_allocs = allocs(&mut || sim_reads(&sim, &id, &offs, &mut scratch));
    let (base, ours) = super::paired(
        ROUNDS,
        || per(batch(1, || memcpy_writes(&mut plain, &offs, &src))),
        || per(batch(1, || sim_writes(&sim, &id, &offs, &src))),
    );
    let mut row = small_row(
        "4 KiB random writes over a written 1 GiB volume through `Sim` vs 4 KiB memcpys into a plain 1 GiB buffer",
        base,
        ours,
        0.7,
    );
    row.measured += &format!("; {write_allocs} allocations per call");
    rows.push(row);
    let (base, ours) = super::paired(
        ROUNDS,
        || per(batch(1, || memcpy_writes(&mut plain, &offs, &src))),
        || per(batch(1, || store_writes(&mut image, &offs, &src))),
    );
    rows.push(small_row(
        "(info) The same, the store alone (`Image::write_at`)",
        base,
        ours,
        0.0,
    ));
    let (mut buf_a, mut buf_b) = (vec![0u8; SMALL], vec![0u8; SMALL]);
    let (base, ours) = super::paired(
        ROUNDS,
        || per(batch(1, || memcpy_reads(&plain, &offs, &mut buf_a))),
        || per(batch(1, || sim_reads(&sim, &id, &offs, &mut buf_b))),
    );
    let mut row = small_row(
        "4 KiB random reads of a written 1 GiB volume through `Sim` vs 4 KiB memcpys out of a plain 1 GiB buffer",
        base,
        ours,
        0.7,
    );
    row.measured += &format!("; {read_allocs} allocations per call");
    rows.push(row);
    let (base, ours) = super::paired(
        ROUNDS,
        || per(batch(1, || memcpy_reads(&plain, &offs, &mut buf_a))),
        || {
            per(batch(1, || {
                for &o in &offs {
                    image.read_at(o, black_box(&mut buf_b)).unwrap();
                }
            }))
        },
    );
    rows.push(small_row(
        "(info) The same, the store alone (`Image::read_at`)",
        base,
        ours,
        0.0,
    ));
    drop((plain, sim, image));

    // Two tasks on two volumes vs one task, in cache.
    let tight = offsets(TASK_WRITES, TASK_SPAN, 7);
    let m = scaling(
        41,
        (
            &mut two_volumes(),
            |_| {},
            |(sim, id): &mut (Sim, VolumeId)| sim_writes(sim, id, &tight, &src),
        ),
        (
            &mut [vec![1u8; TASK_SPAN as usize], vec![1u8; TASK_SPAN as usize]],
            |_| {},
            |dst: &mut Vec<u8>| memcpy_writes(dst, &tight, &src),
        ),
    );
    rows.push(scaling_row(
        "Two tasks on two volumes of one `Sim` vs one task: 100,000 4 KiB overwrites in cache (1 MiB span) per task",
        TASK_WRITES * SMALL,
        &m,
        Some(1.8),
    ));

    // create_volume: the last 1,000 of 10,000 vs the first 1,000.
    let mut first = Vec::new();
    let mut last = Vec::new();
    for _ in 0..7 {
        let times = create_volumes(&checked_sim(), VOLUMES, VOLUME_BATCH, "v");
        first.push(times[0]);
        last.push(*times.last().unwrap());
    }
    rows.push(slowdown_row(
        "`create_volume`: the last 1,000 of 10,000 vs the first 1,000 (unique names and a quota checked)",
        median(first),
        median(last),
        1.2,
    ));

    // create_snapshot: #901-1000 vs #1-100 of one volume's chain.
    let mut first = Vec::new();
    let mut last = Vec::new();
    for _ in 0..15 {
        let sim = checked_sim();
        let id = block_on(sim.create_volume(&CreateVolume::new("v", Size::gib(1))))
            .unwrap()
            .id;
        block_on(sim.write_at(&id, 0, &vec![3u8; 16 * MIB])).unwrap();
        let times = snapshots(&sim, &id, SNAPSHOTS, SNAPSHOT_BATCH);
        first.push(times[0]);
        last.push(*times.last().unwrap());
    }
    rows.push(slowdown_row(
        "`create_snapshot`: #901-1000 vs #1-100 of one volume's chain",
        median(first),
        median(last),
        1.2,
    ));

    // Copy-up through `Sim` in a snapshot chain vs alloc+copy on fresh pages.
    let big = pattern(CHAIN_CHUNKS * CHUNK_SIZE, 3);
    let (sim, id) = sim_volume(1, false);
    chain_copy_ups(&sim, &id, &big);
    let mut chain = std::collections::VecDeque::new();
    let (base, ours) = super::paired(
        ROUNDS,
        || {
            release_free_memory();
            let start = Instant::now();
            let kept = chain_baseline(&big);
            let t = start.elapsed();
            drop(black_box(kept));
            t / CHAIN_CHUNKS as u32
        },
        || {
            next_in_chain(&sim, &id, &mut chain);
            release_free_memory();
            let start = Instant::now();
            chain_copy_ups(&sim, &id, &big);
            start.elapsed() / CHAIN_CHUNKS as u32
        },
    );
    let ratio = ours.as_secs_f64() / base.as_secs_f64();
    rows.push(Row {
        figure: "Copy-up: 4 KiB write through `Sim` into a chunk shared with the newest snapshot \
                 of a chain vs alloc+copy of one 64 KiB chunk, fresh pages (per chunk)"
            .to_string(),
        measured: format!("{ratio:.2}x ({} vs {})", fmt_time(ours), fmt_time(base)),
        target: "<= 1.1x".to_string(),
        met: Some(ratio <= 1.1),
    });
    drop(sim);

    // Memory handed back after big deletes.
    release_free_memory();
    let before = rss();
    let sim = Sim::new();
    let fill = pattern(MIB, 11);
    let mut ids = Vec::new();
    block_on(async {
        for v in 0..MEMORY_GIB {
            let vol = sim
                .create_volume(&CreateVolume::new(format!("m{v}"), Size::gib(1)))
                .await
                .unwrap();
            for off in (0..GIB).step_by(MIB) {
                sim.write_at(&vol.id, off, &fill).await.unwrap();
            }
            ids.push(vol.id);
        }
    });
    let written = rss();
    block_on(async {
        for id in &ids {
            sim.delete_volume(id).await.unwrap();
        }
    });
    let after = rss();
    let returned = match (before, written, after) {
        (Some(b), Some(w), Some(a)) => Some((w.saturating_sub(a), a.saturating_sub(b))),
        _ => None,
    };
    rows.push(Row {
        figure: format!(
            "Memory after deleting {MEMORY_GIB} GiB of written volumes (RSS, the sim's own calls only)"
        ),
        measured: format!(
            "RSS {} before, {} written, {} after the deletes",
            fmt_mib(before),
            fmt_mib(written),
            fmt_mib(after)
        ),
        target: "returned (after within 64 MiB of before)".to_string(),
        met: returned.map(|(_, kept)| kept <= 64 * MIB as u64),
    });
    rows
}

/// Speed of ours relative to the baseline (both times per operation).
fn small_row(figure: &str, base: Duration, ours: Duration, min: f64) -> Row {
    let mut row = speed_row(figure, SMALL, base, ours, (min > 0.0).then_some(min));
    let ratio = base.as_secs_f64() / ours.as_secs_f64();
    row.measured = format!(
        "{ratio:.2}x ({} vs {} per 4 KiB)",
        fmt_time(ours),
        fmt_time(base)
    );
    row
}

/// How much slower the late batch is than the early one.
fn slowdown_row(figure: &str, first: Duration, last: Duration, max: f64) -> Row {
    let ratio = last.as_secs_f64() / first.as_secs_f64();
    Row {
        figure: figure.to_string(),
        measured: format!(
            "{ratio:.2}x ({} vs {} per batch)",
            fmt_time(last),
            fmt_time(first)
        ),
        target: format!("<= {max}x"),
        met: Some(ratio <= max),
    }
}

//! Benchmarks of the chunk store (`engine::store`) against plain-memory
//! baselines measured in the same process.
//!
//! Two parts:
//!
//! 1. Criterion groups, one per figure, each holding the baseline and the
//!    store side by side (the usual criterion reports).
//! 2. A target check (only under `cargo bench`, i.e. with `--bench`): for each
//!    figure the baseline and the store are measured in alternating rounds,
//!    so that the machine's background noise hits both alike, and the medians
//!    are compared with the targets. It prints a markdown table.
//!
//! A counting global allocator tracks live heap bytes, so memory figures are
//! measured twice: by the store's own accounting and by the allocator.
//!
//! Run with `cargo bench -p volume-sim --bench engine`.

#[path = "engine/offsets.rs"]
mod offsets;
#[path = "engine/sim_figures.rs"]
mod sim_figures;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
// `release_free_memory` hands free memory back to the OS (the allocator's,
// and the store's free chunk slots and kept slabs) before a run on fresh
// pages, so that both sides pay the first-touch page faults: without it,
// whether a run reuses resident memory depends on the allocator's history,
// which differs between the baseline and the store.
use volume_sim::engine::store::{self, release_free_memory, usage, Image, CHUNK_SIZE};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const GIB: u64 = 1 << 30;

/// Size of one benchmark write or read.
const IO: usize = MIB;
/// Bytes written per iteration of the first-write figures.
const FRESH: usize = 16 * MIB;
/// Chunks copied up per iteration of the copy-up figure.
const COPY_UPS: usize = 16;
/// Size of the small write that triggers a copy-up.
const SMALL_WRITE: usize = 4 * KIB;

/// The system allocator, counting live bytes and allocation calls.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; the counters are plain
// relaxed atomics that do not touch the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged (see above).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// What the store holds: live heap bytes plus the chunk slabs it has mapped
/// (64 KiB chunks live outside the heap).
fn held_bytes() -> usize {
    live_bytes() + store::slab_bytes() as usize
}

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Non-zero, non-repeating-per-chunk source data.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// An image of `len` bytes, fully written (so fully allocated).
fn written_image(len: u64, src: &[u8]) -> Image {
    let mut image = Image::new(len);
    let mut offset = 0;
    while offset < len {
        let n = src.len().min((len - offset) as usize);
        image.write_at(offset, &src[..n]).unwrap();
        offset += n as u64;
    }
    image
}

/// Baseline for first writes: fresh chunk-sized buffers, filled from `src`
/// and kept, just like the chunks the store allocates.
fn fresh_buffers(total: usize, src: &[u8]) -> Vec<Box<[u8]>> {
    (0..total / CHUNK_SIZE)
        .map(|i| {
            let at = (i * CHUNK_SIZE) % src.len();
            Box::<[u8]>::from(&src[at..at + CHUNK_SIZE])
        })
        .collect()
}

/// Store side of the first-write figures: `total` bytes into a new image.
fn first_write(total: usize, src: &[u8]) -> Image {
    let mut image = Image::new(total as u64);
    for offset in (0..total).step_by(src.len()) {
        image.write_at(offset as u64, src).unwrap();
    }
    image
}

/// Baseline for copy-up: allocate and copy `COPY_UPS` chunks.
fn copy_chunks(src: &[u8]) -> Vec<Box<[u8]>> {
    (0..COPY_UPS)
        .map(|i| Box::<[u8]>::from(&src[i * CHUNK_SIZE..][..CHUNK_SIZE]))
        .collect()
}

/// Store side of copy-up: one small write into each of `COPY_UPS` chunks
/// that `image` shares with a snapshot.
fn copy_up(mut image: Image, src: &[u8]) -> Image {
    for i in 0..COPY_UPS {
        let offset = (i * CHUNK_SIZE + 512) as u64;
        image.write_at(offset, &src[..SMALL_WRITE]).unwrap();
    }
    image
}

/// Overwrites `image` (already allocated) cyclically, `total` bytes in
/// `src.len()` writes.
fn overwrite(image: &mut Image, src: &[u8], total: usize) {
    let len = image.len();
    let mut offset = 0;
    for _ in 0..total / src.len() {
        image.write_at(offset, src).unwrap();
        offset = (offset + src.len() as u64) % len;
    }
}

/// Baseline of [`overwrite`]: the same copies into a plain buffer.
fn overwrite_plain(dst: &mut [u8], src: &[u8], total: usize) {
    let mut offset = 0;
    for _ in 0..total / src.len() {
        dst[offset..offset + src.len()].copy_from_slice(src);
        offset = (offset + src.len()) % dst.len();
    }
    black_box(dst);
}

/// Minor page faults of this process so far (Linux only).
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is the first and
    // minflt the eighth.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split(' ').nth(7)?.parse().ok()
}

/// Minor page faults taken by one call of `f` (output dropped afterwards).
fn faults_of<O>(f: impl FnOnce() -> O) -> String {
    let before = minor_faults();
    let output = f();
    let after = minor_faults();
    drop(output);
    match (before, after) {
        (Some(b), Some(a)) => (a - b).to_string(),
        _ => "?".to_string(),
    }
}

/// Wall time of running `work` on one thread per item, in parallel.
fn on_threads<T: Send>(items: &mut [T], work: &(impl Fn(&mut T) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for item in items.iter_mut() {
            s.spawn(move || work(item));
        }
    });
    start.elapsed()
}

/// One round of `work` on one thread (`items[0]`), then on two threads
/// (`items[0]` and `items[1]`), with `reset` run untimed before each.
/// Threads are spawned in both cases so that the overheads match.
fn one_then_two<T: Send>(
    items: &mut [T],
    reset: &mut impl FnMut(&mut [T]),
    work: &(impl Fn(&mut T) + Sync),
) -> (Duration, Duration) {
    reset(items);
    let one = on_threads(&mut items[..1], work);
    reset(items);
    let two = on_threads(&mut items[..2], work);
    (one, two)
}

/// A CPU-only loop of a few ms: the control for what the machine itself
/// gives two threads at the moment (other tenants, shared cores).
fn spin() {
    let mut x = 1u64;
    for i in 0..3_000_000u64 {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
}

/// Medians of wall times on one and on two threads.
struct Scaling {
    store: (Duration, Duration),
    base: (Duration, Duration),
    cpu: (Duration, Duration),
}

/// Wall times on one and on two threads for the store (`s_*`), for a plain
/// baseline (`b_*`) and for a CPU-only control loop: medians over `rounds`
/// rounds that interleave the three, so that load from other processes hits
/// all alike.
fn scaling<S: Send, B: Send>(
    rounds: usize,
    (s_items, mut s_reset, s_work): (&mut [S], impl FnMut(&mut [S]), impl Fn(&mut S) + Sync),
    (b_items, mut b_reset, b_work): (&mut [B], impl FnMut(&mut [B]), impl Fn(&mut B) + Sync),
) -> Scaling {
    let mut store = Vec::with_capacity(rounds);
    let mut base = Vec::with_capacity(rounds);
    let mut cpu = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        let s = one_then_two(s_items, &mut s_reset, &s_work);
        let b = one_then_two(b_items, &mut b_reset, &b_work);
        let c = one_then_two(&mut [(), ()], &mut |_| {}, &|()| spin());
        // Round 0 is a warm-up.
        if round > 0 {
            store.push(s);
            base.push(b);
            cpu.push(c);
        }
    }
    let medians = |v: Vec<(Duration, Duration)>| {
        let (one, two): (Vec<_>, Vec<_>) = v.into_iter().unzip();
        (median(one), median(two))
    };
    Scaling {
        store: medians(store),
        base: medians(base),
        cpu: medians(cpu),
    }
}

/// Size of each thread's image in the two-thread overwrite figure.
const THREAD_IMAGE: usize = MIB;
/// Bytes each thread writes per round in the two-thread figures.
const THREAD_TOTAL: usize = 256 * MIB;
/// Rounds of the two-thread target figure (each a few ms per measurement).
const THREAD_ROUNDS: usize = 41;

/// The machine's load average (Linux only).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}

/// Shared inputs, built once.
struct Fixture {
    src: Vec<u8>,
    src_big: Vec<u8>,
    /// 1 MiB image, fully written.
    small: Image,
    /// "Large" image, fully written: 1 GiB under `cargo bench`, less in
    /// test mode.
    large: Image,
    large_len: u64,
}

fn fixture(bench_mode: bool) -> Fixture {
    let src = pattern(IO, 7);
    let src_big = pattern(COPY_UPS * CHUNK_SIZE, 3);
    let large_len = if bench_mode { GIB } else { 16 * MIB as u64 };
    Fixture {
        small: written_image(IO as u64, &src),
        large: written_image(large_len, &src),
        large_len,
        src,
        src_big,
    }
}

fn criterion_benches(c: &mut Criterion, fx: &Fixture) {
    let src = &fx.src;

    let mut g = c.benchmark_group("overwrite_1MiB");
    g.throughput(Throughput::Bytes(IO as u64));
    let mut dst = vec![0u8; IO];
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(src)))
    });
    let mut image = fx.small.clone();
    image.write_at(0, src).unwrap(); // unshare from the fixture
    g.bench_function("store", |b| {
        b.iter(|| image.write_at(0, black_box(src)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("first_write_16MiB");
    g.throughput(Throughput::Bytes(FRESH as u64));
    g.bench_function("alloc_and_fill", |b| {
        b.iter_batched(
            release_free_memory,
            |()| fresh_buffers(FRESH, src),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("store", |b| {
        b.iter_batched(
            release_free_memory,
            |()| first_write(FRESH, src),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("read_1MiB");
    g.throughput(Throughput::Bytes(IO as u64));
    let mut buf = vec![0u8; IO];
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut buf[..]).copy_from_slice(black_box(src)))
    });
    g.bench_function("store_written", |b| {
        b.iter(|| fx.small.read_at(0, black_box(&mut buf)).unwrap())
    });
    g.bench_function("memset", |b| b.iter(|| black_box(&mut buf[..]).fill(0)));
    let hole = Image::new(IO as u64);
    g.bench_function("store_hole", |b| {
        b.iter(|| hole.read_at(0, black_box(&mut buf)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("copy_up_16_chunks");
    g.throughput(Throughput::Elements(COPY_UPS as u64));
    let base = written_image((COPY_UPS * CHUNK_SIZE) as u64, &fx.src_big);
    g.bench_function("alloc_and_copy_chunk", |b| {
        b.iter_batched(
            || (),
            |()| copy_chunks(&fx.src_big),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("store_4KiB_write", |b| {
        b.iter_batched(
            || base.clone(),
            |image| copy_up(image, src),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("snapshot");
    for image in [&fx.small, &fx.large] {
        let id = BenchmarkId::new("clone", format!("{}MiB_written", image.len() >> 20));
        g.bench_function(id, |b| b.iter(|| black_box(image.clone())));
    }
    g.finish();

    let mut g = c.benchmark_group("threads_overwrite_256MiB_each");
    let mut images = [
        written_image(THREAD_IMAGE as u64, src),
        written_image(THREAD_IMAGE as u64, src),
    ];
    let work = |image: &mut Image| overwrite(image, src, THREAD_TOTAL);
    for threads in [1, 2] {
        g.throughput(Throughput::Bytes((threads * THREAD_TOTAL) as u64));
        g.bench_function(BenchmarkId::from_parameter(threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| on_threads(&mut images[..threads], &work))
                    .sum()
            })
        });
    }
    g.finish();
}

/// Medians of alternating rounds of two measurements, each returning the
/// time of one operation.
fn paired(
    rounds: usize,
    mut base: impl FnMut() -> Duration,
    mut subject: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    // One untimed warm-up of each.
    base();
    subject();
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        a.push(base());
        b.push(subject());
    }
    (median(a), median(b))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Mean time of one call over a batch of `n`.
fn batch(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

/// Time of one call of `f`, with `setup` and dropping the output untimed.
fn once<S, O>(setup: impl FnOnce() -> S, f: impl FnOnce(S) -> O) -> Duration {
    let input = setup();
    let start = Instant::now();
    let output = f(input);
    let elapsed = start.elapsed();
    drop(black_box(output));
    elapsed
}

/// One line of the target table.
struct Row {
    figure: String,
    measured: String,
    target: String,
    /// `None` for figures reported for information only.
    met: Option<bool>,
}

fn fmt_time(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn gib_per_s(bytes: usize, d: Duration) -> String {
    format!("{:.1} GiB/s", bytes as f64 / d.as_secs_f64() / GIB as f64)
}

/// Throughput of the store relative to a baseline, as a speed ratio.
fn speed_row(figure: &str, bytes: usize, base: Duration, store: Duration, min: Option<f64>) -> Row {
    let ratio = base.as_secs_f64() / store.as_secs_f64();
    Row {
        figure: figure.to_string(),
        measured: format!(
            "{ratio:.2}x ({} vs {})",
            gib_per_s(bytes, store),
            gib_per_s(bytes, base)
        ),
        target: min.map_or("-".to_string(), |m| format!(">= {m}x")),
        met: min.map(|m| ratio >= m),
    }
}

/// Two-thread scaling of the store next to that of the plain baseline.
fn scaling_row(figure: &str, bytes: usize, m: &Scaling, min: Option<f64>) -> Row {
    let scale = |(one, two): (Duration, Duration)| 2.0 * one.as_secs_f64() / two.as_secs_f64();
    let ratio = scale(m.store);
    Row {
        figure: figure.to_string(),
        measured: format!(
            "{ratio:.2}x ({} on 2 threads vs {} on 1); controls: plain baseline {:.2}x, \
             CPU-only loop {:.2}x",
            gib_per_s(2 * bytes, m.store.1),
            gib_per_s(bytes, m.store.0),
            scale(m.base),
            scale(m.cpu)
        ),
        target: min.map_or("-".to_string(), |m| format!(">= {m}x")),
        met: min.map(|m| ratio >= m),
    }
}

fn targets(fx: &Fixture) -> Vec<Row> {
    const ROUNDS: usize = 31;
    let src = &fx.src;
    let mut rows = Vec::new();

    // Overwrite, hot.
    let mut dst = vec![0u8; IO];
    let mut image = fx.small.clone();
    image.write_at(0, src).unwrap(); // unshare from the fixture
    let (base, store) = paired(
        ROUNDS,
        || {
            batch(200, || {
                black_box(&mut dst[..]).copy_from_slice(black_box(src))
            })
        },
        || batch(200, || image.write_at(0, black_box(src)).unwrap()),
    );
    rows.push(speed_row(
        "Overwrite of allocated, unshared data, 1 MiB writes (hot) vs 1 MiB memcpy",
        IO,
        base,
        store,
        Some(0.5),
    ));

    // First write into holes, on fresh pages (the page-fault wall).
    let (base, store) = paired(
        ROUNDS,
        || once(release_free_memory, |()| fresh_buffers(FRESH, src)),
        || once(release_free_memory, |()| first_write(FRESH, src)),
    );
    release_free_memory();
    let base_faults = faults_of(|| fresh_buffers(FRESH, src));
    release_free_memory();
    let store_faults = faults_of(|| first_write(FRESH, src));
    let mut row = speed_row(
        "First write into never-written space, 16 MiB in 1 MiB writes, fresh pages, \
         vs alloc+fill of kept 64 KiB buffers",
        FRESH,
        base,
        store,
        Some(0.7),
    );
    row.measured += &format!("; page faults per run {store_faults} vs {base_faults}");
    rows.push(row);

    // The same on memory the allocator recycles from the previous run of the
    // same side (no page faults): the allocation and copying overhead alone.
    let (base, store) = paired(
        ROUNDS,
        || {
            drop(fresh_buffers(FRESH, src));
            once(|| (), |()| fresh_buffers(FRESH, src))
        },
        || {
            drop(first_write(FRESH, src));
            once(|| (), |()| first_write(FRESH, src))
        },
    );
    rows.push(speed_row(
        "(info) The same on recycled memory (each side runs twice, the second is timed)",
        FRESH,
        base,
        store,
        None,
    ));

    // Reads. Separate reused buffers, so that the two closures can alternate.
    let (mut buf_a, mut buf_b) = (vec![0u8; IO], vec![0u8; IO]);
    let (base, store) = paired(
        ROUNDS,
        || {
            batch(200, || {
                black_box(&mut buf_a[..]).copy_from_slice(black_box(src))
            })
        },
        || batch(200, || fx.small.read_at(0, black_box(&mut buf_b)).unwrap()),
    );
    rows.push(speed_row(
        "Read of written data, 1 MiB into a reused buffer vs memcpy",
        IO,
        base,
        store,
        Some(0.5),
    ));
    let hole = Image::new(IO as u64);
    let (base, store) = paired(
        ROUNDS,
        || batch(200, || black_box(&mut buf_a[..]).fill(0)),
        || batch(200, || hole.read_at(0, black_box(&mut buf_b)).unwrap()),
    );
    rows.push(speed_row(
        "Read of a never-written range, 1 MiB vs memset",
        IO,
        base,
        store,
        Some(0.5),
    ));

    // Copy-up.
    let shared = written_image((COPY_UPS * CHUNK_SIZE) as u64, &fx.src_big);
    let (base, store) = paired(
        ROUNDS,
        || once(|| (), |()| copy_chunks(&fx.src_big)) / COPY_UPS as u32,
        || once(|| shared.clone(), |image| copy_up(image, src)) / COPY_UPS as u32,
    );
    let ratio = store.as_secs_f64() / base.as_secs_f64();
    rows.push(Row {
        figure: "Copy-up: 4 KiB write into a chunk shared with a snapshot vs alloc+copy of \
                 one 64 KiB chunk (per chunk)"
            .to_string(),
        measured: format!("{ratio:.2}x ({} vs {})", fmt_time(store), fmt_time(base)),
        target: "<= 2x".to_string(),
        met: Some(ratio <= 2.0),
    });

    // Snapshot / clone: O(1).
    let (small, large) = paired(
        ROUNDS,
        || batch(100_000, || drop(black_box(fx.small.clone()))),
        || batch(100_000, || drop(black_box(fx.large.clone()))),
    );
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    rows.push(Row {
        figure: format!(
            "Snapshot/clone (clone + drop) of a volume with {} MiB written vs 1 MiB written",
            fx.large_len >> 20
        ),
        measured: format!("{ratio:.2}x ({} vs {})", fmt_time(large), fmt_time(small)),
        target: "<= 2x".to_string(),
        met: Some(ratio <= 2.0),
    });

    // Memory, by the store's accounting and by the counting allocator plus
    // the chunk slabs mapped (empty slabs kept from earlier figures
    // released first, so that the image maps all it uses).
    release_free_memory();
    let before = held_bytes();
    let mut built = written_image(fx.large_len, src);
    let heap = held_bytes() - before;
    let n = fx.large_len;
    let accounted = built.allocated_bytes();
    rows.push(Row {
        figure: format!("Memory after writing N = {} MiB", n >> 20),
        measured: format!(
            "accounting {:.4} N; heap and slabs {:.4} N (N + {} KiB of metadata)",
            accounted as f64 / n as f64,
            heap as f64 / n as f64,
            (heap as u64).saturating_sub(n) >> 10
        ),
        target: "<= 1.05 N + metadata".to_string(),
        met: Some(accounted as f64 <= 1.05 * n as f64 && heap as f64 <= 1.05 * n as f64),
    });
    let (bytes0, allocs0) = (held_bytes(), allocations());
    let clone = built.clone();
    let (heap, allocs) = (held_bytes() - bytes0, allocations() - allocs0);
    let added = usage(&[&built, &clone]).allocated - built.allocated_bytes();
    let before = held_bytes();
    built.write_at(0, &src[..SMALL_WRITE]).unwrap();
    let after_write = held_bytes() - before;
    rows.push(Row {
        figure: format!(
            "Memory added by a clone of a volume with {} MiB written",
            n >> 20
        ),
        measured: format!(
            "accounting +{added} B; heap and slabs +{heap} B in {allocs} allocations; \
             after a 4 KiB write into it +{:.1} KiB (a new 2 MiB slab when the others are full)",
            after_write as f64 / KIB as f64
        ),
        target: "< 1 MiB until written".to_string(),
        met: Some(added < MIB as u64 && heap < MIB),
    });
    drop((built, clone));

    // Two threads on two images, hot (each image 1 MiB, like the overwrite
    // figure above).
    let m = scaling(
        THREAD_ROUNDS,
        (
            &mut [
                written_image(THREAD_IMAGE as u64, src),
                written_image(THREAD_IMAGE as u64, src),
            ],
            |_| {},
            |image| overwrite(image, src, THREAD_TOTAL),
        ),
        (
            &mut [vec![1u8; THREAD_IMAGE], vec![1u8; THREAD_IMAGE]],
            |_| {},
            |dst| overwrite_plain(dst, src, THREAD_TOTAL),
        ),
    );
    rows.push(scaling_row(
        "Two threads on two images (1 MiB each, hot) vs one thread: 256 MiB of 1 MiB \
         overwrites per thread",
        THREAD_TOTAL,
        &m,
        Some(1.6),
    ));

    // The same with working sets far larger than the caches: bound by the
    // machine's memory bandwidth, for information.
    const BIG: usize = 256 * MIB;
    let m = scaling(
        5,
        (
            &mut [
                written_image(BIG as u64, src),
                written_image(BIG as u64, src),
            ],
            |_| {},
            |image| overwrite(image, src, BIG),
        ),
        (
            &mut [vec![1u8; BIG], vec![1u8; BIG]],
            |_| {},
            |dst| overwrite_plain(dst, src, BIG),
        ),
    );
    rows.push(scaling_row(
        "(info) The same with 256 MiB images (DRAM-bound)",
        BIG,
        &m,
        None,
    ));

    // First writes on two threads: bound by page faults, for information.
    let m = scaling(
        ROUNDS,
        (
            &mut [None, None],
            |slots: &mut [Option<Image>]| {
                slots.iter_mut().for_each(|s| *s = None);
                release_free_memory();
            },
            |slot| *slot = Some(first_write(FRESH, src)),
        ),
        (
            &mut [None, None],
            |slots: &mut [Option<Vec<Box<[u8]>>>]| {
                slots.iter_mut().for_each(|s| *s = None);
                release_free_memory();
            },
            |slot| *slot = Some(fresh_buffers(FRESH, src)),
        ),
    );
    rows.push(scaling_row(
        "(info) Two threads, first writes of 16 MiB each on fresh pages",
        FRESH,
        &m,
        None,
    ));

    rows
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then criterion runs every benchmark once as a smoke test and the
    // target check (which needs real timings and a 1 GiB image) is skipped.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    // `SIM_FIGURES_ONLY=1` skips the store's own figures (a shorter run
    // while working on the engine).
    let sim_only = std::env::var_os("SIM_FIGURES_ONLY").is_some();
    let fx = fixture(bench_mode && !sim_only);

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    criterion_benches(&mut c, &fx);
    sim_figures::criterion_benches(&mut c, bench_mode);
    c.final_summary();

    if bench_mode {
        let load_before = load_average();
        let mut rows = if sim_only { Vec::new() } else { targets(&fx) };
        drop(fx);
        rows.extend(sim_figures::targets());
        println!();
        println!("| Figure | Measured (median) | Target | Met? |");
        println!("| --- | --- | --- | --- |");
        for r in &rows {
            let met = match r.met {
                None => "-",
                Some(true) => "yes",
                Some(false) => "**NO**",
            };
            println!("| {} | {} | {} | {} |", r.figure, r.measured, r.target, met);
        }
        // Other processes compete for the same cores and memory bandwidth;
        // the load average tells how busy the machine was.
        println!();
        println!(
            "Load average (1, 5, 15 min) before / after the target check: {} / {}",
            load_before,
            load_average()
        );
    }
}

//! Benchmarks of the Linode client against volume-sim's Linode fake on
//! loopback, in one run:
//!
//! 1. `get_volume` through the client (request building, bearer auth, the
//!    transport's retry loop and span, decoding, conversion to the core
//!    model) against a bare `reqwest` GET of the same URL decoded with
//!    `serde_json` into a struct of the same fields. Target: the client
//!    takes at most 1.2 times as long. Criterion measures each; an
//!    interleaved A/B run then prints the ratio.
//! 2. Listing 10,000 volumes through the paginated stream (pages of 500):
//!    the time, the pages fetched as items are consumed (a page is fetched
//!    only when the previous one is used up), and the peak heap held on the
//!    client's threads while streaming versus collecting everything.
//!
//! `cargo bench -p volume-linode --bench client`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::TryStreamExt;
use serde::Deserialize;
use volume_core::{
    BlockStorage, BlockStorageExt, CreateVolume, ListVolumes, RegionId, Size, VolumeId,
};
use volume_linode::{Linode, LinodeBuilder};
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TENANT, DEFAULT_TOKEN};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

// ----- heap accounting for the client's threads ----------------------------------

/// Counts the bytes held by allocations made on threads marked as the
/// client's (the benchmark's runtime and main thread), while switched on.
/// The fake answers from wiremock's own thread, which is not counted.
struct ClientHeap;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static CLIENT_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed) && CLIENT_THREAD.try_with(Cell::get).unwrap_or(false)
}

fn add(bytes: usize) {
    let delta = isize::try_from(bytes).unwrap_or(isize::MAX);
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn sub(bytes: usize) {
    LIVE.fetch_sub(
        isize::try_from(bytes).unwrap_or(isize::MAX),
        Ordering::Relaxed,
    );
}

// SAFETY: every call is passed on to the system allocator unchanged; only
// counters are updated besides.
unsafe impl GlobalAlloc for ClientHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            add(layout.size());
        }
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            sub(layout.size());
        }
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            sub(layout.size());
            add(new_size);
        }
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static HEAP: ClientHeap = ClientHeap;

fn mark_client_thread() {
    CLIENT_THREAD.with(|c| c.set(true));
}

/// Runs `f` with counting on; returns its result and the peak bytes held
/// above what was held when it started.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let start = LIVE.load(Ordering::SeqCst);
    PEAK.store(start, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let out = f();
    COUNTING.store(false, Ordering::SeqCst);
    (out, PEAK.load(Ordering::SeqCst) - start)
}

// ----- the baseline -----------------------------------------------------------------

/// The volume's fields, for the bare baseline's decode.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct BareVolume {
    id: u64,
    label: String,
    status: String,
    size: u64,
    region: Option<String>,
    linode_id: Option<u64>,
    linode_label: Option<String>,
    filesystem_path: Option<String>,
    tags: Vec<String>,
    hardware_type: Option<String>,
    encryption: Option<String>,
    created: Option<String>,
    updated: Option<String>,
    io_ready: Option<bool>,
    #[serde(default)]
    locks: Vec<String>,
}

async fn bare_get(http: &reqwest::Client, url: &str) -> BareVolume {
    let body = http
        .get(url)
        .bearer_auth(DEFAULT_TOKEN)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Counts the `GET /v4/volumes` requests the fake receives; never matches,
/// so the fake answers them.
struct CountPages(Arc<AtomicUsize>);

impl Match for CountPages {
    fn matches(&self, request: &Request) -> bool {
        if request.method.as_str() == "GET" && request.url.path() == "/v4/volumes" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        false
    }
}

const VOLUMES: usize = 10_000;
const PAGE: u32 = 500;

fn main() {
    mark_client_thread();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(mark_client_thread)
        .enable_all()
        .build()
        .unwrap();
    let fake = LinodeFake::builder().build();
    let server = rt.block_on(fake.start());
    let base = LinodeFake::base_url(&server);
    let linode: Linode = LinodeBuilder::new()
        .with_token(DEFAULT_TOKEN)
        .with_base_url(&base)
        .build()
        .unwrap();
    let region = RegionId::new("us-east").unwrap();
    let volume = rt
        .block_on(
            linode.create_volume(
                &CreateVolume::new("bench", Size::gib(20))
                    .with_region(region.clone())
                    .with_label("team", "bench"),
            ),
        )
        .unwrap();
    fake.engine().run_until_quiet();
    let id = volume.id.clone();
    let url = format!("{base}/volumes/{id}");
    let http = reqwest::Client::new();

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    // ---- 1. get_volume against a bare GET --------------------------------------
    {
        let mut group = c.benchmark_group("get_volume");
        group.bench_function("volume-linode", |b| {
            b.iter(|| black_box(rt.block_on(linode.get_volume(&id)).unwrap()));
        });
        group.bench_function("bare reqwest + serde_json", |b| {
            b.iter(|| black_box(rt.block_on(bare_get(&http, &url))));
        });
        group.finish();
    }
    let ratio = interleaved_ratio(&rt, &linode, &id, &http, &url);

    // ---- 2. listing 10,000 volumes ----------------------------------------------
    fake.engine().with(|control| {
        for i in 1..VOLUMES {
            let req =
                CreateVolume::new(format!("vol-{i}"), Size::gib(10)).with_region(region.clone());
            control.create_volume(DEFAULT_TENANT, &req, None).unwrap();
        }
    });
    fake.engine().run_until_quiet();
    let pages = Arc::new(AtomicUsize::new(0));
    let counted_server = rt.block_on(async {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(CountPages(Arc::clone(&pages)))
            .respond_with(ResponseTemplate::new(500))
            .with_priority(1)
            .mount(&server)
            .await;
        fake.mount(&server).await;
        server
    });
    let lister = LinodeBuilder::new()
        .with_token(DEFAULT_TOKEN)
        .with_base_url(LinodeFake::base_url(&counted_server))
        .build()
        .unwrap();
    let query = ListVolumes::new().with_page_size(PAGE);
    {
        let mut group = c.benchmark_group("list_10000_volumes");
        group.sample_size(10);
        group.bench_function("list_all_volumes, pages of 500", |b| {
            b.iter(|| {
                let n = rt.block_on(
                    lister
                        .list_all_volumes(query.clone())
                        .try_fold(0usize, |n, _| async move { Ok(n + 1) }),
                );
                assert_eq!(n.unwrap(), VOLUMES);
            });
        });
        group.finish();
    }

    // Pages fetched as items are consumed, one item at a time.
    pages.store(0, Ordering::SeqCst);
    let mut ahead_max = 0usize;
    let ((), streaming_peak) = peak_heap(|| {
        rt.block_on(async {
            let mut stream = lister.list_all_volumes(query.clone());
            let mut n = 0usize;
            while let Some(v) = stream.try_next().await.unwrap() {
                n += 1;
                black_box(v);
                let needed = n.div_ceil(PAGE as usize);
                let fetched = pages.load(Ordering::SeqCst);
                assert!(fetched >= needed, "{n} items from {fetched} pages");
                ahead_max = ahead_max.max(fetched - needed);
            }
            assert_eq!(n, VOLUMES);
        });
    });
    let fetched = pages.load(Ordering::SeqCst);
    let (all, collected_peak) = peak_heap(|| {
        rt.block_on(
            lister
                .list_all_volumes(query.clone())
                .try_collect::<Vec<_>>(),
        )
        .unwrap()
    });
    assert_eq!(all.len(), VOLUMES);
    drop(all);

    println!();
    println!("get_volume, interleaved A/B (client / bare): {ratio:.3} (target <= 1.2)");
    println!(
        "listing {VOLUMES} volumes in pages of {PAGE}: {fetched} pages fetched; the stream was \
         never more than {ahead_max} page(s) ahead of the items consumed"
    );
    println!(
        "peak heap on the client's threads: {} KiB while streaming (items dropped as read), \
         {} KiB when all are collected",
        streaming_peak / 1024,
        collected_peak / 1024
    );
    c.final_summary();
}

/// Alternates blocks of client and bare GETs and returns the ratio of the
/// median per-call times, so both see the same machine conditions.
fn interleaved_ratio(
    rt: &tokio::runtime::Runtime,
    linode: &Linode,
    id: &VolumeId,
    http: &reqwest::Client,
    url: &str,
) -> f64 {
    const ROUNDS: usize = 15;
    const CALLS: u32 = 200;
    let mut client = Vec::with_capacity(ROUNDS);
    let mut bare = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..CALLS {
            black_box(rt.block_on(linode.get_volume(id)).unwrap());
        }
        client.push(start.elapsed() / CALLS);
        let start = Instant::now();
        for _ in 0..CALLS {
            black_box(rt.block_on(bare_get(http, url)));
        }
        bare.push(start.elapsed() / CALLS);
    }
    client.sort();
    bare.sort();
    let (c, b) = (client[ROUNDS / 2], bare[ROUNDS / 2]);
    println!("get_volume median per call: client {c:?}, bare {b:?}");
    c.as_secs_f64() / b.as_secs_f64()
}

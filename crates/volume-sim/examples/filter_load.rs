//! How a maximal `X-Filter` behaves in a big cloud: the Linode fake with
//! 20,000 volumes, answering filters of the largest size it accepts (64
//! terms), and what that does to an unrelated request running meanwhile.
//! The figures in the README come from this program.
//!
//! ```text
//! cargo run --release -p volume-sim --example filter_load [VOLUMES]
//! ```
//!
//! Everything stays on loopback; every loop is bounded in count.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use volume_sim::fake::linode::DEFAULT_TOKEN;
use volume_sim::serve::{ServeConfig, Server};

/// Samples per figure.
const SAMPLES: usize = 200;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A filter of 64 terms (the most the fake accepts): an `+or` group of 63
/// `+contains` tests that no label matches, so every volume is tested
/// against every term.
fn maximal_filter() -> String {
    // `FILTER_TERMS=1` measures what a filter costs beyond its tests.
    let alternatives = std::env::var("FILTER_TERMS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(63, |n| n.clamp(1, 64) - 1)
        .max(1);
    let terms: Vec<Value> = (0..alternatives)
        .map(|i| json!({"label": {"+contains": format!("absent-{i}")}}))
        .collect();
    json!({ "+or": terms }).to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let volumes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    // The served fake (hyper, as the binary serves it): wiremock would
    // serialise requests itself and hide what the fake does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let server = Server::start(listener, &ServeConfig::default())
        .await
        .expect("the server starts");
    let base = format!("{}/v4", server.uri());
    let http = reqwest::Client::new();
    let auth = format!("Bearer {DEFAULT_TOKEN}");

    let mut first = None;
    for i in 0..volumes {
        let answer: Value = http
            .post(format!("{base}/volumes"))
            .header("authorization", &auth)
            .json(&json!({"label": format!("vol-{i}"), "region": "us-east", "size": 10}))
            .send()
            .await
            .expect("the fake answers")
            .json()
            .await
            .expect("JSON");
        first.get_or_insert_with(|| answer["id"].to_string());
    }
    let one = format!("{base}/volumes/{}", first.expect("a volume"));
    let get_one = || {
        let (http, one, auth) = (http.clone(), one.clone(), auth.clone());
        async move {
            let start = Instant::now();
            let status = http
                .get(&one)
                .header("authorization", &auth)
                .send()
                .await
                .expect("the fake answers")
                .status();
            assert!(status.is_success(), "{status}");
            start.elapsed()
        }
    };
    let filter = maximal_filter();
    let filtered = {
        let (http, base, auth) = (http.clone(), base.clone(), auth.clone());
        move || {
            let (http, base, auth, filter) =
                (http.clone(), base.clone(), auth.clone(), filter.clone());
            async move {
                let start = Instant::now();
                let answer: Value = http
                    .get(format!("{base}/volumes"))
                    .header("authorization", &auth)
                    .header("x-filter", &filter)
                    .send()
                    .await
                    .expect("the fake answers")
                    .json()
                    .await
                    .expect("JSON");
                assert_eq!(answer["results"], 0, "{answer}");
                start.elapsed()
            }
        }
    };

    let mut alone = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        alone.push(get_one().await);
    }
    let mut filters = Vec::with_capacity(20);
    for _ in 0..20 {
        filters.push(filtered().await);
    }
    // The unrelated GET while filters run back to back on another task.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = std::sync::Arc::clone(&stop);
        let filtered = filtered.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 100_000 {
                filtered().await;
                n += 1;
            }
            n
        })
    };
    // One GET a millisecond for as long as 20 filters take (at most 20 s),
    // so that every phase of the filters is sampled.
    let window = (median(filters.clone()) * 20).min(Duration::from_secs(20));
    let started = Instant::now();
    let mut during = Vec::new();
    while started.elapsed() < window {
        during.push(get_one().await);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let filters_meanwhile = load.await.expect("the load task ends");

    let samples = during.len();
    let (alone_p99, during_p99) = (p99(alone.clone()), p99(during.clone()));
    let (alone, filter, during) = (median(alone), median(filters), median(during));
    println!("volumes: {volumes}; filter: {} bytes", filter_len());
    println!("maximal filtered listing: median of 20 {filter:?}");
    println!("unrelated GET alone: median {alone:?}, p99 {alone_p99:?} ({SAMPLES} samples)");
    println!(
        "unrelated GET while filters run: median {during:?}, p99 {during_p99:?} \
         ({samples} samples over {filters_meanwhile} filters; median {:.2}x alone)",
        during.as_secs_f64() / alone.as_secs_f64()
    );
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() * 99 / 100]
}

fn filter_len() -> usize {
    maximal_filter().len()
}

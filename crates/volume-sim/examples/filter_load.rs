//! How a maximal filter behaves in a big cloud: a fake with 20,000
//! volumes, answering filters of the largest size it accepts, and what that
//! does to an unrelated request running meanwhile. Linode (the default):
//! an `X-Filter` of 64 terms; Rancher (`FAKE=rancher`): 63 `name_ne`
//! conditions and one `name`, the 64 query parameters the fake takes. The figures
//! in the README come from this program.
//!
//! ```text
//! cargo run --release -p volume-sim --example filter_load [VOLUMES]
//! FAKE=rancher cargo run --release -p volume-sim --example filter_load [VOLUMES]
//! ```
//!
//! Everything stays on loopback; every loop is bounded in count.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use volume_sim::fake::linode::DEFAULT_TOKEN;
use volume_sim::fake::rancher::{DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY};
use volume_sim::serve::{ServeConfig, Server};

/// Samples per figure.
const SAMPLES: usize = 200;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// How many terms the filter has: `FILTER_TERMS=1` measures what a filter
/// costs beyond its tests.
fn terms(most: usize) -> usize {
    std::env::var("FILTER_TERMS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(most, |n| n.clamp(1, most))
}

/// One fake as this program drives it.
#[derive(Clone)]
struct Target {
    /// The volumes collection.
    volumes: String,
    /// The `authorization` header.
    auth: String,
    rancher: bool,
}

impl Target {
    fn new(origin: &str, rancher: bool) -> Self {
        if rancher {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{DEFAULT_ACCESS_KEY}:{DEFAULT_SECRET_KEY}"));
            Self {
                volumes: format!("{origin}/v2-beta/projects/{DEFAULT_PROJECT_ID}/volumes"),
                auth: format!("Basic {basic}"),
                rancher,
            }
        } else {
            Self {
                volumes: format!("{origin}/v4/volumes"),
                auth: format!("Bearer {DEFAULT_TOKEN}"),
                rancher,
            }
        }
    }

    fn create_body(&self, i: usize) -> Value {
        if self.rancher {
            json!({"name": format!("vol-{i}"), "driver": "rancher-longhorn", "sizeMb": 1024})
        } else {
            json!({"label": format!("vol-{i}"), "region": "us-east", "size": 10})
        }
    }

    /// A request of the largest filter the fake accepts that no volume
    /// meets, so every volume is tested against every term. Linode: an
    /// `+or` group of 63 `+contains` tests on the label (64 terms);
    /// Rancher: 63 `name_ne` conditions and one `name` (64 parameters).
    fn filtered(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        if self.rancher {
            let mut query: Vec<(String, String)> = (0..terms(64) - 1)
                .map(|i| ("name_ne".to_owned(), format!("absent-{i}")))
                .collect();
            query.push(("name".to_owned(), "absent".to_owned()));
            http.get(&self.volumes)
                .query(&query)
                .header("authorization", &self.auth)
        } else {
            let alternatives: Vec<Value> = (0..terms(64).saturating_sub(1).max(1))
                .map(|i| json!({"label": {"+contains": format!("absent-{i}")}}))
                .collect();
            http.get(&self.volumes)
                .header("authorization", &self.auth)
                .header("x-filter", json!({ "+or": alternatives }).to_string())
        }
    }

    /// How many items a filtered answer holds (both fakes answer a
    /// `data` array).
    fn count(&self, answer: &Value) -> usize {
        answer["data"].as_array().map_or(usize::MAX, Vec::len)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let volumes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let rancher = std::env::var("FAKE").is_ok_and(|f| f == "rancher");
    // The served fake (hyper, as the binary serves it): wiremock would
    // serialise requests itself and hide what the fake does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let server = Server::start(listener, &ServeConfig::default())
        .await
        .expect("the server starts");
    let target = Target::new(&server.uri(), rancher);
    let http = reqwest::Client::new();

    let mut first = None;
    for i in 0..volumes {
        let answer: Value = http
            .post(&target.volumes)
            .header("authorization", &target.auth)
            .json(&target.create_body(i))
            .send()
            .await
            .expect("the fake answers")
            .json()
            .await
            .expect("JSON");
        let id = answer["id"]
            .as_str()
            .map_or_else(|| answer["id"].to_string(), str::to_owned);
        first.get_or_insert(id);
    }
    let one = format!("{}/{}", target.volumes, first.expect("a volume"));
    let get_one = || {
        let (http, one, auth) = (http.clone(), one.clone(), target.auth.clone());
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
    let filtered = {
        let (http, target) = (http.clone(), target.clone());
        move || {
            let (http, target) = (http.clone(), target.clone());
            async move {
                let start = Instant::now();
                let answer: Value = target
                    .filtered(&http)
                    .send()
                    .await
                    .expect("the fake answers")
                    .json()
                    .await
                    .expect("JSON");
                assert_eq!(target.count(&answer), 0, "{answer}");
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
    let fake = if rancher { "rancher" } else { "linode" };
    println!("{fake}: volumes: {volumes}; filter terms: {}", terms(64));
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

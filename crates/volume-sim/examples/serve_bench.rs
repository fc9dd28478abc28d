//! The served fakes' throughput against a minimal hyper server answering
//! the same bytes from memory, in one process and one run, rounds
//! interleaved, medians reported; and the memory the server keeps per
//! request. The README's serving figures come from this program.
//!
//! ```text
//! cargo run --release -p volume-sim --example serve_bench -- [REQUESTS_PER_ROUND] [ROUNDS]
//! valgrind --tool=callgrind target/release/examples/serve_bench N 1 base|ours
//! ```
//!
//! Everything stays on loopback; every loop is bounded by its count.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use volume_sim::fake::linode::DEFAULT_TOKEN;
use volume_sim::serve::{ServeConfig, Server};

const CONNECTIONS: usize = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let per_round: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(40_000);
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);

    let empty = start().await;
    let (small_id, _) = fill(&empty, 1).await;
    let full = start().await;
    let (full_id, _) = fill(&full, 2_000).await;
    let path = format!("/v4/volumes/{small_id}");
    let full_path = format!("/v4/volumes/{full_id}");

    // The baseline answers exactly what the fake answers (head and body).
    let (head, body) = fetch(empty.address(), &path).await;
    let baseline = baseline_server(head, body).await;

    // `serve_bench N base|ours`: one side only, for instruction counts
    // under `valgrind --tool=callgrind` (the whole run minus a run of 0).
    if let Some(side) = args.next() {
        let addr = if side == "base" {
            baseline
        } else {
            empty.address()
        };
        let _ = load(addr, &path, per_round).await;
        return;
    }

    // Each round measures the three side by side, so a slow moment of the
    // shared machine falls on all of them; the ratios are taken per round
    // and their medians reported.
    let (mut base, mut ours, mut crowded) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratio, mut crowded_ratio) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let b = load(baseline, &path, per_round).await;
        let o = load(empty.address(), &path, per_round).await;
        let c = load(full.address(), &full_path, per_round).await;
        base.push(b);
        ours.push(o);
        crowded.push(c);
        ratio.push(o / b);
        crowded_ratio.push(c / o);
    }
    println!("GET /v4/volumes/{{id}}, {CONNECTIONS} connections, {per_round} requests a round, {rounds} rounds, medians:");
    println!(
        "  minimal hyper server, same bytes: {:>9.0} requests/s",
        median(base)
    );
    println!(
        "  volume-sim, 1 volume:             {:>9.0} requests/s  ({:.2}x of the baseline, per-round ratios {:.2}..{:.2})",
        median(ours),
        median(ratio.clone()),
        ratio.iter().copied().fold(f64::INFINITY, f64::min),
        ratio.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  volume-sim, 2,000 volumes:        {:>9.0} requests/s  ({:.2}x of 1 volume)",
        median(crowded),
        median(crowded_ratio)
    );

    // Memory kept per request: RSS after a warm-up, then after 1,000,000
    // more requests on the same server.
    let _ = load(empty.address(), &path, 100_000).await;
    let before = rss_kib();
    for _ in 0..10 {
        let _ = load(empty.address(), &path, 100_000).await;
    }
    let after = rss_kib();
    println!(
        "  RSS of this process: {:.1} MiB after warm-up, {:.1} MiB after 1,000,000 more requests ({:+} KiB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after as i64 - before as i64
    );
}

async fn start() -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    Server::start(listener, &ServeConfig::default())
        .await
        .expect("the fakes start")
}

/// Creates `n` volumes; the id of the last one and the time it took.
async fn fill(server: &Server, n: usize) -> (String, Duration) {
    let began = Instant::now();
    let mut stream = TcpStream::connect(server.address()).await.expect("connect");
    let mut id = String::new();
    for i in 0..n {
        let body = format!(r#"{{"label":"v{i}","region":"us-east"}}"#);
        let request = format!(
            "POST /v4/volumes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let (_, answer) = read_response(&mut stream).await;
        let v: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
        id = v["id"].to_string();
    }
    (id, began.elapsed())
}

/// One GET, its head (status line and headers, without the `date`) and
/// body.
async fn fetch(addr: SocketAddr, path: &str) -> (Vec<(String, String)>, Bytes) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request(path).as_bytes())
        .await
        .expect("write");
    let (head, body) = read_response(&mut stream).await;
    let headers = String::from_utf8_lossy(&head)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("date") && !n.eq_ignore_ascii_case("content-length")
        })
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    (headers, Bytes::from(body))
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\n\r\n")
}

/// A hyper server that answers every request with `headers` and `body`.
async fn baseline_server(headers: Vec<(String, String)>, body: Bytes) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (headers, body) = (headers.clone(), body.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_: Request<hyper::body::Incoming>| {
                    let mut response = Response::new(Full::new(body.clone()));
                    for (name, value) in &headers {
                        if let (Ok(n), Ok(v)) = (
                            hyper::header::HeaderName::from_bytes(name.as_bytes()),
                            hyper::header::HeaderValue::from_str(value),
                        ) {
                            response.headers_mut().append(n, v);
                        }
                    }
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// `total` GETs of `path` over [`CONNECTIONS`] kept-alive connections;
/// requests per second.
async fn load(addr: SocketAddr, path: &str, total: usize) -> f64 {
    let request = request(path);
    let began = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let request = request.clone();
            let count = total / CONNECTIONS + usize::from(n < total % CONNECTIONS);
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let _ = stream.set_nodelay(true);
                for _ in 0..count {
                    stream.write_all(request.as_bytes()).await.expect("write");
                    read_response(&mut stream).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a load task");
    }
    total as f64 / began.elapsed().as_secs_f64()
}

/// Reads one response with a `Content-Length`: head and body. Parsed on
/// bytes, so that the client costs as little as it can beside the servers.
async fn read_response(stream: &mut TcpStream) -> (Vec<u8>, Vec<u8>) {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let length = content_length(&buf[..end]);
            if buf.len() >= end + 4 + length {
                let body = buf[end + 4..end + 4 + length].to_vec();
                buf.truncate(end);
                return (buf, body);
            }
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Content-Length` of a head (0 when there is none).
fn content_length(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            line[..colon]
                .eq_ignore_ascii_case(b"content-length")
                .then(|| {
                    std::str::from_utf8(&line[colon + 1..])
                        .ok()?
                        .trim()
                        .parse()
                        .ok()
                })?
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// This process's resident memory, in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

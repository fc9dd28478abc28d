//! Load on the `volume-sim` binary, measured from outside: its resident
//! memory after many requests and after huge bodies, and how long it takes
//! to serve again after a burst of connections exhausts its file
//! descriptors. The figures in the README come from this program.
//!
//! ```text
//! cargo build --release -p volume-sim --bin volume-sim --example serve_load
//! target/release/examples/serve_load target/release/volume-sim [REQUESTS]
//! ```
//!
//! Linux only (it reads `/proc/PID/status`); everything stays on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use volume_sim::fake::linode::DEFAULT_TOKEN;

/// Kills the server when the program ends, however it ends.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `command` (which runs the binary) and reads its Linode line.
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("volume-sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("a banner");
        let base = line
            .split_whitespace()
            .nth(1)
            .expect("a base URL")
            .to_owned();
        Self { child, base }
    }

    fn address(&self) -> String {
        self.base
            .trim_start_matches("http://")
            .trim_end_matches("/v4")
            .to_owned()
    }

    /// Resident memory in MiB, from `/proc`.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .unwrap_or_else(|| "target/release/volume-sim".to_owned());
    let requests: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);

    let mut command = Command::new(&binary);
    command.args(["--listen", "127.0.0.1:0"]);
    let server = Server::start(command);
    let start_rss = server.rss_mib();
    println!("started: RSS {start_rss:.1} MiB");

    // Many small requests, 16 at a time on kept-alive connections: lists,
    // single volumes, refusals.
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/volumes", server.base))
        .bearer_auth(DEFAULT_TOKEN)
        .json(&serde_json::json!({"label": "load", "region": "us-east"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("JSON");
    let id = created["id"].to_string();
    let began = Instant::now();
    let failures = futures::stream::iter(0..requests)
        .map(|n| {
            let (http, base, id) = (http.clone(), server.base.clone(), id.clone());
            async move {
                let request = match n % 4 {
                    0 => http
                        .get(format!("{base}/volumes"))
                        .bearer_auth(DEFAULT_TOKEN),
                    1 => http
                        .get(format!("{base}/volumes/{id}"))
                        .bearer_auth(DEFAULT_TOKEN),
                    2 => http.get(format!("{base}/regions")),
                    _ => http.get(format!("{base}/volumes")).bearer_auth("wrong"),
                };
                request.send().await.is_err()
            }
        })
        .buffer_unordered(16)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let elapsed = began.elapsed();
    println!(
        "{requests} requests in {:.1} s ({:.0}/s), {failures} failed: RSS {:.1} MiB",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        server.rss_mib()
    );

    // Five 200 MB bodies, declared and chunked, unauthenticated.
    for n in 0..5 {
        let chunked = n % 2 == 1;
        let sent = huge_body(&server.address(), 200_000_000, chunked).await;
        println!(
            "200 MB body #{} ({}): answered {}; {} MB taken before the server closed; RSS {:.1} MiB",
            n + 1,
            if chunked { "chunked" } else { "Content-Length" },
            sent.1,
            sent.0 / 1_000_000,
            server.rss_mib()
        );
    }
    drop(server);

    // Descriptor exhaustion: a server allowed 64 descriptors, 300
    // connections at once, then all closed.
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!("ulimit -n 64 && exec '{binary}' --listen 127.0.0.1:0 --max-connections 10000"),
    ]);
    let server = Server::start(command);
    let mut burst = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = TcpStream::connect(server.address()).await {
            burst.push(s);
        }
    }
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let during = quick.get(format!("{}/regions", server.base)).send().await;
    println!(
        "{} connections open on a 64-descriptor server: a new request {}",
        burst.len(),
        if during.is_ok() {
            "was answered"
        } else {
            "waits"
        }
    );
    drop(burst);
    let closed = Instant::now();
    let deadline = closed + Duration::from_secs(30);
    loop {
        let fresh = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        if let Ok(r) = fresh.get(format!("{}/regions", server.base)).send().await {
            println!(
                "after closing them: answered {} in {} ms",
                r.status(),
                closed.elapsed().as_millis()
            );
            break;
        }
        if Instant::now() > deadline {
            println!("after closing them: still not serving after 30 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends a `len`-byte body to `/v4/volumes` until the server answers or
/// closes; the bytes sent and the status line.
async fn huge_body(address: &str, len: usize, chunked: bool) -> (usize, String) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = if chunked {
        "POST /v4/volumes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
    } else {
        format!("POST /v4/volumes HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n")
    };
    stream.write_all(head.as_bytes()).await.expect("head");
    let block = vec![b'x'; 1 << 16];
    let mut sent = 0;
    while sent < len {
        let write = if chunked {
            let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
            framed.extend_from_slice(&block);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed).await
        } else {
            stream.write_all(&block).await
        };
        if write.is_err() {
            break;
        }
        sent += block.len();
    }
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    let status = String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or("(none: closed)")
        .to_owned();
    (sent, status)
}

//! The fakes on a real port: `serve::Server` (wall clock, many clients at
//! once, a JSON 404 off the fakes' paths, the dialects' settings) and the
//! `volume-sim` binary (prints its base URLs, stops cleanly with status 0
//! on SIGINT). The server's limits are in `serve_limits.rs`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use volume_sim::fake::linode::DEFAULT_TOKEN;
use volume_sim::serve::{ServeConfig, Server};

async fn start(config: ServeConfig) -> (Server, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, &config).await.unwrap();
    let dialects = server.dialects();
    let names: Vec<&str> = dialects.iter().map(|d| d.name).collect();
    assert!(names.starts_with(&["linode", "exoscale"]), "{names:?}");
    assert_eq!(
        dialects[1].base_url,
        format!("http://{}/v2", server.address())
    );
    assert_eq!(dialects[0].name, "linode");
    assert_eq!(
        dialects[0].base_url,
        format!("http://{}/v4", server.address())
    );
    let base = dialects[0].base_url.clone();
    (server, base)
}

/// Polls (on the wall clock: the server's clock is the wall clock) until
/// the volume is active.
async fn wait_active(client: &reqwest::Client, base: &str, token: &str, id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = client
            .get(format!("{base}/volumes/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"] == "active" {
            return v;
        }
        assert!(Instant::now() < deadline, "still {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_on_the_wall_clock_for_many_clients() {
    let (server, base) = start(ServeConfig::default().with_time_scale(40.0)).await;
    let client = reqwest::Client::new();

    // Off the fakes' paths: a JSON 404.
    let resp = client
        .get(format!("{}/nowhere", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/json");

    // Created `creating`, `active` a moment later without anyone stepping.
    let v: Value = client
        .post(format!("{base}/volumes"))
        .bearer_auth(DEFAULT_TOKEN)
        .json(&json!({"label": "wall-clock", "region": "us-east"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "creating");
    let id = v["id"].as_u64().unwrap();
    wait_active(&client, &base, DEFAULT_TOKEN, id).await;

    // 32 clients at once, each with a lifecycle of its own.
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let v: Value = client
                    .post(format!("{base}/volumes"))
                    .bearer_auth(DEFAULT_TOKEN)
                    .json(&json!({"label": format!("many-{n}"), "region": "eu-west", "tags": [format!("t{n}")]}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let id = v["id"].as_u64().expect("an id");
                let mine: Value = client
                    .get(format!("{base}/volumes"))
                    .bearer_auth(DEFAULT_TOKEN)
                    .header("X-Filter", json!({"tags": format!("t{n}")}).to_string())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(mine["results"], 1);
                wait_active(&client, &base, DEFAULT_TOKEN, id).await;
                let resp = client
                    .delete(format!("{base}/volumes/{id}"))
                    .bearer_auth(DEFAULT_TOKEN)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let all: Value = client
        .get(format!("{base}/volumes"))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["results"], 1);
    // The engine is reachable for inspection.
    assert_eq!(
        server
            .fake("linode")
            .unwrap()
            .engine()
            .with(|c| c.all_volumes("default").len()),
        1
    );
}

#[tokio::test]
async fn serve_takes_the_configured_token_and_rate_limit() {
    let config = ServeConfig::default()
        .with_setting("linode-token", "my-token")
        .unwrap()
        .with_setting("linode-rate-limit", "2")
        .unwrap();
    let (server, base) = start(config).await;
    // A token the user chose is a secret: not shown.
    let shown = &server.dialects()[0].credentials;
    assert!(!shown.contains("my-token"), "{shown}");
    assert!(shown.contains("--linode-token"), "{shown}");
    let client = reqwest::Client::new();
    let get = |token: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/volumes"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(get(DEFAULT_TOKEN).await.status(), 401);
    assert_eq!(get("my-token").await.status(), 200);
    assert_eq!(get("my-token").await.status(), 200);
    let limited = get("my-token").await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

#[cfg(all(unix, feature = "server"))]
mod binary {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};

    use super::*;

    fn spawn(args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_volume-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the volume-sim binary starts")
    }

    fn interrupt(child: &Child) {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "volume-sim did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn prints_its_base_url_serves_and_exits_0_on_ctrl_c() {
        let mut child = spawn(&["--listen", "127.0.0.1:0", "--time-scale", "40"]);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // `linode   http://127.0.0.1:PORT/v4   token: ...`
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], "linode", "{line}");
        assert!(fields[1].starts_with("http://127.0.0.1:"), "{line}");
        assert!(fields[1].ends_with("/v4"), "{line}");
        assert_eq!(&fields[2..], ["token:", DEFAULT_TOKEN], "{line}");
        let base = fields[1].to_owned();

        let client = reqwest::Client::new();
        let regions: Value = client
            .get(format!("{base}/regions"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(regions["results"], 4);
        let v: Value = client
            .post(format!("{base}/volumes"))
            .bearer_auth(DEFAULT_TOKEN)
            .json(&json!({"label": "from-cli", "region": "us-ord"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "creating");
        wait_active(&client, &base, DEFAULT_TOKEN, v["id"].as_u64().unwrap()).await;

        interrupt(&child);
        let status = wait_exit(&mut child).await;
        assert!(status.success(), "{status:?}");
    }

    #[tokio::test]
    async fn warns_when_not_on_loopback_and_refuses_bad_flags() {
        let mut child = spawn(&["--listen", "0.0.0.0:0"]);
        let mut line = String::new();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        stderr.read_line(&mut line).unwrap();
        assert!(line.contains("warning"), "{line}");
        interrupt(&child);
        assert!(wait_exit(&mut child).await.success());
        drop(stderr);

        let mut child = spawn(&["--time-scale", "-1"]);
        let status = wait_exit(&mut child).await;
        assert_eq!(status.code(), Some(2));
    }

    #[tokio::test]
    async fn secrets_never_show_in_help_or_the_banner() {
        let help = Command::new(env!("CARGO_BIN_EXE_volume-sim"))
            .arg("--help")
            .env("VOLUME_SIM_LINODE_TOKEN", "env-linode-sekrit")
            .env("VOLUME_SIM_EXOSCALE_SECRET", "env-exoscale-sekrit")
            .output()
            .unwrap();
        assert!(help.status.success());
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--linode-token"), "{text}");
        assert!(text.contains("--exoscale-secret"), "{text}");
        assert!(text.contains("--max-body-bytes"), "{text}");
        assert!(!text.contains("sekrit"), "{text}");

        let mut child = Command::new(env!("CARGO_BIN_EXE_volume-sim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--linode-token",
                "flag-linode-sekrit",
            ])
            .env("VOLUME_SIM_EXOSCALE_SECRET", "env-exoscale-sekrit")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        for _ in 0..2 {
            out.read_line(&mut banner).unwrap();
        }
        assert!(banner.starts_with("linode "), "{banner}");
        assert!(banner.contains("\nexoscale "), "{banner}");
        assert!(!banner.contains("sekrit"), "{banner}");
        assert!(banner.contains("--linode-token"), "{banner}");
        // The secrets given are the ones accepted.
        let base = banner.split_whitespace().nth(1).unwrap().to_owned();
        let status = reqwest::Client::new()
            .get(format!("{base}/volumes"))
            .bearer_auth("flag-linode-sekrit")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        interrupt(&child);
        assert!(wait_exit(&mut child).await.success());

        // A setting a dialect refuses: exit status 2, the flag named.
        let bad = Command::new(env!("CARGO_BIN_EXE_volume-sim"))
            .args(["--listen", "127.0.0.1:0", "--linode-rate-limit", "lots"])
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--linode-rate-limit"));
    }

    /// With few file descriptors, a burst of connections makes `accept`
    /// fail; once they close, the server accepts again.
    #[tokio::test]
    async fn recovers_after_running_out_of_file_descriptors() {
        let script = format!(
            "ulimit -n 48 && exec '{}' --listen 127.0.0.1:0 --max-connections 1000",
            env!("CARGO_BIN_EXE_volume-sim")
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.split_whitespace().nth(1).unwrap().to_owned();
        let addr = base
            .trim_start_matches("http://")
            .trim_end_matches("/v4")
            .to_owned();
        let mut burst = Vec::new();
        for _ in 0..100 {
            burst.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        // Over the descriptor limit: this one waits (the server cannot
        // accept it) rather than being answered.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        assert!(client.get(format!("{base}/regions")).send().await.is_err());
        drop(burst);
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            match client.get(format!("{base}/regions")).send().await {
                Ok(r) => {
                    assert_eq!(r.status(), 200);
                    break;
                }
                Err(e) => assert!(Instant::now() < deadline, "not serving again: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        interrupt(&child);
        assert!(wait_exit(&mut child).await.success());
    }

    #[tokio::test]
    async fn exports_volumes_over_nbd_when_asked() {
        let mut child = spawn(&["--listen", "127.0.0.1:0", "--nbd-listen", "127.0.0.1:0"]);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // The banner: one or more lines per dialect, then the NBD line.
        let mut banner = String::new();
        for _ in 0..100 {
            out.read_line(&mut banner).unwrap();
            if banner.lines().last().is_some_and(|l| l.starts_with("nbd ")) {
                break;
            }
        }
        let nbd_line = banner
            .lines()
            .find(|l| l.starts_with("nbd "))
            .unwrap_or_default()
            .to_owned();
        assert!(nbd_line.starts_with("nbd "), "{banner}");
        let uri = nbd_line.split_whitespace().nth(1).unwrap();
        let addr = uri
            .trim_start_matches("nbd://")
            .trim_end_matches("/<export>")
            .to_owned();
        // The server greets with the newstyle handshake.
        use tokio::io::AsyncReadExt;
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut greeting = [0u8; 16];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut greeting))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&greeting[..8], b"NBDMAGIC");
        assert_eq!(&greeting[8..16], b"IHAVEOPT");
        interrupt(&child);
        assert!(wait_exit(&mut child).await.success());
    }
}

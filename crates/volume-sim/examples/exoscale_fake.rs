//! Serves the Exoscale fake alone on a loopback port until killed, on the
//! wall clock: for checking it with official clients (python-exoscale,
//! egoscale, `exo`).
//!
//! ```text
//! cargo run -p volume-sim --example exoscale_fake -- 127.0.0.1:8091
//! exoscale http://127.0.0.1:8091/v2   key: EXOvolumesim000000000000000   secret: volume-sim-exoscale-secret
//! ```
//!
//! The key and secret can be set with `EXOSCALE_API_KEY` and
//! `EXOSCALE_API_SECRET`; every request is logged (never its headers).

use std::net::TcpListener;

use volume_sim::engine::ClockMode;
use volume_sim::fake::exoscale::{self, ExoscaleFake};
use wiremock::MockServer;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8091".to_owned());
    let key =
        std::env::var("EXOSCALE_API_KEY").unwrap_or_else(|_| exoscale::DEFAULT_KEY.to_owned());
    let secret = std::env::var("EXOSCALE_API_SECRET")
        .unwrap_or_else(|_| exoscale::DEFAULT_SECRET.to_owned());
    let fake = ExoscaleFake::builder()
        .key(key.clone(), secret.clone(), exoscale::DEFAULT_TENANT)
        .clock(ClockMode::Wall { speed: 1.0 })
        .log_requests(true)
        .build();
    let listener = TcpListener::bind(&addr).expect("cannot bind");
    let server = MockServer::builder()
        .listener(listener)
        .disable_request_recording()
        .start()
        .await;
    fake.mount(&server).await;
    println!(
        "exoscale {}   key: {key}   secret: {secret}",
        ExoscaleFake::base_url(&server)
    );
    std::future::pending::<()>().await;
}

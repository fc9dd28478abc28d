//! The Linode fake and an NBD server on one engine, on the wall clock,
//! until killed: create and attach a volume with linode_api4 (or the
//! `volume` CLI), then write it with qemu-img, mkfs or nbd-client.
//!
//! ```text
//! cargo run --release -p volume-sim --example nbd_serve -- 127.0.0.1:10809
//! linode http://127.0.0.1:PORT/v4   token: volume-sim-linode-token
//! nbd    nbd://127.0.0.1:10809/<volume id>, nbd://127.0.0.1:10809//dev/disk/by-id/scsi-0Linode_Volume_<label>
//! ```
//!
//! The token can be set with `LINODE_TOKEN`. Each time the set of exports
//! changes (a volume attached or detached, a clone made), the new list of
//! export URIs is printed.

use std::time::Duration;

use volume_sim::engine::ClockMode;
use volume_sim::fake::linode::{self, LinodeFake};
use volume_sim::nbd::{NbdExports, NbdLimits, NbdServer};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let nbd_addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:10809".to_owned());
    let from_env = std::env::var("LINODE_TOKEN").ok();
    // The default token is public; a token from the environment is never printed.
    let shown_token = match from_env {
        Some(_) => "(from LINODE_TOKEN)",
        None => linode::DEFAULT_TOKEN,
    };
    let token = from_env.unwrap_or_else(|| linode::DEFAULT_TOKEN.to_owned());
    let fake = LinodeFake::builder()
        .token(token, linode::DEFAULT_TENANT)
        .clock(ClockMode::Wall { speed: 1.0 })
        .build();
    let http = fake.start().await;

    // What the registry exports for Linode: attached volumes by id and by
    // the device path Linode shows.
    let source = (linode::ENTRY.exports)(fake.engine().clone());
    let server = NbdServer::bind(
        nbd_addr.as_str(),
        NbdExports::new().with(source),
        NbdLimits::default(),
    )
    .await?;
    if !server.local_addr().ip().is_loopback() {
        eprintln!("warning: NBD is served without authentication on a non-loopback address");
    }
    println!(
        "linode {}   token: {shown_token}",
        LinodeFake::base_url(&http)
    );
    println!("nbd    nbd://{}/<export>", server.local_addr());

    let mut shown: Vec<String> = Vec::new();
    loop {
        let uris = server.export_uris();
        if uris != shown {
            println!("exports now:");
            for uri in &uris {
                println!("  {uri}");
            }
            shown = uris;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

//! Exoscale block-storage volumes with `volume-exoscale`.
//!
//! ```text
//! cargo run --example exoscale
//!     # against volume-sim's Exoscale fake, started in-process: no account needed
//! EXOSCALE_API_KEY=... EXOSCALE_API_SECRET=... [EXOSCALE_ZONE=ch-gva-2] cargo run --example exoscale
//!     # against the real API: read-only (zones, instances, volumes, snapshots)
//! EXOSCALE_API_KEY=... EXOSCALE_API_SECRET=... EXOSCALE_EXAMPLE_CREATE=1 cargo run --example exoscale
//!     # also creates a volume, snapshots it, makes a volume from the snapshot: billed
//! ```
//!
//! Whatever the example creates, it deletes again, also when a step fails.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use volume_core::{
    BlockStorage, BlockStorageExt, CreateSnapshot, CreateVolume, ListSnapshots, ListVolumes, Size,
    SnapshotId, VolumeId,
};
use volume_exoscale::{Exoscale, ExoscaleBuilder, OperationPolling, API_KEY_ENV, API_SECRET_ENV};
use volume_sim::engine::ClockMode;
use volume_sim::fake::exoscale::{ExoscaleFake, DEFAULT_KEY, DEFAULT_SECRET};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let real =
        std::env::var_os(API_KEY_ENV).is_some() && std::env::var_os(API_SECRET_ENV).is_some();
    // The fake's server must live as long as the client; `_server` keeps it.
    let (exo, _server, create) = if real {
        let exo = ExoscaleBuilder::from_env()
            .with_user_agent_suffix("volume-rs-example")
            .build()?;
        let create = std::env::var("EXOSCALE_EXAMPLE_CREATE").is_ok_and(|v| v == "1");
        (exo, None, create)
    } else {
        // A local Exoscale: operations take their (simulated) seconds, on a
        // clock running 50 times faster than the wall clock.
        let fake = ExoscaleFake::builder()
            .clock(ClockMode::Wall { speed: 50.0 })
            .build();
        let server = fake.start().await;
        let exo = ExoscaleBuilder::new()
            .with_api_key(DEFAULT_KEY)
            .with_api_secret(DEFAULT_SECRET)
            .with_zone(fake.zone().as_str())
            .with_endpoint(ExoscaleFake::base_url(&server))
            .with_operation_polling(OperationPolling::fixed(
                Duration::from_millis(20),
                Duration::from_secs(60),
            ))
            .build()?;
        println!("{API_KEY_ENV}/{API_SECRET_ENV} are not set: using volume-sim's Exoscale fake\n");
        (exo, Some(server), true)
    };
    let caps = exo.capabilities();
    println!(
        "{exo}: attach {}, resize {:?}, clone {}, snapshots {}, backups {}, sizes {} to {}\n",
        caps.attach,
        caps.resize,
        caps.clone,
        caps.snapshots,
        caps.backups,
        caps.min_size,
        caps.max_size
    );

    let zones = exo.zones().await?;
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    println!("{} zones: {}", zones.len(), names.join(", "));
    let instances: Vec<_> = exo.list_all_instances().try_collect().await?;
    println!("{} instances in {}", instances.len(), exo.zone());
    let volumes: Vec<_> = exo
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await?;
    println!("{} volumes", volumes.len());
    for v in volumes.iter().take(10) {
        println!(
            "  {}  {:<32} {:>9} {}",
            v.id,
            v.name,
            v.size.to_string(),
            v.raw_state
        );
    }
    let snapshots: Vec<_> = exo
        .list_all_snapshots(ListSnapshots::new())
        .try_collect()
        .await?;
    println!("{} snapshots", snapshots.len());

    if !create {
        println!("\nset EXOSCALE_EXAMPLE_CREATE=1 to create (billed) volumes as well");
        return Ok(());
    }
    let mut made = Made::default();
    let outcome = lifecycle(&exo, &mut made).await;
    clean_up(&exo, &made).await;
    outcome
}

/// What the example created, for the clean-up.
#[derive(Debug, Default)]
struct Made {
    volumes: Vec<VolumeId>,
    snapshots: Vec<SnapshotId>,
}

/// Create a volume, snapshot it, make a larger volume from the snapshot.
async fn lifecycle(exo: &Exoscale, made: &mut Made) -> Result<()> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 1_000_000;
    let name = format!("vrs-example-{stamp}");

    println!("\ncreating {name} (10 GiB); the client waits for Exoscale's operation");
    let volume = exo
        .create_volume(
            &CreateVolume::new(&name, Size::gib(10)).with_label("created-by", "volume-rs-example"),
        )
        .await?;
    made.volumes.push(volume.id.clone());
    println!("  {} is {} ({})", volume.id, volume.state, volume.raw_state);

    let snapshot = exo
        .create_snapshot(&CreateSnapshot::new(
            volume.id.clone(),
            format!("{name}-snap"),
        ))
        .await?;
    made.snapshots.push(snapshot.id.clone());
    println!(
        "snapshot {} of {}: {} ({})",
        snapshot.id, snapshot.size, snapshot.state, snapshot.raw_state
    );

    let copy = exo
        .create_volume(
            &CreateVolume::from_snapshot(format!("{name}-copy"), snapshot.id.clone())
                .with_size(Size::gib(20)),
        )
        .await?;
    made.volumes.push(copy.id.clone());
    println!(
        "volume {} from the snapshot: {} ({})",
        copy.id, copy.size, copy.raw_state
    );

    // What Exoscale does not have is refused at once, without a request.
    let none = exo
        .clone_volume(&volume.id, &volume_core::CloneVolume::new("clone"))
        .await
        .unwrap_err();
    println!("clone: {none}");
    Ok(())
}

/// Deletes what the example made: volumes first (a volume from a snapshot
/// does not need it), then snapshots.
async fn clean_up(exo: &Exoscale, made: &Made) {
    for id in made.volumes.iter().rev() {
        match exo.delete_volume(id).await {
            Ok(()) => println!("deleted volume {id}"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("could not delete volume {id}: {e}"),
        }
    }
    for id in &made.snapshots {
        match exo.delete_snapshot(id).await {
            Ok(()) => println!("deleted snapshot {id}"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("could not delete snapshot {id}: {e}"),
        }
    }
}

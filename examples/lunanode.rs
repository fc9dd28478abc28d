//! LunaNode volumes with `volume-lunanode`.
//!
//! ```text
//! cargo run --example lunanode
//!     # against volume-sim's LunaNode fake, started in-process: no account needed
//! LNDYNAMIC_API_ID=... LNDYNAMIC_API_KEY=... [LUNANODE_REGION=toronto] cargo run --example lunanode
//!     # against the real API: read-only (VMs, images, volumes, snapshots)
//! LNDYNAMIC_API_ID=... LNDYNAMIC_API_KEY=... LUNANODE_EXAMPLE_CREATE=1 cargo run --example lunanode
//!     # also creates a volume, snapshots it, makes a volume from the snapshot,
//!     # replicates the snapshot to an image and makes a volume from it: billed
//! ```
//!
//! (`LUNANODE_API_ID` / `LUNANODE_API_KEY` work too.) Whatever the example
//! creates, it deletes again, also when a step fails; the image a
//! replication makes is left (LunaNode's image deletion is not part of this
//! crate): its id is printed.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use volume_core::http::BackoffConfig;
use volume_core::{
    BlockStorage, BlockStorageExt, CreateSnapshot, CreateVolume, ListSnapshots, ListVolumes,
    RegionId, Size, SnapshotId, SnapshotState, Until, VolumeId, VolumeState, WaitConfig,
};
use volume_lunanode::{LunaNode, LunaNodeBuilder, Polling};
use volume_sim::engine::ClockMode;
use volume_sim::fake::lunanode::{LunaNodeFake, DEFAULT_API_ID, DEFAULT_API_KEY};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let set = |names: &[&str]| names.iter().any(|n| std::env::var_os(n).is_some());
    let real = set(&volume_lunanode::API_ID_ENV) && set(&volume_lunanode::API_KEY_ENV);
    // The fake's server must live as long as the client; `_server` keeps it.
    let (ln, _server, create, wait) = if real {
        let ln = LunaNodeBuilder::from_env()
            .with_user_agent_suffix("volume-rs-example")
            .build()?;
        let create = std::env::var("LUNANODE_EXAMPLE_CREATE").is_ok_and(|v| v == "1");
        (ln, None, create, WaitConfig::default())
    } else {
        // A local LunaNode: transitions take their (simulated) second, on a
        // clock running 50 times faster than the wall clock.
        let fake = LunaNodeFake::builder()
            .clock(ClockMode::Wall { speed: 50.0 })
            .build();
        let server = fake.start().await;
        let ln = LunaNodeBuilder::new()
            .with_api_id(DEFAULT_API_ID)
            .with_api_key(DEFAULT_API_KEY)
            .with_endpoint(LunaNodeFake::base_url(&server))
            .with_polling(Polling {
                interval: Duration::from_millis(20),
                max_wait: Duration::from_secs(60),
            })
            .build()?;
        println!(
            "LNDYNAMIC_API_ID/LNDYNAMIC_API_KEY are not set: using volume-sim's LunaNode fake\n"
        );
        let wait = WaitConfig::new(
            BackoffConfig::new(Duration::from_millis(20), Duration::from_millis(100)),
            Duration::from_secs(60),
        );
        (ln, Some(server), true, wait)
    };
    let caps = ln.capabilities();
    println!(
        "{ln}: attach {}, resize {:?}, clone {}, snapshots {}, backups {}, sizes from {}\n",
        caps.attach, caps.resize, caps.clone, caps.snapshots, caps.backups, caps.min_size
    );

    let vms = ln.vms().await?;
    println!("{} VMs", vms.len());
    for vm in vms.iter().take(5) {
        println!("  {}  {:<24} {}", vm.id, vm.name, vm.region);
    }
    println!("{} images", ln.images(None).await?.len());
    let volumes: Vec<_> = ln
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
    let snapshots: Vec<_> = ln
        .list_all_snapshots(ListSnapshots::new())
        .try_collect()
        .await?;
    println!("{} snapshots", snapshots.len());

    if !create {
        println!("\nset LUNANODE_EXAMPLE_CREATE=1 to create (billed) volumes as well");
        return Ok(());
    }
    let mut made = Made::default();
    let outcome = lifecycle(&ln, &wait, &mut made).await;
    clean_up(&ln, &wait, &made).await;
    outcome
}

/// What the example created, for the clean-up.
#[derive(Debug, Default)]
struct Made {
    /// The source volume last: a volume with snapshots cannot be deleted.
    volumes: Vec<VolumeId>,
    snapshots: Vec<SnapshotId>,
}

/// Create a volume, snapshot it, make a larger volume from the snapshot,
/// replicate the snapshot to an image in another region and make a volume
/// from that.
async fn lifecycle(ln: &LunaNode, wait: &WaitConfig, made: &mut Made) -> Result<()> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 1_000_000;
    let name = format!("vrs-example-{stamp}");

    println!("\ncreating {name} (10 GB) in {}", ln.region());
    let volume = ln
        .create_volume_and_wait(&CreateVolume::new(&name, Size::gib(10)), wait)
        .await?;
    made.volumes.push(volume.id.clone());
    let details = ln.volume_details(&volume.id).await?;
    println!(
        "  {} is {} (info: {}, list: {})",
        volume.id,
        volume.state,
        details.info_status,
        details.list_status.as_deref().unwrap_or("-")
    );

    let snapshot = ln
        .create_snapshot(&CreateSnapshot::new(
            volume.id.clone(),
            format!("{name}-snap"),
        ))
        .await?;
    made.snapshots.push(snapshot.id.clone());
    ln.wait_for_snapshot(&snapshot.id, Until::State(SnapshotState::Available), wait)
        .await?;
    println!("snapshot {} of {}", snapshot.id, snapshot.size);

    let copy = ln
        .create_volume_and_wait(
            &CreateVolume::from_snapshot(format!("{name}-copy"), snapshot.id.clone())
                .with_size(Size::gib(20)),
            wait,
        )
        .await?;
    made.volumes.insert(0, copy.id.clone());
    println!("volume {} from the snapshot: {}", copy.id, copy.size);

    let elsewhere = RegionId::new(if ln.region().as_str() == "montreal" {
        "toronto"
    } else {
        "montreal"
    })?;
    let image = ln
        .replicate_snapshot(&snapshot.id, &format!("{name}-image"), &elsewhere)
        .await?;
    println!("image {image} in {elsewhere} from the snapshot (not deleted by this example)");
    let from_image = ln
        .create_volume_from_image(
            &format!("{name}-from-image"),
            Size::gib(10),
            &image,
            Some(&elsewhere),
        )
        .await?;
    made.volumes.insert(0, from_image.id.clone());
    ln.wait_for_volume(&from_image.id, Until::State(VolumeState::Available), wait)
        .await?;
    println!("volume {} in {elsewhere} from the image", from_image.id);

    // What LunaNode does not have is refused at once, without a request.
    let none = ln
        .clone_volume(&volume.id, &volume_core::CloneVolume::new("clone"))
        .await
        .unwrap_err();
    println!("clone: {none}");
    Ok(())
}

/// Deletes what the example made: the copies, then the snapshots (waiting
/// until they are gone), then the source volume.
async fn clean_up(ln: &LunaNode, wait: &WaitConfig, made: &Made) {
    let (source, copies) = match made.volumes.split_last() {
        Some((s, c)) => (Some(s), c),
        None => (None, &[][..]),
    };
    for id in copies {
        match ln.delete_volume(id).await {
            Ok(()) => println!("deleted volume {id}"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("could not delete volume {id}: {e}"),
        }
    }
    for id in &made.snapshots {
        match ln.delete_snapshot(id).await {
            Ok(()) => {
                let _ = ln.wait_for_snapshot(id, Until::Deleted, wait).await;
                println!("deleted snapshot {id}");
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("could not delete snapshot {id}: {e}"),
        }
    }
    if let Some(id) = source {
        match ln.delete_volume(id).await {
            Ok(()) => println!("deleted volume {id}"),
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("could not delete volume {id}: {e}"),
        }
    }
}

//! The quickstart: a whole volume lifecycle on the in-process simulator.
//!
//! Run it with `cargo run --example quickstart`. It needs no network and no
//! account: `volume_sim::Sim` is a block-storage cloud in memory, with real
//! bytes and copy-on-write snapshots and clones. Swap `Sim::new()` for a
//! provider client and the same calls run against a real cloud.

use std::error::Error as StdError;

use futures::TryStreamExt;
use volume_core::{
    BlockStorage, BlockStorageExt, CloneVolume, CreateBackup, CreateSnapshot, CreateVolume,
    InstanceState, Size, WaitConfig,
};
use volume_sim::engine::ImageUsage;
use volume_sim::Sim;

const MIB: u64 = 1 << 20;

fn show(label: &str, bytes: &[u8]) -> String {
    format!("{label:<26} {:?}", String::from_utf8_lossy(bytes))
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB as f64)
}

fn gib(bytes: u64) -> String {
    format!("{} GiB", bytes >> 30)
}

fn print_usage(name: &str, u: &ImageUsage) {
    println!(
        "  {name:<16} logical {:>6}  referenced {:>10}  unique {:>10}  shared {:>10}",
        gib(u.logical),
        mib(u.referenced),
        mib(u.unique),
        mib(u.shared)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn StdError>> {
    let sim = Sim::new();
    let wait = WaitConfig::default();
    println!("volume-rs quickstart on {sim}\n");

    // 1. Create a volume and attach it to a running instance in its region.
    let instances: Vec<_> = sim.list_all_instances().try_collect().await?;
    let instance = instances
        .into_iter()
        .find(|i| i.state == InstanceState::Running)
        .ok_or("the simulator has no running instance")?;
    let volume = sim
        .create_volume_and_wait(
            &CreateVolume::new("data", Size::gib(10))
                .with_region(instance.region.clone())
                .with_label("app", "quickstart"),
            &wait,
        )
        .await?;
    println!(
        "created   {} ({}, {}, {})",
        volume.id, volume.name, volume.size, volume.state
    );
    let volume = sim.attach_volume(&volume.id, &instance.id).await?;
    println!(
        "attached  {} to {} ({}): {}",
        volume.id, instance.name, instance.id, volume.state
    );

    // 2. Write some data: 4 MiB of a pattern, and a greeting at the start.
    let pattern: Vec<u8> = (0..4 * MIB).map(|i| (i % 251) as u8).collect();
    sim.write_at(&volume.id, MIB, &pattern).await?;
    sim.write_at(&volume.id, 0, b"hello from the original")
        .await?;
    println!("wrote     4 MiB + 23 bytes");

    // 3. Snapshot it, clone it, and write to the clone.
    let snapshot = sim
        .create_snapshot(&CreateSnapshot::new(volume.id.clone(), "before-clone"))
        .await?;
    let clone = sim
        .clone_volume(&volume.id, &CloneVolume::new("data-clone"))
        .await?;
    sim.write_at(&clone.id, 0, b"HELLO FROM THE CLONE!!!")
        .await?;
    sim.write_at(&volume.id, 2 * MIB, b"a later write to the original")
        .await?;
    println!(
        "snapshot  {} and clone {} taken; each written since\n",
        snapshot.id, clone.id
    );

    // 4. Read back: each copy has its own bytes.
    let mut buf = [0u8; 23];
    sim.read_at(&volume.id, 0, &mut buf).await?;
    println!("{}", show("original @0:", &buf));
    sim.read_snapshot_at(&snapshot.id, 0, &mut buf).await?;
    println!("{}", show("snapshot @0:", &buf));
    sim.read_at(&clone.id, 0, &mut buf).await?;
    println!("{}", show("clone    @0:", &buf));
    let mut later = [0u8; 29];
    sim.read_snapshot_at(&snapshot.id, 2 * MIB, &mut later)
        .await?;
    let untouched = later == pattern[MIB as usize..MIB as usize + 29];
    println!("snapshot @2MiB still holds the pattern: {untouched}\n");
    if !untouched {
        return Err("the snapshot changed after a write to its volume".into());
    }

    // 5. Accounting: the clone and the snapshot share almost everything.
    let usage = sim.usage();
    println!("accounting (64 KiB chunks, copy-on-write):");
    for (id, u) in &usage.volumes {
        print_usage(&format!("volume {id}"), u);
    }
    for (id, u) in &usage.snapshots {
        print_usage(&format!("snapshot {id}"), u);
    }
    println!(
        "  in memory for all of them: {} (of {} logical)\n",
        mib(usage.allocated_bytes),
        gib(usage.logical_bytes)
    );

    // 6. Resize (online: the simulator's default policy allows it), back up,
    //    detach, delete.
    let volume = sim.resize_volume(&volume.id, Size::gib(20)).await?;
    println!("resized   {} to {}", volume.id, volume.size);
    let backup = sim
        .create_backup(&CreateBackup::new(volume.id.clone(), "nightly"))
        .await?;
    println!(
        "backed up {} as {} ({})",
        volume.id, backup.id, backup.state
    );
    let volume = sim.detach_volume(&volume.id).await?;
    println!("detached  {}: {}", volume.id, volume.state);
    for id in [&clone.id, &volume.id] {
        if id == &volume.id {
            sim.delete_snapshot(&snapshot.id).await?;
        }
        sim.delete_volume_and_wait(id, &wait).await?;
        println!("deleted   {id}");
    }
    let mut buf = [0u8; 23];
    sim.read_backup_at(&backup.id, 0, &mut buf).await?;
    println!("{}", show("backup @0 (volume gone):", &buf));
    println!("\ndone: {} volume(s) left", sim.quota_usage().volumes);
    Ok(())
}

//! Linode block-storage volumes with `volume-linode`.
//!
//! ```text
//! cargo run --example linode
//!     # against volume-sim's Linode fake, started in-process: no account needed
//! LINODE_TOKEN=... cargo run --example linode
//!     # against the real API: read-only (regions, Linodes, volumes)
//! LINODE_TOKEN=... LINODE_EXAMPLE_CREATE=1 [LINODE_REGION=us-east] cargo run --example linode
//!     # also creates, attaches, grows, clones and deletes volumes: billed
//! ```
//!
//! `LINODE_API_URL` points the client elsewhere (`.../v4beta`, or a fake
//! served by the `volume-sim` binary). Whatever the example creates, it
//! deletes again, also when a step fails.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use volume_core::http::BackoffConfig;
use volume_core::{
    BlockStorage, BlockStorageExt, CloneVolume, CreateSnapshot, CreateVolume, InstanceState,
    ListVolumes, RegionId, Size, Until, UpdateVolume, VolumeId, VolumeState, WaitConfig,
};
use volume_linode::{Linode, LinodeBuilder, TOKEN_ENV};
use volume_sim::engine::ClockMode;
use volume_sim::fake::linode::{LinodeFake, DEFAULT_TOKEN};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    // The fake's server must live as long as the client; `_server` keeps it.
    let (linode, _server, create) = if std::env::var_os(TOKEN_ENV).is_some() {
        let linode = LinodeBuilder::from_env()
            .with_user_agent_suffix("volume-rs-example")
            .build()?;
        let create = std::env::var("LINODE_EXAMPLE_CREATE").is_ok_and(|v| v == "1");
        (linode, None, create)
    } else {
        // A local Linode: transitions take their (simulated) seconds, on a
        // clock running 50 times faster than the wall clock.
        let fake = LinodeFake::builder()
            .clock(ClockMode::Wall { speed: 50.0 })
            .build();
        let server = fake.start().await;
        let linode = LinodeBuilder::new()
            .with_token(DEFAULT_TOKEN)
            .with_base_url(LinodeFake::base_url(&server))
            .build()?;
        println!("{TOKEN_ENV} is not set: using volume-sim's Linode fake\n");
        (linode, Some(server), true)
    };
    let caps = linode.capabilities();
    println!(
        "{linode}: attach {}, resize {:?}, clone {}, snapshots {}, backups {}, sizes {} to {}\n",
        caps.attach,
        caps.resize,
        caps.clone,
        caps.snapshots,
        caps.backups,
        caps.min_size,
        caps.max_size
    );

    let regions = linode.regions().await?;
    let with_storage: Vec<&str> = regions
        .iter()
        .filter(|r| r.has_block_storage())
        .map(|r| r.id.as_str())
        .collect();
    println!(
        "{} regions, {} with block storage: {}",
        regions.len(),
        with_storage.len(),
        with_storage.join(", ")
    );

    let instances: Vec<_> = linode.list_all_instances().try_collect().await?;
    println!("{} Linodes", instances.len());
    for i in instances.iter().take(5) {
        println!(
            "  {:>10}  {:<24} {:<10} {}",
            i.id.as_str(),
            i.name,
            i.region.as_str(),
            i.raw_state
        );
    }

    let volumes: Vec<_> = linode
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await?;
    println!("{} volumes", volumes.len());
    for v in volumes.iter().take(10) {
        let on = v
            .attached_to()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        println!(
            "  {:>10}  {:<32} {:>9} {:<10} {:<8} on {on}",
            v.id.as_str(),
            v.name,
            v.size.to_string(),
            v.region.as_str(),
            v.raw_state
        );
    }

    // What Linode does not have is refused at once, without a request.
    let none = linode
        .create_snapshot(&CreateSnapshot::new(VolumeId::new("1")?, "snap"))
        .await
        .unwrap_err();
    println!("\nsnapshots: {none}");

    if !create {
        println!("\nset LINODE_EXAMPLE_CREATE=1 to create (billed) volumes as well");
        return Ok(());
    }
    let mut created = Vec::new();
    let outcome = lifecycle(&linode, &instances, &mut created).await;
    clean_up(&linode, &created).await;
    outcome
}

/// Polls every 100 ms to 5 s, for up to 10 minutes (a real Linode volume
/// takes seconds to a few minutes to become active).
fn wait_config() -> WaitConfig {
    WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(5)),
        Duration::from_secs(600),
    )
}

/// Create, attach, grow, detach, clone, relabel; records what it creates.
async fn lifecycle(
    linode: &Linode,
    instances: &[volume_core::Instance],
    created: &mut Vec<VolumeId>,
) -> Result<()> {
    let wait = wait_config();
    let running = instances.iter().find(|i| i.state == InstanceState::Running);
    let region = match std::env::var("LINODE_REGION") {
        Ok(r) => RegionId::new(r)?,
        Err(_) => match running {
            Some(i) => i.region.clone(),
            None => RegionId::new("us-east")?,
        },
    };
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 1_000_000;
    let name = format!("vrs-example-{stamp}");

    println!("\ncreating {name} (10 GiB) in {region}");
    let request = CreateVolume::new(&name, Size::gib(10))
        .with_region(region.clone())
        .with_label("created-by", "volume-rs-example");
    let answer = linode.create_volume(&request).await?;
    created.push(answer.id.clone());
    println!(
        "  {} answered {} ({})",
        answer.id, answer.state, answer.raw_state
    );
    let waited = linode
        .wait_for_volume(&answer.id, Until::State(VolumeState::Available), &wait)
        .await?;
    println!(
        "  available after {:?}, seen {:?}",
        waited.elapsed, waited.observed
    );
    let id = answer.id;

    match running.filter(|i| i.region == region) {
        Some(instance) => {
            linode.attach_volume(&id, &instance.id).await?;
            let v = linode
                .wait_for_volume(&id, Until::State(VolumeState::InUse), &wait)
                .await?
                .resource
                .ok_or("the volume is gone")?;
            let device = v.attachments[0].device.as_deref().unwrap_or("?");
            println!(
                "attached to {} ({}) as {device}",
                instance.name, instance.id
            );
            let on: Vec<_> = linode
                .volumes_of_instance(&instance.id)
                .try_collect()
                .await?;
            println!("  {} now has {} volume(s)", instance.name, on.len());

            // Linode grows attached volumes too.
            linode.resize_volume(&id, Size::gib(20)).await?;
            let v = linode
                .wait_for_volume(
                    &id,
                    Until::matches(|v: &volume_core::Volume| {
                        v.size == Size::gib(20) && v.state == VolumeState::InUse
                    }),
                    &wait,
                )
                .await?;
            println!("grown to 20 GiB while attached ({} polls)", v.polls);

            linode.detach_volume(&id).await?;
            linode
                .wait_for_volume(&id, Until::State(VolumeState::Available), &wait)
                .await?;
            println!("detached");
        }
        None => println!("no running Linode in {region}: attach skipped"),
    }

    let copy = format!("{name}-copy");
    let clone = linode.clone_volume(&id, &CloneVolume::new(&copy)).await?;
    created.push(clone.id.clone());
    let clone = linode
        .wait_for_volume(&clone.id, Until::State(VolumeState::Available), &wait)
        .await?
        .resource
        .ok_or("the clone is gone")?;
    println!("cloned into {} ({}, {})", clone.name, clone.id, clone.size);
    // Tags go on once the clone is active: Linode's clone request takes none.
    let tagged = linode
        .update_volume(
            &clone.id,
            &UpdateVolume::new().with_labels([("clone-of".to_owned(), id.to_string())].into()),
        )
        .await?;
    println!("  labels {:?}", tagged.labels);
    let details = linode.volume_details(&clone.id).await?;
    println!(
        "  hardware {:?}, encryption {:?}, path {:?}",
        details.hardware_type, details.encryption, details.filesystem_path
    );

    let gone = linode.get_volume(&VolumeId::new("1")?).await;
    if let Err(e) = gone {
        println!("\nan error, as callers see it: {e}");
    }
    Ok(())
}

/// Detaches and deletes what the example created, newest first.
async fn clean_up(linode: &Linode, created: &[VolumeId]) {
    let wait = wait_config();
    for id in created.iter().rev() {
        if let Ok(v) = linode.get_volume(id).await {
            if !v.attachments.is_empty() {
                if let Err(e) = linode.detach_volume(id).await {
                    eprintln!("could not detach {id}: {e}");
                }
            }
            let settled = linode
                .wait_for_volume(id, Until::State(VolumeState::Available), &wait)
                .await;
            if let Err(e) = settled {
                eprintln!("{id} did not settle: {e}");
            }
        }
        match linode.delete_volume_and_wait(id, &wait).await {
            Ok(()) => println!("deleted {id}"),
            Err(e) => eprintln!("could not delete {id}: {e} (delete it by hand)"),
        }
    }
}

//! OpenStack Cinder volumes with `volume-cinder`.
//!
//! ```text
//! cargo run --example cinder
//!     # against volume-sim's Cinder fake (Keystone, Cinder, Nova), in-process
//! OS_CLOUD=mycloud cargo run --example cinder
//! OS_AUTH_URL=... OS_USERNAME=... OS_PASSWORD=... OS_PROJECT_NAME=... cargo run --example cinder
//!     # against a real cloud: read-only (versions, zones, types, limits, quotas, volumes)
//! OS_CLOUD=mycloud CINDER_EXAMPLE_CREATE=1 cargo run --example cinder
//!     # also creates a 1 GiB volume, snapshots it, backs it up and extends it: billed
//! ```
//!
//! Whatever the example creates, it deletes again, also when a step fails.

use std::error::Error as StdError;

use futures::TryStreamExt;
use volume_cinder::{Cinder, CinderBuilder, Domain};
use volume_core::{
    BackupState, BlockStorage, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume,
    ListVolumes, Size, SnapshotState, Until, VolumeId, WaitConfig,
};
use volume_sim::engine::ClockMode;
use volume_sim::fake::cinder::{
    CinderFake, DEFAULT_DOMAIN, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER,
};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let real = std::env::var_os("OS_CLOUD").is_some() || std::env::var_os("OS_AUTH_URL").is_some();
    // The fake's server must live as long as the client; `_server` keeps it.
    let (cinder, _server, create) = if real {
        let cinder = CinderBuilder::from_env()
            .with_user_agent_suffix("volume-rs-example")
            .build()?;
        let create = std::env::var("CINDER_EXAMPLE_CREATE").is_ok_and(|v| v == "1");
        (cinder, None, create)
    } else {
        // A local OpenStack: transitions take their (simulated) second, on a
        // clock running 50 times faster than the wall clock.
        let fake = CinderFake::builder()
            .clock(ClockMode::Wall { speed: 50.0 })
            .build();
        let server = fake.start().await;
        let cinder = CinderBuilder::new()
            .with_auth_url(CinderFake::auth_url(&server))
            .with_username(DEFAULT_USER, Domain::Name(DEFAULT_DOMAIN.into()))
            .with_password(DEFAULT_PASSWORD)
            .with_project_name(DEFAULT_PROJECT, Domain::Name(DEFAULT_DOMAIN.into()))
            .build()?;
        println!("OS_CLOUD/OS_AUTH_URL are not set: using volume-sim's Cinder fake\n");
        (cinder, Some(server), true)
    };
    let version = cinder.connect().await?;
    let caps = cinder.capabilities();
    println!(
        "{cinder}: microversion {version}, project {}, resize {:?}, backups {}",
        cinder.project_id().unwrap_or_default(),
        caps.resize,
        caps.backups
    );
    let zones = cinder.availability_zones().await?;
    let types = cinder.volume_types().await?;
    println!(
        "zones: {}; volume types: {}",
        zones
            .iter()
            .map(|z| z.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        types
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let limits = cinder.limits().await?;
    println!(
        "volumes {:?} of {:?}, GiB {:?} of {:?}",
        limits.total_volumes_used,
        limits.max_total_volumes,
        limits.total_gigabytes_used,
        limits.max_total_volume_gigabytes
    );
    let volumes: Vec<_> = cinder
        .list_all_volumes(ListVolumes::new())
        .try_collect()
        .await?;
    println!("{} volumes\n", volumes.len());
    if !create {
        println!("set CINDER_EXAMPLE_CREATE=1 to create, snapshot, back up and extend a volume");
        return Ok(());
    }

    let wait = WaitConfig::default();
    let volume = cinder
        .create_volume_and_wait(
            &CreateVolume::new("volume-rs-example", Size::gib(1))
                .with_label("made-by", "volume-rs"),
            &wait,
        )
        .await?;
    println!(
        "created {} ({}, {})",
        volume.id, volume.size, volume.raw_state
    );
    let outcome = lifecycle(&cinder, &volume.id, &wait).await;
    // Clean up whatever happened above.
    if let Err(e) = cinder
        .delete_volume_with(
            &volume.id,
            volume_cinder::DeleteOptions::new().with_cascade(true),
        )
        .await
    {
        eprintln!("could not delete {}: {e}", volume.id);
    }
    outcome?;
    println!("deleted {}", volume.id);
    Ok(())
}

async fn lifecycle(cinder: &Cinder, id: &VolumeId, wait: &WaitConfig) -> Result<()> {
    let snapshot = cinder
        .create_snapshot(&CreateSnapshot::new(id.clone(), "volume-rs-example-snap"))
        .await?;
    cinder
        .wait_for_snapshot(&snapshot.id, Until::State(SnapshotState::Available), wait)
        .await?;
    println!("snapshot {} available", snapshot.id);
    let backup = cinder
        .create_backup(&CreateBackup::new(id.clone(), "volume-rs-example-backup"))
        .await?;
    let backup = cinder
        .wait_for_backup(&backup.id, Until::State(BackupState::Available), wait)
        .await?;
    println!("backup went through {:?}", backup.observed);
    let resized = cinder.resize_volume(id, Size::gib(2)).await?;
    println!("extending: {}", resized.raw_state);
    let done = cinder
        .wait_for_volume(id, Until::State(volume_core::VolumeState::Available), wait)
        .await?;
    println!("now {:?}", done.resource.map(|v| v.size));
    let backup = backup
        .resource
        .ok_or("the backup waiter returned no backup")?;
    cinder.delete_backup(&backup.id).await?;
    cinder.delete_snapshot(&snapshot.id).await?;
    Ok(())
}

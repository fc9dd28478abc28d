//! Rancher 1.x (Cattle) volumes with `volume-rancher`.
//!
//! ```text
//! cargo run --example rancher
//!     # against volume-sim's Rancher fake, started in-process: no server needed
//! CATTLE_URL=http://rancher:8080/v2-beta/projects/1a5 \
//! CATTLE_ACCESS_KEY=... CATTLE_SECRET_KEY=... cargo run --example rancher
//!     # against a real Rancher 1.x: read-only (drivers, hosts, volumes)
//! ... RANCHER_EXAMPLE_CREATE=1 [RANCHER_EXAMPLE_DRIVER=rancher-nfs] cargo run --example rancher
//!     # also creates, snapshots, reverts and removes a volume
//! ```
//!
//! `RANCHER_URL`, `RANCHER_ACCESS_KEY` and `RANCHER_SECRET_KEY` work as
//! well. Whatever the example creates, it removes again, also when a step
//! fails.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use volume_core::http::BackoffConfig;
use volume_core::{BlockStorage, ListVolumes, SnapshotId, WaitConfig};
use volume_rancher::{
    ListQuery, Modifier, NewVolume, Order, Rancher, RancherBuilder, RancherVolume, Resource,
    StorageDriver, VolumeChanges, URL_ENV,
};
use volume_sim::engine::ClockMode;
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};

type Result<T, E = Box<dyn StdError>> = std::result::Result<T, E>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let real = URL_ENV.iter().any(|name| std::env::var_os(name).is_some());
    // The fake's server must live as long as the client; `_server` keeps it.
    let (probe, _server, create) = if real {
        let rancher = RancherBuilder::from_env()
            .with_user_agent_suffix("volume-rs-example")
            .build()?;
        let create = std::env::var("RANCHER_EXAMPLE_CREATE").is_ok_and(|v| v == "1");
        (rancher, None, create)
    } else {
        // A local Rancher: processes take their (simulated) seconds, on a
        // clock running 50 times faster than the wall clock.
        let fake = RancherFake::builder()
            .clock(ClockMode::Wall { speed: 50.0 })
            .build();
        let server = fake.start().await;
        let rancher = RancherBuilder::new()
            .with_url(RancherFake::base_url(&server))
            .with_access_key(DEFAULT_ACCESS_KEY)
            .with_secret_key(DEFAULT_SECRET_KEY)
            .with_project(DEFAULT_PROJECT_ID)
            .build()?;
        println!("CATTLE_URL is not set: using volume-sim's Rancher fake\n");
        (rancher, Some(server), true)
    };
    println!(
        "{probe}: API {}, project {}",
        probe.api_version(),
        probe.project().unwrap_or("(the key's environment)")
    );

    let drivers: Vec<StorageDriver> = probe
        .storage_drivers(&ListQuery::new())
        .try_collect()
        .await?;
    for d in &drivers {
        println!(
            "  driver {} ({}): capabilities {:?}",
            d.name, d.state, d.volume_capabilities
        );
    }
    let hosts: Vec<_> = probe.hosts(&ListQuery::new()).try_collect().await?;
    println!("{} hosts", hosts.len());
    let volumes: Vec<_> = probe
        .volumes(&ListQuery::new().sorted_by("name", Order::Asc))
        .try_collect()
        .await?;
    println!("{} volumes", volumes.len());
    for v in volumes.iter().take(10) {
        println!(
            "  {} {} [{}] driver {}",
            v.id,
            v.name,
            v.state,
            v.driver.as_deref().unwrap_or("-")
        );
    }
    if !create {
        println!("\nset RANCHER_EXAMPLE_CREATE=1 to create a volume too");
        return Ok(());
    }

    // The driver to use: the one asked for, or one with snapshots.
    let driver = match std::env::var("RANCHER_EXAMPLE_DRIVER") {
        Ok(name) => name,
        Err(_) => drivers
            .iter()
            .find(|d| d.has_capability(StorageDriver::SNAPSHOT))
            .or(drivers.first())
            .map(|d| d.name.clone())
            .ok_or("the server has no storage driver")?,
    };
    let rancher = if real {
        RancherBuilder::from_env()
            .with_driver(&driver)
            .connect()
            .await?
    } else {
        let url = probe.base_url().as_str().to_owned();
        RancherBuilder::new()
            .with_url(url)
            .with_access_key(DEFAULT_ACCESS_KEY)
            .with_secret_key(DEFAULT_SECRET_KEY)
            .with_driver(&driver)
            .connect()
            .await?
    };
    let caps = rancher.capabilities();
    println!(
        "\nwith driver {driver}: snapshots {}, attach {}, resize {:?}, backups (trait) {}",
        caps.snapshots, caps.attach, caps.resize, caps.backups
    );

    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let name = format!("volume-rs-example-{stamp}");
    let wait = WaitConfig::new(
        BackoffConfig::new(Duration::from_millis(50), Duration::from_secs(2)),
        Duration::from_secs(300),
    );
    let created = rancher
        .create(&NewVolume::new(&name).with_driver(&driver))
        .await?;
    println!(
        "created {} ({}, transitioning {})",
        created.id, created.state, created.transitioning
    );
    let outcome = lifecycle(&rancher, &created, caps.snapshots, &wait).await;

    // Clean up whatever happened above.
    let latest = rancher.refresh(&created).await?;
    if latest.action("remove").is_some() {
        let removing = rancher.remove(&latest).await?;
        let removed = rancher.wait_settled(&removing, &wait).await?;
        println!("removed {} ({})", removed.id, removed.state);
        if removed.action("purge").is_some() {
            let purged = rancher
                .wait_settled(&rancher.purge(&removed).await?, &wait)
                .await?;
            println!("purged {} ({})", purged.id, purged.state);
        }
    }
    outcome
}

async fn lifecycle(
    rancher: &Rancher,
    created: &RancherVolume,
    snapshots: bool,
    wait: &WaitConfig,
) -> Result<()> {
    let volume = rancher.wait_settled(created, wait).await?;
    println!(
        "{} is {} ({:?} actions)",
        volume.id,
        volume.state,
        volume.actions.keys()
    );
    let volume = rancher
        .update(
            &volume,
            &VolumeChanges::new().with_description("made by volume-rs"),
        )
        .await?;
    let volume = rancher.wait_settled(&volume, wait).await?;
    println!("described: {:?}", volume.description);

    let named: Vec<_> = rancher
        .volumes(&ListQuery::new().with_filter("name", Modifier::Prefix, "volume-rs-example-"))
        .try_collect()
        .await?;
    println!("{} example volumes listed by prefix", named.len());
    let core: Vec<_> = rancher
        .list_volumes(&ListVolumes::new().with_name(&volume.name), None)
        .await?
        .items;
    println!(
        "through the trait: {:?}",
        core.iter().map(|v| (&v.id, &v.state)).collect::<Vec<_>>()
    );

    if !snapshots {
        println!("the driver has no snapshot capability: no snapshot, revert or backup");
        return Ok(());
    }
    let snapshot = rancher.snapshot(&volume, Some("example-snapshot")).await?;
    let snapshot = rancher.wait_settled(&snapshot, wait).await?;
    println!("snapshot {} is {}", snapshot.id, snapshot.state);
    let volume = rancher.refresh(&volume).await?;
    let reverting = rancher
        .revert_to_snapshot(&volume, &SnapshotId::new(snapshot.id.clone())?)
        .await?;
    println!("reverting: {}", reverting.state);
    let volume = rancher.wait_settled(&reverting, wait).await?;
    println!("{} is {} again", volume.id, volume.state);
    let removed = rancher
        .wait_settled(&rancher.remove_snapshot(&snapshot).await?, wait)
        .await?;
    println!("snapshot {} {}", removed.id, removed.state);
    Ok(())
}

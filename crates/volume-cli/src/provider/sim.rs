//! The in-process simulator: a fresh cloud for each run (regions `sim-1`
//! and `sim-2`, three instances in each), on a virtual clock.
//!
//! With `--sim-delay`, transitions take that long in simulated time. The
//! command then runs on tokio's paused clock, and a ticker moves the
//! simulator's clock with it, so `--wait` sees `creating` turn `available`
//! without sleeping for real.

use std::sync::Arc;
use std::time::Duration;

use volume_sim::engine::{Delays, Policy};
use volume_sim::Sim;

use super::{Backend, Native, Sources};
use crate::error::CliError;

/// How often the simulator's clock catches up with tokio's virtual one.
pub(crate) const TICK: Duration = Duration::from_millis(100);

pub(crate) fn connect(sources: &Sources<'_>) -> Result<Backend, CliError> {
    let policy = Policy::default().with_delays(Delays::uniform(sources.sim_delay));
    let sim = Sim::builder().policy(policy).build();
    Ok(Backend {
        name: "sim",
        storage: Arc::new(sim.clone()),
        native: Native::Sim(sim),
    })
}

/// Moves `sim`'s clock along with tokio's (paused) clock until dropped.
pub(crate) fn drive_clock(sim: Sim) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.tick().await;
        loop {
            interval.tick().await;
            sim.advance(TICK);
        }
    })
}

//! The simulator's clock.
//!
//! Time is virtual: a duration since the simulator's epoch. In
//! [`ClockMode::Manual`] (the default for tests) it moves only when the test
//! says so, so transient states can be observed and waiters tested without
//! sleeping. In [`ClockMode::Wall`] (used when serving fakes to real
//! clients) it follows the wall clock, scaled.

use std::time::{Duration, Instant, SystemTime};

/// How the simulated clock moves.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ClockMode {
    /// Only when told (`advance`, `step`, `run_until_quiet`).
    Manual,
    /// With the wall clock, `speed` simulated seconds per real second.
    Wall {
        /// How much faster than real time.
        speed: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Clock {
    mode: ClockMode,
    /// Manual time, plus the offset added by `advance` in wall mode.
    offset: Duration,
    started: Instant,
    epoch: SystemTime,
}

impl Clock {
    pub(crate) fn new(mode: ClockMode, epoch: SystemTime) -> Self {
        Self {
            mode,
            offset: Duration::ZERO,
            started: Instant::now(),
            epoch,
        }
    }

    /// Simulated time since the epoch.
    pub(crate) fn now(&self) -> Duration {
        match self.mode {
            ClockMode::Manual => self.offset,
            ClockMode::Wall { speed } => {
                let real = self.started.elapsed().as_secs_f64() * speed.max(0.0);
                self.offset
                    .saturating_add(Duration::try_from_secs_f64(real).unwrap_or(Duration::MAX))
            }
        }
    }

    /// Moves simulated time forward.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.offset = self.offset.saturating_add(by);
    }

    /// Moves simulated time forward to `to`, if that is later.
    pub(crate) fn advance_to(&mut self, to: Duration) {
        let now = self.now();
        if to > now {
            self.advance(to - now);
        }
    }

    /// When, counted on the wall from [`Self::started`], simulated time
    /// reaches `due`; `None` when the clock does not move on its own (manual,
    /// or stopped), so `due` only arrives through a call that settles.
    pub(crate) fn wall_deadline(&self, due: Duration) -> Option<Duration> {
        match self.mode {
            ClockMode::Manual => None,
            ClockMode::Wall { speed } if speed > 0.0 => {
                let ahead = due.saturating_sub(self.offset).as_secs_f64() / speed;
                Some(Duration::try_from_secs_f64(ahead).unwrap_or(Duration::MAX))
            }
            ClockMode::Wall { .. } => None,
        }
    }

    /// The instant wall-clock time is counted from.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The wall-clock time of a simulated instant.
    pub(crate) fn system_time(&self, at: Duration) -> SystemTime {
        self.epoch.checked_add(at).unwrap_or(self.epoch)
    }
}

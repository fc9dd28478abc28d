//! Waiting for a resource to reach a state.
//!
//! The rules every waiter follows:
//! - it polls with jittered backoff between [`WaitConfig::backoff`]'s minimum
//!   and maximum delay, and gives up after [`WaitConfig::max_wait`] with
//!   [`Error::Timeout`] naming the last state seen;
//! - a rate limit's retry-after is honoured, and other retryable errors
//!   (5xx, transport) are polled through;
//! - a failure state (`error`, `error-resizing`, ...) stops it at once with
//!   [`Error::Failed`] naming that state, unless that state is the target;
//!   so does a resource that is being deleted when deletion is not the target;
//! - when waiting for deletion, not-found (or a `deleted` state) is success;
//! - it returns the final resource and every distinct state observed.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, ResourceKind, Result};
use crate::http::{Backoff, BackoffConfig};
use crate::model::{Backup, Snapshot, Volume};
use crate::state::{BackupState, SnapshotState, VolumeState};

/// A resource a waiter can poll: it has a state with a failure and a deleted
/// form.
pub trait Waitable: Clone + Send + Sync + 'static {
    /// Its state type.
    type State: PartialEq + fmt::Debug + Clone + Send + Sync + 'static;
    /// Its kind, for errors.
    const KIND: ResourceKind;
    /// Its current state.
    fn state(&self) -> &Self::State;
    /// The provider's own word for the state, as observed.
    fn raw_state(&self) -> &str;
    /// Whether the state is a failure state.
    fn is_failure(&self) -> bool;
    /// Whether it is being deleted or gone.
    fn is_going(&self) -> bool;
    /// Whether it is gone.
    fn is_deleted(&self) -> bool;
}

impl Waitable for Volume {
    type State = VolumeState;
    const KIND: ResourceKind = ResourceKind::Volume;
    fn state(&self) -> &VolumeState {
        &self.state
    }
    fn raw_state(&self) -> &str {
        &self.raw_state
    }
    fn is_failure(&self) -> bool {
        self.state.is_failure()
    }
    fn is_going(&self) -> bool {
        matches!(self.state, VolumeState::Deleting | VolumeState::Deleted)
    }
    fn is_deleted(&self) -> bool {
        self.state == VolumeState::Deleted
    }
}

impl Waitable for Snapshot {
    type State = SnapshotState;
    const KIND: ResourceKind = ResourceKind::Snapshot;
    fn state(&self) -> &SnapshotState {
        &self.state
    }
    fn raw_state(&self) -> &str {
        &self.raw_state
    }
    fn is_failure(&self) -> bool {
        self.state.is_failure()
    }
    fn is_going(&self) -> bool {
        matches!(self.state, SnapshotState::Deleting | SnapshotState::Deleted)
    }
    fn is_deleted(&self) -> bool {
        self.state == SnapshotState::Deleted
    }
}

impl Waitable for Backup {
    type State = BackupState;
    const KIND: ResourceKind = ResourceKind::Backup;
    fn state(&self) -> &BackupState {
        &self.state
    }
    fn raw_state(&self) -> &str {
        &self.raw_state
    }
    fn is_failure(&self) -> bool {
        self.state.is_failure()
    }
    fn is_going(&self) -> bool {
        matches!(self.state, BackupState::Deleting | BackupState::Deleted)
    }
    fn is_deleted(&self) -> bool {
        self.state == BackupState::Deleted
    }
}

/// A test on a resource, for [`Until::Matches`].
pub type Predicate<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

/// What to wait for.
#[non_exhaustive]
pub enum Until<T: Waitable> {
    /// The resource is in this state.
    State(T::State),
    /// The resource is gone (not found, or in its deleted state).
    Deleted,
    /// The predicate holds.
    Matches(Predicate<T>),
}

impl<T: Waitable> Until<T> {
    /// Wait until `predicate` holds.
    pub fn matches(predicate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        Self::Matches(Arc::new(predicate))
    }

    fn describe(&self) -> String {
        match self {
            Self::State(s) => format!("state {s:?}"),
            Self::Deleted => "deletion".to_owned(),
            Self::Matches(_) => "a condition".to_owned(),
        }
    }

    fn holds(&self, resource: &T) -> bool {
        match self {
            Self::State(s) => resource.state() == s,
            Self::Deleted => resource.is_deleted(),
            Self::Matches(p) => p(resource),
        }
    }
}

impl<T: Waitable> fmt::Debug for Until<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A callback told about each resource a waiter sees.
pub type Progress<T> = Arc<dyn Fn(&T) + Send + Sync>;

/// How a waiter polls.
#[derive(Clone)]
#[non_exhaustive]
pub struct WaitConfig {
    /// The delays between polls.
    pub backoff: BackoffConfig,
    /// How long to wait in all.
    pub max_wait: Duration,
    /// A seed for the jitter, for repeatable tests; `None` seeds from the OS.
    pub seed: Option<u64>,
    progress: Option<Progress<dyn std::any::Any + Send + Sync>>,
}

impl fmt::Debug for WaitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitConfig")
            .field("backoff", &self.backoff)
            .field("max_wait", &self.max_wait)
            .field("seed", &self.seed)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for WaitConfig {
    /// Polls every 1 s to 10 s for up to 10 minutes.
    fn default() -> Self {
        Self::new(
            BackoffConfig::new(Duration::from_secs(1), Duration::from_secs(10)),
            Duration::from_secs(600),
        )
    }
}

impl WaitConfig {
    /// Polls with `backoff` for up to `max_wait`.
    pub fn new(backoff: BackoffConfig, max_wait: Duration) -> Self {
        Self {
            backoff,
            max_wait,
            seed: None,
            progress: None,
        }
    }

    /// Sets the total time to wait.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Seeds the jitter.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Calls `callback` with every resource of type `T` the waiter sees
    /// (other waits ignore it).
    pub fn on_progress<T: Waitable>(
        mut self,
        callback: impl Fn(&T) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(move |any: &(dyn std::any::Any + Send + Sync)| {
            if let Some(t) = any.downcast_ref::<T>() {
                callback(t);
            }
        }));
        self
    }
}

/// What a waiter saw.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Waited<T> {
    /// The final resource; `None` when it was waited out of existence.
    pub resource: Option<T>,
    /// Every distinct state seen, in order (the provider's words; `"gone"`
    /// for not-found).
    pub observed: Vec<String>,
    /// How many times it polled.
    pub polls: u32,
    /// How long it waited.
    pub elapsed: Duration,
}

/// Polls `fetch` until `until` holds, by the rules of this module.
///
/// `id` names the resource in errors. Used by
/// [`BlockStorageExt`](crate::BlockStorageExt)'s waiters; public for
/// providers with resources of their own to wait on.
pub async fn poll<T, F, Fut>(
    id: &str,
    until: Until<T>,
    config: &WaitConfig,
    mut fetch: F,
) -> Result<Waited<T>>
where
    T: Waitable,
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = Result<T>> + Send,
{
    let start = Instant::now();
    let mut backoff = match config.seed {
        Some(seed) => Backoff::seeded(config.backoff, seed),
        None => Backoff::new(config.backoff),
    };
    let mut observed: Vec<String> = Vec::new();
    let mut polls = 0u32;
    let note = |observed: &mut Vec<String>, word: &str| {
        if observed.last().map(String::as_str) != Some(word) {
            observed.push(word.to_owned());
        }
    };
    loop {
        polls += 1;
        let mut wait_hint = None;
        match fetch().await {
            Ok(resource) => {
                note(&mut observed, resource.raw_state());
                if let Some(progress) = &config.progress {
                    progress(&resource);
                }
                if until.holds(&resource) {
                    return Ok(Waited {
                        resource: if resource.is_deleted() && matches!(until, Until::Deleted) {
                            None
                        } else {
                            Some(resource)
                        },
                        observed,
                        polls,
                        elapsed: start.elapsed(),
                    });
                }
                let going_is_fatal = !matches!(until, Until::Deleted);
                if resource.is_failure() || (going_is_fatal && resource.is_going()) {
                    return Err(Error::Failed {
                        kind: T::KIND,
                        id: id.to_owned(),
                        state: resource.raw_state().to_owned(),
                        reason: None,
                    });
                }
            }
            Err(e) if e.is_not_found() && matches!(until, Until::Deleted) => {
                note(&mut observed, "gone");
                return Ok(Waited {
                    resource: None,
                    observed,
                    polls,
                    elapsed: start.elapsed(),
                });
            }
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "poll failed; trying again");
                wait_hint = e.retry_after();
            }
            Err(e) => return Err(e),
        }
        let delay = wait_hint.unwrap_or_else(|| backoff.next_delay());
        let elapsed = start.elapsed();
        // A provider may ask for any retry-after: never overflow on it.
        if elapsed.saturating_add(delay) > config.max_wait {
            // Sleep out what is left and look once more, so that a
            // max_wait that is not a multiple of the delays is honoured.
            let left = config.max_wait.saturating_sub(elapsed);
            if left.is_zero() {
                return Err(Error::Timeout {
                    what: format!("{} {id:?} to reach {}", T::KIND, until.describe()),
                    waited: elapsed,
                    last_seen: observed.last().cloned(),
                });
            }
            tokio::time::sleep(left).await;
        } else {
            tokio::time::sleep(delay).await;
        }
    }
}

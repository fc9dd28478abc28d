//! `--wait`: polls until the resource settles, with a spinner on stderr
//! (only when stderr is a terminal) showing the states seen and the time
//! taken.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use volume_core::wait::Waitable;
use volume_core::{
    Backup, BackupId, BlockStorage, BlockStorageExt, Error, Snapshot, SnapshotId, Until, Volume,
    VolumeId, WaitConfig,
};

/// How `--wait` waits.
#[derive(Debug, Clone)]
pub(crate) struct Waiter {
    pub(crate) max_wait: Duration,
    pub(crate) spinner: bool,
}

/// The states a spinner has shown, in order, without repeats.
#[derive(Debug, Default)]
struct Seen(Vec<String>);

impl Seen {
    fn note(&mut self, word: &str) -> String {
        if self.0.last().map(String::as_str) != Some(word) {
            self.0.push(word.to_owned());
        }
        self.0.join(" → ")
    }
}

impl Waiter {
    fn config<T: Waitable>(&self, what: String) -> (WaitConfig, Option<ProgressBar>) {
        let config = WaitConfig::default().with_max_wait(self.max_wait);
        if !self.spinner {
            return (config, None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(what);
        bar.enable_steady_tick(Duration::from_millis(120));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shown = bar.clone();
        let config = config.on_progress::<T>(move |resource| {
            if let Ok(mut seen) = seen.lock() {
                shown.set_message(seen.note(resource.raw_state()));
            }
        });
        (config, Some(bar))
    }

    /// Waits until the volume is in no transient state; a failure state is
    /// an [`Error::Failed`].
    pub(crate) async fn volume(
        &self,
        storage: &dyn BlockStorage,
        id: &VolumeId,
    ) -> Result<Volume, Error> {
        let (config, bar) = self.config::<Volume>(format!("volume {id}"));
        let waited = storage
            .wait_for_volume(
                id,
                Until::matches(|v: &Volume| !v.state.is_transient()),
                &config,
            )
            .await;
        finish(bar);
        let volume = settle(waited, &format!("volume {:?} to settle", id.as_str()))?
            .resource
            .ok_or_else(|| Error::not_found(volume_core::ResourceKind::Volume, id.as_str()))?;
        failed_if(
            volume.state.is_failure(),
            volume_core::ResourceKind::Volume,
            id.as_str(),
            &volume.raw_state,
        )?;
        Ok(volume)
    }

    /// Waits until the snapshot is in no transient state.
    pub(crate) async fn snapshot(
        &self,
        storage: &dyn BlockStorage,
        id: &SnapshotId,
    ) -> Result<Snapshot, Error> {
        let (config, bar) = self.config::<Snapshot>(format!("snapshot {id}"));
        let waited = storage
            .wait_for_snapshot(
                id,
                Until::matches(|s: &Snapshot| !s.state.is_transient()),
                &config,
            )
            .await;
        finish(bar);
        let snapshot = settle(waited, &format!("snapshot {:?} to settle", id.as_str()))?
            .resource
            .ok_or_else(|| Error::not_found(volume_core::ResourceKind::Snapshot, id.as_str()))?;
        failed_if(
            snapshot.state.is_failure(),
            volume_core::ResourceKind::Snapshot,
            id.as_str(),
            &snapshot.raw_state,
        )?;
        Ok(snapshot)
    }

    /// Waits until the backup is in no transient state.
    pub(crate) async fn backup(
        &self,
        storage: &dyn BlockStorage,
        id: &BackupId,
    ) -> Result<Backup, Error> {
        let (config, bar) = self.config::<Backup>(format!("backup {id}"));
        let waited = storage
            .wait_for_backup(
                id,
                Until::matches(|b: &Backup| !b.state.is_transient()),
                &config,
            )
            .await;
        finish(bar);
        let backup = settle(waited, &format!("backup {:?} to settle", id.as_str()))?
            .resource
            .ok_or_else(|| Error::not_found(volume_core::ResourceKind::Backup, id.as_str()))?;
        failed_if(
            backup.state.is_failure(),
            volume_core::ResourceKind::Backup,
            id.as_str(),
            &backup.raw_state,
        )?;
        Ok(backup)
    }

    /// Waits until the volume is gone.
    pub(crate) async fn volume_gone(
        &self,
        storage: &dyn BlockStorage,
        id: &VolumeId,
    ) -> Result<(), Error> {
        let (config, bar) = self.config::<Volume>(format!("volume {id}"));
        let waited = storage.wait_for_volume(id, Until::Deleted, &config).await;
        finish(bar);
        waited.map(drop)
    }

    /// Waits until the snapshot is gone.
    pub(crate) async fn snapshot_gone(
        &self,
        storage: &dyn BlockStorage,
        id: &SnapshotId,
    ) -> Result<(), Error> {
        let (config, bar) = self.config::<Snapshot>(format!("snapshot {id}"));
        let waited = storage.wait_for_snapshot(id, Until::Deleted, &config).await;
        finish(bar);
        waited.map(drop)
    }

    /// Waits until the backup is gone.
    pub(crate) async fn backup_gone(
        &self,
        storage: &dyn BlockStorage,
        id: &BackupId,
    ) -> Result<(), Error> {
        let (config, bar) = self.config::<Backup>(format!("backup {id}"));
        let waited = storage.wait_for_backup(id, Until::Deleted, &config).await;
        finish(bar);
        waited.map(drop)
    }
}

/// A time-out says what was waited for in the command's words.
fn settle<T>(result: Result<T, Error>, what: &str) -> Result<T, Error> {
    result.map_err(|e| match e {
        Error::Timeout {
            waited, last_seen, ..
        } => Error::Timeout {
            what: what.to_owned(),
            waited,
            last_seen,
        },
        other => other,
    })
}

fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn failed_if(
    failed: bool,
    kind: volume_core::ResourceKind,
    id: &str,
    state: &str,
) -> Result<(), Error> {
    if failed {
        return Err(Error::Failed {
            kind,
            id: id.to_owned(),
            state: state.to_owned(),
            reason: None,
        });
    }
    Ok(())
}

//! Creates under faults that hide their outcome, counted: what every
//! provider's reliability test runs against its fake (the issue's "0
//! duplicates in 1,000 faulted creates").

use std::time::Duration;

use futures::TryStreamExt;
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{
    Backup, BackupId, BlockStorage, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume,
    Labels, ListBackups, ListSnapshots, ListVolumes, Snapshot, SnapshotId, Volume, VolumeId,
};

use crate::engine::{Engine, Fault, FaultRule, SimOp};

/// What [`faulted_creates`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultedCreates {
    /// Creates sent (each through one fault).
    pub creates: usize,
    /// Creates that returned a volume.
    pub succeeded: usize,
    /// Creates that returned an error.
    pub failed: usize,
    /// Volumes beyond the first with the same key: made twice.
    pub duplicates: usize,
    /// Volumes whose create returned an error: made, but the caller was
    /// told otherwise.
    pub orphans: usize,
    /// Creates their fault never reached (the fake served them under
    /// another operation): rounds that tested nothing.
    pub unfaulted: usize,
    /// Creates that returned a resource other than the one that carries
    /// their key, or under another name than the one asked for.
    pub wrong: usize,
}

impl FaultedCreates {
    /// Checks the report of a client that must handle every hidden
    /// outcome: every create met its fault and succeeded, none made twice, none left behind
    /// unreported, none answered with another volume.
    ///
    /// # Panics
    /// Otherwise, with the report.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert!(
            self.succeeded == self.creates
                && self.unfaulted == 0
                && self.duplicates == 0
                && self.orphans == 0
                && self.wrong == 0,
            "{self:?}"
        );
    }
}

/// The faults that hide whether a create took effect, in turn: an error
/// after the change (a 5xx on a fake) and a dropped connection.
pub const HIDING_FAULTS: [fn() -> Fault; 2] = [
    || Fault::ErrorAfter {
        status: 500,
        message: "injected after the change".to_owned(),
    },
    || Fault::DropConnection,
];

/// Sends `n` creates of `template` (each with a name and an idempotency key
/// of its own) through `client`, each meeting one of [`HIDING_FAULTS`]
/// injected on `engine` (the engine behind `client`'s fake), and counts
/// what each left behind, as `client` lists it; then deletes it, so that
/// the cloud stays small however large `n` is.
///
/// # Panics
/// When a listing or a delete fails once the round's fault is spent: the
/// count would be wrong.
pub async fn faulted_creates(
    client: &dyn BlockStorage,
    engine: &Engine,
    template: &CreateVolume,
    n: usize,
) -> FaultedCreates {
    let mut report = FaultedCreates {
        creates: n,
        ..FaultedCreates::default()
    };
    for i in 0..n {
        let round = Round::start(engine, i, SimOp::CreateVolume);
        let mut request = template.clone().with_idempotency_key(&round.key);
        request.name = format!("{}-{i}", template.name);
        let returned = round.bounded(client.create_volume(&request)).await;
        round.end_fault(engine, &mut report);
        let query = ListVolumes::new().with_label(IDEMPOTENCY_LABEL, round.key.as_str());
        let found: Vec<Volume> = round
            .bounded(client.list_all_volumes(query).try_collect())
            .await
            .expect("listing works once the fault is spent");
        let found = carriers(found, &round.key, |v| (&v.labels, &v.name, v.id.as_str()));
        report.count(
            returned.as_ref().map(|v| (v.id.as_str(), v.name.as_str())),
            &request.name,
            &found,
        );
        for (id, _) in found {
            let id = VolumeId::new(id).expect("a listed id");
            round
                .bounded(client.delete_volume(&id))
                .await
                .expect("a delete works once the fault is spent");
        }
    }
    report
}

/// [`faulted_creates`] for snapshots of `template.volume_id`: `n` keyed
/// snapshot creates, each through a fault that hides its outcome, counted
/// among the volume's snapshots as `client` lists them, then deleted. A
/// returned snapshot whose name is not the one asked for (a carrier's key
/// showing through) counts as wrong.
///
/// # Panics
/// As [`faulted_creates`].
pub async fn faulted_snapshot_creates(
    client: &dyn BlockStorage,
    engine: &Engine,
    template: &CreateSnapshot,
    n: usize,
) -> FaultedCreates {
    let mut report = FaultedCreates {
        creates: n,
        ..FaultedCreates::default()
    };
    for i in 0..n {
        let round = Round::start(engine, i, SimOp::CreateSnapshot);
        let mut request = template.clone().with_idempotency_key(&round.key);
        request.name = format!("{}-{i}", template.name);
        let returned = round.bounded(client.create_snapshot(&request)).await;
        round.end_fault(engine, &mut report);
        let query = ListSnapshots::new().with_volume(template.volume_id.clone());
        let found: Vec<Snapshot> = round
            .bounded(client.list_all_snapshots(query).try_collect())
            .await
            .expect("listing works once the fault is spent");
        let found = carriers(found, &round.key, |s| (&s.labels, &s.name, s.id.as_str()));
        report.count(
            returned.as_ref().map(|s| (s.id.as_str(), s.name.as_str())),
            &request.name,
            &found,
        );
        for (id, _) in found {
            let id = SnapshotId::new(id).expect("a listed id");
            round
                .bounded(client.delete_snapshot(&id))
                .await
                .expect("a delete works once the fault is spent");
        }
    }
    report
}

/// [`faulted_snapshot_creates`] for backups of `template.volume_id`.
///
/// # Panics
/// As [`faulted_creates`].
pub async fn faulted_backup_creates(
    client: &dyn BlockStorage,
    engine: &Engine,
    template: &CreateBackup,
    n: usize,
) -> FaultedCreates {
    let mut report = FaultedCreates {
        creates: n,
        ..FaultedCreates::default()
    };
    for i in 0..n {
        let round = Round::start(engine, i, SimOp::CreateBackup);
        let mut request = template.clone().with_idempotency_key(&round.key);
        request.name = format!("{}-{i}", template.name);
        let returned = round.bounded(client.create_backup(&request)).await;
        round.end_fault(engine, &mut report);
        let query = ListBackups::new().with_volume(template.volume_id.clone());
        let found: Vec<Backup> = round
            .bounded(client.list_all_backups(query).try_collect())
            .await
            .expect("listing works once the fault is spent");
        let found = carriers(found, &round.key, |b| (&b.labels, &b.name, b.id.as_str()));
        report.count(
            returned.as_ref().map(|b| (b.id.as_str(), b.name.as_str())),
            &request.name,
            &found,
        );
        for (id, _) in found {
            let id = BackupId::new(id).expect("a listed id");
            round
                .bounded(client.delete_backup(&id))
                .await
                .expect("a delete works once the fault is spent");
        }
    }
    report
}

/// How long one call of a round may take (retries included) before the
/// round is declared hung.
const ROUND_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// One round: its key, with its fault armed, and how many faults had been
/// injected before it.
struct Round {
    i: usize,
    key: IdempotencyKey,
    injected: usize,
}

impl Round {
    /// Arms round `i`'s fault on `op` and makes its key.
    fn start(engine: &Engine, i: usize, op: SimOp) -> Self {
        let injected = engine.injected_count();
        engine.inject(
            FaultRule::new(HIDING_FAULTS[i % HIDING_FAULTS.len()]())
                .on(op)
                .times(1),
        );
        let key = IdempotencyKey::new(format!("faulted-{i}")).expect("a valid key");
        Self { i, key, injected }
    }

    /// After the create: counts it as unfaulted if its fault never fired,
    /// and disarms that fault so that it cannot fall on a later round.
    fn end_fault(&self, engine: &Engine, report: &mut FaultedCreates) {
        if engine.injected_count() == self.injected {
            report.unfaulted += 1;
            engine.clear_faults();
        }
    }

    /// `call`, bounded by [`ROUND_CALL_TIMEOUT`].
    ///
    /// # Panics
    /// When it takes longer, naming the round.
    async fn bounded<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(ROUND_CALL_TIMEOUT, call)
            .await
            .unwrap_or_else(|_| panic!("round {} hung for {ROUND_CALL_TIMEOUT:?}", self.i))
    }
}

/// The ids and names of the resources among `all` that carry `key`.
fn carriers<T>(
    all: Vec<T>,
    key: &IdempotencyKey,
    parts: impl Fn(&T) -> (&Labels, &String, &str),
) -> Vec<(String, String)> {
    all.iter()
        .filter_map(|t| {
            let (labels, name, id) = parts(t);
            (labels.get(IDEMPOTENCY_LABEL).map(String::as_str) == Some(key.as_str()))
                .then(|| (id.to_owned(), name.clone()))
        })
        .collect()
}

impl FaultedCreates {
    /// Counts one round: what the create returned (id and name, or an
    /// error), the name asked for, and the carriers of its key found.
    fn count<E>(
        &mut self,
        returned: Result<(&str, &str), E>,
        asked: &str,
        found: &[(String, String)],
    ) {
        self.duplicates += found.len().saturating_sub(1);
        match returned {
            Err(_) => {
                self.failed += 1;
                self.orphans += found.len();
            }
            Ok((id, name)) => {
                self.succeeded += 1;
                if name != asked || !found.iter().any(|(f, _)| f == id) {
                    self.wrong += 1;
                }
            }
        }
    }
}

//! Creates under faults that hide their outcome, counted: what every
//! provider's reliability test runs against its fake (the issue's "0
//! duplicates in 1,000 faulted creates").

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{
    Backup, BackupId, BlockStorage, BlockStorageExt, CreateBackup, CreateSnapshot, CreateVolume,
    Labels, ListBackups, ListSnapshots, ListVolumes, Result, Snapshot, SnapshotId, Volume,
    VolumeId,
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
    rounds(client, engine, template, n).await
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
    rounds(client, engine, template, n).await
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
    rounds(client, engine, template, n).await
}

/// Runs `n` rounds of `template`'s kind of create: each with a name and
/// key of its own, through its fault, then what carries its key listed,
/// counted and deleted.
async fn rounds<C: Create>(
    client: &dyn BlockStorage,
    engine: &Engine,
    template: &C,
    n: usize,
) -> FaultedCreates {
    let mut report = FaultedCreates {
        creates: n,
        ..FaultedCreates::default()
    };
    for i in 0..n {
        let round = Round::start(engine, i, C::OP);
        let mut request = template.clone().keyed(&round.key);
        let name = format!("{}-{i}", request.name_mut());
        request.name_mut().clone_from(&name);
        let returned = round.bounded(request.send(client)).await;
        round.end_fault(engine, &mut report);
        let found = round
            .bounded(request.list(client, &round.key))
            .await
            .expect("listing works once the fault is spent");
        let found = carriers(found, &round.key, C::parts);
        report.count(
            returned.as_ref().map(|made| {
                let (_, name, id) = C::parts(made);
                (id, name.as_str())
            }),
            &name,
            &found,
        );
        for (id, _) in found {
            round
                .bounded(C::delete(client, id))
                .await
                .expect("a delete works once the fault is spent");
        }
    }
    report
}

/// A kind of create the rounds test: how `client` makes, lists and deletes
/// what a request of this kind makes. (Boxed futures, so that the rounds
/// stay `Send` whatever the kind.)
trait Create: Clone + Sync {
    type Made: Send;
    /// The operation its fault is armed on.
    const OP: SimOp;
    /// The request with idempotency key `key`.
    fn keyed(self, key: &IdempotencyKey) -> Self;
    fn name_mut(&mut self) -> &mut String;
    fn send<'a>(&'a self, client: &'a dyn BlockStorage) -> BoxFuture<'a, Result<Self::Made>>;
    /// What `client` lists where the carriers of `key` would be.
    fn list<'a>(
        &'a self,
        client: &'a dyn BlockStorage,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<Self::Made>>>;
    /// Where a made resource keeps its labels, name and id.
    fn parts(made: &Self::Made) -> (&Labels, &String, &str);
    fn delete(client: &dyn BlockStorage, id: String) -> BoxFuture<'_, Result<()>>;
}

impl Create for CreateVolume {
    type Made = Volume;
    const OP: SimOp = SimOp::CreateVolume;

    fn keyed(self, key: &IdempotencyKey) -> Self {
        self.with_idempotency_key(key)
    }

    fn name_mut(&mut self) -> &mut String {
        &mut self.name
    }

    fn send<'a>(&'a self, client: &'a dyn BlockStorage) -> BoxFuture<'a, Result<Volume>> {
        client.create_volume(self)
    }

    fn list<'a>(
        &'a self,
        client: &'a dyn BlockStorage,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<Volume>>> {
        let query = ListVolumes::new().with_label(IDEMPOTENCY_LABEL, key.as_str());
        client.list_all_volumes(query).try_collect().boxed()
    }

    fn parts(v: &Volume) -> (&Labels, &String, &str) {
        (&v.labels, &v.name, v.id.as_str())
    }

    fn delete(client: &dyn BlockStorage, id: String) -> BoxFuture<'_, Result<()>> {
        async move { client.delete_volume(&VolumeId::new(id)?).await }.boxed()
    }
}

impl Create for CreateSnapshot {
    type Made = Snapshot;
    const OP: SimOp = SimOp::CreateSnapshot;

    fn keyed(self, key: &IdempotencyKey) -> Self {
        self.with_idempotency_key(key)
    }

    fn name_mut(&mut self) -> &mut String {
        &mut self.name
    }

    fn send<'a>(&'a self, client: &'a dyn BlockStorage) -> BoxFuture<'a, Result<Snapshot>> {
        client.create_snapshot(self)
    }

    fn list<'a>(
        &'a self,
        client: &'a dyn BlockStorage,
        _: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<Snapshot>>> {
        let query = ListSnapshots::new().with_volume(self.volume_id.clone());
        client.list_all_snapshots(query).try_collect().boxed()
    }

    fn parts(s: &Snapshot) -> (&Labels, &String, &str) {
        (&s.labels, &s.name, s.id.as_str())
    }

    fn delete(client: &dyn BlockStorage, id: String) -> BoxFuture<'_, Result<()>> {
        async move { client.delete_snapshot(&SnapshotId::new(id)?).await }.boxed()
    }
}

impl Create for CreateBackup {
    type Made = Backup;
    const OP: SimOp = SimOp::CreateBackup;

    fn keyed(self, key: &IdempotencyKey) -> Self {
        self.with_idempotency_key(key)
    }

    fn name_mut(&mut self) -> &mut String {
        &mut self.name
    }

    fn send<'a>(&'a self, client: &'a dyn BlockStorage) -> BoxFuture<'a, Result<Backup>> {
        client.create_backup(self)
    }

    fn list<'a>(
        &'a self,
        client: &'a dyn BlockStorage,
        _: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Vec<Backup>>> {
        let query = ListBackups::new().with_volume(self.volume_id.clone());
        client.list_all_backups(query).try_collect().boxed()
    }

    fn parts(b: &Backup) -> (&Labels, &String, &str) {
        (&b.labels, &b.name, b.id.as_str())
    }

    fn delete(client: &dyn BlockStorage, id: String) -> BoxFuture<'_, Result<()>> {
        async move { client.delete_backup(&BackupId::new(id)?).await }.boxed()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: T) {}

    /// The rounds can run on a spawned task, as before they shared a loop.
    #[test]
    fn the_round_futures_are_send() {
        let sim = crate::Sim::new();
        let engine = sim.engine().clone();
        let volume = VolumeId::new("v").unwrap();
        send(faulted_creates(
            &sim,
            &engine,
            &CreateVolume::new("v", volume_core::Size::gib(1)),
            1,
        ));
        send(faulted_snapshot_creates(
            &sim,
            &engine,
            &CreateSnapshot::new(volume.clone(), "s"),
            1,
        ));
        send(faulted_backup_creates(
            &sim,
            &engine,
            &CreateBackup::new(volume, "b"),
            1,
        ));
    }
}

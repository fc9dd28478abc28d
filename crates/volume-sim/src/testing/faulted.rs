//! Creates under faults that hide their outcome, counted: what every
//! provider's reliability test runs against its fake (the issue's "0
//! duplicates in 1,000 faulted creates").

use futures::TryStreamExt;
use volume_core::idempotency::{IdempotencyKey, IDEMPOTENCY_LABEL};
use volume_core::{BlockStorage, BlockStorageExt, CreateVolume, ListVolumes};

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
    /// Creates that returned a volume other than the one that carries
    /// their key.
    pub wrong: usize,
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
        let key = IdempotencyKey::new(format!("faulted-{i}")).expect("a valid key");
        let mut request = template.clone().with_idempotency_key(&key);
        request.name = format!("{}-{i}", template.name);
        engine.inject(
            FaultRule::new(HIDING_FAULTS[i % HIDING_FAULTS.len()]())
                .on(SimOp::CreateVolume)
                .times(1),
        );
        let returned = match client.create_volume(&request).await {
            Ok(volume) => {
                report.succeeded += 1;
                Some(volume.id)
            }
            Err(_) => {
                report.failed += 1;
                None
            }
        };
        let query = ListVolumes::new().with_label(IDEMPOTENCY_LABEL, key.as_str());
        let found: Vec<_> = client
            .list_all_volumes(query)
            .try_collect()
            .await
            .expect("listing works once the fault is spent");
        let found: Vec<_> = found
            .into_iter()
            .filter(|v| v.labels.get(IDEMPOTENCY_LABEL).map(String::as_str) == Some(key.as_str()))
            .collect();
        report.duplicates += found.len().saturating_sub(1);
        match returned {
            None => report.orphans += found.len(),
            Some(id) if !found.iter().any(|v| v.id == id) => report.wrong += 1,
            Some(_) => {}
        }
        for volume in found {
            client
                .delete_volume(&volume.id)
                .await
                .expect("a delete works once the fault is spent");
        }
    }
    report
}

//! Snapshots: the artifact kind that lives beside its volume. Everything
//! they do is the generic artifact store's; this module gives the kind's
//! data and the public operations.

use std::time::Duration;

use volume_core::state::{check_snapshot, SnapshotOp, Transition, VolumeOp};
use volume_core::{
    CreateSnapshot, ListSnapshots, Page, PageToken, ResourceKind, Snapshot, SnapshotId,
    SnapshotState,
};

use super::super::fault::Fault;
use super::super::policy::{Delays, Policy};
use super::artifacts::{
    ArtifactEnd, ArtifactKind, ArtifactOps, ArtifactUse, Artifacts, NewArtifact,
};
use super::{Control, Pending, QuotaUsage, Result};

/// The snapshot kind.
#[derive(Debug)]
pub(super) enum Snapshots {}

impl ArtifactKind for Snapshots {
    type Resource = Snapshot;
    const RESOURCE: ResourceKind = ResourceKind::Snapshot;
    const PREFIX: &'static str = "snap";
    const OPS: ArtifactOps = ArtifactOps {
        create: "create_snapshot",
        get: "get_snapshot",
        list: "list_snapshots",
        delete: "delete_snapshot",
    };
    const TAKE: VolumeOp = VolumeOp::Snapshot;
    const ONE: QuotaUsage = QuotaUsage {
        snapshots: 1,
        ..QuotaUsage::NONE
    };
    const TAKING: SnapshotState = SnapshotState::Creating;
    const DONE: SnapshotState = SnapshotState::Available;
    const FAILED: SnapshotState = SnapshotState::Error;

    fn enabled(policy: &Policy) -> bool {
        policy.snapshots
    }

    fn delay(delays: &Delays) -> Duration {
        delays.snapshot
    }

    fn check(
        id: &str,
        state: &SnapshotState,
        what: ArtifactUse,
    ) -> Result<Transition<SnapshotState>> {
        let op = match what {
            ArtifactUse::Source => SnapshotOp::CreateVolume,
            ArtifactUse::Delete => SnapshotOp::Delete,
        };
        check_snapshot(id, state, op)
    }

    fn pending(seq: u64, end: ArtifactEnd<SnapshotState>) -> Pending {
        Pending::Snapshot(seq, end)
    }

    fn store(control: &Control) -> &Artifacts<Snapshot> {
        &control.snapshots
    }

    fn store_mut(control: &mut Control) -> &mut Artifacts<Snapshot> {
        &mut control.snapshots
    }
}

impl Control {
    /// Takes a snapshot.
    pub fn create_snapshot(
        &mut self,
        tenant: &str,
        req: &CreateSnapshot,
        fault: Option<&Fault>,
    ) -> Result<Snapshot> {
        let new = NewArtifact {
            name: &req.name,
            volume_id: &req.volume_id,
            labels: &req.labels,
        };
        let seq = self.create_artifact::<Snapshots>(tenant, new, |_| Ok(()), fault)?;
        self.artifact_now::<Snapshots>(seq)
    }

    /// One snapshot.
    pub fn get_snapshot(&self, tenant: &str, id: &SnapshotId) -> Result<Snapshot> {
        self.get_artifact::<Snapshots>(tenant, id)
    }

    /// One page of snapshots.
    pub fn list_snapshots(
        &self,
        tenant: &str,
        query: &ListSnapshots,
        page: Option<&PageToken>,
    ) -> Result<Page<Snapshot>> {
        let volume = query.volume_id.as_ref();
        self.list_artifacts::<Snapshots>(tenant, volume, query.page_size, page)
    }

    /// Deletes a snapshot.
    pub fn delete_snapshot(
        &mut self,
        tenant: &str,
        id: &SnapshotId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        self.delete_artifact::<Snapshots>(tenant, id, fault)
    }

    /// A copy of a snapshot's data (O(1): chunks are shared).
    pub(crate) fn snapshot_data(
        &self,
        tenant: &str,
        id: &SnapshotId,
    ) -> Result<super::super::store::Image> {
        self.artifact_rec::<Snapshots>(tenant, id)
            .map(|r| r.data.clone())
    }
}

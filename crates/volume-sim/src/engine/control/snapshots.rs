//! Snapshots: the artifact kind that lives beside its volume. Everything
//! they do is the generic artifact store's; this module gives the kind's
//! data, from which `artifact_kind!` writes the public operations.

use volume_core::state::SnapshotOp;
use volume_core::{Snapshot, SnapshotId, SnapshotState};

use super::artifacts::artifact_kind;

artifact_kind! {
    Snapshots stores Snapshot (SnapshotId, SnapshotState) taken by CreateSnapshot
    listed by ListSnapshots, prefix "snap", counted in snapshots,
    table check_snapshot(SnapshotOp::CreateVolume, SnapshotOp::Delete), delay snapshot,
    ops create_snapshot get_snapshot list_snapshots delete_snapshot snapshot_data;
}

impl super::Control {
    /// Reverts volume `volume` to its snapshot `snapshot`: the volume's data
    /// becomes the snapshot's (sharing its chunks, copy-on-write), and the
    /// volume shows `restoring` for the restore delay. The snapshot must be
    /// one of this volume's and available.
    pub fn revert_to_snapshot(
        &mut self,
        tenant: &str,
        volume: &volume_core::VolumeId,
        snapshot: &SnapshotId,
        fault: Option<&super::super::fault::Fault>,
    ) -> super::Result<volume_core::Volume> {
        use super::artifacts::{ArtifactKind, ArtifactUse};
        use volume_core::state::VolumeOp;
        if !self.policy.snapshots {
            return Err(self.unsupported("revert_to_snapshot"));
        }
        let rec = self.artifact_rec::<Snapshots>(tenant, snapshot)?;
        Snapshots::check(snapshot.as_str(), &rec.resource.state, ArtifactUse::Source)?;
        if rec.resource.volume_id.as_ref() != Some(volume) {
            return Err(volume_core::Error::invalid_input(
                "snapshot_id",
                format!("snapshot {snapshot} is not a snapshot of volume {volume}"),
            ));
        }
        let vrec = self.volume_rec(tenant, volume)?;
        let vseq = vrec.seq;
        let t = self.check_volume(volume, &vrec.volume.state, VolumeOp::RestoreInto)?;
        Self::replace_data(&vrec.data, &rec.data, vrec.volume.size)?;
        self.run_volume(vseq, VolumeOp::RestoreInto, &t, fault);
        self.volume_now(vseq)
    }
}

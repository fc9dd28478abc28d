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

//! Resource states and the lifecycle table.
//!
//! The state enums are `#[non_exhaustive]` and end in `Unknown(String)`, so a
//! word a provider adds tomorrow decodes today; resources also keep the
//! provider's own word (`raw_state`).
//!
//! The lifecycle is one table, [`volume_transition`] (with
//! [`snapshot_transition`] and [`backup_transition`] for the other
//! resources): for each state and operation, the state the resource passes
//! through and the state it ends in, or the refusal. The simulator enforces it
//! and waiters use [`VolumeState::is_failure`] and [`VolumeState::is_transient`]
//! to stop early.

use std::fmt;

use crate::error::{Error, ResourceKind};

/// The state of a volume, in provider-neutral words.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VolumeState {
    /// Being created.
    Creating,
    /// Ready and attached to nothing.
    Available,
    /// Being attached to an instance.
    Attaching,
    /// Attached to an instance.
    InUse,
    /// Being detached.
    Detaching,
    /// Being resized.
    Resizing,
    /// A snapshot is being taken and the volume is busy (Exoscale).
    Snapshotting,
    /// A backup is being taken.
    BackingUp,
    /// Data is being restored into it from a backup.
    Restoring,
    /// Being deleted.
    Deleting,
    /// Gone (some providers show deleted volumes for a while).
    Deleted,
    /// Failed; only deletion is possible.
    Error,
    /// A resize failed (Cinder's `error_extending`).
    ErrorResizing,
    /// A deletion failed.
    ErrorDeleting,
    /// A restore failed.
    ErrorRestoring,
    /// A word this version does not know.
    Unknown(String),
}

/// The state of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnapshotState {
    /// Being taken.
    Creating,
    /// Ready to use.
    Available,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
    /// Failed.
    Error,
    /// A word this version does not know.
    Unknown(String),
}

/// The state of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackupState {
    /// Being taken.
    Creating,
    /// Ready to restore.
    Available,
    /// Being restored from.
    Restoring,
    /// Being deleted.
    Deleting,
    /// Gone.
    Deleted,
    /// Failed.
    Error,
    /// A word this version does not know.
    Unknown(String),
}

macro_rules! state_words {
    ($ty:ident { $($variant:ident => $word:literal),* $(,)? }) => {
        impl $ty {
            /// Every known state, in declaration order (for tests and tables).
            pub const KNOWN: &'static [$ty] = &[$($ty::$variant),*];

            /// The neutral word for this state, e.g. `"available"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($ty::$variant => $word,)*
                    $ty::Unknown(word) => word,
                }
            }

            /// Parses a neutral word; any other word becomes `Unknown`.
            pub fn from_word(word: &str) -> Self {
                match word {
                    $($word => $ty::$variant,)*
                    other => $ty::Unknown(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

state_words!(VolumeState {
    Creating => "creating",
    Available => "available",
    Attaching => "attaching",
    InUse => "in-use",
    Detaching => "detaching",
    Resizing => "resizing",
    Snapshotting => "snapshotting",
    BackingUp => "backing-up",
    Restoring => "restoring",
    Deleting => "deleting",
    Deleted => "deleted",
    Error => "error",
    ErrorResizing => "error-resizing",
    ErrorDeleting => "error-deleting",
    ErrorRestoring => "error-restoring",
});

state_words!(SnapshotState {
    Creating => "creating",
    Available => "available",
    Deleting => "deleting",
    Deleted => "deleted",
    Error => "error",
});

state_words!(BackupState {
    Creating => "creating",
    Available => "available",
    Restoring => "restoring",
    Deleting => "deleting",
    Deleted => "deleted",
    Error => "error",
});

impl VolumeState {
    /// A failure state: the volume will not get anywhere by waiting.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::Error | Self::ErrorResizing | Self::ErrorDeleting | Self::ErrorRestoring
        )
    }

    /// A state the volume passes through on its own, given time.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Creating
                | Self::Attaching
                | Self::Detaching
                | Self::Resizing
                | Self::Snapshotting
                | Self::BackingUp
                | Self::Restoring
                | Self::Deleting
        )
    }
}

impl SnapshotState {
    /// A failure state.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Error)
    }

    /// A state the snapshot passes through on its own.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting)
    }
}

impl BackupState {
    /// A failure state.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Error)
    }

    /// A state the backup passes through on its own.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Creating | Self::Restoring | Self::Deleting)
    }
}

/// An operation on a volume, as the lifecycle table knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VolumeOp {
    /// Rename or relabel.
    Update,
    /// Attach to an instance.
    Attach,
    /// Detach from its instance.
    Detach,
    /// Grow.
    Resize,
    /// Take a snapshot of it.
    Snapshot,
    /// Clone it into a new volume.
    Clone,
    /// Back it up.
    Backup,
    /// Restore a backup into it.
    RestoreInto,
    /// Delete it.
    Delete,
}

impl VolumeOp {
    /// Every operation, for tests and tables.
    pub const ALL: &'static [Self] = &[
        Self::Update,
        Self::Attach,
        Self::Detach,
        Self::Resize,
        Self::Snapshot,
        Self::Clone,
        Self::Backup,
        Self::RestoreInto,
        Self::Delete,
    ];

    /// The name of the [`BlockStorage`](crate::BlockStorage) method, used in errors.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Update => "update_volume",
            Self::Attach => "attach_volume",
            Self::Detach => "detach_volume",
            Self::Resize => "resize_volume",
            Self::Snapshot => "create_snapshot",
            Self::Clone => "clone_volume",
            Self::Backup => "create_backup",
            Self::RestoreInto => "restore_backup",
            Self::Delete => "delete_volume",
        }
    }
}

/// Where an allowed operation leads: the state the resource shows while the
/// operation runs, and the state it ends in.
///
/// When `during == after` the operation does not show a state of its own.
/// After `Delete`, `after` is `Deleted`: the resource is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<S> {
    /// Shown while the operation runs.
    pub during: S,
    /// Shown when it is done.
    pub after: S,
}

fn go<S>(during: S, after: S) -> Option<Transition<S>> {
    Some(Transition { during, after })
}

/// The volume lifecycle table: what `op` does to a volume in `state`, or
/// `None` when it is refused.
///
/// Provider differences (resize while attached, delete with snapshots, detach
/// only from a stopped instance) are not in this table; they are policy, and
/// are checked on top of it.
pub fn volume_transition(state: &VolumeState, op: VolumeOp) -> Option<Transition<VolumeState>> {
    use VolumeOp as O;
    use VolumeState as S;
    match (state, op) {
        (S::Available, O::Update) => go(S::Available, S::Available),
        (S::InUse, O::Update) => go(S::InUse, S::InUse),
        (S::Available, O::Attach) => go(S::Attaching, S::InUse),
        (S::InUse, O::Detach) => go(S::Detaching, S::Available),
        (S::Available, O::Resize) => go(S::Resizing, S::Available),
        (S::InUse, O::Resize) => go(S::Resizing, S::InUse),
        (S::Available, O::Snapshot) => go(S::Available, S::Available),
        (S::InUse, O::Snapshot) => go(S::InUse, S::InUse),
        (S::Available, O::Clone) => go(S::Available, S::Available),
        (S::InUse, O::Clone) => go(S::InUse, S::InUse),
        (S::Available, O::Backup) => go(S::BackingUp, S::Available),
        (S::InUse, O::Backup) => go(S::BackingUp, S::InUse),
        (S::Available, O::RestoreInto) => go(S::Restoring, S::Available),
        (
            S::Available | S::Error | S::ErrorResizing | S::ErrorDeleting | S::ErrorRestoring,
            O::Delete,
        ) => go(S::Deleting, S::Deleted),
        _ => None,
    }
}

/// An operation on a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnapshotOp {
    /// Create a volume from it.
    CreateVolume,
    /// Delete it.
    Delete,
}

impl SnapshotOp {
    /// Every operation.
    pub const ALL: &'static [Self] = &[Self::CreateVolume, Self::Delete];

    /// The method name, used in errors.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CreateVolume => "create_volume",
            Self::Delete => "delete_snapshot",
        }
    }
}

/// The snapshot lifecycle table.
pub fn snapshot_transition(
    state: &SnapshotState,
    op: SnapshotOp,
) -> Option<Transition<SnapshotState>> {
    use SnapshotOp as O;
    use SnapshotState as S;
    match (state, op) {
        (S::Available, O::CreateVolume) => go(S::Available, S::Available),
        (S::Available | S::Error, O::Delete) => go(S::Deleting, S::Deleted),
        _ => None,
    }
}

/// An operation on a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackupOp {
    /// Restore it into a volume.
    Restore,
    /// Delete it.
    Delete,
}

impl BackupOp {
    /// Every operation.
    pub const ALL: &'static [Self] = &[Self::Restore, Self::Delete];

    /// The method name, used in errors.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Restore => "restore_backup",
            Self::Delete => "delete_backup",
        }
    }
}

/// The backup lifecycle table.
pub fn backup_transition(state: &BackupState, op: BackupOp) -> Option<Transition<BackupState>> {
    use BackupOp as O;
    use BackupState as S;
    match (state, op) {
        (S::Available, O::Restore) => go(S::Restoring, S::Available),
        (S::Available | S::Error, O::Delete) => go(S::Deleting, S::Deleted),
        _ => None,
    }
}

/// [`volume_transition`], or the [`Error::InvalidState`] that refuses it.
pub fn check_volume(
    id: &str,
    state: &VolumeState,
    op: VolumeOp,
) -> Result<Transition<VolumeState>, Error> {
    volume_transition(state, op)
        .ok_or_else(|| Error::invalid_state(ResourceKind::Volume, id, state.as_str(), op.name()))
}

/// [`snapshot_transition`], or the [`Error::InvalidState`] that refuses it.
pub fn check_snapshot(
    id: &str,
    state: &SnapshotState,
    op: SnapshotOp,
) -> Result<Transition<SnapshotState>, Error> {
    snapshot_transition(state, op)
        .ok_or_else(|| Error::invalid_state(ResourceKind::Snapshot, id, state.as_str(), op.name()))
}

/// [`backup_transition`], or the [`Error::InvalidState`] that refuses it.
pub fn check_backup(
    id: &str,
    state: &BackupState,
    op: BackupOp,
) -> Result<Transition<BackupState>, Error> {
    backup_transition(state, op)
        .ok_or_else(|| Error::invalid_state(ResourceKind::Backup, id, state.as_str(), op.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole volume table, written out by hand: one row per state, one
    /// column per operation in `VolumeOp::ALL` order (Update, Attach, Detach,
    /// Resize, Snapshot, Clone, Backup, RestoreInto, Delete). `-` is refused;
    /// otherwise `during>after` with short names.
    const VOLUME_TABLE: &[(&str, [&str; 9])] = &[
        ("creating", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        (
            "available",
            [
                "available>available",
                "attaching>in-use",
                "-",
                "resizing>available",
                "available>available",
                "available>available",
                "backing-up>available",
                "restoring>available",
                "deleting>deleted",
            ],
        ),
        ("attaching", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        (
            "in-use",
            [
                "in-use>in-use",
                "-",
                "detaching>available",
                "resizing>in-use",
                "in-use>in-use",
                "in-use>in-use",
                "backing-up>in-use",
                "-",
                "-",
            ],
        ),
        ("detaching", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        ("resizing", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        (
            "snapshotting",
            ["-", "-", "-", "-", "-", "-", "-", "-", "-"],
        ),
        ("backing-up", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        ("restoring", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        ("deleting", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        ("deleted", ["-", "-", "-", "-", "-", "-", "-", "-", "-"]),
        (
            "error",
            ["-", "-", "-", "-", "-", "-", "-", "-", "deleting>deleted"],
        ),
        (
            "error-resizing",
            ["-", "-", "-", "-", "-", "-", "-", "-", "deleting>deleted"],
        ),
        (
            "error-deleting",
            ["-", "-", "-", "-", "-", "-", "-", "-", "deleting>deleted"],
        ),
        (
            "error-restoring",
            ["-", "-", "-", "-", "-", "-", "-", "-", "deleting>deleted"],
        ),
    ];

    fn render<S: fmt::Display>(t: Option<Transition<S>>) -> String {
        t.map_or_else(|| "-".to_owned(), |t| format!("{}>{}", t.during, t.after))
    }

    #[test]
    fn the_volume_table_is_exactly_as_written() {
        assert_eq!(VOLUME_TABLE.len(), VolumeState::KNOWN.len());
        for (state, (word, row)) in VolumeState::KNOWN.iter().zip(VOLUME_TABLE) {
            assert_eq!(state.as_str(), *word);
            for (op, expected) in VolumeOp::ALL.iter().zip(row) {
                assert_eq!(
                    render(volume_transition(state, *op)),
                    *expected,
                    "{word} x {op:?}"
                );
            }
        }
    }

    #[test]
    fn unknown_states_refuse_everything() {
        let s = VolumeState::Unknown("key_rotating".into());
        for op in VolumeOp::ALL {
            assert_eq!(volume_transition(&s, *op), None);
        }
        for op in SnapshotOp::ALL {
            assert_eq!(
                snapshot_transition(&SnapshotState::Unknown("x".into()), *op),
                None
            );
        }
        for op in BackupOp::ALL {
            assert_eq!(
                backup_transition(&BackupState::Unknown("x".into()), *op),
                None
            );
        }
    }

    #[test]
    fn the_snapshot_and_backup_tables_are_exactly_as_written() {
        let snap: Vec<String> = SnapshotState::KNOWN
            .iter()
            .flat_map(|s| {
                SnapshotOp::ALL
                    .iter()
                    .map(move |op| render(snapshot_transition(s, *op)))
            })
            .collect();
        assert_eq!(
            snap,
            [
                "-",
                "-", // creating
                "available>available",
                "deleting>deleted", // available
                "-",
                "-", // deleting
                "-",
                "-", // deleted
                "-",
                "deleting>deleted", // error
            ]
        );
        let backup: Vec<String> = BackupState::KNOWN
            .iter()
            .flat_map(|s| {
                BackupOp::ALL
                    .iter()
                    .map(move |op| render(backup_transition(s, *op)))
            })
            .collect();
        assert_eq!(
            backup,
            [
                "-",
                "-", // creating
                "restoring>available",
                "deleting>deleted", // available
                "-",
                "-", // restoring
                "-",
                "-", // deleting
                "-",
                "-", // deleted
                "-",
                "deleting>deleted", // error
            ]
        );
    }

    #[test]
    fn transient_and_failure_states_refuse_all_but_delete_of_failures() {
        for state in VolumeState::KNOWN {
            for op in VolumeOp::ALL {
                let t = volume_transition(state, *op);
                if state.is_transient() {
                    assert!(t.is_none(), "{state} allows {op:?}");
                }
                if state.is_failure() && *op != VolumeOp::Delete {
                    assert!(t.is_none(), "{state} allows {op:?}");
                }
            }
        }
    }

    #[test]
    fn words_round_trip() {
        for s in VolumeState::KNOWN {
            assert_eq!(&VolumeState::from_word(s.as_str()), s);
        }
        assert_eq!(
            VolumeState::from_word("key_rotating"),
            VolumeState::Unknown("key_rotating".into())
        );
    }

    #[test]
    fn refusals_name_state_and_operation() {
        let err = check_volume("v1", &VolumeState::InUse, VolumeOp::Delete).unwrap_err();
        match err {
            Error::InvalidState {
                state,
                operation,
                id,
                ..
            } => {
                assert_eq!(state, "in-use");
                assert_eq!(operation, "delete_volume");
                assert_eq!(id, "v1");
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Backups: the artifact kind that outlives its volume. The generic
//! artifact store does what they share with snapshots; this module adds
//! what is theirs alone: incremental backups (which need a full one to
//! build on) and restoring into a new volume or over an existing one.

use volume_core::state::{BackupOp, VolumeOp};
use volume_core::{
    Backup, BackupId, BackupState, CreateBackup, CreateVolume, Error, RestoreBackup, SnapshotId,
    Volume,
};

use super::super::fault::Fault;
use super::super::policy::Policy;
use super::artifacts::{artifact_kind, ArtifactEnd, ArtifactKind, ArtifactUse};
use super::{Control, Result};

artifact_kind! {
    Backups stores Backup (BackupId, BackupState) taken by CreateBackup
    listed by ListBackups, prefix "bak", counted in backups,
    table check_backup(BackupOp::Restore, BackupOp::Delete), delay backup,
    ops create_backup get_backup list_backups delete_backup backup_data;

    fn unsupported_request(policy: &Policy, req: &CreateBackup) -> Option<&'static str> {
        (req.incremental && !policy.incremental_backups).then_some("create_backup (incremental)")
    }

    // An incremental backup builds on a full one of the volume that is ready.
    fn check_request(control: &Control, tenant: &str, req: &CreateBackup) -> Result<()> {
        let mut of_volume = control.backups.of_volume(tenant, &req.volume_id);
        if req.incremental && !of_volume.any(|b| b.state == BackupState::Available) {
            return Err(Error::invalid_input(
                "incremental",
                "the volume has no available backup to build on",
            ));
        }
        Ok(())
    }

    fn shape(backup: &mut Backup, req: &CreateBackup) {
        backup.incremental = req.incremental;
    }
}

impl Control {
    /// Backs up snapshot `snapshot` (rather than its volume's current data):
    /// a new backup of the snapshot's volume holding the snapshot's bytes,
    /// `creating` for the backup delay. The snapshot must be available.
    pub fn backup_snapshot(
        &mut self,
        tenant: &str,
        snapshot: &SnapshotId,
        name: &str,
        fault: Option<&Fault>,
    ) -> Result<Backup> {
        use super::artifacts::Taken;
        use super::snapshots::Snapshots;
        if !self.policy.backups {
            return Err(self.unsupported("create_backup"));
        }
        self.check_name(name)?;
        let rec = self.artifact_rec::<Snapshots>(tenant, snapshot)?;
        Snapshots::check(snapshot.as_str(), &rec.resource.state, ArtifactUse::Source)?;
        let volume_id = rec.resource.volume_id.clone().ok_or_else(|| {
            Error::invalid_input("snapshot_id", format!("snapshot {snapshot} has no volume"))
        })?;
        let (data, size, region) = (
            rec.data.clone(),
            rec.resource.size,
            rec.resource.region.clone(),
        );
        self.check_quota(tenant, Backups::ONE)?;
        let source = Taken {
            name,
            volume_id: &volume_id,
            size,
            region,
            labels: &volume_core::Labels::new(),
            data,
        };
        let seq = self.record_artifact::<Backups>(tenant, source, |_| {}, |_| {}, fault);
        self.artifact_now::<Backups>(seq)
    }

    /// Restores a backup into a new volume or over an existing one.
    pub fn restore_backup(
        &mut self,
        tenant: &str,
        id: &BackupId,
        req: &RestoreBackup,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        if !self.policy.backups {
            return Err(self.unsupported("restore_backup"));
        }
        let rec = self.artifact_rec::<Backups>(tenant, id)?;
        let bseq = rec.seq;
        let bt = Backups::check(id.as_str(), &rec.resource.state, ArtifactUse::Source)?;
        let Some(target) = &req.volume_id else {
            let name = req.name.clone().unwrap_or_else(|| format!("restore-{id}"));
            let create = CreateVolume::from_backup(name, id.clone());
            return self.create_volume(tenant, &create, fault);
        };
        let backup = &rec.resource;
        let vrec = self.volume_rec(tenant, target)?;
        let vseq = vrec.seq;
        let vt = self.check_volume(target, &vrec.volume.state, VolumeOp::RestoreInto)?;
        if vrec.volume.region != backup.region {
            return Err(Error::invalid_input(
                "volume_id",
                format!(
                    "the backup is in {}, volume {target} in {}",
                    backup.region, vrec.volume.region
                ),
            ));
        }
        if vrec.volume.size < backup.size {
            return Err(Error::invalid_input(
                "volume_id",
                format!(
                    "volume {target} is {}, smaller than the backup's {}",
                    vrec.volume.size, backup.size
                ),
            ));
        }
        Self::replace_data(&vrec.data, &rec.data, vrec.volume.size)?;
        let delay = self.policy.delays.restore;
        let back = ArtifactEnd::State(bt.after.clone());
        self.run_artifact::<Backups>(bseq, bt.during, delay, (back.clone(), back), None);
        self.run_volume(vseq, VolumeOp::RestoreInto, &vt, fault);
        self.volume_now(vseq)
    }
}

//! Backups: the artifact kind that outlives its volume. The generic
//! artifact store does what they share with snapshots; this module adds
//! what is theirs alone: incremental backups (which need a full one to
//! build on) and restoring into a new volume or over an existing one.

use std::time::Duration;

use volume_core::state::{check_backup, BackupOp, Transition, VolumeOp};
use volume_core::{
    Backup, BackupId, BackupState, CreateBackup, CreateVolume, Error, ListBackups, Page, PageToken,
    ResourceKind, RestoreBackup, Volume, VolumeState,
};

use super::super::fault::Fault;
use super::super::policy::{Delays, Policy};
use super::super::store::Image;
use super::artifacts::{
    ArtifactEnd, ArtifactKind, ArtifactOps, ArtifactUse, Artifacts, NewArtifact,
};
use super::volumes::VolumeEnd;
use super::{bytes_of, lock_image, Control, Pending, QuotaUsage, Result};

/// The backup kind.
#[derive(Debug)]
pub(super) enum Backups {}

impl ArtifactKind for Backups {
    type Resource = Backup;
    const RESOURCE: ResourceKind = ResourceKind::Backup;
    const PREFIX: &'static str = "bak";
    const OPS: ArtifactOps = ArtifactOps {
        create: "create_backup",
        get: "get_backup",
        list: "list_backups",
        delete: "delete_backup",
    };
    const TAKE: VolumeOp = VolumeOp::Backup;
    const ONE: QuotaUsage = QuotaUsage {
        backups: 1,
        ..QuotaUsage::NONE
    };
    const TAKING: BackupState = BackupState::Creating;
    const DONE: BackupState = BackupState::Available;
    const FAILED: BackupState = BackupState::Error;

    fn enabled(policy: &Policy) -> bool {
        policy.backups
    }

    fn delay(delays: &Delays) -> Duration {
        delays.backup
    }

    fn check(id: &str, state: &BackupState, what: ArtifactUse) -> Result<Transition<BackupState>> {
        let op = match what {
            ArtifactUse::Source => BackupOp::Restore,
            ArtifactUse::Delete => BackupOp::Delete,
        };
        check_backup(id, state, op)
    }

    fn pending(seq: u64, end: ArtifactEnd<BackupState>) -> Pending {
        Pending::Backup(seq, end)
    }

    fn store(control: &Control) -> &Artifacts<Backup> {
        &control.backups
    }

    fn store_mut(control: &mut Control) -> &mut Artifacts<Backup> {
        &mut control.backups
    }
}

impl Control {
    /// Backs up a volume.
    pub fn create_backup(
        &mut self,
        tenant: &str,
        req: &CreateBackup,
        fault: Option<&Fault>,
    ) -> Result<Backup> {
        if self.policy.backups && req.incremental && !self.policy.incremental_backups {
            return Err(self.unsupported("create_backup (incremental)"));
        }
        let new = NewArtifact {
            name: &req.name,
            volume_id: &req.volume_id,
            labels: &req.labels,
        };
        // An incremental backup builds on a full one that is ready.
        let has_base = |c: &Self| {
            let mut of_volume = c.backups.of_volume(tenant, &req.volume_id);
            if req.incremental && !of_volume.any(|b| b.state == BackupState::Available) {
                return Err(Error::invalid_input(
                    "incremental",
                    "the volume has no available backup to build on",
                ));
            }
            Ok(())
        };
        let seq = self.create_artifact::<Backups>(tenant, new, has_base, fault)?;
        if let Some(b) = self.backups.get_mut(seq) {
            b.incremental = req.incremental;
        }
        self.artifact_now::<Backups>(seq)
    }

    /// One backup.
    pub fn get_backup(&self, tenant: &str, id: &BackupId) -> Result<Backup> {
        self.get_artifact::<Backups>(tenant, id)
    }

    /// One page of backups.
    pub fn list_backups(
        &self,
        tenant: &str,
        query: &ListBackups,
        page: Option<&PageToken>,
    ) -> Result<Page<Backup>> {
        let volume = query.volume_id.as_ref();
        self.list_artifacts::<Backups>(tenant, volume, query.page_size, page)
    }

    /// Deletes a backup.
    pub fn delete_backup(
        &mut self,
        tenant: &str,
        id: &BackupId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        self.delete_artifact::<Backups>(tenant, id, fault)
    }

    /// A copy of a backup's data (O(1)).
    pub(crate) fn backup_data(&self, tenant: &str, id: &BackupId) -> Result<Image> {
        self.artifact_rec::<Backups>(tenant, id)
            .map(|r| r.data.clone())
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
        let mut image = rec.data.clone();
        image.resize(bytes_of(vrec.volume.size)?);
        *lock_image(&vrec.data) = image;
        let delay = self.policy.delays.restore;
        let back = ArtifactEnd::State(bt.after.clone());
        self.run_artifact::<Backups>(bseq, bt.during, delay, (back.clone(), back), None);
        let ends = (
            VolumeEnd::State(vt.after.clone()),
            VolumeEnd::State(VolumeState::ErrorRestoring),
        );
        self.run_volume(vseq, &vt, delay, ends, fault);
        self.volume_now(vseq)
    }
}

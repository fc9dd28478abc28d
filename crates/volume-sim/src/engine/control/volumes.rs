//! Volumes: creation (empty, from a snapshot, a clone, from a backup),
//! update, attach and detach, resize, delete, and how each of their
//! transitions ends.
//!
//! Every operation asks [`Control::check_volume`] (the policy's lifecycle
//! rules, then the core table) before anything else about the volume's
//! state, and changes nothing until every check has passed.

use std::sync::Arc;
use std::time::Duration;

use volume_core::state::{Transition, VolumeOp};
use volume_core::{
    check_grow, Attachment, CloneVolume, CreateVolume, Error, Instance, InstanceId, InstanceState,
    ListVolumes, Page, PageToken, RegionId, ResourceKind, Size, UpdateVolume, Volume, VolumeId,
    VolumeSource, VolumeState,
};

use super::super::fault::Fault;
use super::super::memory;
use super::super::policy::AttachedResize;
use super::super::store::Image;
use super::backups::Backups;
use super::snapshots::Snapshots;
use super::{
    all_of, bytes_of, lock_image, name_key, Control, Pending, QuotaUsage, Result, SharedImage,
};

#[derive(Debug, Clone)]
pub(super) struct VolumeRec {
    pub(super) tenant: String,
    /// Shared, so that a listing takes the records without copying them;
    /// a change copies a record only while a listing still holds it.
    pub(super) volume: Arc<Volume>,
    pub(super) data: SharedImage,
    pub(super) seq: u64,
}

impl VolumeRec {
    pub(super) fn is_attached_to(&self, instance: &InstanceId) -> bool {
        self.volume
            .attachments
            .iter()
            .any(|a| a.instance == *instance)
    }
}

/// How a volume's transition ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum VolumeEnd {
    /// The volume ends in this state.
    State(VolumeState),
    /// The volume ends available with no attachments.
    Detached,
    /// The volume is gone.
    Remove,
}

/// Whether a volume is exported read-write: attached, and not detaching,
/// being deleted or gone.
pub(crate) fn exportable(volume: &Volume) -> bool {
    !volume.attachments.is_empty()
        && !matches!(
            volume.state,
            VolumeState::Detaching | VolumeState::Deleting | VolumeState::Deleted
        )
}

fn set_volume_state(volume: &mut Volume, state: VolumeState) {
    volume.raw_state = state.as_str().to_owned();
    volume.state = state;
}

impl Control {
    // ----- records and transitions -----------------------------------------

    pub(super) fn volume_rec(&self, tenant: &str, id: &VolumeId) -> Result<&VolumeRec> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.volumes.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Volume, id.as_str()))
    }

    /// Adds a volume's record, and with it everything kept in step with the
    /// records: the data plane's index, the name index, the quota counters.
    fn insert_volume(&mut self, rec: VolumeRec) {
        self.volume_index
            .insert(rec.volume.id.as_str(), &rec.tenant, Arc::clone(&rec.data));
        *self
            .names
            .entry(name_key(&rec.tenant, &rec.volume.name))
            .or_default() += 1;
        let more = QuotaUsage {
            volumes: 1,
            gigabytes: rec.volume.size.as_gib(),
            ..QuotaUsage::NONE
        };
        self.charge_quota(&rec.tenant.clone(), more);
        for a in &rec.volume.attachments {
            *self
                .attached
                .entry(a.instance.as_str().to_owned())
                .or_default() += 1;
        }
        self.volumes.insert(rec.seq, rec);
    }

    /// Removes a volume's record and what is kept in step with it, then
    /// hands the memory its bytes held back (when nothing else shares them).
    fn remove_volume(&mut self, seq: u64) {
        let Some(rec) = self.volumes.remove(&seq) else {
            return;
        };
        self.ids.remove(rec.volume.id.as_str());
        self.volume_index.remove(rec.volume.id.as_str());
        self.forget_name(&rec.tenant, &rec.volume.name);
        self.forget_attachments(&rec.volume.attachments);
        let less = QuotaUsage {
            volumes: 1,
            gigabytes: rec.volume.size.as_gib(),
            ..QuotaUsage::NONE
        };
        self.release_quota(&rec.tenant, less);
        let bytes = lock_image(&rec.data).allocated_bytes();
        drop(rec);
        memory::freed(bytes);
    }

    /// Puts a copy of `from` in place of a volume's bytes, sized to the
    /// volume (`size`), and hands back the memory only the old bytes held:
    /// a restore of a backup and a revert to a snapshot.
    pub(super) fn replace_data(data: &SharedImage, from: &Image, size: Size) -> Result<()> {
        let mut image = from.clone();
        image.resize(bytes_of(size)?);
        let old = std::mem::replace(&mut *lock_image(data), image);
        let bytes = old.allocated_bytes();
        drop(old);
        memory::freed(bytes);
        Ok(())
    }

    /// Takes `attachments` off the per-instance counts.
    fn forget_attachments(&mut self, attachments: &[Attachment]) {
        for a in attachments {
            if let Some(n) = self.attached.get_mut(a.instance.as_str()) {
                *n -= 1;
                if *n == 0 {
                    self.attached.remove(a.instance.as_str());
                }
            }
        }
    }

    fn forget_name(&mut self, tenant: &str, name: &str) {
        let key = name_key(tenant, name);
        if let Some(n) = self.names.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.names.remove(&key);
            }
        }
    }

    /// A volume's data while it may be exported read-write: it is attached
    /// to an instance and not on its way out (detaching, deleting, gone).
    pub(crate) fn attached_volume_data(&self, tenant: &str, id: &VolumeId) -> Option<SharedImage> {
        self.volume_rec(tenant, id)
            .ok()
            .filter(|r| exportable(&r.volume))
            .map(|r| Arc::clone(&r.data))
    }

    pub(super) fn end_volume(&mut self, seq: u64, end: VolumeEnd) {
        match end {
            VolumeEnd::Remove => self.remove_volume(seq),
            VolumeEnd::Detached => {
                if let Some(rec) = self.volumes.get_mut(&seq) {
                    let volume = Arc::make_mut(&mut rec.volume);
                    let gone = std::mem::take(&mut volume.attachments);
                    set_volume_state(volume, VolumeState::Available);
                    self.forget_attachments(&gone);
                }
            }
            VolumeEnd::State(state) => {
                if let Some(rec) = self.volumes.get_mut(&seq) {
                    set_volume_state(Arc::make_mut(&mut rec.volume), state);
                }
            }
        }
    }

    /// Shows volume `seq` in `t.during` now, and schedules the end of `op`
    /// (see [`Self::volume_op_course`]).
    pub(super) fn run_volume(
        &mut self,
        seq: u64,
        op: VolumeOp,
        t: &Transition<VolumeState>,
        fault: Option<&Fault>,
    ) {
        if let Some(rec) = self.volumes.get_mut(&seq) {
            set_volume_state(Arc::make_mut(&mut rec.volume), t.during.clone());
        }
        let (delay, done, failure) = self.volume_op_course(op, t);
        self.finish(
            delay,
            Pending::Volume(seq, done),
            Pending::Volume(seq, failure),
            fault,
        );
    }

    /// How long `op` takes, how it ends, and where it lands when a fault
    /// makes it fail: one table for every volume operation that takes time.
    fn volume_op_course(
        &self,
        op: VolumeOp,
        t: &Transition<VolumeState>,
    ) -> (Duration, VolumeEnd, VolumeEnd) {
        use VolumeOp as O;
        use VolumeState as S;
        let d = &self.policy.delays;
        let (delay, failure) = match op {
            O::Attach => (d.attach, S::Error),
            O::Detach => (d.detach, S::Error),
            O::Resize => (d.resize, S::ErrorResizing),
            O::Delete => (d.delete, S::ErrorDeleting),
            O::RestoreInto => (d.restore, S::ErrorRestoring),
            // The volume only shows the work on an artifact of it: it comes
            // back as it was whatever becomes of the artifact.
            O::Backup => (d.backup, t.after.clone()),
            O::Snapshot => (d.snapshot, t.after.clone()),
            _ => (Duration::ZERO, t.after.clone()),
        };
        let done = match op {
            O::Detach => VolumeEnd::Detached,
            O::Delete => VolumeEnd::Remove,
            _ => VolumeEnd::State(t.after.clone()),
        };
        (delay, done, VolumeEnd::State(failure))
    }

    /// The volume as it is now (after a change that may have ended at once).
    pub(super) fn volume_now(&self, seq: u64) -> Result<Volume> {
        self.volumes
            .get(&seq)
            .map(|r| (*r.volume).clone())
            .ok_or_else(|| Error::not_found(ResourceKind::Volume, seq.to_string()))
    }

    /// Forgets every transition in flight on volume `seq`, so that nothing
    /// scheduled before it began to go can bring it back.
    fn cancel_volume_transitions(&mut self, seq: u64) {
        let from = (seq, Duration::ZERO, 0);
        let to = (seq, Duration::MAX, u64::MAX);
        let keys: Vec<_> = self.pending_of_volume.range(from..=to).copied().collect();
        for key in keys {
            self.pending_of_volume.remove(&key);
            self.pending.remove(&(key.1, key.2));
        }
    }

    // ----- checks ----------------------------------------------------------

    fn check_unique_name(&self, tenant: &str, name: &str, except: Option<u64>) -> Result<()> {
        if !self.policy.unique_names {
            return Ok(());
        }
        let holders = self
            .names
            .get(&name_key(tenant, name))
            .copied()
            .unwrap_or(0);
        let own = except
            .and_then(|seq| self.volumes.get(&seq))
            .is_some_and(|r| r.volume.name == name);
        if holders > u32::from(own) {
            return Err(Error::already_exists(ResourceKind::Volume, name));
        }
        Ok(())
    }

    /// Refuses `op` unless every instance `volume` is attached to is in a
    /// state that passes `ready` (a provider that needs it stopped).
    fn check_instances(
        &self,
        tenant: &str,
        volume: &Volume,
        op: VolumeOp,
        ready: impl Fn(InstanceState) -> bool,
    ) -> Result<()> {
        for a in &volume.attachments {
            let inst = self.instance(tenant, &a.instance)?;
            if !ready(inst.state) {
                return Err(Error::invalid_state(
                    ResourceKind::Instance,
                    inst.id.as_str(),
                    inst.raw_state,
                    op.name(),
                ));
            }
        }
        Ok(())
    }

    fn check_size(&self, size: Size) -> Result<()> {
        self.policy
            .check_size(size)
            .map_err(|reason| Error::invalid_input("size", reason))
    }

    /// One page of `tenant`'s volumes that match `query`.
    pub fn list_volumes(
        &self,
        tenant: &str,
        query: &ListVolumes,
        page: Option<&PageToken>,
    ) -> Result<Page<Volume>> {
        let keep = |r: &VolumeRec| r.tenant == tenant && query.matches(&r.volume);
        self.page_of(&self.volumes, page, query.page_size, keep, |r| {
            (*r.volume).clone()
        })
    }

    /// Every one of `tenant`'s volumes, oldest first (for fakes that filter
    /// and page in their provider's own way).
    pub fn all_volumes(&self, tenant: &str) -> Vec<Volume> {
        all_of(
            &self.volumes,
            |r| r.tenant == tenant,
            |r| (*r.volume).clone(),
        )
    }

    /// Every volume of `tenant`, in creation order, shared with the engine:
    /// O(volumes) reference counts, no copy (a listing that reads many
    /// volumes takes them this way and lets the lock go).
    pub fn all_volumes_shared(&self, tenant: &str) -> Vec<Arc<Volume>> {
        all_of(
            &self.volumes,
            |r| r.tenant == tenant,
            |r| Arc::clone(&r.volume),
        )
    }

    /// One volume.
    pub fn get_volume(&self, tenant: &str, id: &VolumeId) -> Result<Volume> {
        self.volume_rec(tenant, id).map(|r| (*r.volume).clone())
    }

    /// One volume, shared rather than copied (for readers that only show
    /// it).
    pub fn get_volume_shared(&self, tenant: &str, id: &VolumeId) -> Result<Arc<Volume>> {
        self.volume_rec(tenant, id).map(|r| Arc::clone(&r.volume))
    }

    /// Creates a volume: empty, from a snapshot, a clone or from a backup.
    pub fn create_volume(
        &mut self,
        tenant: &str,
        req: &CreateVolume,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        self.create_volume_from(tenant, req, fault, None)
    }

    /// [`create_volume`](Self::create_volume), with the data, smallest size
    /// and region given by the caller (an image) instead of `req.source`
    /// when `start` is set.
    pub(super) fn create_volume_from(
        &mut self,
        tenant: &str,
        req: &CreateVolume,
        fault: Option<&Fault>,
        start: Option<super::artifacts::VolumeStart>,
    ) -> Result<Volume> {
        self.ensure_tenant(tenant);
        self.check_name(&req.name)?;
        self.check_unique_name(tenant, &req.name, None)?;
        let volume_type = match &req.volume_type {
            Some(t) if self.policy.volume_types.contains(&t.as_str()) => Some(t.clone()),
            Some(t) => {
                return Err(Error::invalid_input(
                    "volume_type",
                    format!("{t:?} is not one of {:?}", self.policy.volume_types),
                ))
            }
            None => self.policy.volume_types.first().map(|t| (*t).to_owned()),
        };
        // The instance to attach to decides the region when none is given.
        let instance = match &req.attach_to {
            Some(i) => Some(self.instance(tenant, i)?),
            None => None,
        };
        // What the data starts from, and the smallest size it allows.
        let (data, source_size, source_region) = match (start, &req.source) {
            (Some(start), _) => start,
            (None, VolumeSource::Empty) => (None, None, None),
            (None, VolumeSource::Snapshot(id)) => {
                if !self.policy.volume_from_snapshot {
                    return Err(self.unsupported("create_volume (from a snapshot)"));
                }
                self.artifact_source::<Snapshots>(tenant, id)?
            }
            (None, VolumeSource::Volume(id)) => {
                if !self.policy.clone {
                    return Err(self.unsupported("clone_volume"));
                }
                let rec = self.volume_rec(tenant, id)?;
                self.check_volume(id, &rec.volume.state, VolumeOp::Clone)?;
                (
                    Some(lock_image(&rec.data).clone()),
                    Some(rec.volume.size),
                    Some(rec.volume.region.clone()),
                )
            }
            (None, VolumeSource::Backup(id)) => {
                if !self.policy.backups {
                    return Err(self.unsupported("restore_backup"));
                }
                self.artifact_source::<Backups>(tenant, id)?
            }
            (None, other) => {
                return Err(Error::invalid_input(
                    "source",
                    format!("{other:?} is not known to this simulator"),
                ))
            }
        };
        let size = match (req.size, source_size, self.policy.default_size) {
            (Some(s), _, _) => s,
            (None, Some(s), _) => s,
            (None, None, Some(s)) => s,
            (None, None, None) => return Err(Error::invalid_input("size", "is required")),
        };
        self.check_size(size)?;
        if let Some(min) = source_size {
            if size < min {
                return Err(Error::invalid_input(
                    "size",
                    format!("must be at least the source's {min}, got {size}"),
                ));
            }
            if size > min
                && matches!(req.source, VolumeSource::Snapshot(_))
                && !self.policy.volume_from_snapshot_larger
            {
                return Err(Error::invalid_input(
                    "size",
                    format!("must equal the snapshot's {min}"),
                ));
            }
        }
        let region =
            match (&req.region, &instance, &source_region) {
                (Some(r), _, _) => r.clone(),
                (None, Some(i), _) => i.region.clone(),
                (None, None, Some(r)) => r.clone(),
                (None, None, None) => self.regions.first().cloned().ok_or_else(|| {
                    Error::invalid_input("region", "the simulator has no regions")
                })?,
            };
        if !self.regions.contains(&region) {
            return Err(Error::invalid_input(
                "region",
                format!("{region} is not a region of this simulator"),
            ));
        }
        if let Some(r) = &source_region {
            if *r != region {
                return Err(Error::invalid_input(
                    "region",
                    format!("the source is in {r}, not {region}"),
                ));
            }
        }
        if let Some(i) = &instance {
            self.check_attachable(i, &region)?;
        }
        self.check_labels(&req.labels)?;
        self.check_quota(
            tenant,
            QuotaUsage {
                volumes: 1,
                gigabytes: size.as_gib(),
                ..QuotaUsage::NONE
            },
        )?;

        // Every check passed: from here on nothing can fail.
        let bytes = bytes_of(size)?;
        let mut image = data.unwrap_or_else(|| Image::new(0));
        image.resize(bytes);
        let (seq, id) = self.mint("vol");
        let id = VolumeId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid"));
        let mut volume = Volume::new(id, req.name.clone(), size, region, VolumeState::Creating);
        volume.labels = req.labels.clone();
        volume.source = req.source.clone();
        volume.volume_type = volume_type;
        volume.created_at = Some(self.clock.system_time(self.clock.now()));
        let after = if let Some(i) = &instance {
            volume.attachments.push(Attachment::new(i.id.clone()));
            VolumeState::InUse
        } else {
            VolumeState::Available
        };
        self.insert_volume(VolumeRec {
            tenant: tenant.to_owned(),
            volume: Arc::new(volume),
            data: super::shared_image(image),
            seq,
        });
        let delay = match req.source {
            VolumeSource::Backup(_) => self.policy.delays.restore,
            _ => self.policy.delays.create,
        };
        self.finish(
            delay,
            Pending::Volume(seq, VolumeEnd::State(after)),
            Pending::Volume(seq, VolumeEnd::State(VolumeState::Error)),
            fault,
        );
        self.volume_now(seq)
    }

    fn check_attachable(&self, instance: &Instance, region: &RegionId) -> Result<()> {
        if instance.region != *region {
            return Err(Error::invalid_input(
                "instance_id",
                format!(
                    "instance {} is in {}, the volume in {region}",
                    instance.id, instance.region
                ),
            ));
        }
        // Instances are their tenant's own and ids are unique, so every
        // volume attached to this one is that tenant's.
        let attached = self
            .attached
            .get(instance.id.as_str())
            .copied()
            .unwrap_or(0);
        if attached >= self.policy.max_attachments_per_instance {
            return Err(Error::invalid_input(
                "instance_id",
                format!(
                    "instance {} has the maximum of {} volumes attached",
                    instance.id, self.policy.max_attachments_per_instance
                ),
            ));
        }
        Ok(())
    }

    /// Renames or relabels a volume.
    pub fn update_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        req: &UpdateVolume,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        self.check_volume(id, &rec.volume.state, VolumeOp::Update)?;
        if let Some(name) = &req.name {
            self.check_name(name)?;
            self.check_unique_name(tenant, name, Some(seq))?;
        }
        if let Some(labels) = &req.labels {
            self.check_labels(labels)?;
        }
        if let Some(name) = &req.name {
            let old = self
                .volumes
                .get(&seq)
                .map(|r| (r.tenant.clone(), r.volume.name.clone()));
            if let Some((tenant, old)) = old {
                self.forget_name(&tenant, &old);
                *self.names.entry(name_key(&tenant, name)).or_default() += 1;
            }
        }
        let Some(rec) = self.volumes.get_mut(&seq) else {
            return Err(Error::not_found(ResourceKind::Volume, id.as_str()));
        };
        let volume = Arc::make_mut(&mut rec.volume);
        if let Some(name) = &req.name {
            volume.name.clone_from(name);
        }
        if let Some(labels) = &req.labels {
            volume.labels.clone_from(labels);
        }
        Ok(volume.clone())
    }

    /// Deletes a volume.
    pub fn delete_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        fault: Option<&Fault>,
    ) -> Result<()> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let t = self.check_volume(id, &rec.volume.state, VolumeOp::Delete)?;
        // A volume that failed into an error state can still hold an
        // attachment; deleting it would orphan that, so it is refused too.
        // A volume still being created (where the policy lets it go) holds
        // only the attachment its creation asked for, which goes with it.
        if !rec.volume.attachments.is_empty() && rec.volume.state != VolumeState::Creating {
            return Err(Error::invalid_state(
                ResourceKind::Volume,
                id.as_str(),
                rec.volume.state.as_str(),
                VolumeOp::Delete.name(),
            ));
        }
        if !self.policy.delete_with_snapshots {
            let n = self.snapshots.count_of_volume(id);
            if n > 0 {
                return Err(Error::InvalidState {
                    kind: ResourceKind::Volume,
                    id: id.to_string(),
                    state: format!("{} with {n} snapshot(s)", rec.volume.state),
                    operation: VolumeOp::Delete.name(),
                    api: None,
                });
            }
        }
        // Whatever was in flight (a creation the policy lets a delete cut
        // short) must not land after the volume has begun to go.
        self.cancel_volume_transitions(seq);
        self.run_volume(seq, VolumeOp::Delete, &t, fault);
        Ok(())
    }

    /// Attaches a volume to an instance.
    pub fn attach_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        instance: &InstanceId,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let region = rec.volume.region.clone();
        let t = self.check_volume(id, &rec.volume.state, VolumeOp::Attach)?;
        let inst = self.instance(tenant, instance)?;
        self.check_attachable(&inst, &region)?;
        if let Some(rec) = self.volumes.get_mut(&seq) {
            Arc::make_mut(&mut rec.volume)
                .attachments
                .push(Attachment::new(instance.clone()));
            *self
                .attached
                .entry(instance.as_str().to_owned())
                .or_default() += 1;
        }
        self.run_volume(seq, VolumeOp::Attach, &t, fault);
        self.volume_now(seq)
    }

    /// Detaches a volume.
    pub fn detach_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        let t = self.check_volume(id, &rec.volume.state, VolumeOp::Detach)?;
        if self.policy.detach_needs_stopped {
            self.check_instances(tenant, &rec.volume, VolumeOp::Detach, |s| {
                s != InstanceState::Running
            })?;
        }
        self.run_volume(seq, VolumeOp::Detach, &t, fault);
        self.volume_now(seq)
    }

    /// Grows a volume.
    pub fn resize_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        new_size: Size,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.volume_rec(tenant, id)?;
        let seq = rec.seq;
        check_grow(rec.volume.size, new_size)?;
        self.check_size(new_size)?;
        let t = self.check_volume(id, &rec.volume.state, VolumeOp::Resize)?;
        if rec.volume.state == VolumeState::InUse {
            match self.policy.attached_resize {
                AttachedResize::Allowed => {}
                AttachedResize::Refused => {
                    return Err(Error::invalid_state(
                        ResourceKind::Volume,
                        id.as_str(),
                        rec.volume.state.as_str(),
                        VolumeOp::Resize.name(),
                    ));
                }
                AttachedResize::StoppedInstanceOnly => {
                    self.check_instances(tenant, &rec.volume, VolumeOp::Resize, |s| {
                        s == InstanceState::Stopped
                    })?;
                }
            }
        }
        let grow = new_size.as_gib() - rec.volume.size.as_gib();
        self.check_quota(
            tenant,
            QuotaUsage {
                gigabytes: grow,
                ..QuotaUsage::NONE
            },
        )?;
        let bytes = bytes_of(new_size)?;
        let data = Arc::clone(&rec.data);
        lock_image(&data).resize(bytes);
        if let Some(rec) = self.volumes.get_mut(&seq) {
            Arc::make_mut(&mut rec.volume).size = new_size;
        }
        let more = QuotaUsage {
            gigabytes: grow,
            ..QuotaUsage::NONE
        };
        self.charge_quota(tenant, more);
        self.run_volume(seq, VolumeOp::Resize, &t, fault);
        self.volume_now(seq)
    }

    /// Clones a volume.
    pub fn clone_volume(
        &mut self,
        tenant: &str,
        id: &VolumeId,
        req: &CloneVolume,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        if !self.policy.clone {
            return Err(self.unsupported("clone_volume"));
        }
        let rec = self.volume_rec(tenant, id)?;
        let create = CreateVolume::new(req.name.clone(), rec.volume.size)
            .with_region(rec.volume.region.clone())
            .with_source(VolumeSource::Volume(id.clone()))
            .with_labels(req.labels.clone());
        let create = match &rec.volume.volume_type {
            Some(t) => create.with_volume_type(t.clone()),
            None => create,
        };
        self.create_volume(tenant, &create, fault)
    }
}

//! Instances: the machines volumes attach to. The simulator only tracks
//! what attachment rules need (region, running or stopped, which volumes
//! are attached), so an instance has no lifecycle of its own beyond
//! start and stop.

use volume_core::{
    Error, Instance, InstanceId, InstanceState, Page, PageToken, RegionId, ResourceKind, Volume,
};

use super::{all_of, Control, Result};

#[derive(Debug, Clone)]
pub(super) struct InstanceRec {
    tenant: String,
    instance: Instance,
}

impl Control {
    /// Adds an instance to `tenant` in `region`.
    pub fn add_instance(
        &mut self,
        tenant: &str,
        region: &RegionId,
        name: &str,
        state: InstanceState,
    ) -> Instance {
        let (seq, id) = self.mint("inst");
        let instance = Instance::new(
            InstanceId::new(id).unwrap_or_else(|_| unreachable!("minted ids are valid")),
            name,
            region.clone(),
            state,
        );
        self.instances.insert(
            seq,
            InstanceRec {
                tenant: tenant.to_owned(),
                instance: instance.clone(),
            },
        );
        instance
    }

    /// Starts or stops an instance.
    pub fn set_instance_state(
        &mut self,
        tenant: &str,
        id: &InstanceId,
        state: InstanceState,
    ) -> Result<Instance> {
        let seq = self.seq_of(id.as_str());
        let rec = seq
            .and_then(|seq| self.instances.get_mut(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Instance, id.as_str()))?;
        rec.instance.raw_state = state.to_string();
        rec.instance.state = state;
        Ok(rec.instance.clone())
    }

    /// One instance.
    pub fn instance(&self, tenant: &str, id: &InstanceId) -> Result<Instance> {
        self.seq_of(id.as_str())
            .and_then(|seq| self.instances.get(&seq))
            .filter(|r| r.tenant == tenant)
            .map(|r| r.instance.clone())
            .ok_or_else(|| Error::not_found(ResourceKind::Instance, id.as_str()))
    }

    /// One page of `tenant`'s instances.
    pub fn list_instances(
        &self,
        tenant: &str,
        page: Option<&PageToken>,
        page_size: Option<u32>,
    ) -> Result<Page<Instance>> {
        let keep = |r: &InstanceRec| r.tenant == tenant;
        self.page_of(&self.instances, page, page_size, keep, |r| {
            r.instance.clone()
        })
    }

    /// Every one of `tenant`'s instances, oldest first.
    pub fn all_instances(&self, tenant: &str) -> Vec<Instance> {
        all_of(
            &self.instances,
            |r| r.tenant == tenant,
            |r| r.instance.clone(),
        )
    }

    /// The volumes attached to an instance.
    pub fn volumes_of_instance(&self, tenant: &str, id: &InstanceId) -> Result<Vec<Volume>> {
        self.instance(tenant, id)?;
        Ok(self
            .volumes
            .values()
            .filter(|r| r.tenant == tenant && r.is_attached_to(id))
            .map(|r| (*r.volume).clone())
            .collect())
    }
}

//! Tenants and their quotas: who exists (each new tenant gets its seeded
//! instances), what each may hold, and what each holds now.
//!
//! Usage is kept as running counters per tenant, changed in the same step as
//! the records they count (a volume or artifact added or removed, a volume
//! grown), so a quota check costs O(1) however much the cloud holds.
//! [`Control::recount_quota_usage`] counts the records themselves; the
//! property tests compare the two after every step.

use volume_core::{Error, InstanceState};

use super::{Control, Result};

/// Writes one `const fn with_x(self, n) -> Self` per limit, each setting
/// that limit to `Some(n)`.
macro_rules! limit_setters {
    ($($(#[$doc:meta])* $setter:ident => $limit:ident;)*) => {
        $(
            $(#[$doc])*
            pub const fn $setter(mut self, n: u64) -> Self {
                self.$limit = Some(n);
                self
            }
        )*
    };
}

/// Per-tenant limits. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Quota {
    /// The most volumes.
    pub volumes: Option<u64>,
    /// The most GiB of volumes in all.
    pub gigabytes: Option<u64>,
    /// The most snapshots.
    pub snapshots: Option<u64>,
    /// The most backups.
    pub backups: Option<u64>,
}

impl Quota {
    /// No limits.
    pub const fn unlimited() -> Self {
        Self {
            volumes: None,
            gigabytes: None,
            snapshots: None,
            backups: None,
        }
    }

    limit_setters! {
        /// At most `n` volumes.
        with_volumes => volumes;
        /// At most `n` GiB of volumes.
        with_gigabytes => gigabytes;
        /// At most `n` snapshots.
        with_snapshots => snapshots;
        /// At most `n` backups.
        with_backups => backups;
    }
}

/// What a tenant holds against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// Volumes.
    pub volumes: u64,
    /// GiB of volumes.
    pub gigabytes: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Backups.
    pub backups: u64,
}

impl QuotaUsage {
    /// Nothing: the start of a request for more.
    pub(super) const NONE: Self = Self {
        volumes: 0,
        gigabytes: 0,
        snapshots: 0,
        backups: 0,
    };

    /// One snapshot.
    pub(super) const ONE_SNAPSHOT: Self = Self {
        snapshots: 1,
        ..Self::NONE
    };

    /// One backup.
    pub(super) const ONE_BACKUP: Self = Self {
        backups: 1,
        ..Self::NONE
    };

    fn plus(self, o: Self) -> Self {
        Self {
            volumes: self.volumes.saturating_add(o.volumes),
            gigabytes: self.gigabytes.saturating_add(o.gigabytes),
            snapshots: self.snapshots.saturating_add(o.snapshots),
            backups: self.backups.saturating_add(o.backups),
        }
    }

    fn minus(self, o: Self) -> Self {
        Self {
            volumes: self.volumes.saturating_sub(o.volumes),
            gigabytes: self.gigabytes.saturating_sub(o.gigabytes),
            snapshots: self.snapshots.saturating_sub(o.snapshots),
            backups: self.backups.saturating_sub(o.backups),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct TenantRec {
    quota: Quota,
    /// What the tenant holds now, kept in step with its records.
    used: QuotaUsage,
}

impl Control {
    /// Makes sure `tenant` exists, seeding its instances the first time.
    pub fn ensure_tenant(&mut self, tenant: &str) {
        if self.tenants.contains_key(tenant) {
            return;
        }
        self.tenants.insert(
            tenant.to_owned(),
            TenantRec {
                quota: self.default_quota,
                used: QuotaUsage::NONE,
            },
        );
        let per = self.instances_per_region;
        for region in self.regions.clone() {
            for n in 1..=per {
                let state = if per >= 2 && n == per {
                    InstanceState::Stopped
                } else {
                    InstanceState::Running
                };
                self.add_instance(tenant, &region, &format!("{region}-vm{n}"), state);
            }
        }
    }

    /// Sets `tenant`'s quota.
    pub fn set_quota(&mut self, tenant: &str, quota: Quota) {
        self.ensure_tenant(tenant);
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.quota = quota;
        }
    }

    /// `tenant`'s quota (the default quota for a tenant not seen yet).
    pub fn quota(&self, tenant: &str) -> Quota {
        self.tenants
            .get(tenant)
            .map_or(self.default_quota, |t| t.quota)
    }

    /// What `tenant` holds against its quota (O(1): a running count).
    pub fn quota_usage(&self, tenant: &str) -> QuotaUsage {
        self.tenants
            .get(tenant)
            .map_or(QuotaUsage::NONE, |t| t.used)
    }

    /// What `tenant` holds against its quota, counted from the records
    /// themselves (O(everything held)). Always equal to
    /// [`quota_usage`](Self::quota_usage), which keeps the same figures as
    /// running counters; tests compare the two.
    pub fn recount_quota_usage(&self, tenant: &str) -> QuotaUsage {
        let mut u = QuotaUsage::default();
        for rec in self.volumes.values().filter(|r| r.tenant == tenant) {
            u.volumes += 1;
            u.gigabytes += rec.volume.size.as_gib();
        }
        u.snapshots = self.snapshots.count(tenant);
        u.backups = self.backups.count(tenant);
        u
    }

    /// Adds `more` to what `tenant` holds (after a check passed).
    pub(super) fn charge_quota(&mut self, tenant: &str, more: QuotaUsage) {
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.used = t.used.plus(more);
        }
    }

    /// Takes `less` off what `tenant` holds (something went away).
    pub(super) fn release_quota(&mut self, tenant: &str, less: QuotaUsage) {
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.used = t.used.minus(less);
        }
    }

    /// Refuses `more` when it would take `tenant` over any of its limits.
    pub(super) fn check_quota(&self, tenant: &str, more: QuotaUsage) -> Result<()> {
        let quota = self
            .tenants
            .get(tenant)
            .map(|t| t.quota)
            .unwrap_or_default();
        let used = self.quota_usage(tenant);
        let over = |limit: Option<u64>, used: u64, more: u64, what: &str| -> Result<()> {
            match limit {
                Some(limit) if more > 0 && used.saturating_add(more) > limit => {
                    Err(Error::quota_exceeded(format!(
                        "{what}: {used} used of {limit}, {more} more requested"
                    )))
                }
                _ => Ok(()),
            }
        };
        over(quota.volumes, used.volumes, more.volumes, "volumes")?;
        over(quota.gigabytes, used.gigabytes, more.gigabytes, "gigabytes")?;
        over(quota.snapshots, used.snapshots, more.snapshots, "snapshots")?;
        over(quota.backups, used.backups, more.backups, "backups")
    }
}

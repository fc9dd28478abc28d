//! What differs between providers: a [`Policy`] per dialect.
//!
//! The lifecycle table in `volume_core::state` says what each state allows;
//! the policy says what this provider adds on top (size limits, naming rules,
//! resize while attached, delete with snapshots, which transitions take time)
//! and, where a provider's reference shows it differs from that table, its
//! own [`LifecycleRule`]s, consulted before the table (see
//! [`Policy::volume_transition`]). Rules are data, so a provider's
//! difference is one line in its policy and none in the control plane.

use std::time::Duration;

use volume_core::state::{volume_transition, Transition, VolumeOp};
use volume_core::{Capabilities, Error, ResizeMode, ResourceKind, Size, VolumeState};

/// How ids are minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdStyle {
    /// `vol-1`, `snap-2`, `bak-3`, `inst-4`: readable, for in-process use.
    Prefixed,
    /// `1001`, `1002`: integers, as Linode and LunaNode use.
    Numeric,
    /// UUID-shaped, as Exoscale and Cinder use (derived from a counter and
    /// the seed, so runs repeat).
    Uuid,
}

/// Whether a volume can be resized while attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachedResize {
    /// Only detached volumes resize.
    Refused,
    /// Attached volumes resize only while their instance is stopped (Exoscale).
    StoppedInstanceOnly,
    /// Attached volumes resize online.
    Allowed,
}

/// What a provider's [`LifecycleRule`] says about one state and operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleVerdict {
    /// The operation is allowed, and goes through this transition (whatever
    /// the core table says).
    Allow(Transition<VolumeState>),
    /// The operation is refused with `InvalidState` (whatever the core table
    /// says).
    Deny,
}

/// One place where a provider differs from the core lifecycle table: in
/// `state`, operation `op` gets `verdict` instead of the table's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LifecycleRule {
    /// The volume's state.
    pub state: VolumeState,
    /// The operation asked for.
    pub op: VolumeOp,
    /// What the provider does.
    pub verdict: LifecycleVerdict,
}

impl LifecycleRule {
    /// In `state`, `op` is allowed: the volume shows `during`, and ends in
    /// `after` (`Deleted` for a delete: the volume is gone).
    pub const fn allow(
        state: VolumeState,
        op: VolumeOp,
        during: VolumeState,
        after: VolumeState,
    ) -> Self {
        Self {
            state,
            op,
            verdict: LifecycleVerdict::Allow(Transition { during, after }),
        }
    }

    /// In `state`, `op` is refused.
    pub const fn deny(state: VolumeState, op: VolumeOp) -> Self {
        Self {
            state,
            op,
            verdict: LifecycleVerdict::Deny,
        }
    }
}

/// Linode's differences from the core table.
///
/// Linode deletes a volume that is still `creating`: linodego's recorded
/// `TestInstance_Volumes_List` lists the new volume as `creating` and its
/// `DELETE` right after is answered 200. The creation is cancelled; the
/// volume passes through `deleting` and is gone.
pub const LINODE_LIFECYCLE: &[LifecycleRule] = &[LifecycleRule::allow(
    VolumeState::Creating,
    VolumeOp::Delete,
    VolumeState::Deleting,
    VolumeState::Deleted,
)];

/// A naming rule: `Ok` or the reason the name is refused.
pub type NameRule = fn(&str) -> Result<(), String>;

/// How long each transition takes on the simulated clock. Zero means the
/// operation completes before it returns and no transient state is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Delays {
    /// creating -> available.
    pub create: Duration,
    /// attaching -> in-use.
    pub attach: Duration,
    /// detaching -> available.
    pub detach: Duration,
    /// resizing -> back.
    pub resize: Duration,
    /// deleting -> gone (volumes, snapshots and backups).
    pub delete: Duration,
    /// snapshot creating -> available.
    pub snapshot: Duration,
    /// backup creating -> available (the volume shows backing-up meanwhile).
    pub backup: Duration,
    /// restoring -> available.
    pub restore: Duration,
}

impl Delays {
    /// Every transition takes `d`.
    pub const fn uniform(d: Duration) -> Self {
        Self {
            create: d,
            attach: d,
            detach: d,
            resize: d,
            delete: d,
            snapshot: d,
            backup: d,
            restore: d,
        }
    }
}

/// The rules of one provider, as the simulator enforces them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Policy {
    /// The provider's name, used in `Unsupported` errors.
    pub provider: &'static str,
    /// The smallest volume.
    pub min_size: Size,
    /// The largest volume.
    pub max_size: Size,
    /// Sizes must be a multiple of this many GiB.
    pub size_step: u64,
    /// The size of a volume created without one (`None`: size is required).
    pub default_size: Option<Size>,
    /// What names are allowed.
    pub name_rule: NameRule,
    /// The longest name [`name_rule`](Self::name_rule) allows, in
    /// characters, said in [`Capabilities`] (`None`: not known).
    pub max_name_len: Option<usize>,
    /// Names must be unique within a tenant.
    pub unique_names: bool,
    /// Resize of attached volumes.
    pub attached_resize: AttachedResize,
    /// A volume with snapshots can be deleted (its snapshots stay).
    pub delete_with_snapshots: bool,
    /// Detaching needs the instance stopped.
    pub detach_needs_stopped: bool,
    /// The most volumes one instance can have attached.
    pub max_attachments_per_instance: u32,
    /// Snapshots exist.
    pub snapshots: bool,
    /// Volumes can be created from snapshots.
    pub volume_from_snapshot: bool,
    /// ... and may be larger than the snapshot.
    pub volume_from_snapshot_larger: bool,
    /// Volumes can be cloned.
    pub clone: bool,
    /// Backups exist.
    pub backups: bool,
    /// Incremental backups exist.
    pub incremental_backups: bool,
    /// Labels are kept.
    pub labels: bool,
    /// The volume types; the first is the default. Empty: the provider has
    /// no types and a create that names one is refused.
    pub volume_types: &'static [&'static str],
    /// How ids look.
    pub id_style: IdStyle,
    /// How long transitions take.
    pub delays: Delays,
    /// The page size when the caller gives none.
    pub default_page_size: u32,
    /// The largest page.
    pub max_page_size: u32,
    /// Where this provider differs from the core lifecycle table: the first
    /// rule for a state and operation wins over the table (empty: the table
    /// as it is). See [`LINODE_LIFECYCLE`].
    pub lifecycle: &'static [LifecycleRule],
}

/// The most labels (tags) one resource may carry, whatever the provider:
/// the engine's own bound where providers document none, far above what
/// any real client sets.
pub const MAX_LABELS: usize = 64;

/// The longest label key or value, in characters.
pub const MAX_LABEL_CHARS: usize = 255;

/// Whether `c` may appear in a label: no control characters, and none of
/// the bidirectional overrides and isolates (U+202A..U+202E,
/// U+2066..U+2069) that make text display in another order than it reads.
fn label_char(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a set of labels against [`MAX_LABELS`], [`MAX_LABEL_CHARS`] and
/// the characters allowed; the reason when it fails.
pub fn check_labels<'a>(
    labels: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels, not {}", labels.len()));
    }
    for (key, value) in labels {
        for (what, text) in [("key", key), ("value", value)] {
            if text.chars().count() > MAX_LABEL_CHARS {
                return Err(format!(
                    "a label {what} has at most {MAX_LABEL_CHARS} characters"
                ));
            }
            if !text.chars().all(label_char) {
                return Err(format!(
                    "a label {what} must not hold control or bidirectional-override characters"
                ));
            }
        }
    }
    Ok(())
}

/// The default rule: 1 to 255 characters, no control characters.
pub fn any_reasonable_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.chars().count() > 255 {
        return Err("must be at most 255 characters".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

impl Default for Policy {
    /// Everything on, instant transitions, 1 GiB to 16 TiB: for in-process use.
    fn default() -> Self {
        Self {
            provider: "sim",
            min_size: Size::gib(1),
            max_size: Size::gib(16 * 1024),
            size_step: 1,
            default_size: None,
            name_rule: any_reasonable_name,
            max_name_len: Some(255),
            unique_names: false,
            attached_resize: AttachedResize::Allowed,
            delete_with_snapshots: false,
            detach_needs_stopped: false,
            max_attachments_per_instance: 16,
            snapshots: true,
            volume_from_snapshot: true,
            volume_from_snapshot_larger: true,
            clone: true,
            backups: true,
            incremental_backups: true,
            labels: true,
            volume_types: &["standard", "ssd"],
            id_style: IdStyle::Prefixed,
            delays: Delays::default(),
            default_page_size: 50,
            max_page_size: 500,
            lifecycle: &[],
        }
    }
}

impl Policy {
    /// The default policy with transitions that take `delays` on the clock.
    pub fn with_delays(mut self, delays: Delays) -> Self {
        self.delays = delays;
        self
    }

    /// The default policy with the provider's own lifecycle `rules`.
    pub fn with_lifecycle(mut self, rules: &'static [LifecycleRule]) -> Self {
        self.lifecycle = rules;
        self
    }

    /// What `op` does to a volume in `state` under this policy: the first of
    /// the provider's [`lifecycle`](Self::lifecycle) rules that matches, or
    /// else the core table ([`volume_transition`]). `None` is refused.
    pub fn volume_transition(
        &self,
        state: &VolumeState,
        op: VolumeOp,
    ) -> Option<Transition<VolumeState>> {
        let rule = self
            .lifecycle
            .iter()
            .find(|r| r.state == *state && r.op == op);
        match rule.map(|r| &r.verdict) {
            Some(LifecycleVerdict::Allow(t)) => Some(t.clone()),
            Some(LifecycleVerdict::Deny) => None,
            None => volume_transition(state, op),
        }
    }

    /// [`volume_transition`](Self::volume_transition) for volume `id`, or
    /// the [`Error::InvalidState`] that refuses it.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the operation is refused in `state`.
    pub fn check_volume(
        &self,
        id: &str,
        state: &VolumeState,
        op: VolumeOp,
    ) -> Result<Transition<VolumeState>, Error> {
        self.volume_transition(state, op).ok_or_else(|| {
            Error::invalid_state(ResourceKind::Volume, id, state.as_str(), op.name())
        })
    }

    /// What a backend enforcing this policy can do.
    pub fn capabilities(&self) -> Capabilities {
        let resize = match self.attached_resize {
            AttachedResize::Allowed => ResizeMode::Online,
            AttachedResize::Refused | AttachedResize::StoppedInstanceOnly => ResizeMode::Offline,
        };
        Capabilities::new(self.provider)
            .with_update(true)
            .with_labels(self.labels)
            .with_attach(true)
            .with_max_attachments_per_instance(Some(self.max_attachments_per_instance))
            .with_resize(resize)
            .with_clone(self.clone)
            .with_snapshots(self.snapshots)
            .with_volume_from_snapshot(self.volume_from_snapshot, self.volume_from_snapshot_larger)
            .with_backups(self.backups, self.incremental_backups)
            .with_sizes(self.min_size, self.max_size)
            .with_max_page_size(self.max_page_size)
            .with_max_name_len(self.max_name_len)
    }

    /// Checks a size against the limits and the step.
    pub fn check_size(&self, size: Size) -> Result<(), String> {
        if size < self.min_size || size > self.max_size {
            return Err(format!(
                "must be between {} and {}, got {size}",
                self.min_size, self.max_size
            ));
        }
        if self.size_step > 1 && size.as_gib() % self.size_step != 0 {
            return Err(format!("must be a multiple of {} GiB", self.size_step));
        }
        Ok(())
    }
}

//! What a backend can do, said in advance.

use crate::model::Size;

/// Whether and how a volume can be resized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResizeMode {
    /// Not at all.
    Unsupported,
    /// Only while detached (or attached to a stopped instance, where the
    /// provider says so).
    Offline,
    /// Also while attached to a running instance.
    Online,
}

/// What a backend can do. Operations marked `false` return
/// [`Error::Unsupported`](crate::Error::Unsupported).
///
/// Built with [`Capabilities::new`] (everything off) and the `with_*` setters,
/// so fields can be added without breaking anyone.
///
/// ```
/// use volume_core::{Capabilities, ResizeMode, Size};
/// let caps = Capabilities::new("example")
///     .with_attach(true)
///     .with_resize(ResizeMode::Offline)
///     .with_sizes(Size::gib(10), Size::gib(10240));
/// assert!(caps.attach && !caps.snapshots);
/// assert_eq!(caps.max_name_len, None);
/// let caps = caps.with_max_name_len(Some(32));
/// assert_eq!(caps.max_name_len, Some(32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// The provider's name, e.g. `"linode"`.
    pub provider: &'static str,
    /// `update_volume` (rename, labels).
    pub update: bool,
    /// Labels are kept (otherwise they are ignored or refused).
    pub labels: bool,
    /// `attach_volume` and `detach_volume`.
    pub attach: bool,
    /// Several instances at once.
    pub multi_attach: bool,
    /// The most volumes one instance can have attached, when limited.
    pub max_attachments_per_instance: Option<u32>,
    /// `resize_volume`.
    pub resize: ResizeMode,
    /// `clone_volume` and [`VolumeSource::Volume`](crate::VolumeSource::Volume).
    pub clone: bool,
    /// Snapshots: create, get, list, delete.
    pub snapshots: bool,
    /// [`VolumeSource::Snapshot`](crate::VolumeSource::Snapshot).
    pub volume_from_snapshot: bool,
    /// Volumes from a snapshot may be larger than the snapshot.
    pub volume_from_snapshot_larger: bool,
    /// Backups: create, get, list, delete, restore.
    pub backups: bool,
    /// Incremental backups.
    pub incremental_backups: bool,
    /// The smallest volume.
    pub min_size: Size,
    /// The largest volume.
    pub max_size: Size,
    /// The largest page a listing returns.
    pub max_page_size: u32,
    /// The longest name (in characters) a volume, snapshot or backup may
    /// have, when the provider limits it (`None`: no limit known).
    pub max_name_len: Option<usize>,
}

impl Capabilities {
    /// A backend that can list, get, create and delete volumes of 1 GiB to
    /// 16 TiB, and nothing else.
    pub const fn new(provider: &'static str) -> Self {
        Self {
            provider,
            update: false,
            labels: false,
            attach: false,
            multi_attach: false,
            max_attachments_per_instance: None,
            resize: ResizeMode::Unsupported,
            clone: false,
            snapshots: false,
            volume_from_snapshot: false,
            volume_from_snapshot_larger: false,
            backups: false,
            incremental_backups: false,
            min_size: Size::gib(1),
            max_size: Size::gib(16 * 1024),
            max_page_size: 100,
            max_name_len: None,
        }
    }

    /// Sets [`update`](Self::update).
    pub const fn with_update(mut self, yes: bool) -> Self {
        self.update = yes;
        self
    }

    /// Sets [`labels`](Self::labels).
    pub const fn with_labels(mut self, yes: bool) -> Self {
        self.labels = yes;
        self
    }

    /// Sets [`attach`](Self::attach).
    pub const fn with_attach(mut self, yes: bool) -> Self {
        self.attach = yes;
        self
    }

    /// Sets [`multi_attach`](Self::multi_attach).
    pub const fn with_multi_attach(mut self, yes: bool) -> Self {
        self.multi_attach = yes;
        self
    }

    /// Sets [`max_attachments_per_instance`](Self::max_attachments_per_instance).
    pub const fn with_max_attachments_per_instance(mut self, max: Option<u32>) -> Self {
        self.max_attachments_per_instance = max;
        self
    }

    /// Sets [`resize`](Self::resize).
    pub const fn with_resize(mut self, mode: ResizeMode) -> Self {
        self.resize = mode;
        self
    }

    /// Sets [`clone`](Self::clone).
    pub const fn with_clone(mut self, yes: bool) -> Self {
        self.clone = yes;
        self
    }

    /// Sets [`snapshots`](Self::snapshots).
    pub const fn with_snapshots(mut self, yes: bool) -> Self {
        self.snapshots = yes;
        self
    }

    /// Sets [`volume_from_snapshot`](Self::volume_from_snapshot) and
    /// [`volume_from_snapshot_larger`](Self::volume_from_snapshot_larger).
    pub const fn with_volume_from_snapshot(mut self, yes: bool, larger: bool) -> Self {
        self.volume_from_snapshot = yes;
        self.volume_from_snapshot_larger = yes && larger;
        self
    }

    /// Sets [`backups`](Self::backups) and [`incremental_backups`](Self::incremental_backups).
    pub const fn with_backups(mut self, yes: bool, incremental: bool) -> Self {
        self.backups = yes;
        self.incremental_backups = yes && incremental;
        self
    }

    /// Sets the size limits.
    pub const fn with_sizes(mut self, min: Size, max: Size) -> Self {
        self.min_size = min;
        self.max_size = max;
        self
    }

    /// Sets [`max_page_size`](Self::max_page_size).
    pub const fn with_max_page_size(mut self, max: u32) -> Self {
        self.max_page_size = max;
        self
    }

    /// Sets [`max_name_len`](Self::max_name_len).
    pub const fn with_max_name_len(mut self, max: Option<usize>) -> Self {
        self.max_name_len = max;
        self
    }

    /// Whether `size` is within the limits.
    pub fn size_ok(&self, size: Size) -> bool {
        size >= self.min_size && size <= self.max_size
    }
}

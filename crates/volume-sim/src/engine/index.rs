//! What the data plane needs without the control plane's lock: each
//! volume's bytes by id ([`VolumeIndex`]), whether any fault is armed and
//! how many calls were made ([`FaultGate`]).
//!
//! The control plane owns both and keeps them in step with its records
//! while it holds its own lock; the data plane only reads them. Neither
//! makes two volumes wait for each other: the index is split into shards,
//! each behind a read-mostly lock and on a cache line of its own, and the
//! call counter is one padded counter per thread slot, summed only when a
//! fault has to be decided.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::control::SharedImage;
use super::store::Image;

/// Shards of the index (a power of two). Ids minted in sequence land on
/// different shards, so volumes made one after another never share one.
const SHARDS: usize = 64;

/// FNV-1a: ids are short and minted by the engine, so a fast, fixed hash is
/// enough, and it places sequential ids on distinct shards.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn fnv(s: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(s.as_bytes());
    h.finish()
}

/// One volume as the data plane sees it: whose it is, and its bytes.
#[derive(Debug)]
struct Entry {
    tenant: Arc<str>,
    data: SharedImage,
}

type Map = HashMap<Box<str>, Entry, BuildHasherDefault<Fnv>>;

/// A shard on a cache line of its own, so two shards never share one.
#[repr(align(128))]
#[derive(Default)]
struct Shard(RwLock<Map>);

/// Every volume's bytes by id, for the data plane.
pub(crate) struct VolumeIndex {
    shards: Box<[Shard]>,
}

impl fmt::Debug for VolumeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VolumeIndex")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl Default for VolumeIndex {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl VolumeIndex {
    fn shard(&self, id: &str) -> &RwLock<Map> {
        // SHARDS is a power of two, so the mask keeps the index in range.
        &self.shards[(fnv(id) as usize) & (SHARDS - 1)].0
    }

    /// Adds (or replaces) volume `id` of `tenant`.
    pub(crate) fn insert(&self, id: &str, tenant: &str, data: SharedImage) {
        let entry = Entry {
            tenant: Arc::from(tenant),
            data,
        };
        self.shard(id)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Box::from(id), entry);
    }

    /// Forgets volume `id`. Waits for data calls on it in flight, so once
    /// this returns nothing touches its bytes through the index.
    pub(crate) fn remove(&self, id: &str) {
        let gone = self
            .shard(id)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        drop(gone);
    }

    /// Runs `f` on `tenant`'s volume `id`, locked; `None` when there is no
    /// such volume (or it is another tenant's). Holds the shard for reading
    /// meanwhile: other volumes and other readers go on.
    pub(crate) fn with<R>(
        &self,
        tenant: &str,
        id: &str,
        f: impl FnOnce(&mut Image) -> R,
    ) -> Option<R> {
        let shard = self
            .shard(id)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(id).filter(|e| &*e.tenant == tenant)?;
        // A panic while the image was held cannot leave it half-written in
        // a way later readers would trip on (writes go chunk by chunk).
        let mut image = entry.data.lock().unwrap_or_else(PoisonError::into_inner);
        Some(f(&mut image))
    }
}

/// Padded per-slot call counters.
#[repr(align(128))]
#[derive(Default)]
struct Slot(AtomicU64);

/// Slots of the call counter; threads take them round-robin.
const SLOTS: usize = 16;

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
}

/// Whether any fault rule is armed, and how many calls have been made: the
/// part of fault decisions that needs no lock while nothing is armed.
pub(crate) struct FaultGate {
    armed: AtomicBool,
    calls: Box<[Slot]>,
}

impl fmt::Debug for FaultGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultGate")
            .field("armed", &self.armed())
            .field("calls", &self.calls())
            .finish()
    }
}

impl FaultGate {
    /// A gate that has counted `calls` calls already, armed or not.
    pub(crate) fn new(calls: u64, armed: bool) -> Self {
        let slots: Box<[Slot]> = (0..SLOTS).map(|_| Slot::default()).collect();
        slots[0].0.store(calls, Ordering::Relaxed);
        Self {
            armed: AtomicBool::new(armed),
            calls: slots,
        }
    }

    /// Counts one call.
    pub(crate) fn count(&self) {
        let slot = SLOT.with(|s| *s);
        self.calls[slot].0.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls counted so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }

    /// Whether a rule may fire.
    pub(crate) fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    /// Records whether any rule is left.
    pub(crate) fn set_armed(&self, armed: bool) {
        self.armed.store(armed, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_take_distinct_shards() {
        let shard = |id: &str| (fnv(id) as usize) & (SHARDS - 1);
        let ids: Vec<_> = (1..=64).map(|n| shard(&format!("vol-{n}"))).collect();
        for pair in ids.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
    }

    #[test]
    fn lookups_check_the_tenant() {
        let index = VolumeIndex::default();
        let data = crate::engine::control::shared_image(Image::new(10));
        index.insert("v", "a", Arc::clone(&data));
        assert_eq!(index.with("a", "v", |i| i.len()), Some(10));
        assert_eq!(index.with("b", "v", |i| i.len()), None);
        assert_eq!(index.with("a", "w", |i| i.len()), None);
        index.remove("v");
        assert_eq!(index.with("a", "v", |i| i.len()), None);
        assert_eq!(Arc::strong_count(&data), 1);
    }

    #[test]
    fn the_gate_counts_across_threads() {
        let gate = FaultGate::new(5, false);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..100).for_each(|_| gate.count()));
            }
        });
        assert_eq!(gate.calls(), 405);
        assert!(!gate.armed());
        gate.set_armed(true);
        assert!(gate.armed());
    }
}

//! Handing freed chunk memory back to the operating system.
//!
//! Slabs of chunks that empty are kept for reuse up to a bound and unmapped
//! beyond it (see `chunk.rs`); the kept ones and the free slots of slabs
//! still in use keep their pages, and chunks of other sizes are heap
//! allocations, under glibc's mmap threshold, whose pages stay with the
//! allocator: a long-running fake that deleted gigabytes of volumes could
//! keep much of its peak size. The engine reports what deletes, discards and
//! restores may have freed, and once that adds up to [`TRIM_AFTER`] the
//! kept slabs, the free slots' pages and the allocator's free pages are
//! returned ([`trim`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes freed between two trims. A trim walks the allocator's free lists,
/// so it is not worth doing for a few chunks.
pub(crate) const TRIM_AFTER: u64 = 64 << 20;

/// Bytes freed since the last trim, process-wide (the allocator is).
static FREED: AtomicU64 = AtomicU64::new(0);

/// Notes that up to `bytes` of chunk data were just freed (0 is free to
/// report), and returns free memory to the system once enough has been.
pub(crate) fn freed(bytes: u64) {
    if bytes == 0 {
        return;
    }
    let total = FREED
        .fetch_add(bytes, Ordering::Relaxed)
        .saturating_add(bytes);
    if total >= TRIM_AFTER && FREED.swap(0, Ordering::Relaxed) >= TRIM_AFTER {
        trim();
    }
}

/// Returns free chunk memory to the system now: the empty slabs kept for
/// reuse, the pages of free slots in slabs still in use, and the
/// allocator's free pages (`malloc_trim`, glibc only).
pub(crate) fn trim() {
    super::chunk::trim();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` has no preconditions; it only releases memory
    // the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

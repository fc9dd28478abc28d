//! Handing freed chunk memory back to the operating system.
//!
//! Chunks are 64 KiB heap allocations, under glibc's mmap threshold, so
//! freeing them leaves the pages with the allocator: a long-running fake
//! that deleted gigabytes of volumes would keep its peak size for good. The
//! engine reports what deletes, discards and restores may have freed, and
//! once that adds up to [`TRIM_AFTER`] the allocator is asked to return its
//! free pages (`malloc_trim`, glibc only; elsewhere this does nothing).

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

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: `malloc_trim` has no preconditions; it only releases memory
    // the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

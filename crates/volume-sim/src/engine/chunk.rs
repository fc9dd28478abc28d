//! Chunk memory: the bytes of the store's chunks, their reference counts,
//! and where the bytes come from.
//!
//! A chunk used to be an `Arc<[u8]>` on the heap. On small random I/O over a
//! large volume that made nearly every call wait for page-table walks: a
//! 64 KiB chunk spans sixteen 4 KiB pages, a 4 KiB access at a 4 KiB offset
//! straddles two of them (the heap does not align chunks to pages), and the
//! count at the head of the chunk is on yet another one. Chunks of the sizes
//! a volume uses now come from 2 MiB *slabs*: 2 MiB-aligned mappings the
//! kernel is asked to back with a transparent huge page, so that one TLB
//! entry covers 32 chunks of 64 KiB and a 1 GiB volume needs 512 entries,
//! which a current CPU's second-level TLB holds. Where transparent huge
//! pages are off, slabs get small pages and this gains nothing.
//!
//! * A slab holds `2 MiB / size` chunks of one size. Sizes that are a
//!   multiple of 4 KiB from 32 KiB to 2 MiB are pooled (at most 64 slots,
//!   so one `u64` tracks them); any other size (tests use tiny chunks) gets
//!   a heap allocation of its own, a slab of one slot.
//! * Each chunk has a [`Meta`] (count, length, slab) in an array per slab,
//!   away from the bytes. A [`Chunk`] handle points at both, so a read needs
//!   the bytes alone, and a write's uniqueness check reads a dense array
//!   rather than a line at the head of a 64 KiB chunk.
//! * Free slots are handed out lowest first from the last slab on the list
//!   of slabs with free slots (a full slab joins it when one of its chunks
//!   is freed). A slab whose last chunk goes is kept empty for reuse, up to
//!   [`KEEP_EMPTY`] slabs (64 MiB) per size, and unmapped beyond that:
//!   freeing and writing again (a small volume deleted, another written)
//!   reuses resident memory, as the heap would, and what is kept stays
//!   bounded.
//!   [`trim`] unmaps the empty slabs and hands back the pages of free slots
//!   in slabs still in use; the engine calls it after large frees (see
//!   `memory.rs`).
//!
//! Where mapping fails, off Unix, or where pages are not 4 KiB, chunks fall
//! back to the heap, one allocation each, as before.
//!
//! Memory: a slab's pages are taken when first touched, and with huge pages
//! a whole slab is taken at its first touch, so resident memory is the
//! chunks in use rounded up to 2 MiB per slab still in use (writes fill
//! slabs in order, so for fresh writes that is one partly filled slab per
//! size), plus free slots and empty slabs not yet trimmed.

use std::alloc::{self, Layout};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Bytes in a slab: one transparent huge page on x86_64 and aarch64 (4 KiB
/// base pages).
const SLAB: usize = 2 << 20;

/// Slots a slab may have (one bit each in a `u64`).
const MAX_SLOTS: usize = 64;

/// Alignment of a heap chunk's bytes (one cache line).
const HEAP_ALIGN: usize = 64;

/// A chunk handle may be cloned this often before the process aborts, like
/// `Arc` does, rather than let the count wrap.
const MAX_REFS: u32 = i32::MAX as u32;

/// `Slab::listed` of a slab on no free list (all its slots are in use).
const NOT_LISTED: usize = usize::MAX;

/// Empty slabs kept per chunk size for reuse (64 MiB); more are unmapped.
const KEEP_EMPTY: usize = 32;

/// One reference-counted, fixed-size chunk of bytes.
///
/// Cloning shares the bytes; [`unique_mut`](Self::unique_mut) gives write
/// access only while no other handle exists. Dropping the last handle gives
/// the chunk's memory back to its slab.
pub(crate) struct Chunk {
    /// The chunk's first byte.
    data: NonNull<u8>,
    /// The chunk's count, length and slab.
    meta: NonNull<Meta>,
}

// SAFETY: the bytes are written only through `unique_mut`, which needs
// `&mut self` and a count of one (no other handle, on any thread); otherwise
// they are only read. The count is atomic, and the slab bookkeeping a drop
// touches is behind the pool's lock.
unsafe impl Send for Chunk {}
// SAFETY: `&Chunk` gives shared reads of the bytes and an atomic increment
// of the count, both fine from many threads at once.
unsafe impl Sync for Chunk {}

/// What every chunk has besides its bytes.
struct Meta {
    /// Handles to the chunk.
    count: AtomicU32,
    /// Bytes in the chunk (at most `MAX_CHUNK_SIZE`, 1 GiB). The slab
    /// knows it too; kept here, next to the count, so that a read finds it
    /// without a second dependent load through `slab`.
    len: u32,
    /// The slab the chunk's bytes belong to.
    slab: NonNull<Slab>,
}

/// A region holding chunks of one size, and its chunks' [`Meta`]s.
struct Slab {
    /// The region's first byte; slot `i` starts `i * size` bytes in.
    base: NonNull<u8>,
    /// Bytes per chunk.
    size: usize,
    /// One per slot.
    metas: Box<[Meta]>,
    /// Whether the region is a mapping of `SLAB` bytes (pooled) or a heap
    /// allocation of one chunk.
    mapped: bool,
    /// Slots in use, one bit each. Pool bookkeeping: changed only under
    /// [`POOL`]'s lock (atomics so that a shared `&Slab` can change them).
    used: AtomicU64,
    /// Free slots whose pages may still be resident (see [`trim`]).
    dirty: AtomicU64,
    /// Index in its size's free list, or `NOT_LISTED`.
    listed: AtomicUsize,
}

impl Slab {
    /// A slab over `base` with `slots` slots of `size` bytes, none in use;
    /// leaked, to be freed by [`destroy`].
    fn create(base: NonNull<u8>, size: usize, slots: usize, mapped: bool) -> NonNull<Self> {
        let len = u32::try_from(size).expect("chunk sizes are at most 1 GiB");
        let metas = (0..slots)
            .map(|_| Meta {
                count: AtomicU32::new(0),
                len,
                slab: NonNull::dangling(),
            })
            .collect();
        let raw = Box::into_raw(Box::new(Self {
            base,
            size,
            metas,
            mapped,
            used: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            listed: AtomicUsize::new(NOT_LISTED),
        }));
        // SAFETY: `raw` comes from `Box::into_raw` just above, so it is
        // valid and nothing else points at it yet.
        let slab = unsafe { NonNull::new_unchecked(raw) };
        // SAFETY: as above; the metas are written before any chunk exists.
        for meta in unsafe { (*raw).metas.iter_mut() } {
            meta.slab = slab;
        }
        slab
    }

    /// Mask with one bit per slot.
    fn all_slots(&self) -> u64 {
        match self.metas.len() {
            MAX_SLOTS => u64::MAX,
            n => (1 << n) - 1,
        }
    }

    /// Slot `slot`'s first byte.
    fn slot_ptr(&self, slot: usize) -> NonNull<u8> {
        // SAFETY: `slot < metas.len()` and `metas.len() * size` bytes from
        // `base` are the slab's region, so the result stays inside it.
        unsafe { self.base.add(slot * self.size) }
    }
}

impl Chunk {
    /// A new chunk of `size` bytes: `data` (or zeros, if `None`) over
    /// `at..at + len`, and elsewhere `old`'s bytes (or zeros, if `None`).
    /// Every byte is written exactly once, straight into the new memory
    /// (never zeroed first).
    ///
    /// # Panics
    ///
    /// If `at + len > size`, `size` is 0 or above 1 GiB, or `data` or `old`
    /// has the wrong length.
    pub(crate) fn build(
        size: usize,
        at: usize,
        len: usize,
        data: Option<&[u8]>,
        old: Option<&[u8]>,
    ) -> Self {
        assert!(size > 0 && size <= 1 << 30);
        assert!(at.checked_add(len).is_some_and(|end| end <= size));
        assert!(data.is_none_or(|d| d.len() == len) && old.is_none_or(|o| o.len() == size));
        // The handle exists before the bytes are written, so that a panic
        // gives the memory back (nothing reads it before then).
        let chunk = allocate(size);
        let dst = chunk.data.as_ptr();
        // Fills `dst[start..start + n]` from `src[start..start + n]` when
        // `src` (a whole chunk) is given, else with zeros.
        let fill = |start: usize, n: usize, src: Option<&[u8]>| match src {
            Some(src) => {
                let src = &src[start..start + n];
                // SAFETY: `start + n <= size` (checked by the indexing, as
                // `src` is `size` long), so the range lies inside the `size`
                // bytes at `dst`, which no one else can see yet; `src` is
                // another allocation, so the two do not overlap.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.add(start), n) }
            }
            None => {
                assert!(start + n <= size);
                // SAFETY: inside the `size` bytes at `dst` (just asserted).
                unsafe { std::ptr::write_bytes(dst.add(start), 0, n) }
            }
        };
        fill(0, at, old);
        match data {
            // SAFETY: `at + len <= size` (asserted above) and `d` is `len`
            // bytes of another allocation.
            Some(d) => unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), dst.add(at), len) },
            None => fill(at, len, None),
        }
        fill(at + len, size - at - len, old);
        chunk
    }

    /// A new chunk holding a copy of `bytes` (as long as `bytes`).
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        Self::build(bytes.len(), 0, bytes.len(), Some(bytes), None)
    }

    /// The chunk's first byte, without touching its count (for prefetching,
    /// and as the chunk's identity).
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }

    /// Where the chunk's count is, for prefetching before
    /// [`unique_mut`](Self::unique_mut).
    pub(crate) fn count_ptr(&self) -> *const u8 {
        self.meta.as_ptr().cast()
    }

    /// Write access to the bytes, if this is the only handle.
    pub(crate) fn unique_mut(&mut self) -> Option<&mut [u8]> {
        if self.meta().count.load(Ordering::Relaxed) != 1 {
            return None;
        }
        // Pairs with the release decrement of whoever dropped the other
        // handles, so their last reads happen before our writes (what
        // `Arc::get_mut` gets from its acquire load).
        fence(Ordering::Acquire);
        let len = self.meta().len as usize;
        // SAFETY: this is the only handle (count one), held by `&mut`, so
        // no other can be made from it while the borrow lives: nothing else
        // reads or writes the `len` bytes at `data` meanwhile.
        Some(unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), len) })
    }

    fn meta(&self) -> &Meta {
        // SAFETY: a slab and its metas live until its last chunk is
        // dropped, and this handle is one of its chunks.
        unsafe { self.meta.as_ref() }
    }
}

impl Deref for Chunk {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let len = self.meta().len as usize;
        // SAFETY: the `len` bytes at `data` are the chunk's, all written by
        // `build`, and only written again through `unique_mut`, which the
        // borrow of `self` excludes.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), len) }
    }
}

impl Clone for Chunk {
    fn clone(&self) -> Self {
        // Relaxed, like `Arc`: a new handle is made from an existing one,
        // which already keeps the chunk alive.
        if self.meta().count.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
        Self {
            data: self.data,
            meta: self.meta,
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if self.meta().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Pairs with the other handles' release decrements: their reads of
        // the bytes happen before the slot is handed out again.
        fence(Ordering::Acquire);
        // SAFETY: that was the last handle, so no one uses the slot now.
        unsafe { release(self.meta) }
    }
}

/// A new chunk of `size` bytes, count one, bytes not yet written.
fn allocate(size: usize) -> Chunk {
    let (data, meta) = pooled(size)
        .then(|| take_slot(size))
        .flatten()
        .unwrap_or_else(|| heap_slot(size));
    Chunk { data, meta }
}

/// Whether chunks of `size` bytes come from slabs.
fn pooled(size: usize) -> bool {
    size % 4096 == 0 && (SLAB / MAX_SLOTS..=SLAB).contains(&size) && small_pages()
}

/// Whether the system's pages are 4 KiB, as the slabs assume: a huge page
/// of 2 MiB, and slots that are whole pages, so that releasing a free
/// slot's pages never touches a neighbour's bytes. Elsewhere (64 KiB pages
/// on some ppc64 and aarch64 systems) every chunk is a heap allocation.
fn small_pages() -> bool {
    #[cfg(all(unix, not(miri)))]
    {
        static SMALL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        // SAFETY: `sysconf` only reads a system constant.
        *SMALL.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } == 4096)
    }
    #[cfg(any(not(unix), miri))]
    true
}

/// A chunk of its own on the heap: a slab of one slot.
fn heap_slot(size: usize) -> (NonNull<u8>, NonNull<Meta>) {
    let layout = heap_layout(size);
    // SAFETY: `size > 0` (checked by `build`), so the layout is not empty.
    let raw = unsafe { alloc::alloc(layout) };
    let Some(base) = NonNull::new(raw) else {
        alloc::handle_alloc_error(layout)
    };
    let slab = Slab::create(base, size, 1, false);
    // SAFETY: just created; no one else sees it yet.
    let meta = unsafe { &slab.as_ref().metas[0] };
    meta.count.store(1, Ordering::Relaxed);
    (base, NonNull::from(meta))
}

fn heap_layout(size: usize) -> Layout {
    Layout::from_size_align(size, HEAP_ALIGN).expect("chunk sizes are at most 1 GiB")
}

// ----- the pool ------------------------------------------------------------

/// Slabs with free slots, per chunk size.
static POOL: Mutex<Pool> = Mutex::new(Pool { lists: Vec::new() });

/// Bytes of slabs mapped now (in use, partly or not at all).
static MAPPED: AtomicU64 = AtomicU64::new(0);

struct Pool {
    /// One per chunk size seen (a handful at most).
    lists: Vec<SizeList>,
}

/// The slabs of one chunk size that have a free slot.
struct SizeList {
    size: usize,
    /// Slabs with at least one free slot and one in use; the last is used
    /// first.
    partial: Vec<SlabPtr>,
    /// Slabs with no chunk, kept for reuse (at most [`KEEP_EMPTY`]).
    empty: Vec<SlabPtr>,
}

/// A slab pointer the pool can keep in a `static`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SlabPtr(NonNull<Slab>);

// SAFETY: the pool only touches a slab's bookkeeping under its lock, and a
// slab is freed only once it is off every list and has no chunks.
unsafe impl Send for SlabPtr {}

impl SlabPtr {
    fn get(&self) -> &Slab {
        // SAFETY: slabs on the pool's lists are alive (freed only after
        // being taken off them).
        unsafe { self.0.as_ref() }
    }
}

impl Pool {
    fn list(&mut self, size: usize) -> &mut SizeList {
        let at = match self.lists.iter().position(|l| l.size == size) {
            Some(at) => at,
            None => {
                self.lists.push(SizeList {
                    size,
                    partial: Vec::new(),
                    empty: Vec::new(),
                });
                self.lists.len() - 1
            }
        };
        &mut self.lists[at]
    }
}

impl SizeList {
    fn push(&mut self, slab: SlabPtr) {
        slab.get()
            .listed
            .store(self.partial.len(), Ordering::Relaxed);
        self.partial.push(slab);
    }

    /// Files `slab` by its slots in use, after they changed: on the
    /// partial list while some are free and some in use, on no list while
    /// all are in use, kept empty while none is (up to [`KEEP_EMPTY`]).
    /// Returns the slab if it is empty and not kept: the caller destroys it
    /// once the lock is dropped.
    fn settle(&mut self, slab: SlabPtr) -> Option<SlabPtr> {
        let s = slab.get();
        let used = s.used.load(Ordering::Relaxed);
        let listed = s.listed.load(Ordering::Relaxed) != NOT_LISTED;
        if used != 0 && used != s.all_slots() {
            if !listed {
                self.push(slab);
            }
            return None;
        }
        if listed {
            self.remove(slab);
        }
        if used != 0 {
            None
        } else if self.empty.len() < KEEP_EMPTY {
            self.empty.push(slab);
            None
        } else {
            Some(slab)
        }
    }

    fn remove(&mut self, slab: SlabPtr) {
        let at = slab.get().listed.swap(NOT_LISTED, Ordering::Relaxed);
        self.partial.swap_remove(at);
        if let Some(moved) = self.partial.get(at) {
            moved.get().listed.store(at, Ordering::Relaxed);
        }
    }
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool's state is consistent between statements that take it, so a
    // panic elsewhere while it was held leaves nothing half-done.
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A free slot of a slab of `size`-byte chunks (mapping a new slab if need
/// be), with its count set to one; `None` if no slab could be mapped.
fn take_slot(size: usize) -> Option<(NonNull<u8>, NonNull<Meta>)> {
    let mut pool = pool();
    let list = pool.list(size);
    let slab = match list.partial.last().copied().or_else(|| list.empty.pop()) {
        Some(slab) => slab,
        None => {
            // Mapping is a system call: other threads' allocations and
            // frees go on meanwhile. The new slab is on no list until it
            // is settled below.
            drop(pool);
            let slab = SlabPtr(Slab::create(map_slab()?, size, SLAB / size, true));
            pool = self::pool();
            slab
        }
    };
    let s = slab.get();
    let used = s.used.load(Ordering::Relaxed);
    // The slab has a free slot (listed, empty or new), so this is below
    // the slot count.
    let slot = (!used).trailing_zeros() as usize;
    s.used.store(used | 1 << slot, Ordering::Relaxed);
    s.dirty.fetch_and(!(1 << slot), Ordering::Relaxed);
    let spent = pool.list(size).settle(slab);
    debug_assert!(spent.is_none(), "a slab with a slot in use is kept");
    let meta = &s.metas[slot];
    meta.count.store(1, Ordering::Relaxed);
    Some((s.slot_ptr(slot), NonNull::from(meta)))
}

/// Gives a chunk's memory back: to the heap, or to its slab.
///
/// # Safety
///
/// `meta` is the meta of a chunk whose last handle is gone.
unsafe fn release(meta: NonNull<Meta>) {
    // SAFETY: the slab lives until its last chunk is released, which is
    // this call.
    let slab = unsafe { meta.as_ref().slab };
    // SAFETY: as above.
    let s = unsafe { slab.as_ref() };
    if !s.mapped {
        // SAFETY: a heap slab has this one chunk, now unused.
        unsafe { destroy(slab) };
        return;
    }
    // SAFETY: `meta` points into `s.metas` (set by `Slab::create`).
    let slot = unsafe { meta.as_ptr().offset_from(s.metas.as_ptr()) } as usize;
    let bit = 1u64 << slot;
    let spent = {
        let mut pool = pool();
        s.used.fetch_and(!bit, Ordering::Relaxed);
        s.dirty.fetch_or(bit, Ordering::Relaxed);
        pool.list(s.size).settle(SlabPtr(slab))
    };
    if let Some(slab) = spent {
        // SAFETY: the slab has no chunks and is on no list.
        unsafe { destroy(slab.0) };
    }
}

/// Frees a slab that has no chunks and is on no list: its region and its
/// metas.
///
/// # Safety
///
/// As said: no chunk of it is alive and the pool does not list it.
unsafe fn destroy(slab: NonNull<Slab>) {
    // SAFETY: made by `Box::into_raw` in `Slab::create`, and no one else
    // uses it any more (the caller's promise).
    let slab = unsafe { Box::from_raw(slab.as_ptr()) };
    if slab.mapped {
        // SAFETY: a mapping of `SLAB` bytes made by `map_slab`, unused.
        unsafe { unmap_slab(slab.base) };
    } else {
        // SAFETY: allocated by `heap_slot` with this layout, unused.
        unsafe { alloc::dealloc(slab.base.as_ptr(), heap_layout(slab.size)) };
    }
}

/// Hands the memory of free pooled slots back to the system: the kept empty
/// slabs are unmapped, and the pages of free slots in slabs still in use
/// are released (they read as zeros when next touched, which `build`
/// overwrites anyway).
///
/// The releases are system calls, made without the pool's lock: the slots
/// being released are marked in use meanwhile, so that no one is handed
/// them and their slab cannot empty and be unmapped under the call.
///
/// Where `khugepaged` runs, it may later fold a slab whose free slots were
/// released back into one huge page, making them resident again; slabs
/// emptied whole (the usual case after deleting a volume) are unmapped and
/// do not come back.
pub(crate) fn trim() {
    let mut doomed = Vec::new();
    let mut work = Vec::new();
    {
        let mut pool = pool();
        for list in &mut pool.lists {
            doomed.append(&mut list.empty);
            for slab in list.partial.clone() {
                let s = slab.get();
                let dirty = s.dirty.swap(0, Ordering::Relaxed);
                if dirty != 0 {
                    s.used.fetch_or(dirty, Ordering::Relaxed);
                    doomed.extend(list.settle(slab));
                    work.push((list.size, slab, dirty));
                }
            }
        }
    }
    for &(_, slab, dirty) in &work {
        let s = slab.get();
        let mut runs = dirty;
        // Runs of consecutive free slots, one call each.
        while runs != 0 {
            let first = runs.trailing_zeros() as usize;
            let run = (runs >> first).trailing_ones() as usize;
            release_pages(s.slot_ptr(first), run * s.size);
            runs &= !(((1u128 << (first + run)) - (1u128 << first)) as u64);
        }
    }
    {
        let mut pool = pool();
        for (size, slab, dirty) in work {
            slab.get().used.fetch_and(!dirty, Ordering::Relaxed);
            doomed.extend(pool.list(size).settle(slab));
        }
    }
    for slab in doomed {
        // SAFETY: an empty slab has no chunks, and was taken off its list.
        unsafe { destroy(slab.0) };
    }
}

/// Bytes of chunk slabs mapped now, in use or not (resident or not).
pub(crate) fn mapped_bytes() -> u64 {
    MAPPED.load(Ordering::Relaxed)
}

// ----- the system ----------------------------------------------------------

/// Maps `SLAB` bytes aligned to `SLAB`, asking for a huge page; `None` if
/// the system refuses.
#[cfg(all(unix, not(miri)))]
fn map_slab() -> Option<NonNull<u8>> {
    // Map twice the size and cut the unaligned ends off: mappings are only
    // page-aligned, and a huge page needs a 2 MiB-aligned range.
    let len = 2 * SLAB;
    // SAFETY: a fresh private anonymous mapping; no existing memory is
    // affected.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    // Offsets from `raw`, so the pointers keep the mapping's provenance.
    let head = (raw as usize).next_multiple_of(SLAB) - raw as usize;
    let tail = len - head - SLAB;
    let aligned = raw.cast::<u8>().wrapping_add(head);
    // SAFETY: both ranges lie inside the mapping just made and outside the
    // aligned slab kept; nothing points into them.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap(aligned.wrapping_add(SLAB).cast(), tail);
        }
    }
    #[cfg(target_os = "linux")]
    // SAFETY: advice on our own mapping; failure (no THP) only means small
    // pages.
    unsafe {
        libc::madvise(aligned.cast(), SLAB, libc::MADV_HUGEPAGE);
    }
    MAPPED.fetch_add(SLAB as u64, Ordering::Relaxed);
    NonNull::new(aligned)
}

#[cfg(all(not(unix), not(miri)))]
fn map_slab() -> Option<NonNull<u8>> {
    None
}

/// Under Miri, which cannot unmap part of a mapping, slabs are aligned heap
/// allocations: the pool's logic is what is checked there.
#[cfg(miri)]
fn map_slab() -> Option<NonNull<u8>> {
    // SAFETY: the layout is not empty.
    let base = NonNull::new(unsafe { alloc::alloc(slab_layout()) })?;
    MAPPED.fetch_add(SLAB as u64, Ordering::Relaxed);
    Some(base)
}

#[cfg(miri)]
fn slab_layout() -> Layout {
    Layout::from_size_align(SLAB, SLAB).expect("a valid layout")
}

/// Unmaps a slab made by [`map_slab`].
///
/// # Safety
///
/// `base` came from `map_slab` and nothing uses the slab any more.
#[cfg(all(unix, not(miri)))]
unsafe fn unmap_slab(base: NonNull<u8>) {
    MAPPED.fetch_sub(SLAB as u64, Ordering::Relaxed);
    // SAFETY: the caller's promise.
    unsafe {
        libc::munmap(base.as_ptr().cast(), SLAB);
    }
}

#[cfg(all(not(unix), not(miri)))]
unsafe fn unmap_slab(_: NonNull<u8>) {
    unreachable!("no slab is mapped off Unix")
}

#[cfg(miri)]
unsafe fn unmap_slab(base: NonNull<u8>) {
    MAPPED.fetch_sub(SLAB as u64, Ordering::Relaxed);
    // SAFETY: allocated by `map_slab` with this layout, unused.
    unsafe { alloc::dealloc(base.as_ptr(), slab_layout()) }
}

/// Tells the system it may take back the pages of `len` bytes at `ptr`
/// (free slots of a slab); they read as zeros afterwards.
fn release_pages(ptr: NonNull<u8>, len: usize) {
    #[cfg(all(target_os = "linux", not(miri)))]
    // SAFETY: `ptr..ptr + len` is free slots of a live slab: no chunk's
    // bytes, and nothing reads them before `build` writes them again.
    unsafe {
        libc::madvise(ptr.as_ptr().cast(), len, libc::MADV_DONTNEED);
    }
    #[cfg(any(not(target_os = "linux"), miri))]
    let _ = (ptr, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    /// Whether every byte of `chunk` is `tag` (under Miri, which is slow,
    /// every 4093rd byte and the last).
    fn holds(chunk: &Chunk, tag: u8) -> bool {
        let step = if cfg!(miri) { 4093 } else { 1 };
        chunk.iter().step_by(step).all(|&b| b == tag) && chunk.last() == Some(&tag)
    }

    #[test]
    fn build_writes_every_byte_over_reused_slots() {
        // A slot handed out again still holds its old bytes; `build` must
        // overwrite all of them.
        let size = 64 * KIB;
        drop(Chunk::build(size, 0, size, Some(&vec![9u8; size]), None));
        let chunk = Chunk::build(size, 100, 3, Some(&[1, 2, 3]), None);
        assert_eq!(chunk.len(), size);
        assert!(chunk[..100].iter().all(|&b| b == 0));
        assert_eq!(&chunk[100..103], &[1, 2, 3]);
        assert!(chunk[103..].iter().all(|&b| b == 0));
        let old = vec![7u8; size];
        let spliced = Chunk::build(size, 10, 2, None, Some(&old));
        assert!(spliced[..10].iter().all(|&b| b == 7));
        assert_eq!(&spliced[10..12], &[0, 0]);
        assert!(spliced[12..].iter().all(|&b| b == 7));
    }

    #[test]
    fn pooled_chunks_are_page_aligned_and_distinct() {
        let size = 64 * KIB;
        let n = if cfg!(miri) { 3 } else { 100u8 };
        let chunks: Vec<_> = (0..n).map(|i| Chunk::copy_of(&vec![i; size])).collect();
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.as_ptr() as usize % 4096, 0);
            assert!(c.iter().all(|&b| b == i as u8), "chunk {i} was overwritten");
        }
        assert!(mapped_bytes() >= u64::from(n) * size as u64);
    }

    #[test]
    fn odd_sizes_live_on_the_heap() {
        let big = if cfg!(miri) { 3 * 4096 } else { 4 << 20 };
        for size in [1, 8, 4096, 16 * KIB, 3 * 4096, big] {
            assert!(!pooled(size), "{size}");
            let c = Chunk::copy_of(&vec![3u8; size]);
            assert_eq!(c.len(), size);
            assert!(c.iter().all(|&b| b == 3));
        }
        for size in [32 * KIB, 64 * KIB, 1 << 20, 2 << 20] {
            assert!(pooled(size), "{size}");
        }
    }

    #[test]
    fn unique_only_without_other_handles() {
        let mut a = Chunk::copy_of(&[1u8; 64 * KIB]);
        assert!(a.unique_mut().is_some());
        let b = a.clone();
        assert!(a.unique_mut().is_none());
        drop(b);
        a.unique_mut().unwrap()[0] = 5;
        assert_eq!(a[0], 5);
    }

    #[test]
    fn slots_are_reused_and_empty_slabs_kept_up_to_a_bound() {
        // Chunks of a size no other test uses, so the pool's list for it is
        // this test's own (tests run in parallel, sharing the pool).
        let size = 256 * KIB;
        let per_slab = SLAB / size;
        let build = || Chunk::build(size, 0, 0, None, None);
        let slabs_of = |chunks: &[Chunk]| {
            let mut bases: Vec<usize> = chunks
                .iter()
                .map(|c| c.as_ptr() as usize & !(SLAB - 1))
                .collect();
            bases.dedup();
            bases
        };
        let mut first: Vec<Chunk> = (0..2 * per_slab).map(|_| build()).collect();
        assert_eq!(slabs_of(&first).len(), 2, "chunks fill slabs in order");
        // A freed slot is handed out next.
        let freed = first.remove(2).as_ptr();
        let again = build();
        assert_eq!(again.as_ptr(), freed);
        drop((first, again));
        // Many slabs emptied at once: at most `KEEP_EMPTY` stay mapped.
        let many: Vec<Chunk> = (0..(KEEP_EMPTY + 2) * per_slab).map(|_| build()).collect();
        let slabs = slabs_of(&many);
        assert_eq!(slabs.len(), KEEP_EMPTY + 2);
        drop(many);
        let pool = pool();
        let list = pool.lists.iter().find(|l| l.size == size).unwrap();
        assert!(list.partial.is_empty());
        // (A trim from a test running at the same time may have emptied it.)
        assert!(list.empty.len() <= KEEP_EMPTY, "{}", list.empty.len());
        for slab in &list.empty {
            assert!(slabs.contains(&(slab.get().base.as_ptr() as usize)));
        }
    }

    #[test]
    fn threads_share_take_and_give_back_slots_without_mixing_bytes() {
        // Four threads allocate, share with each other (a chunk made on one
        // thread is dropped on another) and free chunks of one size at
        // once; every chunk must keep its own bytes throughout.
        let size = 128 * KIB;
        let shared = std::sync::Mutex::new(Vec::<(u8, Chunk)>::new());
        std::thread::scope(|scope| {
            for t in 0..4u8 {
                let shared = &shared;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    // (Miri is slow; a few rounds still interleave.)
                    for i in 0..if cfg!(miri) { 6 } else { 200u32 } {
                        let tag = t.wrapping_mul(61).wrapping_add(i as u8);
                        let chunk = Chunk::copy_of(&vec![tag; size]);
                        if i % 3 == 0 {
                            shared.lock().unwrap().push((tag, chunk.clone()));
                        }
                        mine.push((tag, chunk));
                        if i % 2 == 0 {
                            let (tag, c) = mine.swap_remove(mine.len() / 2);
                            assert!(holds(&c, tag));
                        }
                        if i % 5 == 0 {
                            let popped = shared.lock().unwrap().pop();
                            if let Some((tag, c)) = popped {
                                assert!(holds(&c, tag));
                            }
                        }
                    }
                    for (tag, c) in mine {
                        assert!(holds(&c, tag));
                    }
                });
            }
        });
        for (tag, c) in shared.into_inner().unwrap() {
            assert!(holds(&c, tag));
        }
        let pool = pool();
        let list = pool.lists.iter().find(|l| l.size == size).unwrap();
        assert!(list.partial.is_empty(), "every slot was given back");
    }

    #[test]
    fn trim_during_allocation_and_frees_keeps_every_live_chunk() {
        // 32 KiB chunks: 64 slots a slab, so runs of free slots reach the
        // last bit. Two threads build and drop chunks while a third trims
        // over and over; a slot being released must never be handed out,
        // and no live chunk may lose its bytes.
        let size = 32 * KIB;
        let rounds = if cfg!(miri) { 4 } else { 300u32 };
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let done = &done;
            scope.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    trim();
                    std::thread::yield_now();
                }
            });
            let workers: Vec<_> = (0..2u8)
                .map(|t| {
                    scope.spawn(move || {
                        let mut live: Vec<(u8, Chunk)> = Vec::new();
                        for i in 0..rounds {
                            let tag = t.wrapping_mul(101).wrapping_add(i as u8) | 1;
                            live.push((tag, Chunk::copy_of(&vec![tag; size])));
                            if i % 3 == 2 {
                                // Free a run, leaving holes for trim.
                                for _ in 0..2.min(live.len()) {
                                    let (tag, c) = live.swap_remove(live.len() / 2);
                                    assert!(holds(&c, tag));
                                }
                            }
                            for (tag, c) in live.iter().step_by(7) {
                                assert!(holds(c, *tag));
                            }
                        }
                        for (tag, c) in &live {
                            assert!(holds(c, *tag));
                        }
                    })
                })
                .collect();
            // Stop the trimmer before looking at the results, so that a
            // failed worker fails the test instead of hanging it.
            let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
            done.store(true, Ordering::Relaxed);
            for r in results {
                r.unwrap();
            }
        });
    }

    #[test]
    fn trim_releases_free_slots_and_empty_slabs() {
        let size = 512 * KIB;
        let mut chunks: Vec<Chunk> = (0..4).map(|_| Chunk::copy_of(&vec![4u8; size])).collect();
        let kept = chunks.remove(1);
        drop(chunks);
        trim();
        // The kept chunk's bytes are untouched by the release of its
        // neighbours' pages.
        assert!(holds(&kept, 4));
        // A slot whose pages were released is handed out and rebuilt whole.
        let next = Chunk::build(size, 1, 1, Some(&[6]), None);
        assert_eq!((next[0], next[1], next[2]), (0, 6, 0));
        assert!(pool()
            .lists
            .iter()
            .find(|l| l.size == size)
            .is_some_and(|l| l.empty.is_empty()));
    }
}

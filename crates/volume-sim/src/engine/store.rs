//! The byte store behind every simulated volume, snapshot, clone and backup.
//!
//! An [`Image`] is a logical length plus a sparse table of fixed-size chunks.
//! Chunks are reference-counted buffers shared between images, and the table
//! is a persistent radix tree, so [`Image::clone`] (which is how snapshots,
//! clones and backups are taken) costs O(1) no matter how big the image is or
//! how much was written to it. Sharing is broken lazily, chunk by chunk:
//!
//! * the first write into a chunk that another image also references copies
//!   that chunk once (copy-on-write); later writes go in place;
//! * a write that covers a chunk completely never copies or zeroes the old
//!   contents, it builds the new chunk straight from the caller's bytes;
//! * never-written ranges are holes: they read as zeros and cost nothing.
//!
//! Chunks of the default size live in 2 MiB slabs the kernel may back with
//! huge pages, with their counts kept apart from their bytes (`chunk.rs`
//! says why); [`slab_bytes`] and [`release_free_memory`] report and return
//! that memory.
//!
//! # Tree design
//!
//! The chunk table is a radix tree with a fan-out of [`FANOUT`] (64). Every
//! node is an `Arc<Node>`; a leaf holds up to 64 chunk pointers, an inner node
//! up to 64 child pointers. The height is the smallest that addresses all
//! chunks of the image's current length (one level up to 64 chunks, two up
//! to 4096, ...; a 1 GiB image at 64 KiB chunks has 16384 chunks and a height
//! of 3; the largest possible image needs 11). Mutation goes through
//! `make_mut` (like [`Arc::make_mut`], with a uniqueness check that is only
//! loads) on the path from the root to the leaf, which copies only the nodes
//! that are still shared with another image (path copying) and is a no-op
//! on nodes the image owns alone. Empty nodes are removed eagerly, so
//! "a child exists" always means "it holds at least one chunk".
//!
//! # Invariants
//!
//! * Every stored chunk is exactly the image's chunk size long.
//! * Bytes of the last chunk past the image's logical length are zero, so a
//!   later grow exposes zeros without having to touch anything.
//! * `height` is at least the height needed for `len`.
//! * `chunks` equals the number of chunks reachable from `root`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::chunk::Chunk;

/// Default chunk size in bytes (64 KiB): the unit of allocation, sharing and
/// copy-on-write.
///
/// 64 KiB keeps the chunk table small (16 Ki entries per GiB) while keeping
/// the copy-up cost of a small write into a shared chunk bounded.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Largest chunk size accepted by [`Image::with_chunk_size`] (1 GiB).
///
/// Bounded so that in-chunk offsets always fit in a `usize`, even on 32-bit
/// targets.
pub const MAX_CHUNK_SIZE: usize = 1 << 30;

/// Number of children of a radix-tree node (and chunk slots of a leaf).
pub const FANOUT: usize = 1 << BITS;

/// Bits of a chunk index consumed by one tree level.
const BITS: u32 = 6;

/// Mask selecting one level's slot from a shifted chunk index.
const SLOT_MASK: u64 = (1 << BITS) - 1;

/// A node of the persistent chunk table.
///
/// Leaves hold fat chunk pointers (16 bytes), inner nodes thin ones (8), so
/// an inner node wastes half its size; there is one inner node per 64
/// leaves, so that is under 1% of the tree's metadata.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Node {
    /// Level > 0: pointers to the 64 sub-trees below.
    Inner([Option<Arc<Self>>; FANOUT]),
    /// Level 0: pointers to 64 consecutive chunks.
    Leaf([Option<Chunk>; FANOUT]),
}

impl Node {
    /// An empty node for `level` (0 is the leaf level).
    fn empty(level: u32) -> Self {
        if level == 0 {
            Self::Leaf([const { None }; FANOUT])
        } else {
            Self::Inner([const { None }; FANOUT])
        }
    }

    /// Whether the node has no children at all (such nodes are pruned).
    fn is_empty(&self) -> bool {
        match self {
            Self::Inner(children) => children.iter().all(Option::is_none),
            Self::Leaf(chunks) => chunks.iter().all(Option::is_none),
        }
    }

    /// Number of chunks in this sub-tree.
    fn count(&self) -> u64 {
        match self {
            Self::Inner(children) => children.iter().flatten().map(|c| c.count()).sum(),
            Self::Leaf(chunks) => chunks.iter().flatten().count() as u64,
        }
    }

    /// Calls `f` on every chunk of this sub-tree.
    fn for_each_chunk(&self, f: &mut impl FnMut(&Chunk)) {
        match self {
            Self::Inner(children) => children.iter().flatten().for_each(|c| c.for_each_chunk(f)),
            Self::Leaf(chunks) => chunks.iter().flatten().for_each(f),
        }
    }

    /// Whether any chunk with a (node-relative) index in `lo..hi` exists.
    fn any_in(&self, level: u32, lo: u128, hi: u128) -> bool {
        match self {
            Self::Leaf(chunks) => slots(lo, hi, 1).any(|(i, _, _)| chunks[i].is_some()),
            Self::Inner(children) => {
                let span = child_span(level);
                slots(lo, hi, span).any(|(i, clo, chi)| {
                    children[i]
                        .as_ref()
                        .is_some_and(|c| c.any_in(level - 1, clo, chi))
                })
            }
        }
    }
}

/// Number of chunks addressed by one child of a node at `level`
/// (`64^level`). `u128` because a root of height 11 spans 2^66 chunks.
fn child_span(level: u32) -> u128 {
    1u128 << (BITS * level)
}

/// The child slots of a node that overlap the node-relative chunk range
/// `lo..hi`, each with the range translated to be relative to that child.
/// `hi` may exceed the node's span; it is clipped.
fn slots(lo: u128, hi: u128, span: u128) -> impl Iterator<Item = (usize, u128, u128)> {
    let node_span = span * FANOUT as u128;
    let hi = hi.min(node_span);
    let (first, end) = if lo < hi {
        (lo / span, hi.div_ceil(span))
    } else {
        (0, 0)
    };
    (first..end).map(move |i| {
        let base = i * span;
        // `i < FANOUT` because `hi <= node_span`, so the cast is lossless.
        (i as usize, lo.saturating_sub(base), (hi - base).min(span))
    })
}

/// Removes every chunk with a node-relative index in `lo..hi` from the
/// sub-tree in `slot`, copying shared nodes only where something is actually
/// removed. Returns how many chunks were removed. Prunes emptied nodes.
fn remove_in(slot: &mut Option<Arc<Node>>, level: u32, lo: u128, hi: u128) -> u64 {
    let Some(node) = slot else { return 0 };
    let span = child_span(level + 1);
    if lo == 0 && hi >= span {
        // The whole sub-tree goes: drop our reference without copying it.
        let removed = node.count();
        *slot = None;
        return removed;
    }
    // Checked read-only first so that a discard of a hole in a tree shared
    // with a snapshot does not path-copy anything.
    if !node.any_in(level, lo, hi) {
        return 0;
    }
    let node = make_mut(node);
    let removed = match node {
        Node::Leaf(chunks) => slots(lo, hi, 1)
            .filter(|&(i, _, _)| chunks[i].take().is_some())
            .count() as u64,
        Node::Inner(children) => slots(lo, hi, child_span(level))
            .map(|(i, clo, chi)| remove_in(&mut children[i], level - 1, clo, chi))
            .sum(),
    };
    if node.is_empty() {
        *slot = None;
    }
    removed
}

/// Whether `arc` is the only pointer to its value, checked with plain loads.
///
/// [`Arc::get_mut`] and [`Arc::make_mut`] answer the same question with an
/// atomic read-modify-write on the counts, which on x86 is a full fence: on
/// small random I/O it made every write wait for the previous write's
/// stores to reach memory. (Chunks answer it the same way, in
/// [`Chunk::unique_mut`].) The store never makes a [`std::sync::Weak`] of a
/// node, so a strong count of one, seen through `&mut` (nobody else holds a
/// pointer to clone it from), means unique.
fn is_unique<T: ?Sized>(arc: &mut Arc<T>) -> bool {
    if Arc::strong_count(arc) == 1 && Arc::weak_count(arc) == 0 {
        // Pairs with the release decrement of whoever dropped the other
        // pointers, so their last reads happen before our writes (the same
        // ordering `Arc::get_mut` gets from its acquire load).
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        true
    } else {
        false
    }
}

/// [`Arc::make_mut`], with the uniqueness check of [`is_unique`].
fn make_mut<T: Clone>(arc: &mut Arc<T>) -> &mut T {
    if is_unique(arc) {
        // SAFETY: `arc` is the only strong pointer and there are no weak
        // ones (checked with acquire ordering), and we hold it by `&mut`,
        // so no other pointer can appear while the returned borrow (tied to
        // that `&mut`) lives: nothing else can read or write the value
        // meanwhile.
        unsafe { &mut *Arc::as_ptr(arc).cast_mut() }
    } else {
        Arc::make_mut(arc)
    }
}

/// Accesses up to this size prefetch what they touch (see [`prefetch`]);
/// larger ones stream, which the hardware prefetcher follows by itself.
const PREFETCH_MAX: usize = 16 * 1024;

/// Asks the CPU to start loading the cache lines of `len` bytes at `ptr`,
/// all at once. A small access to memory that is not cached otherwise
/// waits for each line in turn behind the call's lock (an atomic
/// read-modify-write, which on x86 lets no later load start before it);
/// asked for together, the lines arrive in parallel. Only a hint: any
/// address is fine, nothing is read. Callers keep `len` small.
#[inline]
fn prefetch(ptr: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for off in (0..len).step_by(64) {
            // SAFETY: a prefetch is a hint that never faults and reads
            // nothing the program can see, whatever the address; SSE is
            // part of every x86_64 target.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(off).cast::<i8>());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (ptr, len);
}

/// Tree height needed to address `chunks` chunks (at least 1).
fn height_for(chunks: u64) -> u32 {
    let mut height = 1;
    while child_span(height) < u128::from(chunks) {
        height += 1;
    }
    height
}

/// A fresh chunk of `size` bytes holding `data` at `at` and zeros elsewhere.
fn fresh_chunk(size: usize, at: usize, data: &[u8]) -> Chunk {
    Chunk::build(size, at, data.len(), Some(data), None)
}

/// A private copy of `old` with `data` (or zeros, if `data` is `None`) over
/// `at..at + len`.
fn spliced_chunk(old: &[u8], at: usize, len: usize, data: Option<&[u8]>) -> Chunk {
    Chunk::build(old.len(), at, len, data, Some(old))
}

/// An access outside an image's bounds (or whose end overflows `u64`).
///
/// Returned by [`Image::read_at`], [`Image::write_at`] and
/// [`Image::discard`]; the image is left unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RangeError {
    /// Requested start offset in bytes.
    pub offset: u64,
    /// Requested length in bytes.
    pub len: u64,
    /// Logical size of the image at the time of the request.
    pub size: u64,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "range of {} bytes at offset {} is out of bounds for an image of {} bytes",
            self.len, self.offset, self.size
        )
    }
}

impl std::error::Error for RangeError {}

/// A chunk size rejected by [`Image::with_chunk_size`]: it must be a power of
/// two between 1 and [`MAX_CHUNK_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkSizeError {
    /// The rejected chunk size.
    pub chunk_size: usize,
}

impl fmt::Display for ChunkSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid chunk size {}: must be a power of two between 1 and {}",
            self.chunk_size, MAX_CHUNK_SIZE
        )
    }
}

impl std::error::Error for ChunkSizeError {}

/// The bytes of one volume, snapshot, clone or backup.
///
/// Cloning is O(1) (it shares the whole chunk table) and is how snapshots
/// and clones are made; the two images then diverge chunk by chunk as either
/// is written. Never-written ranges read as zeros and occupy no memory.
#[derive(Clone)]
pub struct Image {
    /// Logical size in bytes.
    len: u64,
    /// log2 of the chunk size.
    chunk_shift: u32,
    /// Number of tree levels; the root is a leaf when this is 1.
    height: u32,
    /// Chunks reachable from `root` (kept so accounting is O(1)).
    chunks: u64,
    /// Root of the chunk table; `None` while nothing is allocated.
    root: Option<Arc<Node>>,
}

impl fmt::Debug for Image {
    // Deliberately summary-only: an image may hold gigabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("len", &self.len)
            .field("chunk_size", &self.chunk_size())
            .field("allocated_chunks", &self.chunks)
            .field("height", &self.height)
            .finish()
    }
}

impl Image {
    /// A new all-zero image of `len` bytes with [`CHUNK_SIZE`] chunks.
    /// Allocates nothing, whatever `len` is.
    pub fn new(len: u64) -> Self {
        Self::with_shift(len, CHUNK_SIZE.trailing_zeros())
    }

    /// A new all-zero image of `len` bytes with chunks of `chunk_size`
    /// bytes, which must be a power of two between 1 and
    /// [`MAX_CHUNK_SIZE`]. Small chunk sizes exist mostly for tests.
    pub fn with_chunk_size(len: u64, chunk_size: usize) -> Result<Self, ChunkSizeError> {
        if chunk_size.is_power_of_two() && chunk_size <= MAX_CHUNK_SIZE {
            Ok(Self::with_shift(len, chunk_size.trailing_zeros()))
        } else {
            Err(ChunkSizeError { chunk_size })
        }
    }

    fn with_shift(len: u64, chunk_shift: u32) -> Self {
        let mut image = Self {
            len,
            chunk_shift,
            height: 1,
            chunks: 0,
            root: None,
        };
        image.height = height_for(image.chunk_count(len));
        image
    }

    /// Logical size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the logical size is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Chunk size in bytes.
    pub fn chunk_size(&self) -> usize {
        1 << self.chunk_shift
    }

    /// Number of chunks this image references (shared or not).
    pub fn allocated_chunks(&self) -> u64 {
        self.chunks
    }

    /// Bytes of chunk data this image references, shared or not: allocated
    /// chunks × chunk size. Chunks are always stored whole, so a chunk only
    /// partly written still counts in full. Tree metadata is not included.
    pub fn allocated_bytes(&self) -> u64 {
        self.chunks << self.chunk_shift
    }

    /// Copies `buf.len()` bytes starting at `offset` into `buf`. Holes read
    /// as zeros.
    ///
    /// # Errors
    ///
    /// [`RangeError`] if the range does not lie within the image; `buf` is
    /// then left untouched.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), RangeError> {
        self.check(offset, buf.len() as u64)?;
        let mut pos = offset;
        let mut rest = buf;
        while !rest.is_empty() {
            let (index, at, n) = self.split(pos, rest.len());
            let (head, tail) = rest.split_at_mut(n);
            match self.chunk(index) {
                Some(chunk) => {
                    let src = &chunk[at..at + n];
                    if n <= PREFETCH_MAX {
                        prefetch(src.as_ptr(), n);
                    }
                    head.copy_from_slice(src);
                }
                None => head.fill(0),
            }
            rest = tail;
            pos += n as u64;
        }
        Ok(())
    }

    /// Writes `data` at `offset`.
    ///
    /// # Errors
    ///
    /// [`RangeError`] if the range does not lie within the image; nothing is
    /// written then.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), RangeError> {
        self.check(offset, data.len() as u64)?;
        let size = self.chunk_size();
        if data.len() <= PREFETCH_MAX {
            // A small write: ask for the chunk's counts and the bytes it
            // overwrites at once, before the walk that needs them one after
            // the other.
            let (index, at, n) = self.split(offset, data.len());
            if let Some(chunk) = self.chunk(index) {
                let start = chunk.as_ptr();
                prefetch(chunk.count_ptr(), 1);
                prefetch(start.wrapping_add(at), n);
            }
        }
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let (index, at, n) = self.split(pos, rest.len());
            let (head, tail) = rest.split_at(n);
            let whole = n == size;
            let slot = self.slot_mut(index);
            let added = match slot {
                Some(chunk) => {
                    match chunk.unique_mut() {
                        // Ours alone: write in place.
                        Some(buf) => buf[at..at + n].copy_from_slice(head),
                        // Shared with another image: copy up, once. A whole
                        // chunk overwrite does not need the old bytes at all.
                        None if whole => *chunk = Chunk::copy_of(head),
                        None => *chunk = spliced_chunk(chunk, at, n, Some(head)),
                    }
                    false
                }
                None => {
                    // A hole: build the chunk from the data in one pass,
                    // with zeros only where the write does not reach.
                    *slot = Some(if whole {
                        Chunk::copy_of(head)
                    } else {
                        fresh_chunk(size, at, head)
                    });
                    true
                }
            };
            self.chunks += u64::from(added);
            rest = tail;
            pos += n as u64;
        }
        Ok(())
    }

    /// Makes `offset..offset + len` read as zeros. Chunks whose in-image
    /// bytes are all covered are released; partly covered chunks at the
    /// edges are zeroed over the range (copied up first if shared). Holes
    /// stay holes.
    ///
    /// # Errors
    ///
    /// [`RangeError`] if the range does not lie within the image; nothing is
    /// changed then.
    pub fn discard(&mut self, offset: u64, len: u64) -> Result<(), RangeError> {
        self.check(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        let end = offset + len;
        let first = offset >> self.chunk_shift;
        let last = (end - 1) >> self.chunk_shift;
        let covered = |index: u64| {
            let start = index << self.chunk_shift;
            let stop = start.saturating_add(1 << self.chunk_shift).min(self.len);
            offset <= start && stop <= end
        };
        let (first_whole, last_whole) = (covered(first), covered(last));
        if !first_whole {
            let stop = if first == last {
                end
            } else {
                (first + 1) << self.chunk_shift
            };
            self.zero_part(offset, stop);
        }
        if first != last && !last_whole {
            self.zero_part(last << self.chunk_shift, end);
        }
        // `u128` because `last + 1` overflows when the chunk size is 1 and
        // the image ends at `u64::MAX`.
        let lo = u128::from(first) + u128::from(!first_whole);
        let hi = u128::from(last) + u128::from(last_whole);
        if lo < hi {
            self.remove_chunks(lo, hi);
        }
        Ok(())
    }

    /// Which parts of `offset..offset + len` are allocated, as consecutive
    /// runs `(length, allocated)` in order, covering the range exactly.
    /// A run that is not allocated is a hole and reads as zeros; an
    /// allocated run holds stored chunks (which may still contain zeros).
    ///
    /// At most `max_runs` runs are returned; the last one then stops short
    /// of the end of the range. Runs alternate: two neighbours never have
    /// the same status.
    ///
    /// # Errors
    ///
    /// [`RangeError`] if the range does not lie within the image.
    pub fn allocation(
        &self,
        offset: u64,
        len: u64,
        max_runs: usize,
    ) -> Result<Vec<(u64, bool)>, RangeError> {
        self.check(offset, len)?;
        let mut runs: Vec<(u64, bool)> = Vec::new();
        let end = offset + len;
        let mut pos = offset;
        while pos < end {
            let index = pos >> self.chunk_shift;
            let chunk_end = (index << self.chunk_shift).saturating_add(1 << self.chunk_shift);
            let stop = chunk_end.min(end);
            let allocated = self.chunk(index).is_some();
            let full = runs.len() >= max_runs;
            match runs.last_mut() {
                Some((n, a)) if *a == allocated => *n += stop - pos,
                _ if full => break,
                _ => runs.push((stop - pos, allocated)),
            }
            pos = stop;
        }
        Ok(runs)
    }

    /// Changes the logical size. Growing exposes zeros and allocates
    /// nothing. Shrinking releases the chunks past the new end and zeroes
    /// the tail of the new last chunk (copying it up if shared), so that a
    /// later grow reads zeros there.
    pub fn resize(&mut self, new_len: u64) {
        if new_len > self.len {
            let height = height_for(self.chunk_count(new_len));
            if self.root.is_none() {
                self.height = height;
            }
            while self.height < height {
                // Grow at the top: the old root becomes child 0, which keeps
                // every existing chunk index valid.
                let mut node = Node::empty(self.height);
                if let Node::Inner(children) = &mut node {
                    children[0] = self.root.take();
                }
                self.root = Some(Arc::new(node));
                self.height += 1;
            }
            self.len = new_len;
        } else if new_len < self.len {
            let keep = self.chunk_count(new_len);
            self.remove_chunks(u128::from(keep), u128::MAX);
            let tail = new_len & self.chunk_mask();
            if tail != 0 {
                let end = (new_len - tail).saturating_add(1 << self.chunk_shift);
                self.zero_part(new_len, end.min(self.len));
            }
            self.len = new_len;
            self.shrink_height();
        }
    }

    /// Calls `f` on every chunk this image references.
    fn for_each_chunk(&self, mut f: impl FnMut(&Chunk)) {
        if let Some(root) = &self.root {
            root.for_each_chunk(&mut f);
        }
    }

    fn chunk_mask(&self) -> u64 {
        (1 << self.chunk_shift) - 1
    }

    /// Number of chunks needed for `len` bytes (rounded up).
    fn chunk_count(&self, len: u64) -> u64 {
        (len >> self.chunk_shift) + u64::from(len & self.chunk_mask() != 0)
    }

    /// Errors unless `offset..offset + len` lies within the image.
    fn check(&self, offset: u64, len: u64) -> Result<(), RangeError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(RangeError {
                offset,
                len,
                size: self.len,
            }),
        }
    }

    /// Splits an access at `pos` with `remaining` bytes left into the chunk
    /// index, the offset inside that chunk and the byte count that fits.
    fn split(&self, pos: u64, remaining: usize) -> (u64, usize, usize) {
        // In-chunk offsets are below MAX_CHUNK_SIZE, so they fit a usize.
        let at = (pos & self.chunk_mask()) as usize;
        let n = (self.chunk_size() - at).min(remaining);
        (pos >> self.chunk_shift, at, n)
    }

    /// Slot of a chunk within `root`'s level-`level` sub-tree.
    fn slot(&self, index: u64, level: u32) -> usize {
        // BITS * level < 66 and the top level of an 11-high tree only sees
        // the top 4 bits, so the shift never exceeds 60.
        ((index >> (BITS * level)) & SLOT_MASK) as usize
    }

    /// The chunk at `index`, if allocated. Read-only: never copies.
    fn chunk(&self, index: u64) -> Option<&Chunk> {
        let mut node = self.root.as_deref()?;
        let mut level = self.height - 1;
        loop {
            let slot = self.slot(index, level);
            match node {
                Node::Inner(children) => {
                    node = children[slot].as_deref()?;
                    level -= 1;
                }
                Node::Leaf(chunks) => return chunks[slot].as_ref(),
            }
        }
    }

    /// The slot for the chunk at `index`, creating missing nodes and
    /// path-copying shared ones on the way down. `index` must be below
    /// `64^height` (guaranteed for any index inside the image).
    fn slot_mut(&mut self, index: u64) -> &mut Option<Chunk> {
        let mut level = self.height - 1;
        let root = self
            .root
            .get_or_insert_with(|| Arc::new(Node::empty(level)));
        let mut node = make_mut(root);
        loop {
            let slot = ((index >> (BITS * level)) & SLOT_MASK) as usize;
            match node {
                Node::Inner(children) => {
                    level -= 1;
                    let child = children[slot].get_or_insert_with(|| Arc::new(Node::empty(level)));
                    node = make_mut(child);
                }
                Node::Leaf(chunks) => return &mut chunks[slot],
            }
        }
    }

    /// Zeroes `start..end` (which lies within one chunk) if that chunk is
    /// allocated, copying it up first if it is shared.
    fn zero_part(&mut self, start: u64, end: u64) {
        let index = start >> self.chunk_shift;
        if self.chunk(index).is_none() {
            return;
        }
        let (_, at, n) = self.split(start, (end - start) as usize);
        if let Some(chunk) = self.slot_mut(index) {
            match chunk.unique_mut() {
                Some(buf) => buf[at..at + n].fill(0),
                None => *chunk = spliced_chunk(chunk, at, n, None),
            }
        }
    }

    /// Releases the chunks with indices in `lo..hi`.
    fn remove_chunks(&mut self, lo: u128, hi: u128) {
        let removed = remove_in(&mut self.root, self.height - 1, lo, hi);
        self.chunks -= removed;
    }

    /// Drops top levels that a shrink made unnecessary. Everything past the
    /// new end has been removed, so only child 0 of such a root can be set.
    fn shrink_height(&mut self) {
        let height = height_for(self.chunk_count(self.len));
        while self.height > height {
            self.root = match self.root.as_deref() {
                Some(Node::Inner(children)) => children[0].as_ref().map(Arc::clone),
                Some(Node::Leaf(_)) | None => None,
            };
            self.height -= 1;
        }
    }
}

/// Bytes of chunk slabs the process has mapped now, whether their slots are
/// in use or free, resident or not. Chunks of 32 KiB to 2 MiB (64 KiB by
/// default) live in 2 MiB slabs outside the heap, so a heap count alone
/// misses them; chunks of other sizes are on the heap and not in this.
pub fn slab_bytes() -> u64 {
    super::chunk::mapped_bytes()
}

/// Returns free chunk memory to the system now: the pages of free slots in
/// slabs, the empty slabs kept for reuse (up to 64 MiB per chunk size), and
/// on glibc the allocator's free pages. The engine does this by itself after
/// large frees; call it to start a measurement on untouched memory.
pub fn release_free_memory() {
    super::memory::trim();
}

/// Space accounting of one image within a set (see [`usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImageUsage {
    /// Logical size in bytes.
    pub logical: u64,
    /// Bytes of chunks the image references ([`Image::allocated_bytes`]).
    pub referenced: u64,
    /// Bytes of chunks referenced by this image and by no other image of the
    /// set: what deleting it alone would free, if it is not shared outside
    /// the set.
    pub unique: u64,
    /// `referenced - unique`: bytes of chunks also referenced by another
    /// image of the set.
    pub shared: u64,
}

/// Space accounting of a set of images (see [`usage`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Usage {
    /// Per image, in the order given to [`usage`].
    pub images: Vec<ImageUsage>,
    /// Bytes of distinct chunks referenced by any image of the set: the
    /// memory the set actually holds (tree metadata excluded).
    pub allocated: u64,
}

/// Accounts space across `images`: what each references, what only it
/// references, and how much distinct chunk memory the whole set holds.
///
/// Chunks are compared by identity (pointer), not by content and not by
/// reference count: shared tree nodes hold one reference for many images,
/// so counts understate sharing. Passing the same image twice makes all of
/// its chunks shared. O(total chunks referenced).
pub fn usage(images: &[&Image]) -> Usage {
    /// Owner of a chunk seen so far: the first image, or `None` once a
    /// second image referenced it too.
    struct Seen {
        owner: Option<usize>,
        size: u64,
    }
    let mut seen: HashMap<*const u8, Seen> = HashMap::new();
    for (i, image) in images.iter().enumerate() {
        image.for_each_chunk(|chunk| {
            seen.entry(chunk.as_ptr())
                .and_modify(|s| {
                    if s.owner != Some(i) {
                        s.owner = None;
                    }
                })
                .or_insert(Seen {
                    owner: Some(i),
                    size: chunk.len() as u64,
                });
        });
    }
    let mut per_image: Vec<ImageUsage> = images
        .iter()
        .map(|image| ImageUsage {
            logical: image.len(),
            referenced: image.allocated_bytes(),
            ..ImageUsage::default()
        })
        .collect();
    let mut allocated = 0;
    for s in seen.values() {
        allocated += s.size;
        if let Some(owner) = s.owner {
            per_image[owner].unique += s.size;
        }
    }
    for u in &mut per_image {
        u.shared = u.referenced - u.unique;
    }
    Usage {
        images: per_image,
        allocated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIB: u64 = 1 << 40;

    fn assert_traits<T: Clone + Send + Sync + fmt::Debug + 'static>() {}

    #[test]
    fn allocation_runs_are_exact_alternating_and_capped() {
        let mut img = Image::with_chunk_size(100, 16).unwrap();
        assert_eq!(img.allocation(0, 100, 8), Ok(vec![(100, false)]));
        img.write_at(17, b"x").unwrap(); // chunk 1
        img.write_at(40, b"y").unwrap(); // chunk 2
        img.write_at(99, b"z").unwrap(); // chunk 6 (the short last one)
        assert_eq!(
            img.allocation(0, 100, 8),
            Ok(vec![(16, false), (32, true), (48, false), (4, true)])
        );
        assert_eq!(img.allocation(5, 20, 8), Ok(vec![(11, false), (9, true)]));
        assert_eq!(img.allocation(0, 100, 2), Ok(vec![(16, false), (32, true)]));
        assert_eq!(img.allocation(50, 0, 8), Ok(vec![]));
        assert!(img.allocation(90, 11, 8).is_err());
        img.discard(16, 32).unwrap();
        assert_eq!(img.allocation(0, 96, 8), Ok(vec![(96, false)]));
    }

    #[test]
    fn image_is_clone_send_sync_debug() {
        assert_traits::<Image>();
        assert_traits::<RangeError>();
        assert_traits::<Usage>();
    }

    #[test]
    fn zero_length_ops_at_end_are_fine() {
        let mut image = Image::new(100);
        assert_eq!(image.read_at(100, &mut []), Ok(()));
        assert_eq!(image.write_at(100, &[]), Ok(()));
        assert_eq!(image.discard(100, 0), Ok(()));
        assert_eq!(image.read_at(0, &mut []), Ok(()));
        let err = RangeError {
            offset: 101,
            len: 0,
            size: 100,
        };
        assert_eq!(image.read_at(101, &mut []), Err(err));
        assert_eq!(image.write_at(101, &[]), Err(err));
        assert_eq!(image.discard(101, 0), Err(err));
        assert_eq!(image.allocated_bytes(), 0);

        let mut empty = Image::new(0);
        assert!(empty.is_empty());
        assert_eq!(empty.write_at(0, &[]), Ok(()));
        assert!(empty.write_at(0, &[1]).is_err());
    }

    #[test]
    fn overflowing_ranges_error_without_panicking() {
        let mut image = Image::new(u64::MAX);
        let err = image.discard(u64::MAX, u64::MAX).unwrap_err();
        assert_eq!(
            err,
            RangeError {
                offset: u64::MAX,
                len: u64::MAX,
                size: u64::MAX
            }
        );
        assert!(image.discard(1, u64::MAX).is_err());
        assert!(image.write_at(u64::MAX, &[1]).is_err());
        assert!(image.read_at(u64::MAX, &mut [0]).is_err());
        assert!(!err.to_string().is_empty());
        // The last byte of a u64::MAX image is addressable.
        image.write_at(u64::MAX - 1, &[7]).unwrap();
        let mut b = [0];
        image.read_at(u64::MAX - 1, &mut b).unwrap();
        assert_eq!(b, [7]);
        assert_eq!(image.allocated_chunks(), 1);
        image.discard(0, u64::MAX).unwrap();
        assert_eq!(image.allocated_chunks(), 0);
        image.read_at(u64::MAX - 1, &mut b).unwrap();
        assert_eq!(b, [0]);
    }

    #[test]
    fn byte_chunks_at_the_top_of_the_address_space() {
        // Chunk size 1 with u64::MAX bytes needs the tallest tree (11).
        let mut image = Image::with_chunk_size(u64::MAX, 1).unwrap();
        image.write_at(u64::MAX - 3, &[1, 2, 3]).unwrap();
        image.write_at(0, &[9]).unwrap();
        let mut b = [0; 4];
        image.read_at(u64::MAX - 4, &mut b).unwrap();
        assert_eq!(b, [0, 1, 2, 3]);
        let snap = image.clone();
        image.discard(u64::MAX - 2, 2).unwrap();
        image.read_at(u64::MAX - 4, &mut b).unwrap();
        assert_eq!(b, [0, 1, 0, 0]);
        snap.read_at(u64::MAX - 4, &mut b).unwrap();
        assert_eq!(b, [0, 1, 2, 3]);
        image.resize(1);
        assert_eq!(image.allocated_chunks(), 1);
        image.resize(u64::MAX);
        image.read_at(u64::MAX - 4, &mut b).unwrap();
        assert_eq!(b, [0; 4]);
        let u = usage(&[&image, &snap]);
        assert_eq!(u.allocated, 4);
        assert_eq!(u.images[0].shared, 1);
        assert_eq!(u.images[1].unique, 3);
    }

    #[test]
    fn huge_sparse_images_allocate_nothing() {
        let mut image = Image::new(16 * TIB);
        let mut buf = vec![1u8; 3 * CHUNK_SIZE + 5];
        image.read_at(8 * TIB - 7, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
        image.discard(0, 16 * TIB).unwrap();
        image.resize(32 * TIB);
        let snap = image.clone();
        assert_eq!(image.allocated_bytes(), 0);
        assert!(image.root.is_none());
        assert_eq!(usage(&[&image, &snap]).allocated, 0);

        // One write allocates one chunk; discarding the whole 32 TiB frees it
        // quickly because the walk only visits existing nodes.
        image.write_at(20 * TIB + 3, b"hello").unwrap();
        assert_eq!(image.allocated_bytes(), CHUNK_SIZE as u64);
        image.discard(0, 32 * TIB).unwrap();
        assert_eq!(image.allocated_bytes(), 0);
        assert!(image.root.is_none());
    }

    #[test]
    fn u64_max_length_image() {
        let mut image = Image::new(u64::MAX);
        image.write_at(u64::MAX - 10, &[5; 10]).unwrap();
        assert_eq!(image.allocated_chunks(), 1);
        image.resize(u64::MAX - 5);
        let mut b = [9; 10];
        image.read_at(u64::MAX - 15, &mut b).unwrap();
        assert_eq!(b, [0, 0, 0, 0, 0, 5, 5, 5, 5, 5]);
        image.resize(u64::MAX);
        let mut b = [9; 5];
        image.read_at(u64::MAX - 5, &mut b).unwrap();
        assert_eq!(b, [0; 5]);
    }

    #[test]
    fn rejects_bad_chunk_sizes() {
        assert!(Image::with_chunk_size(10, 0).is_err());
        assert!(Image::with_chunk_size(10, 3).is_err());
        assert!(Image::with_chunk_size(10, MAX_CHUNK_SIZE * 2).is_err());
        assert_eq!(Image::with_chunk_size(10, 16).unwrap().chunk_size(), 16);
        assert!(!ChunkSizeError { chunk_size: 3 }.to_string().is_empty());
    }

    #[test]
    fn copy_on_write_is_per_chunk() {
        let mut a = Image::new(4 * CHUNK_SIZE as u64);
        a.write_at(0, &vec![1; 4 * CHUNK_SIZE]).unwrap();
        let snap = a.clone();
        let u = usage(&[&a, &snap]);
        assert_eq!(u.allocated, 4 * CHUNK_SIZE as u64);
        assert_eq!(u.images[0].unique, 0);

        a.write_at(CHUNK_SIZE as u64 + 1, &[2]).unwrap();
        let u = usage(&[&a, &snap]);
        assert_eq!(u.allocated, 5 * CHUNK_SIZE as u64);
        assert_eq!(u.images[0].unique, CHUNK_SIZE as u64);
        assert_eq!(u.images[1].unique, CHUNK_SIZE as u64);
        assert_eq!(u.images[0].shared, 3 * CHUNK_SIZE as u64);

        // The second write goes in place: no new chunk.
        let before = a.chunk(1).map(Chunk::as_ptr);
        a.write_at(CHUNK_SIZE as u64 + 2, &[3]).unwrap();
        assert_eq!(a.chunk(1).map(Chunk::as_ptr), before);

        let mut b = [0; 3];
        a.read_at(CHUNK_SIZE as u64, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3]);
        snap.read_at(CHUNK_SIZE as u64, &mut b).unwrap();
        assert_eq!(b, [1, 1, 1]);
        assert_eq!(usage(&[&a, &a]).images[0].unique, 0);
        assert!(format!("{a:?}").contains("allocated_chunks: 4"));
    }

    #[test]
    fn discard_of_partial_last_chunk_frees_it() {
        let mut a = Image::with_chunk_size(100, 64).unwrap();
        a.write_at(0, &[1; 100]).unwrap();
        assert_eq!(a.allocated_chunks(), 2);
        a.discard(64, 36).unwrap();
        assert_eq!(a.allocated_chunks(), 1);
        a.discard(10, 10).unwrap();
        assert_eq!(a.allocated_chunks(), 1);
        a.resize(200);
        let mut b = vec![9; 200];
        a.read_at(0, &mut b).unwrap();
        let mut want = vec![1; 64];
        want[10..20].fill(0);
        want.resize(200, 0);
        assert_eq!(b, want);
    }

    #[test]
    fn shrink_and_grow_read_zeros_and_trim_the_tree() {
        let mut a = Image::with_chunk_size(64 * 64 * 64, 1).unwrap();
        assert_eq!(a.height, 3);
        a.write_at(0, &[1; 10]).unwrap();
        a.write_at(64 * 64 * 64 - 1, &[1]).unwrap();
        let snap = a.clone();
        a.resize(5);
        assert_eq!(a.height, 1);
        assert_eq!(a.allocated_chunks(), 5);
        a.resize(64 * 64 * 64 + 1);
        assert_eq!(a.height, 4);
        let mut b = [9; 12];
        a.read_at(0, &mut b).unwrap();
        assert_eq!(b, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        snap.read_at(0, &mut b).unwrap();
        assert_eq!(&b[..10], &[1; 10]);
        assert_eq!(snap.allocated_chunks(), 11);
    }
}

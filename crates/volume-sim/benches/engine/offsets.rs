//! Random 4 KiB-aligned offsets for the small-I/O figures, shared by the
//! engine bench and `examples/small_io_ab.rs` (which includes this file by
//! path), so that both measure the same access pattern.

/// The access size the offsets are aligned to.
const BLOCK: u64 = 4096;

/// `n` random 4 KiB-aligned offsets below `len`, from a fixed LCG seeded
/// with `seed`: the baseline and the store see the same sequence.
pub(crate) fn offsets(n: usize, len: u64, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    let blocks = len / BLOCK;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % blocks) * BLOCK
        })
        .collect()
}

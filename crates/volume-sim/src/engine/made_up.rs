//! Values the simulator makes up (ids, host UUIDs, addresses) that must
//! differ per resource and repeat from run to run.

/// A 64-bit mix (splitmix64's finaliser): a fixed, well-spread function of
/// `z`, for made-up values derived from sequence numbers.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A UUID of version 4's shape (variant bits set) made of two 64-bit words.
pub(crate) fn uuid(hi: u64, lo: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | ((lo >> 48) & 0x3fff),
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_spreads_neighbours() {
        assert_ne!(mix(1), mix(2));
        assert_ne!(mix(0), 0);
        assert_eq!(mix(7), mix(7));
        let id = uuid(mix(1), mix(2));
        assert_eq!((id.len(), &id[14..15]), (36, "4"));
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}

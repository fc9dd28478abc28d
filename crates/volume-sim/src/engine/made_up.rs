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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_spreads_neighbours() {
        assert_ne!(mix(1), mix(2));
        assert_ne!(mix(0), 0);
        assert_eq!(mix(7), mix(7));
    }
}

//! Volume sizes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Bytes in one GiB.
pub const GIB: u64 = 1 << 30;

/// A volume size in whole GiB (2^30 bytes), the unit every provider bills in.
///
/// Providers that speak bytes (Exoscale) or strings convert at their edge.
///
/// ```
/// use volume_core::Size;
/// let s = Size::gib(10);
/// assert_eq!(s.as_gib(), 10);
/// assert_eq!(s.bytes(), Some(10 * (1 << 30)));
/// assert_eq!(Size::from_bytes_ceil(1), Size::gib(1));
/// assert_eq!(s.to_string(), "10 GiB");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Size(u64);

impl Size {
    /// `n` GiB.
    pub const fn gib(n: u64) -> Self {
        Self(n)
    }

    /// The size in GiB.
    pub const fn as_gib(self) -> u64 {
        self.0
    }

    /// The size in bytes, or `None` if that does not fit in a `u64`.
    pub const fn bytes(self) -> Option<u64> {
        self.0.checked_mul(GIB)
    }

    /// The smallest whole number of GiB that holds `bytes`.
    pub const fn from_bytes_ceil(bytes: u64) -> Self {
        Self(bytes.div_ceil(GIB))
    }

    /// `Some(size)` when `bytes` is a whole number of GiB.
    pub const fn from_bytes_exact(bytes: u64) -> Option<Self> {
        if bytes % GIB == 0 {
            Some(Self(bytes / GIB))
        } else {
            None
        }
    }
}

impl fmt::Debug for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Size({} GiB)", self.0)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} GiB", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_conversions_do_not_overflow() {
        assert_eq!(Size::gib(u64::MAX).bytes(), None);
        assert_eq!(Size::from_bytes_ceil(u64::MAX).as_gib(), u64::MAX / GIB + 1);
        assert_eq!(Size::from_bytes_exact(GIB + 1), None);
        assert_eq!(Size::from_bytes_exact(3 * GIB), Some(Size::gib(3)));
    }
}

use std::fmt;

/// An opaque token that asks a provider for the next page of a listing.
///
/// Each provider puts what it needs in it (a page number, a marker); callers
/// only pass it back.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PageToken(String);

impl PageToken {
    /// Wraps a provider's continuation value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The provider's continuation value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageToken({:?})", self.0)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The token for the next page; `None` on the last page.
    pub next: Option<PageToken>,
}

impl<T> Page<T> {
    /// A page of `items` followed by `next`.
    pub fn new(items: Vec<T>, next: Option<PageToken>) -> Self {
        Self { items, next }
    }

    /// A last page.
    pub fn last(items: Vec<T>) -> Self {
        Self { items, next: None }
    }
}

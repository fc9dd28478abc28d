//! The HTTP layer every provider crate uses.
//!
//! - [`backoff`]: jittered exponential backoff (also used by waiters).
//! - [`pagination`]: a page fetcher turned into a lazy `Stream`.

pub mod backoff;
pub mod pagination;

pub use backoff::{Backoff, BackoffConfig};
pub use pagination::paginate;

//! Runnable volume-rs programs: see the `*.rs` files beside this crate.

//! LunaNode Dynamic API block-storage volumes for volume-rs.
//!
//! **Status: skeleton.** This crate reserves its place in the workspace; the
//! client arrives with its own issue (a later issue). Until then it only re-exports
//! [`volume_core`] so that dependants can name it.
//!
//! # Feature flags
//!
//! None yet.

pub use volume_core;

//! volume-sim (being written).
pub mod engine;

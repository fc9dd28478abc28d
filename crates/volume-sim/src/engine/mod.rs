//! The synchronous engine.

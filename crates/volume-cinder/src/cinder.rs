//! The `Cinder` client type (template: nothing here yet).
//!
//! `Cinder`, the public client type: its `Display` (`Cinder(<endpoint>)`), and
//! Cinder-only operations as inherent methods (volume types, quotas, transfers,
//! the microversion the server offers).
//!
//! It holds the transport, and composes the client's calls into operations
//! (check the rules, call, convert); `storage.rs` forwards the trait to them.
//!
//! Nothing is written here yet: a template must not pretend to work.
